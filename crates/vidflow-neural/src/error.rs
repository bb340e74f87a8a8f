//! Everything that can go wrong between text and neural speech, each with a message that says
//! what to do about it.

use std::path::PathBuf;

/// Why a neural voice could not be loaded or could not speak a text.
#[derive(Debug, thiserror::Error)]
pub enum NeuralError {
    /// A file the voice needs is not there (or cannot be read).
    #[error("cannot read {what} at {}: {source} (run scripts/install-voices to install the voices)", path.display())]
    Missing {
        /// What the file is for, e.g. "the voice model".
        what: &'static str,
        /// Where it was looked for.
        path: PathBuf,
        /// The reason the read failed.
        source: std::io::Error,
    },

    /// A model file's content is not what was pinned: a corrupt or a different file.
    #[error(
        "{} is corrupt or not the expected model: its sha256 is {actual}, expected {expected} (run scripts/install-voices to reinstall it)",
        path.display()
    )]
    HashMismatch {
        /// The model file.
        path: PathBuf,
        /// The sha256 it should have.
        expected: String,
        /// The sha256 it has.
        actual: String,
    },

    /// The voice's `.onnx.json` is not valid JSON or lacks what Piper needs.
    #[error("the voice config {} is not a usable Piper config: {reason}", path.display())]
    BadConfig {
        /// The config file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },

    /// ONNX Runtime's shared library could not be loaded.
    #[error("cannot load ONNX Runtime from {}: {reason} (run scripts/install-voices to install it)", path.display())]
    Runtime {
        /// The library that was tried.
        path: PathBuf,
        /// Why loading failed.
        reason: String,
    },

    /// ONNX Runtime was already loaded from another library, and a process holds only one.
    #[error(
        "cannot load ONNX Runtime from {}: this process already loaded it from {}, and can hold only one",
        requested.display(),
        loaded.display()
    )]
    RuntimeConflict {
        /// The library in use.
        loaded: PathBuf,
        /// The library asked for.
        requested: PathBuf,
    },

    /// ONNX Runtime rejected the model or failed while running it.
    #[error("ONNX Runtime failed {doing}: {reason}")]
    Inference {
        /// What was being done, e.g. "loading the model".
        doing: &'static str,
        /// ONNX Runtime's own message.
        reason: String,
    },

    /// The model does not have the inputs and outputs of a Piper voice.
    #[error("{} is not a Piper voice model: {reason}", path.display())]
    NotPiper {
        /// The model file.
        path: PathBuf,
        /// What does not match.
        reason: String,
    },

    /// The `espeak-ng` program could not be run.
    #[error(
        "cannot run the phonemiser `{program}`: {reason} (install the Debian package espeak-ng, or run scripts/install-voices)"
    )]
    PhonemiserMissing {
        /// The program that was tried.
        program: String,
        /// Why it could not be run.
        reason: String,
    },

    /// `espeak-ng` ran but failed.
    #[error("the phonemiser `{program}` failed on {text:?}: {reason}")]
    PhonemiserFailed {
        /// The program.
        program: String,
        /// The text it was given.
        text: String,
        /// Its exit status and error output.
        reason: String,
    },

    /// There is nothing to say in the text.
    #[error("nothing to speak: the text is empty or has no letters or digits")]
    EmptyText,

    /// A clause has letters or digits, yet the phonemiser gave no phonemes for it; speaking on
    /// would leave a silent gap where the words should be.
    #[error(
        "the phonemiser gave no phonemes for the clause {clause:?} (is the voice's language {language:?} right for this text?)"
    )]
    EmptyClause {
        /// The clause as written.
        clause: String,
        /// The espeak-ng voice that was used.
        language: String,
    },

    /// The phonemiser produced a phoneme the voice was not trained on.
    #[error("the phoneme {phoneme:?} (U+{:04X}) in {phonemes:?} (from {clause:?}) is not in the voice's phoneme map; the voice cannot say it", *phoneme as u32)]
    UnknownPhoneme {
        /// The phoneme.
        phoneme: char,
        /// The clause's phonemes.
        phonemes: String,
        /// The clause as written.
        clause: String,
    },

    /// A Kokoro model, vocabulary or style vector is not what a Kokoro voice needs.
    #[error("{} is not a usable Kokoro {what}: {reason}", path.display())]
    NotKokoro {
        /// What the file was to be: "model", "vocabulary" or "style vector".
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// What does not match.
        reason: String,
    },
}
