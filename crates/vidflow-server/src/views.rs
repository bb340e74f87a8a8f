//! What the API answers with: jobs, plans, lists, status. Built from the library's types
//! so the JSON stays stable when those change.

use serde::Serialize;
use utoipa::ToSchema;
use vidflow_jobs::{Job, JobOutput, JobState, StageTiming};
use vidflow_stages::Plan;

/// `POST /v1/videos` accepted a job (202), or found the one its `idempotency_key` names
/// (200).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"job_id": "4f7c0e3a9b2d4e6f8a1b2c3d4e5f6a7b", "status_url": "/v1/jobs/4f7c0e3a9b2d4e6f8a1b2c3d4e5f6a7b",
    "events_url": "/v1/jobs/4f7c0e3a9b2d4e6f8a1b2c3d4e5f6a7b/events", "existing": false}))]
pub struct Accepted {
    /// The job's id.
    pub job_id: String,
    /// Where to poll its state.
    pub status_url: String,
    /// Where to follow it live (Server-Sent Events).
    pub events_url: String,
    /// True when the `idempotency_key` named a job that already existed.
    pub existing: bool,
}

/// What a job would do (`"dry_run": true`): nothing is started.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"dry_run": true, "workflow": "explainer", "stages": [
    {"stage": "fetch", "key": "fetch-1-9c1e…", "cached": true, "backend": "disk", "estimated_seconds": 0.0},
    {"stage": "render", "key": "render-1-77aa…", "cached": false, "backend": null, "estimated_seconds": 12.5}],
    "estimated_seconds": 12.5, "max_video_seconds": 60.0}))]
pub struct PlanView {
    /// Always true.
    pub dry_run: bool,
    /// The workflow that would run.
    pub workflow: String,
    /// The stages in order.
    pub stages: Vec<PlannedStageView>,
    /// Estimated wall time, seconds (cached stages count as free).
    pub estimated_seconds: f64,
    /// Upper bound on the video's length, seconds.
    pub max_video_seconds: f64,
}

/// One stage of a plan.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PlannedStageView {
    /// Which stage.
    #[schema(example = "render")]
    pub stage: String,
    /// Its content key, when it can be known before running.
    pub key: Option<String>,
    /// Whether the cache holds its output; null when not known before fetching.
    pub cached: Option<bool>,
    /// The cache tier that holds it.
    pub backend: Option<String>,
    /// Estimated wall time, seconds.
    pub estimated_seconds: f64,
}

impl From<Plan> for PlanView {
    fn from(p: Plan) -> Self {
        PlanView {
            dry_run: true,
            workflow: p.workflow,
            stages: p
                .stages
                .into_iter()
                .map(|s| PlannedStageView {
                    stage: s.stage.as_str().to_owned(),
                    key: s.key,
                    cached: s.cached,
                    backend: s.backend,
                    estimated_seconds: s.estimated_seconds,
                })
                .collect(),
            estimated_seconds: p.estimated_seconds,
            max_video_seconds: p.max_video_seconds,
        }
    }
}

/// A job.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"id": "4f7c0e3a9b2d4e6f8a1b2c3d4e5f6a7b", "state": "running", "stage": "render", "percent": 42.5,
    "workflow_id": "explainer", "source": "https://example.org/article", "title": "A Short Guide to Fractals", "idempotency_key": null, "request_id": "0af7651916cd43dd8448eb211c80319c", "attempts": 1, "created_at": "2026-11-26T10:00:00.000Z", "started_at": "2026-11-26T10:00:00.020Z",
    "finished_at": null, "run_seconds": null,
    "stages": [{"stage": "fetch", "cached": true, "backend": "memory", "seconds": 0.001}],
    "result": null, "error": null,
    "links": {"self": "/v1/jobs/4f7c0e3a9b2d4e6f8a1b2c3d4e5f6a7b", "events": "/v1/jobs/4f7c0e3a9b2d4e6f8a1b2c3d4e5f6a7b/events",
      "video": null, "subtitles_srt": null, "subtitles_vtt": null}}))]
