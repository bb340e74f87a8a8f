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
    /// Size of the stage's inputs, bytes.
    #[serde(default)]
    pub bytes_in: u64,
    /// Size of its output, bytes.
    #[serde(default)]
    pub bytes_out: u64,
}

impl StageTiming {
    /// The timing a `StageFinished` event reports (`None` for any other event).
    pub fn finished(event: &Progress) -> Option<StageTiming> {
        match event {
            Progress::StageFinished {
                stage,
                cached,
                backend,
                seconds,
                bytes_in,
                bytes_out,
                ..
            } => Some(StageTiming {
                stage: stage.clone(),
                cached: *cached,
                backend: backend.clone(),
                seconds: *seconds,
                bytes_in: *bytes_in,
                bytes_out: *bytes_out,
            }),
            _ => None,
        }
    }
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

/// The name of a kind of failure, as jobs and metrics spell it.
pub(crate) fn failure_kind(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::BadInput => "bad_input",
        ErrorKind::Transient => "transient",
        ErrorKind::Cancelled => "cancelled",
        ErrorKind::Internal => "internal",
    }
}

impl From<&VidflowError> for JobFailure {
    fn from(e: &VidflowError) -> Self {
        JobFailure {
            kind: failure_kind(e.kind).into(),
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
    pub idempotency_key: Option<String>,
    /// The id of the HTTP request that submitted it (`X-Request-Id`), carried into the
    /// job's log lines and its tasks on workers, so one job's story can be followed
    /// across machines. `None` in records written before jobs carried one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The id of the API key that submitted it (never the key itself): only that key and
    /// admin keys see the job. `None` when auth was off, and in records written before
    /// jobs had owners (those are shown to admin keys only while auth is on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// The stage running now (while running).
    pub stage: Option<StageName>,
    /// Rough share of the whole job done, 0–100 (while running; 100 when succeeded).
    pub percent: Option<f64>,
    /// Finished stages, in order.
    pub stages: Vec<StageTiming>,
    /// The page's (or the script's) title, once a stage has found it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
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
        idempotency_key: Option<String>,
    ) -> Job {
        Job {
            id: uuid::Uuid::new_v4().simple().to_string(),
            state: JobState::Queued,
            request,
            request_hash: request_hash.into(),
            idempotency_key,
            request_id: None,
            owner: None,
            stage: None,
            percent: None,
            stages: Vec::new(),
            title: None,
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
        if let Some(p) = event.percent() {
            self.percent = Some(p);
        }
        match event {
            Progress::StageStarted { stage, .. } | Progress::StageProgress { stage, .. } => {
                self.stage = Some(stage.clone());
            }
            Progress::StageFinished { title, .. } => {
                self.stages.extend(StageTiming::finished(event));
                // The first title found is the page's; a script's comes later and is
                // usually the same words.
                if self.title.is_none() {
                    self.title.clone_from(title);
                }
            }
            Progress::Trial { .. } | Progress::Retrying { .. } => {}
        }
    }

    /// Reads a stored record. Records written before the idempotency key had its own name
    /// kept it as `workflow_id` (in the job and in its request); they are read as such.
    pub fn from_record(text: &str) -> Result<Job, serde_json::Error> {
        let mut value: serde_json::Value = serde_json::from_str(text)?;
        if let Some(obj) = value.as_object_mut()
            && !obj.contains_key("idempotency_key")
        {
            let key = obj.remove("workflow_id").unwrap_or(serde_json::Value::Null);
            obj.insert("idempotency_key".into(), key);
            if let Some(req) = obj.get_mut("request").and_then(|r| r.as_object_mut())
                && let Some(old) = req.remove("workflow_id")
            {
                req.insert("idempotency_key".into(), old);
            }
        }
        serde_json::from_value(value)
    }
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
            stage: StageName::FETCH,
            percent: 0.0,
        });
        assert_eq!(job.percent, Some(0.0));
        job.apply(&Progress::StageFinished {
            stage: StageName::FETCH,
            cached: true,
            backend: Some("memory".into()),
            seconds: 0.1,
            bytes_in: 0,
            bytes_out: 10,
            percent: 2.0,
            title: None,
        });
        assert_eq!(job.title, None);
        for title in ["Fractals", "A later script title"] {
            job.apply(&Progress::StageFinished {
                stage: StageName::EXTRACT,
                cached: false,
                backend: None,
                seconds: 0.1,
                bytes_in: 10,
                bytes_out: 10,
                percent: 4.0,
                title: Some(title.into()),
            });
        }
        assert_eq!(
            job.title.as_deref(),
            Some("Fractals"),
            "the first title is kept"
        );
        job.apply(&Progress::StageProgress {
            stage: StageName::RENDER,
            done: 50,
            total: 100,
            percent: 62.5,
        });
        assert_eq!(job.stage, Some(StageName::RENDER));
        assert_eq!(job.percent, Some(62.5));
        assert_eq!(job.stages.len(), 3);
        assert_eq!(job.stages[0].bytes_out, 10);
        assert!(job.stages[0].cached);
    }

    #[test]
    fn records_from_before_the_idempotency_key_was_named_so_still_read() {
        let job = Job::new(
            serde_json::json!({"url": "https://a/"}),
            "h",
            Some("k-1".into()),
        );
        let mut old = serde_json::to_value(&job).unwrap();
        let obj = old.as_object_mut().unwrap();
        let key = obj.remove("idempotency_key").unwrap();
        obj.insert("workflow_id".into(), key);
        obj["request"]["workflow_id"] = "k-1".into();
        let back = Job::from_record(&old.to_string()).unwrap();
        assert_eq!(back.idempotency_key.as_deref(), Some("k-1"));
        assert_eq!(back.request["idempotency_key"], "k-1");
        assert!(back.request.get("workflow_id").is_none());
        // A new record is read as it is.
        let new = serde_json::to_string(&job).unwrap();
        assert_eq!(Job::from_record(&new).unwrap(), job);
    }
}
