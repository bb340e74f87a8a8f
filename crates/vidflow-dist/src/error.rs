//! What can go wrong talking to the queue.

use vidflow_core::VidflowError;

/// A queue operation failed.
#[derive(Debug, thiserror::Error)]
pub enum DistError {
    /// The queue settings cannot be used (bad URL, empty prefix).
    #[error("invalid queue settings: {0}")]
    Settings(String),
    /// A Redis call failed or timed out.
    #[error("Redis at {server}: {op} failed: {source}")]
    Redis {
        /// The Redis URL, password masked.
        server: String,
        /// What was being done.
        op: &'static str,
        /// The client's error.
        #[source]
        source: redis::RedisError,
    },
    /// Something in Redis is not what this version of vidflow wrote.
    #[error("malformed {what} in the queue: {detail}")]
    Malformed {
        /// Which record.
        what: &'static str,
        /// What is wrong with it.
        detail: String,
    },
}

impl From<DistError> for VidflowError {
    fn from(e: DistError) -> Self {
        match e {
            DistError::Settings(_) => VidflowError::bad_input(e.to_string()),
            DistError::Redis { .. } => VidflowError::transient(e.to_string()),
            DistError::Malformed { .. } => VidflowError::internal(e.to_string()),
        }
    }
}
