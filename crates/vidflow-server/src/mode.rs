//! Where the service keeps jobs and what runs them: in this process with SQLite
//! (the default), or on `vidflow worker` processes with jobs in Redis (shared mode,
//! `queue.redis_url` set).

use std::path::Path;

use vidflow_core::{ProgressSink, VidflowError};
use vidflow_dist::{RedisJobStore, RemoteExecutor, TaskQueue};
use vidflow_jobs::{
    Created, EngineExecutor, Job, JobExecutor, JobOutcome, JobPage, JobQuery, JobStore,
    SqliteJobStore, StoreError,
};
use vidflow_stages::CancelFlag;

/// The job store in use.
pub enum ServiceStore {
    /// One SQLite file in the data folder.
    Local(SqliteJobStore),
    /// Redis, shared with every server on it.
    Shared(RedisJobStore),
}

/// What runs jobs.
pub enum ServiceExecutor {
    /// The pipeline in this process.
    Local(EngineExecutor),
    /// The workers on the queue.
    Remote(Box<RemoteExecutor>),
}

impl ServiceExecutor {
    /// The queue, in shared mode.
    pub fn queue(&self) -> Option<&TaskQueue> {
        match self {
            ServiceExecutor::Local(_) => None,
            ServiceExecutor::Remote(r) => Some(r.queue()),
        }
    }
}

impl JobStore for ServiceStore {
    async fn create(&self, job: &Job) -> Result<Created, StoreError> {
        match self {
            ServiceStore::Local(s) => s.create(job).await,
            ServiceStore::Shared(s) => s.create(job).await,
        }
    }

    async fn get(&self, id: &str) -> Result<Option<Job>, StoreError> {
        match self {
            ServiceStore::Local(s) => s.get(id).await,
            ServiceStore::Shared(s) => s.get(id).await,
        }
    }

    async fn by_workflow(&self, workflow_id: &str) -> Result<Option<Job>, StoreError> {
        match self {
            ServiceStore::Local(s) => s.by_workflow(workflow_id).await,
            ServiceStore::Shared(s) => s.by_workflow(workflow_id).await,
        }
    }

    async fn save(&self, job: &Job) -> Result<(), StoreError> {
        match self {
            ServiceStore::Local(s) => s.save(job).await,
            ServiceStore::Shared(s) => s.save(job).await,
        }
    }

    async fn list(&self, query: &JobQuery) -> Result<JobPage, StoreError> {
        match self {
            ServiceStore::Local(s) => s.list(query).await,
            ServiceStore::Shared(s) => s.list(query).await,
        }
    }

    async fn unfinished(&self) -> Result<Vec<Job>, StoreError> {
        match self {
            ServiceStore::Local(s) => s.unfinished().await,
            ServiceStore::Shared(s) => s.unfinished().await,
        }
    }
}

impl JobExecutor for ServiceExecutor {
    async fn execute<'a>(
        &'a self,
        job: &'a Job,
        workdir: &'a Path,
        progress: &'a dyn ProgressSink,
        cancel: CancelFlag,
    ) -> Result<JobOutcome, VidflowError> {
        match self {
            ServiceExecutor::Local(x) => x.execute(job, workdir, progress, cancel).await,
            ServiceExecutor::Remote(x) => x.execute(job, workdir, progress, cancel).await,
        }
    }

    fn stopping(&self) {
        match self {
            ServiceExecutor::Local(x) => x.stopping(),
            ServiceExecutor::Remote(x) => x.stopping(),
        }
    }

    async fn cancel_elsewhere<'a>(&'a self, id: &'a str) {
        match self {
            ServiceExecutor::Local(x) => x.cancel_elsewhere(id).await,
            ServiceExecutor::Remote(x) => x.cancel_elsewhere(id).await,
        }
    }

    async fn restore_files<'a>(
        &'a self,
        job: &'a Job,
        workdir: &'a Path,
    ) -> Result<bool, VidflowError> {
        match self {
            ServiceExecutor::Local(x) => x.restore_files(job, workdir).await,
            ServiceExecutor::Remote(x) => x.restore_files(job, workdir).await,
        }
    }
}
