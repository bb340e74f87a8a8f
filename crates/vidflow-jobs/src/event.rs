//! What a job's watchers are told, in order.

use serde::Serialize;
use vidflow_core::{Progress, StageName};

use crate::job::{Job, JobState};

/// Something that happened to a job. Serialised with an `event` tag, the SSE event name.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum JobEvent {
    /// The whole record: first to a new watcher, and whenever the job changes state
    /// without finishing (queued → running, running → queued on shutdown).
    State {
        /// The job now.
        job: Box<Job>,
    },
    /// A stage began.
    StageStarted {
        /// Which stage.
        stage: StageName,
    },
    /// Part of a stage is done.
    Progress {
        /// Which stage.
        stage: StageName,
        /// Units done (frames while rendering).
        done: u64,
        /// Units in all.
        total: u64,
        /// Share of the whole job done, 0–100.
        percent: f64,
    },
    /// A stage finished.
    StageFinished {
        /// Which stage.
        stage: StageName,
        /// Served from the cache.
        cached: bool,
        /// The cache tier that served it.
        backend: Option<String>,
        /// Wall time, seconds.
        seconds: f64,
    },
    /// A stage failed for a passing reason and is tried again.
    Retrying {
        /// Which stage.
        stage: StageName,
        /// The try that failed (1-based).
        attempt: u32,
        /// What went wrong.
        error: String,
    },
    /// The job succeeded; the last event.
    Done {
        /// The finished job.
        job: Box<Job>,
    },
    /// The job failed; the last event.
    Failed {
        /// The finished job, with its error.
        job: Box<Job>,
    },
    /// The job was cancelled; the last event.
    Cancelled {
        /// The cancelled job.
        job: Box<Job>,
    },
}

impl JobEvent {
    /// The event's name (the SSE `event:` field).
    pub fn name(&self) -> &'static str {
        match self {
            JobEvent::State { .. } => "state",
            JobEvent::StageStarted { .. } => "stage_started",
            JobEvent::Progress { .. } => "progress",
            JobEvent::StageFinished { .. } => "stage_finished",
            JobEvent::Retrying { .. } => "retrying",
            JobEvent::Done { .. } => "done",
            JobEvent::Failed { .. } => "failed",
            JobEvent::Cancelled { .. } => "cancelled",
        }
    }

    /// True for the event that ends a job's stream.
    pub fn is_last(&self) -> bool {
        matches!(
            self,
            JobEvent::Done { .. } | JobEvent::Failed { .. } | JobEvent::Cancelled { .. }
        )
    }

    /// The event that announces a finished job, by its state; `None` while it is not finished.
    pub fn finished(job: &Job) -> Option<JobEvent> {
        let job = Box::new(job.clone());
        match job.state {
            JobState::Succeeded => Some(JobEvent::Done { job }),
            JobState::Failed => Some(JobEvent::Failed { job }),
            JobState::Cancelled => Some(JobEvent::Cancelled { job }),
            JobState::Queued | JobState::Running => None,
        }
    }

    /// The event for an engine progress report, given the job after it was applied.
    pub fn from_progress(event: &Progress, job: &Job) -> JobEvent {
        match event {
            Progress::StageStarted { stage } => JobEvent::StageStarted { stage: *stage },
            Progress::StageProgress { stage, done, total } => JobEvent::Progress {
                stage: *stage,
                done: *done,
                total: *total,
                percent: job.percent.unwrap_or(0.0),
            },
            Progress::StageFinished {
                stage,
                cached,
                backend,
                seconds,
            } => JobEvent::StageFinished {
                stage: *stage,
                cached: *cached,
                backend: backend.clone(),
                seconds: *seconds,
            },
            Progress::Retrying {
                stage,
                attempt,
                error,
            } => JobEvent::Retrying {
                stage: *stage,
                attempt: *attempt,
                error: error.clone(),
            },
        }
    }
}

/// An event with its place in the job's sequence (1, 2, ...), the SSE `id:` field. A
/// watcher that sees the numbers rise by one has missed nothing.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobUpdate {
    /// Position in the job's event sequence.
    pub seq: u64,
    /// What happened.
    pub event: JobEvent,
}
