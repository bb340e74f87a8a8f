//! Video jobs for the vidflow service: the job record, where it is kept, and what runs it.
//!
//! * [`Job`] — one request to make a video: its state (`queued`, `running`, `succeeded`,
//!   `failed`, `cancelled`), the request as submitted and its hash, an optional
//!   idempotency key, the stage running and a percentage, per-stage timings, sizes and
//!   cache hits, the result or the error, and timestamps.
//! * [`JobStore`] — a small trait for keeping jobs; [`SqliteJobStore`] keeps them in one
//!   SQLite file (WAL). A shared store can implement the same calls.
//! * [`JobExecutor`] — what runs one job's request: the pipeline
//!   [`Engine`](vidflow_stages::Engine) itself in this process, or workers elsewhere.
//! * [`Runner`] — a bounded pool over a bounded queue: cancellation (a queued job never
//!   starts; a running one stops and its ffmpeg is killed), restart recovery (jobs a previous
//!   process left queued or running run again), a live [`JobEvent`] stream per job, and
//!   graceful shutdown that puts interrupted jobs back in the queue.
//!
//! ```no_run
//! use std::sync::Arc;
//! use vidflow_cache::TieredCache;
//! use vidflow_core::{Config, VideoSize};
//! use vidflow_jobs::{NoObserver, RequestBuilder, Runner, RunnerConfig, SqliteJobStore};
//! use vidflow_stages::{Engine, MakeRequest, Source};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let engine = Arc::new(Engine::new(Config::default(), Arc::new(TieredCache::disabled()))?);
//! // Requests are stored as JSON; this one is just the text to narrate.
//! let build: Arc<RequestBuilder> = Arc::new(|request: &serde_json::Value, output| {
//!     Ok(MakeRequest {
//!         source: None,
//!         script_text: request["script"].as_str().map(str::to_owned),
//!         workflow: None,
//!         avatar: "avatar_1".into(),
//!         size: VideoSize { width: 1280, height: 720 },
//!         fps: 30,
//!         max_seconds: 10.0,
//!         voice: "slt".into(),
//!         preset: "veryfast".into(),
//!         crf: 23,
//!         x264: Default::default(),
//!         subtitles: true,
//!         stop_after: None,
//!         params: Default::default(),
//!         output,
//!         })
//! });
//! let store = Arc::new(SqliteJobStore::open("data/jobs.db".as_ref())?);
//! let config = RunnerConfig { max_concurrent: 1, max_queued: 16, jobs_dir: "data/jobs".into() };
//! let runner = Runner::start(store, engine, build, config, Arc::new(NoObserver)).await?;
//!
//! let request = serde_json::json!({ "script": "Hello.\n\nThis is vidflow." });
//! let submitted = runner.submit(request, "hash-of-request".into(), None, None).await?;
//! let mut watch = runner.watch(&submitted.job.id).await?.expect("just submitted");
//! if let Some(updates) = watch.updates.as_mut() {
//!     while let Ok(update) = updates.recv().await {
//!         println!("{} {:?}", update.seq, update.event);
//!         if update.event.is_last() {
//!             break;
//!         }
//!     }
//! }
//! runner.shutdown(std::time::Duration::from_secs(5)).await;
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

mod error;
mod event;
mod executor;
mod job;
mod runner;
mod store;

pub use error::{CancelError, StoreError, SubmitError};
pub use event::{JobEvent, JobUpdate};
pub use executor::{JobExecutor, JobOutcome, RequestBuilder, VIDEO_FILE};
pub use job::{Job, JobFailure, JobOutput, JobState, StageTiming, now_ms};
pub use runner::{
    FileLease, JobObserver, Load, NoObserver, PruneReport, Retention, Runner, RunnerConfig,
    Submission, Watch,
};
pub use store::{Created, JobPage, JobQuery, JobStore, MAX_PAGE, SqliteJobStore};
