//! The error every stage reports, classified so the CLI and the API can answer correctly.

/// What kind of failure it was; decides exit codes (CLI), status codes (API) and retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The user's input is wrong (bad URL, unreachable host, 404, not HTML, no text, bad option).
    /// Exit code 2, HTTP 4xx. Never retried.
    BadInput,
    /// A transient failure worth retrying (timeout, connection reset, 5xx from an LLM/TTS).
    Transient,
    /// The job was cancelled.
    Cancelled,
    /// Something broke inside vidflow or its tools (ffmpeg missing, I/O error). Exit code 1.
    Internal,
}

/// An error with its kind and a message that names what failed and why.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct VidflowError {
    /// The kind of failure.
    pub kind: ErrorKind,
    /// What failed and why, for a person.
    pub message: String,
}

impl VidflowError {
    /// A user's bad input.
    pub fn bad_input(message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::BadInput,
            message: message.into(),
        }
    }

    /// A transient failure.
    pub fn transient(message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::Transient,
            message: message.into(),
        }
    }

    /// An internal failure.
    pub fn internal(message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::Internal,
            message: message.into(),
        }
    }

    /// Cancellation.
    pub fn cancelled() -> Self {
        Self {
            kind: ErrorKind::Cancelled,
            message: "cancelled".into(),
        }
    }

    /// Prefixes the message with context ("speak: ...").
    pub fn context(mut self, ctx: impl std::fmt::Display) -> Self {
        self.message = format!("{ctx}: {}", self.message);
        self
    }

    /// The CLI exit code for this error.
    pub fn exit_code(&self) -> i32 {
        match self.kind {
            ErrorKind::BadInput => 2,
            _ => 1,
        }
    }
}
