//! Running a job on the workers: dispatch it, follow its event stream, and fetch what it
//! made from the shared cache. Used by the server (as its [`JobExecutor`]) and by
//! `vidflow make --remote`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tracing::warn;
use vidflow_core::{
    BoxFuture, CancelFlag, ErrorKind, MakeRequest, Progress, ProgressSink, StageName, StageReport,
    VidflowError,
};
use vidflow_jobs::JobExecutor;
use vidflow_stages::{Engine, MakeOutput, MakeReport};

use crate::queue::TaskQueue;
use crate::task::{JobSpec, Next, QueueEvent, RemoteResult};

/// The time in a stream entry id (`<ms>-<seq>`), seconds.
fn entry_seconds(id: &str) -> f64 {
    id.split('-')
        .next()
        .and_then(|ms| ms.parse::<u64>().ok())
        .map(|ms| ms as f64 / 1000.0)
        .unwrap_or(0.0)
}

/// Runs `req` as job `id` on the workers: dispatches it with its workflow (once: a job
/// already dispatched is only followed), reports its progress, and on success writes its
/// files to `req.output` from the shared cache. With `cancel` set, the job is cancelled
/// on the workers too, unless `detach` is set (this process is stopping; the job goes on
/// without it).
#[allow(clippy::too_many_arguments)]
pub async fn make_remote(
    queue: &TaskQueue,
    engine: &Engine,
    id: &str,
    request_id: Option<&str>,
    req: &MakeRequest,
    chunk_seconds: f64,
    progress: &dyn ProgressSink,
    cancel: CancelFlag,
    detach: &AtomicBool,
) -> Result<MakeReport, VidflowError> {
    let started = Instant::now();
    let wf = engine.workflow_for(req)?;
    engine.validate(req)?;
    let first = match JobSpec::first(&wf) {
        Next::Stage(first) => first,
        _ => {
            return Err(VidflowError::bad_input(format!(
                "workflow '{}' cannot run on workers: its first stage splits into chunks",
                wf.id()
            )));
        }
    };
    let spec = JobSpec {
        workflow: Some(wf.def().clone()),
        request: req.clone(),
        chunk_seconds,
        request_id: request_id.map(str::to_owned),
    };
    queue.dispatch(id, &spec, &first).await?;
    let chunked = wf.chunked_stage().cloned().unwrap_or(StageName::RENDER);
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
                        bytes_in,
                        bytes_out,
                        ..
                    } = &p
                    {
                        reports.push(StageReport {
                            stage: stage.clone(),
                            cached: *cached,
                            backend: backend.clone(),
                            seconds: *seconds,
                            key: String::new(),
                            bytes_in: *bytes_in,
                            bytes_out: *bytes_out,
                        });
                    }
                    progress.report(p);
                }
                QueueEvent::Planned { frames, .. } => {
                    frames_total = frames;
                    frames_done = 0;
                    render_started = Some(entry_seconds(&entry));
                    progress.report(Progress::StageStarted {
                        stage: chunked.clone(),
                        percent: wf.percent(&chunked, 0.0),
                    });
                }
                QueueEvent::ChunkDone { frames, .. } => {
                    frames_done = (frames_done + frames).min(frames_total);
                    let part = frames_done as f64 / frames_total.max(1) as f64;
                    progress.report(Progress::StageProgress {
                        stage: chunked.clone(),
                        done: frames_done,
                        total: frames_total,
                        percent: wf.percent(&chunked, part),
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
                        RemoteResult::Video { plan, bytes, .. } => {
                            let written = engine.deliver_assembled(&wf, req, &plan).await?;
                            let seconds = entry_seconds(&entry)
                                - render_started.unwrap_or(entry_seconds(&entry));
                            progress.report(Progress::StageFinished {
                                stage: chunked.clone(),
                                cached: false,
                                backend: None,
                                seconds,
                                bytes_in: 0,
                                bytes_out: bytes,
                                percent: wf.percent(&chunked, 1.0),
                                title: None,
                            });
                            reports.push(StageReport {
                                stage: chunked.clone(),
                                cached: false,
                                backend: None,
                                seconds,
                                key: String::new(),
                                bytes_in: 0,
                                bytes_out: bytes,
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
    chunk_seconds: f64,
    stopping: AtomicBool,
}

impl RemoteExecutor {
    /// An executor dispatching to `queue`; `engine` (with the shared cache) validates
    /// requests and reads results.
    pub fn new(queue: TaskQueue, engine: Arc<Engine>, chunk_seconds: f64) -> RemoteExecutor {
        RemoteExecutor {
            queue,
            engine,
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

    async fn restore(&self, id: &str, request: &MakeRequest) -> Result<bool, VidflowError> {
        let (Some(RemoteResult::Video { plan, .. }), Some(spec)) =
            (self.queue.result(id).await?, self.queue.spec(id).await?)
        else {
            return Ok(false);
        };
        let dir = request.output_dir();
        std::fs::create_dir_all(&dir)
            .map_err(|e| VidflowError::internal(format!("cannot create {}: {e}", dir.display())))?;
        let mut req = spec.request;
        req.output = request.output.clone();
        let wf = match &spec.workflow {
            Some(def) => self.engine.workflow(def)?,
            None => self.engine.workflow_for(&req)?,
        };
        Ok(self
            .engine
            .deliver_assembled(&wf, &req, &plan)
            .await?
            .is_some())
    }
}

impl JobExecutor for RemoteExecutor {
    fn make<'a>(
        &'a self,
        id: &'a str,
        request_id: Option<&'a str>,
        request: &'a MakeRequest,
        progress: &'a dyn ProgressSink,
        cancel: CancelFlag,
    ) -> BoxFuture<'a, Result<MakeReport, VidflowError>> {
        Box::pin(make_remote(
            &self.queue,
            &self.engine,
            id,
            request_id,
            request,
            self.chunk_seconds,
            progress,
            cancel,
            &self.stopping,
        ))
    }

    fn stopping(&self) {
        self.stopping.store(true, Ordering::SeqCst);
    }

    fn cancel_elsewhere<'a>(&'a self, id: &'a str) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            if let Err(e) = self.queue.cancel(id).await {
                warn!(job = id, "cannot pass the cancel on to the workers: {e}");
            }
        })
    }

    fn restore_files<'a>(
        &'a self,
        id: &'a str,
        request: &'a MakeRequest,
    ) -> BoxFuture<'a, Result<bool, VidflowError>> {
        Box::pin(self.restore(id, request))
    }
}
