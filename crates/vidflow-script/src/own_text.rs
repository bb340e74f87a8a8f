//! A user's own script: plain text, one segment per paragraph.

use vidflow_core::{Script, Segment, VidflowError};

use crate::KEY_SENTENCE_MAX_WORDS;
use crate::sentences::{count_words, split_sentences, trim_to_words};
use crate::spoken::{clean_for_display, clean_for_speech};

/// A title line holds at most this many words.
const TITLE_MAX_WORDS: usize = 14;

/// A user's own script: one segment per paragraph (blank-line separated); title from the
/// first line if it looks like one, else the given title.
///
/// A first line looks like a title when it starts with `#` (Markdown), or when it is short
/// (at most 14 words), and does not end like a sentence (`.`, `,`, `;`, `:`), and more text
/// follows it. Later paragraphs that are a single `#` line are section headings: they are
/// not spoken, and set the heading of the segments after them. Narration is cleaned for
/// speech (no URLs, footnote marks or markup); a segment's key sentence is its first
/// sentence, cut to 25 words. Without a title line or a given title, the opening words
/// serve as the title.
///
/// ```
/// let script = vidflow_script::script_from_text(
///     "How tides work\n\nThe Moon pulls the oceans.\nThe Earth turns beneath them.\n\n# Spring tides\n\n\
///      Sun and Moon line up twice a month.",
///     None,
/// ).unwrap();
/// assert_eq!(script.title, "How tides work");
/// assert_eq!(script.segments.len(), 2);
/// assert_eq!(script.segments[0].narration, "The Moon pulls the oceans. The Earth turns beneath them.");
/// assert_eq!(script.segments[1].heading.as_deref(), Some("Spring tides"));
/// ```
///
/// Errors: `BadInput` when the text holds nothing to say.
pub fn script_from_text(text: &str, title: Option<&str>) -> Result<Script, VidflowError> {
    let mut paragraphs: Vec<Vec<&str>> = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() {
            if !current.is_empty() {
                paragraphs.push(std::mem::take(&mut current));
            }
        } else {
            current.push(line);
        }
    }
    if !current.is_empty() {
        paragraphs.push(current);
    }
    if paragraphs.is_empty() {
        return Err(VidflowError::bad_input(
            "the script text is empty: write what to say, one paragraph per segment, \
             paragraphs separated by blank lines",
        ));
    }

    // The title line, if the first line is one and something follows it.
    let more_follows = paragraphs[0].len() > 1 || paragraphs.len() > 1;
    let title_line = if more_follows && looks_like_title(paragraphs[0][0]) {
        let line = paragraphs[0].remove(0);
        if paragraphs[0].is_empty() {
            paragraphs.remove(0);
        }
        Some(heading_text(line))
    } else {
        None
    };

    let mut segments = Vec::new();
    let mut heading: Option<String> = None;
    for lines in &paragraphs {
        if lines.len() == 1 && lines[0].starts_with('#') {
            heading = Some(heading_text(lines[0])).filter(|h| !h.is_empty());
            continue;
        }
        let narration = clean_for_speech(&lines.join(" "));
        if count_words(&narration) == 0 {
            // A paragraph that was only a URL or symbols has nothing to say.
            continue;
        }
        let first = split_sentences(&narration)
            .into_iter()
            .next()
            .unwrap_or_else(|| narration.clone());
        segments.push(Segment {
            key_sentence: trim_to_words(&first, KEY_SENTENCE_MAX_WORDS, "…"),
            narration,
            heading: heading.clone(),
            image: None,
        });
    }
    if segments.is_empty() {
        return Err(VidflowError::bad_input(
            "the script text has no words to narrate (only a title, headings, URLs or symbols)",
        ));
    }

    let given = title
        .map(|t| t.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|t| !t.is_empty());
    let title = title_line
        .filter(|t| !t.is_empty())
        .or(given)
        .unwrap_or_else(|| trim_to_words(&segments[0].key_sentence, 8, "…"));
    Ok(Script { title, segments })
}

fn looks_like_title(line: &str) -> bool {
    if line.starts_with('#') {
        return true;
    }
    let words = count_words(line);
    (1..=TITLE_MAX_WORDS).contains(&words) && !line.ends_with(['.', ',', ';', ':'])
}

/// A Markdown heading's text: leading `#`s, footnote marks and URLs removed.
fn heading_text(line: &str) -> String {
    clean_for_display(line.trim_start_matches('#'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use vidflow_core::ErrorKind;

    #[test]
    fn one_segment_per_paragraph_with_title_line() {
        let text = "# My Trip to Mars\n\nWe launched on a Tuesday. It was loud.\n\n\
                    The flight took seven months [2].\r\nFood was dull.\n\n\nWe landed.";
        let script = script_from_text(text, Some("ignored")).unwrap();
        assert_eq!(script.title, "My Trip to Mars");
        let narrations: Vec<_> = script
            .segments
            .iter()
            .map(|s| s.narration.as_str())
            .collect();
        assert_eq!(
            narrations,
            [
                "We launched on a Tuesday. It was loud.",
                "The flight took seven months. Food was dull.",
                "We landed.",
            ]
        );
        assert_eq!(
            script.segments[1].key_sentence,
            "The flight took seven months."
        );
        assert!(
            script
                .segments
                .iter()
                .all(|s| s.image.is_none() && s.heading.is_none())
        );
    }

    #[test]
    fn given_title_when_first_line_is_a_sentence() {
        let script =
            script_from_text("This is a sentence.\nAnd more.\n\nSecond.", Some("Given")).unwrap();
        assert_eq!(script.title, "Given");
        assert_eq!(script.segments.len(), 2);
        assert_eq!(
            script.segments[0].narration,
            "This is a sentence. And more."
        );
    }

    #[test]
    fn title_line_inside_the_first_paragraph() {
        let script = script_from_text("Volcanoes\nThey erupt. Often.", None).unwrap();
        assert_eq!(script.title, "Volcanoes");
        assert_eq!(script.segments.len(), 1);
        assert_eq!(script.segments[0].narration, "They erupt. Often.");
    }

    #[test]
    fn a_lone_short_line_is_narration_not_title() {
        let script = script_from_text("Hello world", None).unwrap();
        assert_eq!(script.segments[0].narration, "Hello world");
        assert_eq!(script.title, "Hello world");
    }

    #[test]
    fn long_key_sentence_is_trimmed_with_ellipsis() {
        let long = format!("{}.", "many ".repeat(40).trim_end());
        let script = script_from_text(&long, Some("T")).unwrap();
        let key = &script.segments[0].key_sentence;
        assert_eq!(count_words(key), 25);
        assert!(key.ends_with("many…"));
    }

    #[test]
    fn empty_or_unspeakable_text_is_bad_input() {
        for text in ["", "  \n\n \t\n", "# Only a title\n\nhttps://example.org/x"] {
            let err = script_from_text(text, None).unwrap_err();
            assert_eq!(err.kind, ErrorKind::BadInput, "{text:?}");
            assert!(
                err.message.starts_with("the script text"),
                "{}",
                err.message
            );
        }
    }
}