pub struct JobView {
    /// The job's id.
    pub id: String,
    /// `queued`, `running`, `succeeded`, `failed` or `cancelled`.
    pub state: JobStateView,
    /// The stage running now.
    pub stage: Option<String>,
    /// Rough share of the job done, 0–100.
    pub percent: Option<f64>,
    /// The workflow it runs.
    pub workflow_id: Option<String>,
    /// What it narrates: the page's URL, or `html` or `script` for a pasted page or
    /// script.
    pub source: Option<String>,
    /// The page's title (or a pasted script's), once the job has found it.
    pub title: Option<String>,
    /// The idempotency key it was submitted with.
    pub idempotency_key: Option<String>,
    /// The `X-Request-Id` of the request that submitted it (the client's, or the one the
    /// server made); the job's log lines, here and on workers, name it.
    pub request_id: Option<String>,
    /// Times it was started (more than one after a restart).
    pub attempts: u32,
    /// When it was accepted (RFC 3339, UTC).
    pub created_at: String,
    /// When its last run started.
    pub started_at: Option<String>,
    /// When it finished.
    pub finished_at: Option<String>,
    /// Wall time of its run, seconds, once finished.
    pub run_seconds: Option<f64>,
    /// Finished stages with their time and cache use.
    pub stages: Vec<StageView>,
    /// What it produced, when it succeeded.
    pub result: Option<ResultView>,
    /// Why it failed, when it failed.
    pub error: Option<JobErrorView>,
    /// Related URLs.
    pub links: JobLinks,
}

/// A job's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum JobStateView {
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

impl From<JobState> for JobStateView {
    fn from(s: JobState) -> Self {
        match s {
            JobState::Queued => JobStateView::Queued,
            JobState::Running => JobStateView::Running,
            JobState::Succeeded => JobStateView::Succeeded,
            JobState::Failed => JobStateView::Failed,
            JobState::Cancelled => JobStateView::Cancelled,
        }
    }
}

impl From<JobStateView> for JobState {
    fn from(s: JobStateView) -> Self {
        match s {
            JobStateView::Queued => JobState::Queued,
            JobStateView::Running => JobState::Running,
            JobStateView::Succeeded => JobState::Succeeded,
            JobStateView::Failed => JobState::Failed,
            JobStateView::Cancelled => JobState::Cancelled,
        }
    }
}

/// One finished stage.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StageView {
    /// Which stage.
    #[schema(example = "speak")]
    pub stage: String,
    /// Served from the cache.
    pub cached: bool,
    /// The cache tier that served it.
    pub backend: Option<String>,
    /// Wall time, seconds.
    pub seconds: f64,
    /// Size of the stage's inputs, bytes.
    pub bytes_in: u64,
    /// Size of its output, bytes.
    pub bytes_out: u64,
}

impl From<&StageTiming> for StageView {
    fn from(s: &StageTiming) -> Self {
        StageView {
            stage: s.stage.as_str().to_owned(),
            cached: s.cached,
            backend: s.backend.clone(),
            seconds: s.seconds,
            bytes_in: s.bytes_in,
            bytes_out: s.bytes_out,
        }
    }
}

/// What a job produced: a video, or (with `stop_after`) a stage's output.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ResultView {
    /// `video` or `stage`.
    #[schema(example = "video")]
    pub kind: String,
    /// The video's length, seconds.
    pub duration: Option<f64>,
    /// The MP4's size in bytes.
    pub bytes: Option<u64>,
    /// Frame width.
    pub width: Option<u32>,
    /// Frame height.
    pub height: Option<u32>,
    /// Frames per second.
    pub fps: Option<u32>,
    /// Number of frames.
    pub frames: Option<u64>,
    /// The last stage run (`stop_after`).
    pub stage: Option<String>,
    /// That stage's output.
    #[schema(value_type = Option<Object>)]
    pub output: Option<serde_json::Value>,
}

