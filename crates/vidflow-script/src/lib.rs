//! The script stage of vidflow: turns an [`Article`] into a narration [`Script`].
//!
//! Three ways to get a script:
//!
//! - [`summarize`]: an extractive summary (the default). Sentences are ranked by how central
//!   they are to the article (TextRank over TF-IDF similarity, with a mild lead bias), the best
//!   ones are kept until the spoken-word budget is spent, and they are read out in the page's
//!   order, grouped into segments that follow the article's sections.
//! - [`script_from_text`]: a user's own script, one segment per paragraph.
//! - [`ChatBackend`]: any OpenAI-compatible `/v1/chat/completions` endpoint writes the script;
//!   its reply is validated, and a bad reply is an error (never a silent fallback).
//!
//! Narration is cleaned for speech: footnote marks, URLs and stray symbols are removed, so the
//! speech engine says only words.
//!
//! ```
//! use vidflow_core::{Article, Paragraph};
//! use vidflow_script::{summarize, ScriptOptions};
//!
//! let para = |text: &str| Paragraph { text: text.into(), heading: None, is_heading: false };
//! let article = Article {
//!     title: "Why the sky is blue".into(),
//!     paragraphs: vec![
//!         para("Sunlight contains every colour of the rainbow. Air molecules scatter short \
//!               blue wavelengths far more than long red ones [1]."),
//!         para("That scattered blue light reaches our eyes from every part of the sky. \
//!               At sunset the light crosses more air, so the blue is scattered away."),
//!     ],
//!     ..Article::default()
//! };
//! let opts = ScriptOptions { max_seconds: 15.0, ..ScriptOptions::default() };
//! let script = summarize(&article, &opts).unwrap();
//! let narration = script.narration();
//! assert!(narration.starts_with("Why the sky is blue."));
//! assert!(!narration.contains("[1]"));
//! assert!(vidflow_script::count_words(&narration) <= opts.word_budget());
//! ```

mod chat;
mod own_text;
mod rank;
mod sentences;
mod spoken;
mod summary;

pub use chat::{ChatBackend, MAX_ARTICLE_CHARS};
pub use own_text::script_from_text;
pub use sentences::{count_words, split_sentences, trim_to_words};
pub use spoken::{clean_for_display, clean_for_speech};
pub use summary::summarize;

use vidflow_core::VidflowError;
#[doc(no_inline)]
pub use vidflow_core::{Article, Script, Segment};

/// The longest key sentence shown on a slide, in words; longer ones are cut with an ellipsis.
pub const KEY_SENTENCE_MAX_WORDS: usize = 25;

/// How long the narration may be and how it is split into segments (slides).
#[derive(Debug, Clone, PartialEq)]
pub struct ScriptOptions {
    /// Longest narration, in seconds of speech (default 60).
    pub max_seconds: f64,
    /// Speaking pace used to turn seconds into words (default 2.6, Flite's pace).
    pub words_per_second: f64,
    /// Fewest segments to aim for (default 3); fewer only when fewer sentences fit the budget.
    pub min_segments: usize,
    /// Most segments to produce (default 20).
    pub max_segments: usize,
}

impl Default for ScriptOptions {
    fn default() -> Self {
        Self {
            max_seconds: 60.0,
            words_per_second: 2.6,
            min_segments: 3,
            max_segments: 20,
        }
    }
}

impl ScriptOptions {
    /// The most words the narration may hold: `max_seconds * words_per_second`, rounded down,
    /// and at least one.
    pub fn word_budget(&self) -> usize {
        ((self.max_seconds * self.words_per_second).floor() as usize).max(1)
    }

    /// Checks that the options make sense; a bad value is the user's input, so it is `BadInput`.
    pub fn validate(&self) -> Result<(), VidflowError> {
        if !(self.max_seconds.is_finite() && self.max_seconds > 0.0) {
            return Err(VidflowError::bad_input(format!(
                "script options: max_seconds must be a positive number of seconds, got {}",
                self.max_seconds
            )));
        }
        if !(self.words_per_second.is_finite() && self.words_per_second > 0.0) {
            return Err(VidflowError::bad_input(format!(
                "script options: words_per_second must be a positive number, got {}",
                self.words_per_second
            )));
        }
        if self.min_segments == 0 {
            return Err(VidflowError::bad_input(
                "script options: min_segments must be at least 1",
            ));
        }
        if self.max_segments < self.min_segments {
            return Err(VidflowError::bad_input(format!(
                "script options: max_segments ({}) is smaller than min_segments ({})",
                self.max_segments, self.min_segments
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vidflow_core::ErrorKind;

    #[test]
    fn budget_is_seconds_times_pace() {
        let opts = ScriptOptions::default();
        assert_eq!(opts.word_budget(), 156);
        let short = ScriptOptions {
            max_seconds: 0.1,
            ..opts
        };
        assert_eq!(short.word_budget(), 1);
    }

    #[test]
    fn bad_options_are_bad_input() {
        let bad = [
            ScriptOptions {
                max_seconds: -1.0,
                ..ScriptOptions::default()
            },
            ScriptOptions {
                words_per_second: f64::NAN,
                ..ScriptOptions::default()
            },
            ScriptOptions {
                min_segments: 0,
                ..ScriptOptions::default()
            },
            ScriptOptions {
                min_segments: 5,
                max_segments: 4,
                ..ScriptOptions::default()
            },
        ];
        for opts in bad {
            let err = opts.validate().unwrap_err();
            assert_eq!(err.kind, ErrorKind::BadInput, "{opts:?}");
            assert!(
                err.message.starts_with("script options:"),
                "{}",
                err.message
            );
        }
        ScriptOptions::default().validate().unwrap();
    }
}
