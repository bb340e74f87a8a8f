//! Where the queue keeps things in Redis: every key under one prefix.

/// The consumer group every worker joins.
pub const GROUP: &str = "workers";

/// Names of the queue's Redis keys, all under a prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueKeys {
    prefix: String,
}

impl QueueKeys {
    /// Keys under `prefix` (for example `vidflow:`).
    pub fn new(prefix: impl Into<String>) -> QueueKeys {
        QueueKeys {
            prefix: prefix.into(),
        }
    }

    /// The prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The task stream the workers' group reads.
    pub fn tasks(&self) -> String {
        format!("{}tasks", self.prefix)
    }

    /// The dead-letter stream: tasks that failed every delivery, with their last error.
    pub fn dead(&self) -> String {
        format!("{}dead", self.prefix)
    }

    /// One of a job's queue records: `spec`, `events`, `plan`, `chunks`, `assembling`,
    /// `cancel`, `result`, `errors`.
    pub fn job(&self, id: &str, what: &str) -> String {
        format!("{}job:{id}:{what}", self.prefix)
    }

    /// A worker's heartbeat (expires when the worker stops renewing it).
    pub fn worker(&self, name: &str) -> String {
        format!("{}worker:{name}", self.prefix)
    }

    /// Names of workers seen, scored by last heartbeat (ms).
    pub fn workers(&self) -> String {
        format!("{}workers", self.prefix)
    }

    /// A job record of the shared job store.
    pub fn job_record(&self, id: &str) -> String {
        format!("{}jobs:record:{id}", self.prefix)
    }

    /// Job ids by creation order (the score).
    pub fn job_index(&self) -> String {
        format!("{}jobs:index", self.prefix)
    }

    /// The counter that orders job creation.
    pub fn job_seq(&self) -> String {
        format!("{}jobs:seq", self.prefix)
    }

    /// Ids of jobs queued or running.
    pub fn jobs_unfinished(&self) -> String {
        format!("{}jobs:unfinished", self.prefix)
    }

    /// The job holding an idempotency key. (Named `workflow` in Redis, as before
    /// workflows had ids of their own, so that keys already stored keep working.)
    pub fn idempotency(&self, key: &str) -> String {
        format!("{}jobs:workflow:{key}", self.prefix)
    }
}
