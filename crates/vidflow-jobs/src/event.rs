//! What a job's watchers are told, in order.

use serde::ser::{Serialize, Serializer};
use vidflow_core::Progress;

use crate::job::{Job, JobState};

/// Something that happened to a job: a change of the whole record, or one of the run's
/// own [`Progress`] events as the pipeline reported it. Serialised with an `event` tag, the
/// SSE event name (`state`, `stage_started`, `progress`, `stage_finished`, `retrying`,
/// `done`, `failed`, `cancelled`).
#[derive(Debug, Clone, PartialEq)]
pub enum JobEvent {
    /// The whole record: first to a new watcher, and whenever the job changes state
    /// without finishing (queued → running, running → queued on shutdown).
    State {
        /// The job now.
        job: Box<Job>,
    },
    /// A stage began, made progress, finished or is being tried again.
    Stage(Progress),
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

impl Serialize for JobEvent {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(serde::Serialize)]
        struct Record<'a> {
            event: &'static str,
            job: &'a Job,
        }
        match self {
            JobEvent::Stage(progress) => progress.serialize(serializer),
            JobEvent::State { job }
            | JobEvent::Done { job }
            | JobEvent::Failed { job }
            | JobEvent::Cancelled { job } => Record {
                event: self.name(),
                job,
            }
            .serialize(serializer),
        }
    }
}

impl JobEvent {
    /// The event's name (the SSE `event:` field).
    pub fn name(&self) -> &'static str {
        match self {
            JobEvent::State { .. } => "state",
            JobEvent::Stage(p) => p.name(),
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
}

/// An event with its place in the job's sequence (1, 2, ...), the SSE `id:` field. A
/// watcher that sees the numbers rise by one has missed nothing.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct JobUpdate {
    /// Position in the job's event sequence.
    pub seq: u64,
    /// What happened.
    pub event: JobEvent,
}

#[cfg(test)]
mod tests {
    use super::*;
    use vidflow_core::StageName;

    #[test]
    fn events_serialise_with_their_names() {
        let stage = JobEvent::Stage(Progress::StageProgress {
            stage: StageName::RENDER,
            done: 3,
            total: 4,
            percent: 80.0,
        });
        let v = serde_json::to_value(&stage).unwrap();
        assert_eq!(v["event"], "progress");
        assert_eq!(v["percent"], 80.0);
        assert_eq!(stage.name(), "progress");
        let job = Job::new(serde_json::json!({}), "h", None);
        let done = JobEvent::State { job: Box::new(job) };
        let v = serde_json::to_value(&done).unwrap();
        assert_eq!(v["event"], "state");
        assert_eq!(v["job"]["state"], "queued");
    }
}
