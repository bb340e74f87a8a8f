//! What runs a job: the [`JobExecutor`] seam. The pipeline [`Engine`] is the one that runs
//! jobs in this process; a remote one (workers over a queue) implements the same calls.

use std::path::PathBuf;

use vidflow_core::{BoxFuture, CancelFlag, MakeRequest, ProgressSink, VidflowError};
use vidflow_stages::{Engine, MakeOutput, MakeReport};

use crate::job::{JobOutput, StageTiming};

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
            .into_iter()
            .map(|s| StageTiming {
                stage: s.stage,
                cached: s.cached,
                backend: s.backend,
                seconds: s.seconds,
                bytes_in: s.bytes_in,
                bytes_out: s.bytes_out,
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

/// Runs one job's request to completion. The runner builds the request (its output in
/// the job's folder) and records the outcome; an executor only runs it, here or elsewhere.
pub trait JobExecutor: Send + Sync + 'static {
    /// Runs `request` as job `id` (submitted by HTTP request `request_id`, which a remote
    /// executor hands on to the workers' logs), writing its files where `request.output`
    /// says, reporting progress, and stopping early with a `Cancelled` error once `cancel`
    /// is set.
    fn make<'a>(
        &'a self,
        id: &'a str,
        request_id: Option<&'a str>,
        request: &'a MakeRequest,
        progress: &'a dyn ProgressSink,
        cancel: CancelFlag,
    ) -> BoxFuture<'a, Result<MakeReport, VidflowError>>;

    /// The runner is stopping: the cancels that follow interrupt jobs for a restart rather
    /// than cancel them for a user. A remote executor leaves the job running elsewhere.
    fn stopping(&self) {}

    /// A user cancelled job `id`, which another process runs: stop it wherever it runs.
    fn cancel_elsewhere<'a>(&'a self, _id: &'a str) -> BoxFuture<'a, ()> {
        Box::pin(async {})
    }

    /// Puts finished job `id`'s files back where `request.output` says when they are not on
    /// this machine (another server ran it); returns whether it did.
    fn restore_files<'a>(
        &'a self,
        _id: &'a str,
        _request: &'a MakeRequest,
    ) -> BoxFuture<'a, Result<bool, VidflowError>> {
        Box::pin(async { Ok(false) })
    }
}

/// Jobs run in this process, on the pipeline.
impl JobExecutor for Engine {
    fn make<'a>(
        &'a self,
        _id: &'a str,
        _request_id: Option<&'a str>,
        request: &'a MakeRequest,
        progress: &'a dyn ProgressSink,
        cancel: CancelFlag,
    ) -> BoxFuture<'a, Result<MakeReport, VidflowError>> {
        Box::pin(Engine::make(self, request, progress, cancel))
    }
}

/// Turns a stored request (JSON) and an output path into a [`MakeRequest`]; owned by
/// whoever defines the request format (the HTTP API).
pub type RequestBuilder =
    dyn Fn(&serde_json::Value, PathBuf) -> Result<MakeRequest, VidflowError> + Send + Sync;

/// The video file's name inside a job's folder (`.srt` and `.vtt` beside it).
pub const VIDEO_FILE: &str = "video.mp4";
