//! Running a job on the workers: dispatch it, follow its event stream, and fetch what it
//! made from the shared cache. Used by the server (as its [`JobExecutor`]) and by
//! `vidflow make --remote`.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tracing::warn;
use vidflow_core::{ErrorKind, Progress, ProgressSink, StageName, VidflowError};
use vidflow_jobs::{Job, JobExecutor, JobOutcome, RequestBuilder, VIDEO_FILE};
use vidflow_stages::{CancelFlag, Engine, MakeOutput, MakeReport, MakeRequest, StageReport};

use crate::queue::TaskQueue;
use crate::task::{JobSpec, QueueEvent, RemoteResult};

/// The time in a stream entry id (`<ms>-<seq>`), seconds.
fn entry_seconds(id: &str) -> f64 {
    id.split('-')
        .next()
        .and_then(|ms| ms.parse::<u64>().ok())
        .map(|ms| ms as f64 / 1000.0)
        .unwrap_or(0.0)
}

/// Runs `req` as job `id` on the workers: dispatches it (once: a job already dispatched is
/// only followed), reports its progress, and on success writes its files to `req.output`
/// from the shared cache. With `cancel` set, the job is cancelled on the workers too,
/// unless `detach` is set (this process is stopping; the job goes on without it).
#[allow(clippy::too_many_arguments)]
pub async fn make_remote(
    queue: &TaskQueue,
    engine: &Engine,
    id: &str,
    req: &MakeRequest,
    chunk_seconds: f64,
    progress: &dyn ProgressSink,
    cancel: CancelFlag,
    detach: &AtomicBool,
) -> Result<MakeReport, VidflowError> {
    let started = Instant::now();
    engine.validate(req)?;
    let spec = JobSpec {
        request: req.clone(),
        chunk_seconds,
    };
    queue.dispatch(id, &spec).await?;
    let listener = queue.listener().await?;
    let mut after = "0".to_owned();
    let mut reports: Vec<StageReport> = Vec::new();
    let mut frames_total = 0u64;
    let mut frames_done = 0u64;
    let mut render_started: Option<f64> = None;
    let mut failing = false;
    loop {
        if cancel.is_cancelled() {
            if !detach.load(Ordering::SeqCst) {
                // Recorded in Redis, the cancel is final: workers drop the job's queued
                // tasks when they take them and stop a running one at its next renewal.
                queue.cancel(id).await?;
            }
            return Err(VidflowError::cancelled());
        }
        let events = match listener
            .events(id, &after, Duration::from_millis(500))
            .await
        {
            Ok(e) => {
                failing = false;
                e
            }
            Err(e) => {
                if !failing {
                    warn!(job = id, "cannot follow the job's events: {e}; retrying");
                    failing = true;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        for (entry, event) in events {
            after = entry.clone();
            match event {
                QueueEvent::Progress { progress: p } => {
                    if let Progress::StageFinished {
                        stage,
                        cached,
                        backend,
                        seconds,
                    } = &p
                    {
                        reports.push(StageReport {
                            stage: *stage,
                            cached: *cached,
                            backend: backend.clone(),
                            seconds: *seconds,
                            key: String::new(),
                        });
                    }
                    progress.report(p);
                }
                QueueEvent::Planned { frames, .. } => {
                    frames_total = frames;
                    frames_done = 0;
                    render_started = Some(entry_seconds(&entry));
                    progress.report(Progress::StageStarted {
                        stage: StageName::Render,
                    });
                }
                QueueEvent::ChunkDone { frames, .. } => {
                    frames_done = (frames_done + frames).min(frames_total);
                    progress.report(Progress::StageProgress {
                        stage: StageName::Render,
                        done: frames_done,
                        total: frames_total,
                    });
                }
                QueueEvent::Failed { kind, message } => {
                    let kind = match kind.as_str() {
                        "bad_input" => ErrorKind::BadInput,
                        "transient" => ErrorKind::Transient,
                        _ => ErrorKind::Internal,
                    };
                    return Err(VidflowError { kind, message });
                }
                QueueEvent::Cancelled => return Err(VidflowError::cancelled()),
                QueueEvent::Succeeded { result } => {
                    let output = match result {
                        RemoteResult::Stage { stage, output } => MakeOutput::Stage {
                            stage,
                            output,
                            wav: None,
                        },
                        RemoteResult::Video { plan, .. } => {
                            let written = engine.write_assembled(req, &plan).await?;
                            let seconds = entry_seconds(&entry)
                                - render_started.unwrap_or(entry_seconds(&entry));
                            progress.report(Progress::StageFinished {
                                stage: StageName::Render,
                                cached: false,
                                backend: None,
                                seconds,
                            });
                            reports.push(StageReport {
                                stage: StageName::Render,
                                cached: false,
                                backend: None,
                                seconds,
                                key: String::new(),
                            });
                            written.ok_or_else(|| {
                                VidflowError::internal(format!(
                                    "job {id} finished but its video is not in the shared cache"
                                ))
                            })?
                        }
                    };
                    return Ok(MakeReport {
                        stages: reports,
                        output,
                        seconds: started.elapsed().as_secs_f64(),
                    });
                }
            }
        }
    }
}

/// The server's executor in shared mode: jobs run on `vidflow worker` processes.
pub struct RemoteExecutor {
    queue: TaskQueue,
    engine: Arc<Engine>,
    build: Arc<RequestBuilder>,
    chunk_seconds: f64,
    stopping: AtomicBool,
}

impl RemoteExecutor {
    /// An executor dispatching to `queue`; `engine` (with the shared cache) validates
    /// requests and reads results; `build` reads stored requests.
    pub fn new(
        queue: TaskQueue,
        engine: Arc<Engine>,
        build: Arc<RequestBuilder>,
        chunk_seconds: f64,
    ) -> RemoteExecutor {
        RemoteExecutor {
            queue,
            engine,
            build,
            chunk_seconds,
            stopping: AtomicBool::new(false),
        }
    }

    /// The queue jobs go to.
    pub fn queue(&self) -> &TaskQueue {
        &self.queue
    }

    /// The engine (validation, results).
    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }
}

impl JobExecutor for RemoteExecutor {
    async fn execute<'a>(
        &'a self,
        job: &'a Job,
        workdir: &'a Path,
        progress: &'a dyn ProgressSink,
        cancel: CancelFlag,
    ) -> Result<JobOutcome, VidflowError> {
        let req = (self.build)(&job.request, workdir.join(VIDEO_FILE))?;
        let report = make_remote(
            &self.queue,
            &self.engine,
            &job.id,
            &req,
            self.chunk_seconds,
            progress,
            cancel,
            &self.stopping,
        )
        .await?;
        Ok(JobOutcome::from_report(report))
    }

    fn stopping(&self) {
        self.stopping.store(true, Ordering::SeqCst);
    }

    async fn cancel_elsewhere<'a>(&'a self, id: &'a str) {
        if let Err(e) = self.queue.cancel(id).await {
            warn!(job = id, "cannot pass the cancel on to the workers: {e}");
        }
    }

    async fn restore_files<'a>(
        &'a self,
        job: &'a Job,
        workdir: &'a Path,
    ) -> Result<bool, VidflowError> {
        let (Some(RemoteResult::Video { plan, .. }), Some(spec)) = (
            self.queue.result(&job.id).await?,
            self.queue.spec(&job.id).await?,
        ) else {
            return Ok(false);
        };
        std::fs::create_dir_all(workdir).map_err(|e| {
            VidflowError::internal(format!("cannot create {}: {e}", workdir.display()))
        })?;
        let mut req = spec.request;
        req.output = workdir.join(VIDEO_FILE);
        Ok(self.engine.write_assembled(&req, &plan).await?.is_some())
    }
}