/// Why a job failed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct JobErrorView {
    /// `bad_input`, `transient` or `internal`.
    pub kind: String,
    /// What failed and why.
    pub message: String,
}

/// URLs of a job and its files (files only once it succeeded with a video).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct JobLinks {
    /// The job.
    #[serde(rename = "self")]
    pub self_: String,
    /// Its event stream.
    pub events: String,
    /// The MP4.
    pub video: Option<String>,
    /// SubRip subtitles.
    pub subtitles_srt: Option<String>,
    /// WebVTT subtitles.
    pub subtitles_vtt: Option<String>,
}

impl From<&Job> for JobView {
    fn from(job: &Job) -> Self {
        let base = format!("/v1/jobs/{}", job.id);
        let has_video =
            job.state == JobState::Succeeded && matches!(job.result, Some(JobOutput::Video { .. }));
        let result = job.result.as_ref().map(|r| match r {
            JobOutput::Video {
                duration,
                bytes,
                width,
                height,
                fps,
                frames,
            } => ResultView {
                kind: "video".into(),
                duration: Some(*duration),
                bytes: Some(*bytes),
                width: Some(*width),
                height: Some(*height),
                fps: Some(*fps),
                frames: Some(*frames),
                stage: None,
                output: None,
            },
            JobOutput::Stage { stage, output } => ResultView {
                kind: "stage".into(),
                duration: None,
                bytes: None,
                width: None,
                height: None,
                fps: None,
                frames: None,
                stage: Some(stage.as_str().to_owned()),
                output: Some(output.clone()),
            },
        });
        JobView {
            id: job.id.clone(),
            state: job.state.into(),
            stage: job.stage.as_ref().map(|s| s.as_str().to_owned()),
            percent: job.percent,
            workflow_id: job.request["workflow_id"].as_str().map(str::to_owned),
            source: ["url", "html", "script"].iter().find_map(|k| {
                let v = job.request.get(*k)?;
                match (k, v.as_str()) {
                    (_, None) => None,
                    (&"url", Some(url)) => Some(url.to_owned()),
                    (other, Some(_)) => Some((*other).to_owned()),
                }
            }),
            title: job.title.clone(),
            idempotency_key: job.idempotency_key.clone(),
            request_id: job.request_id.clone(),
            attempts: job.attempts,
            created_at: rfc3339(job.created_at_ms),
            started_at: job.started_at_ms.map(rfc3339),
            finished_at: job.finished_at_ms.map(rfc3339),
            run_seconds: job.run_seconds(),
            stages: job.stages.iter().map(StageView::from).collect(),
            result,
            error: job.error.as_ref().map(|e| JobErrorView {
                kind: e.kind.clone(),
                message: e.message.clone(),
            }),
            links: JobLinks {
                events: format!("{base}/events"),
                video: has_video.then(|| format!("{base}/video")),
                subtitles_srt: has_video.then(|| format!("{base}/subtitles.srt")),
                subtitles_vtt: has_video.then(|| format!("{base}/subtitles.vtt")),
                self_: base,
            },
        }
    }
}

/// A page of jobs, newest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct JobList {
    /// The jobs.
    pub jobs: Vec<JobView>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// A built-in presenter.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AvatarView {
    /// Its id, as `avatar` in a request.
    #[schema(example = "avatar_1")]
    pub id: String,
    /// Display name.
    pub name: String,
    /// A PNG of it.
    #[schema(example = "/v1/avatars/avatar_1/preview.png")]
    pub preview_url: String,
}

/// A voice.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VoiceView {
    /// Its id, as `options.voice` in a request.
    #[schema(example = "slt")]
    pub id: String,
    /// The engine that speaks it: `flite`, `piper` or `kokoro`.
    #[schema(example = "flite")]
    pub engine: String,
    /// The language it speaks, e.g. `en_US`.
    #[schema(example = "en_US")]
    pub language: String,
    /// Samples per second of its audio.
    #[schema(example = 16000)]
    pub sample_rate: u32,
    /// What may be done with its output, as far as is known.
    pub licence: String,
    /// Whether that licence allows any use of the output (only such voices are picked by
    /// `auto`).
    pub any_use: bool,
    /// What it sounds like.
    pub description: String,
    /// A short sample of it to listen to (Ogg Opus, served by this server), if there is one.
    pub sample_url: Option<String>,
}

