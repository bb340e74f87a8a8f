//! The one error type of this crate, and how it maps onto vidflow's error kinds.

use std::path::PathBuf;

use vidflow_core::{ErrorKind, VidflowError};

/// What went wrong while encoding, writing or probing.
///
/// Every variant names the file or tool concerned and why it failed, so the message can be
/// shown to a person as is. [`EncodeError::kind`] classifies it for exit and status codes.
#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    /// A tool (`ffmpeg` or `ffprobe`) could not be started at all.
    #[error(
        "{tool} could not be started ({source}); install it (Debian: `apt-get install ffmpeg`) and make sure `{tool}` is on PATH"
    )]
    ToolMissing {
        /// The program that was looked for.
        tool: String,
        /// Why starting it failed.
        #[source]
        source: std::io::Error,
    },

    /// The folder an output should go into does not exist (or is not a folder).
    #[error("cannot write {path}: the folder {folder} does not exist")]
    OutputFolderMissing {
        /// The output that was asked for.
        path: PathBuf,
        /// Its folder.
        folder: PathBuf,
    },

    /// The output path names something that cannot be replaced by a file (a folder).
    #[error("cannot write {path}: it is a folder")]
    OutputIsFolder {
        /// The output that was asked for.
        path: PathBuf,
    },

    /// A file that is read (audio input, a file to probe) does not exist.
    #[error("{what} {path} does not exist")]
    InputMissing {
        /// What the file is for ("audio file", "video to probe").
        what: &'static str,
        /// Its path.
        path: PathBuf,
    },

    /// The encoding settings cannot work (odd frame size, zero fps, CRF out of range...).
    #[error("invalid encode settings: {0}")]
    InvalidSettings(String),

    /// A frame handed to the encoder had the wrong number of bytes.
    #[error(
        "frame {index} has {got} bytes, but a {width}x{height} yuv420p frame has {expected} bytes"
    )]
    FrameSize {
        /// 0-based index of the offending frame.
        index: u64,
        /// Bytes received.
        got: usize,
        /// Bytes a frame must have.
        expected: usize,
        /// Frame width.
        width: u32,
        /// Frame height.
        height: u32,
    },

    /// `ffmpeg` exited with a failure, or died while being fed frames.
    #[error("ffmpeg failed ({status}) while encoding {output}: {stderr}")]
    Ffmpeg {
        /// The output that was being written.
        output: PathBuf,
        /// How it ended ("exit status 1", "killed by signal 9").
        status: String,
        /// The last lines ffmpeg wrote to stderr.
        stderr: String,
    },

    /// `ffprobe` failed or printed something that could not be understood.
    #[error("ffprobe could not read {path}: {reason}")]
    Probe {
        /// The file probed.
        path: PathBuf,
        /// Why it failed (ffprobe's own message where it gave one).
        reason: String,
    },

    /// The encoder is unusable because an earlier call already failed.
    #[error("the encoder for {output} already failed; start a new one")]
    AlreadyFailed {
        /// The output it was writing.
        output: PathBuf,
    },

    /// A file-system or pipe operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done, naming the file ("writing /tmp/x.wav").
        what: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

impl EncodeError {
    /// Wraps an I/O error with a description of what was being done.
    pub(crate) fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        EncodeError::Io {
            what: what.into(),
            source,
        }
    }

    /// How vidflow should treat this failure.
    ///
    /// A missing output folder, a missing input file or impossible settings are the user's
    /// doing ([`ErrorKind::BadInput`]); everything else, a missing or failing ffmpeg
    /// included, is [`ErrorKind::Internal`]: retrying an encode would fail the same way.
    pub fn kind(&self) -> ErrorKind {
        match self {
            EncodeError::OutputFolderMissing { .. }
            | EncodeError::OutputIsFolder { .. }
            | EncodeError::InputMissing { .. }
            | EncodeError::InvalidSettings(_) => ErrorKind::BadInput,
            EncodeError::ToolMissing { .. }
            | EncodeError::FrameSize { .. }
            | EncodeError::Ffmpeg { .. }
            | EncodeError::Probe { .. }
            | EncodeError::AlreadyFailed { .. }
            | EncodeError::Io { .. } => ErrorKind::Internal,
        }
    }
}

impl From<EncodeError> for VidflowError {
    fn from(err: EncodeError) -> Self {
        VidflowError {
            kind: err.kind(),
            message: err.to_string(),
        }
    }
}
