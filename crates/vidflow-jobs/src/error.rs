//! Errors of the store and the runner.

use std::path::Path;

use crate::job::Job;

/// A store call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be opened or set up.
    #[error("cannot open the job store at {path}: {source}")]
    Open {
        /// The database file.
        path: String,
        /// What SQLite said.
        source: rusqlite::Error,
    },
    /// A query failed.
    #[error("job store: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A record could not be written as JSON.
    #[error("job store: cannot encode a job: {0}")]
    Encode(String),
    /// `save` of a job that was never created.
    #[error("job store: no job {0}")]
    Missing(String),
    /// A shared store (Redis) failed or holds something unreadable.
    #[error("shared job store: {0}")]
    Shared(String),
    /// A list cursor that no list call handed out.
    #[error("invalid cursor '{0}': pass the next_cursor of a previous page")]
    BadCursor(String),
}

impl StoreError {
    pub(crate) fn open(path: &Path, source: rusqlite::Error) -> StoreError {
        StoreError::Open {
            path: path.display().to_string(),
            source,
        }
    }
}

/// Why a job was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    /// The queue holds as many jobs as it may; try again later.
    #[error("the job queue is full ({queued} waiting); try again in {retry_after_s} s")]
    QueueFull {
        /// Jobs waiting.
        queued: usize,
        /// A fair wait before trying again, seconds.
        retry_after_s: u64,
    },
    /// The idempotency key belongs to a job made from a different request.
    #[error(
        "idempotency_key '{idempotency_key}' already names job {job_id}, made from a different request"
    )]
    Conflict {
        /// The idempotency key.
        idempotency_key: String,
        /// The job that holds it.
        job_id: String,
    },
    /// The idempotency key belongs to another API key's job (which is not named).
    #[error("idempotency_key '{idempotency_key}' is already in use; choose another")]
    KeyTaken {
        /// The idempotency key.
        idempotency_key: String,
    },
    /// The runner is stopping and takes no new jobs.
    #[error("the service is shutting down and takes no new jobs")]
    ShuttingDown,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a job could not be cancelled.
#[derive(Debug, thiserror::Error)]
pub enum CancelError {
    /// There is no such job.
    #[error("no job {0}")]
    NotFound(String),
    /// The job had already finished.
    #[error("job {} already {}", .0.id, .0.state)]
    Finished(Box<Job>),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}