/// Each subsystem's state.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StatusView {
    /// vidflow's version.
    #[schema(example = "0.1.0")]
    pub version: String,
    /// Seconds since the server started.
    pub uptime_seconds: f64,
    /// The stage cache.
    pub cache: CacheStatus,
    /// The job queue and pool.
    pub jobs: JobsStatus,
    /// The data folder.
    pub disk: DiskStatus,
    /// Shared mode only: the task stream and the live workers (null otherwise, or when
    /// Redis does not answer).
    pub shared_queue: Option<SharedQueueStatus>,
}

/// The shared task queue (Redis Streams) and its workers: the queue's own figures and
/// worker records, as `vidflow status` shows them.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SharedQueueStatus {
    /// Length, pending, lag, oldest pending age, dead letters.
    #[serde(flatten)]
    pub figures: vidflow_dist::QueueFigures,
    /// Workers with a live heartbeat.
    pub workers: Vec<vidflow_dist::WorkerInfo>,
}

impl From<vidflow_dist::QueueStatus> for SharedQueueStatus {
    fn from(s: vidflow_dist::QueueStatus) -> Self {
        SharedQueueStatus {
            figures: s.figures,
            workers: s.workers,
        }
    }
}

/// A workflow this server runs (`workflow_id` in `POST /v1/videos`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WorkflowView {
    /// Its id.
    #[schema(example = "explainer")]
    pub id: String,
    /// What it makes.
    pub description: String,
    /// Its stages in running order (what `stop_after` may name).
    pub stages: Vec<String>,
    /// What it makes: `video`, `speech`, `script`, ...
    #[schema(example = "video")]
    pub output: String,
}

/// The stage cache.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CacheStatus {
    /// Whether there is a cache at all.
    pub enabled: bool,
    /// Tiers, fastest first, with their counts.
    pub backends: Vec<CacheTierStatus>,
    /// Share of look-ups answered by some tier, 0–1; null before the first.
    pub hit_rate: Option<f64>,
}

/// One cache tier.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CacheTierStatus {
    /// `memory`, `disk`, `redis`.
    pub backend: String,
    /// Look-ups it answered.
    pub hits: u64,
    /// Look-ups that reached it and found nothing.
    pub misses: u64,
}

/// The job queue and pool.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct JobsStatus {
    /// Jobs waiting.
    pub queued: usize,
    /// Jobs running.
    pub running: usize,
    /// Pool size.
    pub max_concurrent: usize,
    /// Queue size.
    pub max_queued: usize,
}

/// The data folder.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DiskStatus {
    /// Free bytes on its file system (for this user).
    pub free_bytes: Option<u64>,
}

/// Health check result.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"status": "ok", "checks": [{"name": "data_dir", "ok": true, "message": "writable"}]}))]
pub struct Health {
    /// `ok` or `unavailable`.
    pub status: String,
    /// Each check (readiness only).
    pub checks: Vec<HealthCheck>,
}

/// One readiness check.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HealthCheck {
    /// `data_dir`, `ffmpeg` or `speech`.
    pub name: String,
    /// Passed.
    pub ok: bool,
    /// What was found.
    pub message: String,
}

/// Milliseconds since the epoch as RFC 3339 UTC with milliseconds.
pub fn rfc3339(ms: u64) -> String {
    let secs = ms / 1000;
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        ms % 1000
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(951_782_400_123), "2000-02-29T00:00:00.123Z");
        assert_eq!(rfc3339(1_795_000_000_000), "2026-11-18T11:06:40.000Z");
    }
}
