//! What runs a job: the [`JobExecutor`] seam and the in-process [`EngineExecutor`].

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use vidflow_core::{ProgressSink, VidflowError};
use vidflow_stages::{CancelFlag, Engine, MakeOutput, MakeReport, MakeRequest};

use crate::job::{Job, JobOutput, StageTiming};

/// What a successful run hands back.
#[derive(Debug, Clone, PartialEq)]
pub struct JobOutcome {
    /// Every stage, in order, with its time and cache use.
    pub stages: Vec<StageTiming>,
    /// What was produced.
    pub output: JobOutput,
}

impl JobOutcome {
    /// The outcome of a finished pipeline run.
    pub fn from_report(report: MakeReport) -> JobOutcome {
        let stages = report
            .stages
            .iter()
            .map(|s| StageTiming {
                stage: s.stage,
                cached: s.cached,
                backend: s.backend.clone(),
                seconds: s.seconds,
            })
            .collect();
        let output = match report.output {
            MakeOutput::Video {
                duration,
                bytes,
                size,
                fps,
                frames,
                ..
            } => JobOutput::Video {
                duration,
                bytes,
                width: size.width,
                height: size.height,
                fps,
                frames,
            },
            MakeOutput::Stage { stage, output, .. } => JobOutput::Stage { stage, output },
        };
        JobOutcome { stages, output }
    }
}

/// Runs one job to completion. The local runner calls it on its pool; a remote executor
/// (workers over a queue) implements the same call.
pub trait JobExecutor: Send + Sync + 'static {
    /// Runs `job`, writing its files into `workdir` (which exists and is empty), reporting
    /// progress, and stopping early with a `Cancelled` error once `cancel` is set.
    fn execute<'a>(
        &'a self,
        job: &'a Job,
        workdir: &'a Path,
        progress: &'a dyn ProgressSink,
        cancel: CancelFlag,
    ) -> impl Future<Output = Result<JobOutcome, VidflowError>> + Send + 'a;

    /// The runner is stopping: the cancels that follow interrupt jobs for a restart rather
    /// than cancel them for a user. A remote executor leaves the job running elsewhere.
    fn stopping(&self) {}

    /// A user cancelled job `id`, which another process runs: stop it wherever it runs.
    fn cancel_elsewhere<'a>(&'a self, _id: &'a str) -> impl Future<Output = ()> + Send + 'a {
        async {}
    }

    /// Puts a finished job's files back into `workdir` when they are not on this machine
    /// (another server ran it); returns whether it did.
    fn restore_files<'a>(
        &'a self,
        _job: &'a Job,
        _workdir: &'a Path,
    ) -> impl Future<Output = Result<bool, VidflowError>> + Send + 'a {
        async { Ok(false) }
    }
}

/// Turns a stored request (JSON) and an output path into a [`MakeRequest`]; owned by
/// whoever defines the request format (the HTTP API).
pub type RequestBuilder =
    dyn Fn(&serde_json::Value, PathBuf) -> Result<MakeRequest, VidflowError> + Send + Sync;

/// The video file's name inside a job's folder (`.srt` and `.vtt` beside it).
pub const VIDEO_FILE: &str = "video.mp4";

/// Runs jobs in this process with the pipeline [`Engine`].
pub struct EngineExecutor {
    engine: Arc<Engine>,
    build: Arc<RequestBuilder>,
}

impl EngineExecutor {
    /// An executor over `engine`, reading requests with `build`.
    pub fn new(engine: Arc<Engine>, build: Arc<RequestBuilder>) -> EngineExecutor {
        EngineExecutor { engine, build }
    }

    /// The engine jobs run on.
    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }
}

impl JobExecutor for EngineExecutor {
    async fn execute<'a>(
        &'a self,
        job: &'a Job,
        workdir: &'a Path,
        progress: &'a dyn ProgressSink,
        cancel: CancelFlag,
    ) -> Result<JobOutcome, VidflowError> {
        let req = (self.build)(&job.request, workdir.join(VIDEO_FILE))?;
        let report = self.engine.make(&req, progress, cancel).await?;
        Ok(JobOutcome::from_report(report))
    }
}
