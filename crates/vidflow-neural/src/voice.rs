//! What every neural voice offers, whichever model family runs it.

use crate::{NeuralError, NeuralSpeech, PiperVoice};

/// The model family a voice runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Engine {
    /// A Piper (VITS) voice: one `.onnx` plus its `.onnx.json`.
    Piper,
    /// A Kokoro-82M voice: the shared model plus one style vector per voice.
    Kokoro,
}

impl Engine {
    /// Lower-case name, as shown by `vidflow voices`.
    pub fn name(self) -> &'static str {
        match self {
            Engine::Piper => "piper",
            Engine::Kokoro => "kokoro",
        }
    }
}

/// A loaded neural voice: text in, samples with phone and word times out.
///
/// Implementations are deterministic (the same text gives the same samples), which the
/// content-addressed cache relies on, and safe to share between threads.
pub trait NeuralVoice: Send + Sync + std::fmt::Debug {
    /// Speaks `text`; see [`NeuralSpeech`] for what the result guarantees.
    fn speak(&self, text: &str) -> Result<NeuralSpeech, NeuralError>;
    /// The sha256 (hex) of what determines the output (model, and style where there is one):
    /// part of the speech cache's key.
    fn sha256(&self) -> &str;
    /// Samples per second of the output.
    fn sample_rate(&self) -> u32;
    /// The language the voice speaks, e.g. `en_US`.
    fn language(&self) -> &str;
    /// The model family.
    fn engine(&self) -> Engine;
}

impl NeuralVoice for PiperVoice {
    fn speak(&self, text: &str) -> Result<NeuralSpeech, NeuralError> {
        PiperVoice::speak(self, text)
    }
    fn sha256(&self) -> &str {
        PiperVoice::sha256(self)
    }
    fn sample_rate(&self) -> u32 {
        PiperVoice::sample_rate(self)
    }
    fn language(&self) -> &str {
        PiperVoice::language(self)
    }
    fn engine(&self) -> Engine {
        Engine::Piper
    }
}
