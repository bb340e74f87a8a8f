//! Neural speech for vidflow: Piper and Kokoro-82M voices run on ONNX Runtime, with phone and
//! word times taken from the model's own durations.
//!
//! - [`Runtime::load`] loads ONNX Runtime's shared library at run time (`ort` with
//!   `load-dynamic`: nothing is downloaded, at build time or at run time).
//! - [`PiperVoice::load`] loads a Piper voice (`.onnx` plus `.onnx.json`), checking its sha256
//!   when it is pinned, and adds the duration predictor's tensor to the graph's outputs.
//! - [`PiperVoice::speak`] phonemises the text with the `espeak-ng` program (a separate
//!   process: espeak-ng is GPL-3.0 and is never linked), runs the model a sentence at a time
//!   with fixed scales (the same text always gives the same samples), and returns a
//!   [`NeuralSpeech`]: samples, the time of every phone from the model's durations, and the time
//!   of every written word, mapped back through an alignment (see [Words](#words) below).
//!
//! - [`KokoroVoice::load`] loads the Kokoro-82M model with one voice's style vector;
//!   [`KokoroVoice::speak`] gives the same kind of [`NeuralSpeech`] at 24 kHz (see the
//!   `kokoro` module's notes in the crate README: phonemes rewritten for Kokoro, runs of at most
//!   [`KOKORO_MAX_TOKENS`] tokens). Both engines implement [`NeuralVoice`].
//!
//! The voices and the runtime are installed by `scripts/install-voices` into [`voices_dir`];
//! [`KNOWN_VOICES`] lists the ones it installs, with their pinned hashes.
//!
//! ```no_run
//! use vidflow_neural::{KNOWN_VOICES, LoadOptions, PiperVoice, Runtime, voices_dir};
//!
//! let dir = voices_dir().expect("a home directory");
//! let runtime = Runtime::load(&dir.join(vidflow_neural::RUNTIME_LIBRARY))?;
//! let joe = &KNOWN_VOICES[0];
//! let options = LoadOptions {
//!     expected_sha256: Some(joe.sha256.to_string()),
//!     ..LoadOptions::default()
//! };
//! let voice = PiperVoice::load(runtime, &dir.join(joe.model), &options)?;
//! let speech = voice.speak("Better than a robot, in 1990.")?;
//! assert_eq!(speech.sample_rate, 22_050);
//! let words: Vec<&str> = speech.words.iter().map(|w| w.text.as_str()).collect();
//! assert_eq!(words, ["Better", "than", "a", "robot,", "in", "1990."]);
//! // The phones come from the model's durations and cover the audio exactly.
//! assert_eq!(speech.phones.last().unwrap().end, speech.duration());
//! # Ok::<(), vidflow_neural::NeuralError>(())
//! ```
//!
//! # Words
//!
//! espeak-ng's words are not always the text's: it merges "than a" into one word (`ðˌænɚ`)
//! and says "1990" as two. Each written word is therefore also phonemised alone, and the
//! clause's phones are aligned to those by edit distance; a word's time runs from its first
//! phone to its last. Inside a merged word the boundary is where the alignment puts it (an
//! estimate within that word); a word with no phone (a lone dash) gets a zero-length time
//! where it stands.

mod align;
pub mod catalog;
mod error;
mod espeak;
mod kokoro;
mod onnx;
mod piper;
mod runtime;
mod text;
mod voice;

use std::path::PathBuf;

pub use align::PAUSE;
pub use error::NeuralError;
pub use espeak::Phonemiser;
pub use kokoro::{
    KOKORO_HOP, KOKORO_MAX_TOKENS, KOKORO_MODEL, KOKORO_MODEL_SHA256, KOKORO_SAMPLE_RATE,
    KokoroOptions, KokoroVoice,
};
pub use piper::{HOP, LoadOptions, NeuralSpeech, PiperVoice, SENTENCE_GAP};
pub use runtime::Runtime;
pub use voice::{Engine, NeuralVoice};

/// The file name of the ONNX Runtime library `scripts/install-voices` installs.
pub const RUNTIME_LIBRARY: &str = "libonnxruntime.so.1.32.0";

/// A voice `scripts/install-voices` installs, with what identifies it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownVoice {
    /// Short name for people and the command line.
    pub id: &'static str,
    /// The model family that runs it.
    pub engine: Engine,
    /// The model's file name in [`voices_dir`] (its config is the same name plus `.json`); for
    /// a Kokoro voice, its style vector's (all Kokoro voices share [`KOKORO_MODEL`]; see
    /// [`KokoroVoice::load_known`]).
    pub model: &'static str,
    /// The sha256 of that file, as pinned in the install script.
    pub sha256: &'static str,
    /// Language code, e.g. `en_US`.
    pub language: &'static str,
    /// Samples per second.
    pub sample_rate: u32,
    /// What may be done with its output, as far as is known.
    pub licence: &'static str,
    /// Whether that licence allows any use of the output, commercial included: only such
    /// voices may be the default.
    pub any_use: bool,
}

/// The voices `scripts/install-voices` installs, in the order they were added. Among the
/// voices whose licence allows any use, the best-sounding comes first: `af_heart` (graded A by
/// Kokoro's authors, the best Kokoro voice) before `am_michael` (graded C+, the male voice), so
/// the first voice with `any_use` is the one to make the default.
pub const KNOWN_VOICES: &[KnownVoice] = &[
    KnownVoice {
        id: "joe",
        engine: Engine::Piper,
        model: "en_US-joe-medium.onnx",
        sha256: "58afce0321b8d9c46d7cdf9c16500cc55a793b4220212dba6b70fb788b3baf06",
        language: "en_US",
        sample_rate: 22_050,
        licence: "dataset CC0 and package MIT, but fine-tuned from Piper's lessac voice, whose \
              source corpus is reported to restrict commercial speech synthesis",
        any_use: false,
    },
    KnownVoice {
        id: "af_heart",
        engine: Engine::Kokoro,
        model: "kokoro-af_heart.bin",
        sha256: "d583ccff3cdca2f7fae535cb998ac07e9fcb90f09737b9a41fa2734ec44a8f0b",
        language: "en_US",
        sample_rate: 24_000,
        licence: "Kokoro-82M weights and style vectors Apache-2.0, ONNX export MIT",
        any_use: true,
    },
    KnownVoice {
        id: "am_michael",
        engine: Engine::Kokoro,
        model: "kokoro-am_michael.bin",
        sha256: "1d1f21dd8da39c30705cd4c75d039d265e9bc4a2a93ed09bc9e1b1225eb95ba1",
        language: "en_US",
        sample_rate: 24_000,
        licence: "Kokoro-82M weights and style vectors Apache-2.0, ONNX export MIT",
        any_use: true,
    },
];

/// Where the neural voices and ONNX Runtime are installed: `$VIDFLOW_VOICES_DIR`, else
/// `$XDG_DATA_HOME/vidflow/voices`, else `~/.local/share/vidflow/voices` (the same rule as
/// `scripts/install-voices`). `None` only when none of those variables is set.
pub fn voices_dir() -> Option<PathBuf> {
    let var = |name| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(dir) = var("VIDFLOW_VOICES_DIR") {
        return Some(PathBuf::from(dir));
    }
    let data = var("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| var("HOME").map(|home| PathBuf::from(home).join(".local/share")))?;
    Some(data.join("vidflow/voices"))
}
