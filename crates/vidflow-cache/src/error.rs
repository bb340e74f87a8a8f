//! The errors a cache tier reports.

use std::path::PathBuf;

use vidflow_core::{ErrorKind, VidflowError};

/// What went wrong in a cache tier.
///
/// [`TieredCache`](crate::TieredCache) never lets one of these fail a job: it logs them and
/// treats the tier as a miss. They surface only from calls a person made on purpose
/// (opening a cache directory, `vidflow cache clear`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CacheError {
    /// The cache directory cannot be created or written (usually a bad `--cache-dir`).
    #[error("cache directory {} cannot be used: {source}", dir.display())]
    Directory {
        /// The directory that was asked for.
        dir: PathBuf,
        /// Why it cannot be used.
        #[source]
        source: std::io::Error,
    },
    /// The on-disk store failed an operation.
    #[error("disk cache at {}: cannot {op}{}: {source}", dir.display(), key_suffix(key))]
    Disk {
        /// What was being done ("read", "write", "list", ...).
        op: &'static str,
        /// The cache directory.
        dir: PathBuf,
        /// The entry concerned, where there was one.
        key: Option<String>,
        /// The underlying failure.
        #[source]
        source: cacache::Error,
    },
    /// A file-system operation outside cacache's own API failed.
    #[error("disk cache: cannot {op} {}: {source}", path.display())]
    Io {
        /// What was being done.
        op: &'static str,
        /// The file or directory concerned.
        path: PathBuf,
        /// The underlying failure.
        #[source]
        source: std::io::Error,
    },
    /// A blocking worker running a disk operation panicked or was cancelled.
    #[error("disk cache worker for {op} failed: {message}")]
    Worker {
        /// What was being done.
        op: &'static str,
        /// The join error, as text.
        message: String,
    },
    /// The Redis tier's settings cannot be used (a bad `cache.redis_url`, an empty prefix).
    #[error("Redis cache settings: {0}")]
    RedisSettings(String),
    /// Redis failed, timed out or could not be reached during an operation a person asked
    /// for (`vidflow cache stats`, `clear`); during a job the tier reports a miss instead.
    #[error("Redis cache at {server}: cannot {op}: {reason}")]
    Redis {
        /// What was being done.
        op: &'static str,
        /// The server, password masked.
        server: String,
        /// What went wrong.
        reason: String,
    },
}

fn key_suffix(key: &Option<String>) -> String {
    key.as_ref()
        .map(|k| format!(" entry {k}"))
        .unwrap_or_default()
}

impl CacheError {
    /// How the rest of vidflow should treat this error: a directory or Redis setting the user
    /// gave that cannot be used is their input; everything else is internal.
    pub fn kind(&self) -> ErrorKind {
        match self {
            CacheError::Directory { .. } | CacheError::RedisSettings(_) => ErrorKind::BadInput,
            CacheError::Disk { .. }
            | CacheError::Io { .. }
            | CacheError::Worker { .. }
            | CacheError::Redis { .. } => ErrorKind::Internal,
        }
    }
}

impl From<CacheError> for VidflowError {
    fn from(err: CacheError) -> Self {
        VidflowError {
            kind: err.kind(),
            message: err.to_string(),
        }
    }
}
