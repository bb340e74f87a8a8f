//! Spoken narration with the timing of every word and phone.

use serde::{Deserialize, Serialize};

use crate::Pcm;

/// Mono 16-bit PCM plus word and phone timings, all in seconds from the start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Speech {
    /// Samples per second.
    pub sample_rate: u32,
    /// Mono samples (in a temporary file when long: see [`Pcm`]).
    pub samples: Pcm,
    /// Each spoken word, in order.
    pub words: Vec<WordTiming>,
    /// Each phone, in order, gap-free from 0 to the end (pauses are phone `pau`).
    pub phones: Vec<PhoneTiming>,
    /// Where each script segment starts and ends.
    pub segments: Vec<SpeechSegment>,
    /// Voice that spoke it.
    pub voice: String,
}

impl Speech {
    /// Length of the audio in seconds.
    pub fn duration(&self) -> f64 {
        if self.sample_rate == 0 {
            0.0
        } else {
            self.samples.len() as f64 / self.sample_rate as f64
        }
    }
}

/// When a word is spoken.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WordTiming {
    /// The word as written in the script (punctuation kept for subtitles).
    pub text: String,
    /// Start in seconds.
    pub start: f64,
    /// End in seconds.
    pub end: f64,
    /// Index of the script segment it belongs to.
    pub segment: usize,
}

/// When a phone is spoken.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhoneTiming {
    /// Phone name in the engine's alphabet (ARPAbet, lower case, for Flite; `pau` for silence).
    pub phone: String,
    /// Start in seconds.
    pub start: f64,
    /// End in seconds.
    pub end: f64,
}

/// Where a script segment's speech lies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpeechSegment {
    /// Start in seconds.
    pub start: f64,
    /// End in seconds (includes the pause after it).
    pub end: f64,
}
