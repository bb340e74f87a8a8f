//! The narration script: what is said and what is shown while it is said.

use serde::{Deserialize, Serialize};

/// A narration script, segment by segment, in the page's order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Script {
    /// Title shown on the slides.
    pub title: String,
    /// Spoken segments; each becomes one slide.
    pub segments: Vec<Segment>,
}

/// One spoken segment and the slide that goes with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Segment {
    /// The words to speak.
    pub narration: String,
    /// Section heading shown above the key sentence, if any.
    pub heading: Option<String>,
    /// The sentence (or phrase) shown big on the slide.
    pub key_sentence: String,
    /// Index into the article's images to show on this slide.
    pub image: Option<usize>,
}

impl Script {
    /// All narration words, in order, as the speech engine will say them.
    pub fn narration(&self) -> String {
        self.segments
            .iter()
            .map(|s| s.narration.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }
}
