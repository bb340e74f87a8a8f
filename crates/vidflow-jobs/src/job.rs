//! The job record: what was asked, where it got to, and what came of it.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use vidflow_core::{ErrorKind, Progress, StageName, VidflowError};

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Accepted, waiting for a free slot in the pool.
    Queued,
    /// Running now.
    Running,
    /// Finished with a result.
    Succeeded,
    /// Finished with an error.
    Failed,
    /// Stopped on request before it finished.
    Cancelled,
}

impl JobState {
    /// Every state, in life order.
    pub const ALL: [JobState; 5] = [
        JobState::Queued,
        JobState::Running,
        JobState::Succeeded,
        JobState::Failed,
        JobState::Cancelled,
    ];

    /// The state's name as the API and the store spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Succeeded => "succeeded",
            JobState::Failed => "failed",
            JobState::Cancelled => "cancelled",
        }
    }

    /// Parses a state name.
    pub fn parse(s: &str) -> Option<JobState> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// True for the states a job never leaves.
    pub fn is_finished(self) -> bool {
        matches!(
            self,
            JobState::Succeeded | JobState::Failed | JobState::Cancelled
        )
    }
}

impl std::fmt::Display for JobState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How one stage of a job went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageTiming {
    /// Which stage.
    pub stage: StageName,
    /// Served from the cache.
    pub cached: bool,
    /// The cache tier that served it.
    pub backend: Option<String>,
    /// Wall time, seconds.
    pub seconds: f64,
}

/// What a finished job produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum JobOutput {
    /// A video (`video.mp4`, `video.srt`, `video.vtt` in the job's folder).
    Video {
        /// Length in seconds.
        duration: f64,
        /// Size of the MP4 in bytes.
        bytes: u64,
        /// Frame width.
        width: u32,
        /// Frame height.
        height: u32,
        /// Frames per second.
        fps: u32,
        /// Number of frames.
        frames: u64,
    },
    /// The output of the last stage of a partial run (`stop_after`), as JSON.
    Stage {
        /// The last stage run.
        stage: StageName,
        /// Its output.
        output: serde_json::Value,
    },
}

/// Why a job failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobFailure {
    /// `bad_input` (the request cannot be made into a video), `transient` (it may work
    /// later) or `internal` (something broke in vidflow or its tools).
    pub kind: String,
    /// What failed and why.
    pub message: String,
}

impl From<&VidflowError> for JobFailure {
    fn from(e: &VidflowError) -> Self {
        let kind = match e.kind {
            ErrorKind::BadInput => "bad_input",
            ErrorKind::Transient => "transient",
            ErrorKind::Cancelled => "cancelled",
            ErrorKind::Internal => "internal",
        };
        JobFailure {
            kind: kind.into(),
            message: e.message.clone(),
        }
    }
}

/// One video job as the store keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    /// Unique id.
    pub id: String,
    /// Where it is.
    pub state: JobState,
    /// The request as submitted (JSON), what a rerun after a restart is made from.
    pub request: serde_json::Value,
    /// Hash of the request in canonical form; equal requests have equal hashes.
    pub request_hash: String,
    /// The client's idempotency key, if it gave one.
    pub workflow_id: Option<String>,
    /// The stage running now (while running).
    pub stage: Option<StageName>,
    /// Rough share of the whole job done, 0–100 (while running; 100 when succeeded).
    pub percent: Option<f64>,
    /// Finished stages, in order.
    pub stages: Vec<StageTiming>,
    /// What it produced (when succeeded).
    pub result: Option<JobOutput>,
    /// Why it failed (when failed).
    pub error: Option<JobFailure>,
    /// How many times it was started (more than one after a restart).
    pub attempts: u32,
    /// When it was accepted, milliseconds since the Unix epoch.
    pub created_at_ms: u64,
    /// When its last run started.
    pub started_at_ms: Option<u64>,
    /// When it finished.
    pub finished_at_ms: Option<u64>,
}

impl Job {
    /// A new queued job with a fresh id.
    pub fn new(
        request: serde_json::Value,
        request_hash: impl Into<String>,
        workflow_id: Option<String>,
    ) -> Job {
        Job {
            id: uuid::Uuid::new_v4().simple().to_string(),
            state: JobState::Queued,
            request,
            request_hash: request_hash.into(),
            workflow_id,
            stage: None,
            percent: None,
            stages: Vec::new(),
            result: None,
            error: None,
            attempts: 0,
            created_at_ms: now_ms(),
            started_at_ms: None,
            finished_at_ms: None,
        }
    }

    /// Wall time of the last run, seconds, once it finished.
    pub fn run_seconds(&self) -> Option<f64> {
        Some(self.finished_at_ms?.saturating_sub(self.started_at_ms?) as f64 / 1000.0)
    }

    /// Folds a progress event into the record (stage, percent, finished stages).
    pub fn apply(&mut self, event: &Progress) {
        match event {
            Progress::StageStarted { stage } => {
                self.stage = Some(*stage);
                self.percent = Some(overall_percent(*stage, 0.0));
            }
            Progress::StageProgress { stage, done, total } => {
                self.stage = Some(*stage);
                let part = if *total == 0 {
                    0.0
                } else {
                    *done as f64 / *total as f64
                };
                self.percent = Some(overall_percent(*stage, part));
            }
            Progress::StageFinished {
                stage,
                cached,
                backend,
                seconds,
            } => {
                self.percent = Some(overall_percent(*stage, 1.0));
                self.stages.push(StageTiming {
                    stage: *stage,
                    cached: *cached,
                    backend: backend.clone(),
                    seconds: *seconds,
                });
            }
            Progress::Retrying { .. } => {}
        }
    }
}

/// Rough share of a whole job's time each stage takes, in percent (render dominates).
const STAGE_WEIGHTS: [(StageName, f64); 6] = [
    (StageName::Fetch, 2.0),
    (StageName::Extract, 2.0),
    (StageName::Script, 6.0),
    (StageName::Speak, 10.0),
    (StageName::Storyboard, 5.0),
    (StageName::Render, 75.0),
];

/// Percent of the whole job done when `stage` is `part` (0–1) done.
fn overall_percent(stage: StageName, part: f64) -> f64 {
    let before: f64 = STAGE_WEIGHTS
        .iter()
        .take_while(|(s, _)| *s != stage)
        .map(|(_, w)| w)
        .sum();
    let own = STAGE_WEIGHTS
        .iter()
        .find(|(s, _)| *s == stage)
        .map_or(0.0, |(_, w)| *w);
    ((before + own * part.clamp(0.0, 1.0)) * 10.0).round() / 10.0
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_round_trip_and_progress_folds_in_order() {
        for s in JobState::ALL {
            assert_eq!(JobState::parse(s.as_str()), Some(s));
        }
        assert!(JobState::parse("done").is_none());
        let mut job = Job::new(serde_json::json!({}), "h", None);
        job.apply(&Progress::StageStarted {
            stage: StageName::Fetch,
        });
        assert_eq!(job.percent, Some(0.0));
        job.apply(&Progress::StageFinished {
            stage: StageName::Fetch,
            cached: true,
            backend: Some("memory".into()),
            seconds: 0.1,
        });
        job.apply(&Progress::StageProgress {
            stage: StageName::Render,
            done: 50,
            total: 100,
        });
        assert_eq!(job.stage, Some(StageName::Render));
        assert_eq!(job.percent, Some(62.5));
        assert_eq!(job.stages.len(), 1);
        assert!(job.stages[0].cached);
    }
}
