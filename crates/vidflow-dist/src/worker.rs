//! `vidflow worker`: takes tasks from the stream, runs them on the pipeline engine, stores
//! each result in the shared cache before acknowledging it, and takes over tasks a dead
//! worker left behind.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use prometheus::{IntCounterVec, Opts};
use tokio::sync::{Semaphore, mpsc};
use tracing::{Instrument, info, warn};
use vidflow_core::{
    CancelFlag, ContentKey, ErrorKind, Progress, ProgressSink, Scratch, StageName, VidflowError,
    Workflow,
};
use vidflow_jobs::{JobObserver, StageTiming, now_ms};
use vidflow_metrics::Metrics;
use vidflow_stages::Engine;

use crate::error::DistError;
use crate::queue::{Delivery, TaskQueue, WorkerInfo};
use crate::task::{JobSpec, Next, QueueEvent, RemoteResult, Task, TaskKind};

/// How a worker behaves.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkerOptions {
    /// Tasks run at once.
    pub concurrency: usize,
    /// A task not renewed for this long is taken over by another worker.
    pub lease: Duration,
    /// Deliveries before a task goes to the dead letters.
    pub max_deliveries: u64,
    /// On SIGTERM, how long running tasks get to finish before they are handed back.
    pub grace: Duration,
}

impl WorkerOptions {
    /// The options `queue.*` asks for.
    pub fn from_config(config: &vidflow_core::QueueConfig) -> WorkerOptions {
        WorkerOptions {
            concurrency: config.concurrency.max(1),
            lease: Duration::from_secs(config.lease_seconds.max(1)),
            max_deliveries: config.max_deliveries.max(1),
            grace: Duration::from_secs(config.worker_grace_seconds),
        }
    }
}

/// A worker process's state. Start it with [`Worker::run`].
pub struct Worker {
    queue: TaskQueue,
    engine: Arc<Engine>,
    options: WorkerOptions,
    name: String,
    host: String,
    started_at_ms: u64,
    running: Mutex<HashMap<String, String>>,
    done: AtomicU64,
    failed: AtomicU64,
    /// Set on shutdown: interrupted tasks are handed back, not failed.
    stopping: AtomicBool,
    /// Cancel flags of the running tasks, by entry id.
    cancels: Mutex<HashMap<String, CancelFlag>>,
    metrics: Arc<Metrics>,
    tasks_total: IntCounterVec,
}

/// How a task can end (label `outcome` of `vidflow_worker_tasks_total`).
const TASK_OUTCOMES: [&str; 7] = [
    "ok",
    "retry",
    "dead_letter",
    "bad_input",
    "cancelled",
    "handed_back",
    "dropped",
];

/// Refuses a task whose page is a local file: a task comes from Redis, which is a trust
/// boundary, and a `file://` URL or path there would make the worker read its own files
/// (clients send local pages inline, and the API refuses them).
pub fn refuse_local_source(request: &vidflow_core::MakeRequest) -> Result<(), VidflowError> {
    match &request.source {
        Some(source @ vidflow_core::Source::Url(input)) if source.local_path().is_some() => {
            Err(VidflowError::bad_input(format!(
                "a task from the shared queue names a local file ({}): workers fetch only http(s) pages; send the page's HTML instead",
                input.chars().take(80).collect::<String>()
            )))
        }
        _ => Ok(()),
    }
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker").field("name", &self.name).finish()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The machine's name, for consumer names and `status`.
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

impl Worker {
    /// A worker taking tasks from `queue` and running them on `engine`, whose cache must
    /// have the shared Redis tier (other workers read what this one stores).
    pub fn new(
        queue: TaskQueue,
        engine: Arc<Engine>,
        options: WorkerOptions,
        metrics: Arc<Metrics>,
    ) -> Result<Worker, DistError> {
        if !engine.cache().backends().contains(&"redis") {
            return Err(DistError::Settings(
                "a worker needs the shared cache: set cache.redis_url (or leave it unset to use \
                 queue.redis_url) and keep the cache enabled"
                    .into(),
            ));
        }
        let tasks_total = IntCounterVec::new(
            Opts::new(
                "vidflow_worker_tasks_total",
                "Tasks this worker ended, by kind and outcome",
            ),
            &["kind", "outcome"],
        )
        .map_err(|e| DistError::Settings(format!("metrics: {e}")))?;
        metrics
            .registry()
            .register(Box::new(tasks_total.clone()))
            .map_err(|e| DistError::Settings(format!("metrics: {e}")))?;
        // Every series the dashboard and the alerts read exists from the first scrape.
        let stages = engine.registry().stage_names();
        metrics.register_stages(&stages);
        let kinds = stages
            .iter()
            .map(String::as_str)
            .chain(["chunk", "assemble"]);
        for kind in kinds {
            for outcome in TASK_OUTCOMES {
                tasks_total.with_label_values(&[kind, outcome]);
            }
        }
        let host = host_name();
        let suffix =
            &blake3::hash(format!("{}{:?}", now_ms(), Instant::now()).as_bytes()).to_hex()[..6];
        let name = format!("{host}-{}-{suffix}", std::process::id());
        Ok(Worker {
            queue,
            engine,
            options,
            name,
            host,
            started_at_ms: now_ms(),
            running: Mutex::new(HashMap::new()),
            done: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            stopping: AtomicBool::new(false),
            cancels: Mutex::new(HashMap::new()),
            metrics,
            tasks_total,
        })
    }

    /// The consumer name this worker reads under.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The queue it serves.
    pub fn queue(&self) -> &TaskQueue {
        &self.queue
    }

    fn info(&self) -> WorkerInfo {
        WorkerInfo {
            name: self.name.clone(),
            host: self.host.clone(),
            pid: std::process::id(),
            concurrency: self.options.concurrency,
            tasks: lock(&self.running).values().cloned().collect(),
            done: self.done.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            started_at_ms: self.started_at_ms,
            seen_at_ms: now_ms(),
        }
    }

    /// Runs until `shutdown` resolves; then takes no new task, gives running ones
    /// [`WorkerOptions::grace`] to finish, hands back (leaves unacknowledged, for another
    /// worker to take over) those still running, and returns.
    pub async fn run(self: Arc<Self>, shutdown: impl Future<Output = ()>) -> Result<(), DistError> {
        let slots = Arc::new(Semaphore::new(self.options.concurrency));
        let reader = self.queue.listener().await?;
        info!(worker = %self.name, queue = %self.queue.server(), concurrency = self.options.concurrency, "worker started");
        let beat = tokio::spawn(self.clone().heartbeats());
        tokio::pin!(shutdown);
        // The janitor's sweep runs in this loop, with a slot this loop holds: a separate
        // task would rarely find a slot free while the reader waits holding one.
        let sweep_every = (self.options.lease / 2).max(Duration::from_millis(250));
        let mut next_sweep = Instant::now() + sweep_every;
        let mut failing = false;
        loop {
            let permit = tokio::select! {
                _ = &mut shutdown => break,
                p = slots.clone().acquire_owned() => match p {
                    Ok(p) => p,
                    Err(_) => break,
                },
            };
            if Instant::now() >= next_sweep {
                next_sweep = Instant::now() + sweep_every;
                match self.queue.reclaim(&self.name, self.options.lease).await {
                    Ok(Some(delivery)) => {
                        info!(entry = %delivery.id, deliveries = delivery.deliveries, "took over an abandoned task");
                        // Sweep again at once: more may be waiting.
                        next_sweep = Instant::now();
                        tokio::spawn(self.clone().handle(delivery, permit));
                        continue;
                    }
                    Ok(None) => {}
                    Err(e) => warn!("cannot reclaim tasks: {e}"),
                }
            }
            let wait = next_sweep
                .saturating_duration_since(Instant::now())
                .clamp(Duration::from_millis(50), Duration::from_secs(1));
            let read = tokio::select! {
                _ = &mut shutdown => break,
                r = reader.read(&self.name, wait) => r,
            };
            match read {
                Ok(Some(delivery)) => {
                    failing = false;
                    tokio::spawn(self.clone().handle(delivery, permit));
                }
                Ok(None) => failing = false,
                Err(e) => {
                    if !failing {
                        warn!("cannot read tasks: {e}; retrying");
                        failing = true;
                    }
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
        info!(worker = %self.name, "stopping: no new tasks; running ones get {:?}", self.options.grace);
        let all = self.options.concurrency as u32;
        let finished = tokio::time::timeout(self.options.grace, slots.acquire_many(all)).await;
        if finished.is_err() {
            self.stopping.store(true, Ordering::SeqCst);
            for cancel in lock(&self.cancels).values() {
                cancel.cancel();
            }
            let _ = tokio::time::timeout(Duration::from_secs(10), slots.acquire_many(all)).await;
        }
        beat.abort();
        if let Err(e) = self.queue.forget_worker(&self.name).await {
            warn!("cannot remove this worker's heartbeat: {e}");
        }
        info!(worker = %self.name, "stopped");
        Ok(())
    }

    async fn heartbeats(self: Arc<Self>) {
        let every = (self.options.lease / 3).max(Duration::from_millis(500));
        let ttl = every * 3;
        loop {
            if let Err(e) = self.queue.heartbeat(&self.info(), ttl).await {
                warn!("cannot publish the heartbeat: {e}");
            }
            tokio::time::sleep(every).await;
        }
    }

    fn count(&self, kind: &TaskKind, outcome: &str) {
        self.tasks_total
            .with_label_values(&[kind.label(), outcome])
            .inc();
    }

    /// The job's workflow, built (once per process for each distinct workflow).
    fn workflow(&self, spec: &JobSpec) -> Result<Arc<Workflow>, VidflowError> {
        match &spec.workflow {
            Some(def) => self.engine.workflow(def),
            None => self.engine.workflow_for(&spec.request),
        }
    }

    /// The stage a task belongs to: its own, or for chunks the workflow's chunked stage.
    fn stage_of(&self, task: &Task, spec: Option<&JobSpec>) -> StageName {
        match &task.kind {
            TaskKind::Stage(s) => s.clone(),
            TaskKind::Chunk(_) | TaskKind::Assemble => spec
                .and_then(|spec| self.workflow(spec).ok())
                .and_then(|wf| wf.chunked_stage().cloned())
                .unwrap_or(StageName::RENDER),
        }
    }

    /// Runs one delivery to its end: acknowledged (done, bad input, cancelled, dead
    /// letter) or left pending (a failure to retry, or handed back on shutdown).
    async fn handle(
        self: Arc<Self>,
        delivery: Delivery,
        permit: tokio::sync::OwnedSemaphorePermit,
    ) {
        let _permit = permit;
        let id = delivery.id.clone();
        let task = match delivery.task {
            Ok(t) => t,
            Err(why) => {
                warn!(entry = %id, "unreadable task sent to the dead letters: {why}");
                if let Err(e) = self
                    .queue
                    .dead_letter_unreadable(&id, delivery.deliveries, &why)
                    .await
                {
                    warn!("cannot move task {id} to the dead letters: {e}");
                }
                return;
            }
        };
        // Every line about this task (the stages' own spans nest here) names its job and,
        // once the job's spec is read, the HTTP request that submitted the job.
        let span = tracing::info_span!(
            "task",
            job = %task.job,
            task = %task.kind,
            request_id = tracing::field::Empty,
        );
        let handled = self
            .handle_task(&id, &task, delivery.deliveries)
            .instrument(span)
            .await;
        if let Err(e) = handled {
            // Redis itself failed: leave the task pending; a janitor retries it later.
            warn!(entry = %id, task = %task.kind, job = %task.job, "task left for a retry: {e}");
        }
    }

    async fn handle_task(&self, id: &str, task: &Task, deliveries: u64) -> Result<(), DistError> {
        let q = &self.queue;
        if deliveries > self.options.max_deliveries {
            let last = q.last_error(&task.job, id).await?.unwrap_or_else(|| {
                "its worker stopped before finishing it (killed or lost) every time".into()
            });
            let spec = q.spec(&task.job).await?;
            return self
                .give_up(id, task, spec.as_ref(), deliveries, &last)
                .await;
        }
        let Some(spec) = q.spec(&task.job).await? else {
            warn!(job = %task.job, "task of an unknown or expired job dropped");
            self.count(&task.kind, "dropped");
            return q.ack(id).await;
        };
        tracing::Span::current().record("request_id", spec.request_id.as_deref());
        if q.is_cancelled(&task.job).await? {
            q.post(&task.job, &QueueEvent::Cancelled).await?;
            self.count(&task.kind, "cancelled");
            return q.ack(id).await;
        }
        if let Some(why) = self.cannot_speak(task, &spec) {
            // Refused before any work: the job fails now, naming the voice and this worker.
            warn!(entry = %id, job = %task.job, "task refused: {why}");
            self.failed.fetch_add(1, Ordering::Relaxed);
            self.count(&task.kind, "bad_input");
            q.post(
                &task.job,
                &QueueEvent::Failed {
                    kind: "bad_input".into(),
                    message: why,
                },
            )
            .await?;
            return q.ack(id).await;
        }
        lock(&self.running).insert(id.to_owned(), format!("{} of job {}", task.kind, task.job));
        let cancel = CancelFlag::default();
        lock(&self.cancels).insert(id.to_owned(), cancel.clone());
        let started = Instant::now();
        let result = {
            let work = self.execute(task, &spec, cancel.clone());
            tokio::pin!(work);
            let mut renew =
                tokio::time::interval((self.options.lease / 3).max(Duration::from_millis(200)));
            renew.tick().await;
            loop {
                tokio::select! {
                    r = &mut work => break r,
                    _ = renew.tick() => {
                        // Renewing keeps the janitors off a long task; a cancel stops it.
                        match q.renew(&self.name, id).await {
                            Ok(true) => {}
                            Ok(false) => {
                                // Another worker took it over (this one stalled past the
                                // lease): leave the task to it.
                                warn!(entry = %id, "task taken over by another worker; dropping it here");
                                cancel.cancel();
                            }
                            Err(e) => warn!("cannot renew the claim on {id}: {e}"),
                        }
                        if let Ok(true) = q.is_cancelled(&task.job).await {
                            cancel.cancel();
                        }
                    }
                }
            }
        };
        lock(&self.running).remove(id);
        lock(&self.cancels).remove(id);
        // The stage's own time, runs and bytes were counted from its events (EventSink);
        // a failure is counted here, per try, except a task handed back on shutdown.
        if let Err(e) = &result
            && !(e.kind == ErrorKind::Cancelled && self.stopping.load(Ordering::SeqCst))
        {
            self.metrics.observe_stage_failure(
                &self.stage_of(task, Some(&spec)),
                vidflow_jobs::JobFailure::from(e).kind.as_str(),
            );
        }
        match result {
            Ok(()) => {
                info!(entry = %id, seconds = started.elapsed().as_secs_f64(), "task done");
                self.done.fetch_add(1, Ordering::Relaxed);
                self.count(&task.kind, "ok");
                q.ack(id).await
            }
            Err(e) if e.kind == ErrorKind::Cancelled => {
                if q.is_cancelled(&task.job).await? {
                    q.post(&task.job, &QueueEvent::Cancelled).await?;
                    self.count(&task.kind, "cancelled");
                    q.ack(id).await
                } else {
                    // Stopping: leave it pending; another worker takes it over.
                    info!(entry = %id, task = %task.kind, "handed back on shutdown");
                    self.count(&task.kind, "handed_back");
                    Ok(())
                }
            }
            Err(e) if e.kind == ErrorKind::BadInput => {
                // Retrying cannot help: the job fails now, naming the problem.
                self.failed.fetch_add(1, Ordering::Relaxed);
                self.count(&task.kind, "bad_input");
                q.post(
                    &task.job,
                    &QueueEvent::Failed {
                        kind: "bad_input".into(),
                        message: e.message.clone(),
                    },
                )
                .await?;
                q.ack(id).await
            }
            Err(e) => {
                self.failed.fetch_add(1, Ordering::Relaxed);
                let message = format!("{}: {}", task.kind, e.message);
                warn!(entry = %id, job = %task.job, try_ = deliveries, "task failed: {message}");
                q.record_error(&task.job, id, &message).await?;
                if deliveries >= self.options.max_deliveries {
                    self.give_up(id, task, Some(&spec), deliveries, &message)
                        .await
                } else {
                    self.count(&task.kind, "retry");
                    // Left pending: a janitor takes it again once the lease runs out.
                    Ok(())
                }
            }
        }
    }

    /// Sends a task to the dead letters and fails its job with the task's last error.
    async fn give_up(
        &self,
        id: &str,
        task: &Task,
        spec: Option<&JobSpec>,
        deliveries: u64,
        error: &str,
    ) -> Result<(), DistError> {
        warn!(entry = %id, job = %task.job, "task failed {deliveries} times; moved to the dead letters: {error}");
        self.count(&task.kind, "dead_letter");
        self.queue.dead_letter(id, task, deliveries, error).await?;
        let stage = self.stage_of(task, spec);
        let message = if error.starts_with(&task.kind.to_string()) {
            format!("stage {stage} failed after {deliveries} tries: {error}")
        } else {
            format!(
                "stage {stage} ({}) failed after {deliveries} tries: {error}",
                task.kind
            )
        };
        self.queue
            .post(
                &task.job,
                &QueueEvent::Failed {
                    kind: "internal".into(),
                    message,
                },
            )
            .await
    }

    /// Does the task's work and queues what follows it.
    /// Why this worker cannot do `task`, when it speaks with a voice not installed here.
    fn cannot_speak(&self, task: &Task, spec: &JobSpec) -> Option<String> {
        let TaskKind::Stage(stage) = &task.kind else {
            return None;
        };
        let wf = self.workflow(spec).ok()?;
        let kind = wf.stage_type(stage)?;
        if !vidflow_stages::speak::SPEAKING_STAGE_TYPES.contains(&kind) {
            return None;
        }
        let voice = &spec.request.voice;
        vidflow_stages::speak::voice_usable_here(voice)
            .err()
            .map(|e| {
                format!(
                    "worker {} refused stage {stage}: it cannot speak with voice {voice:?}: {}",
                    self.name, e.message
                )
            })
    }

    async fn execute(
        &self,
        task: &Task,
        spec: &JobSpec,
        cancel: CancelFlag,
    ) -> Result<(), VidflowError> {
        let q = &self.queue;
        refuse_local_source(&spec.request)?;
        let wf = self.workflow(spec)?;
        let folder = tempfile::tempdir()
            .map_err(|e| VidflowError::internal(format!("cannot create a scratch folder: {e}")))?;
        let scratch = Scratch::new(folder.path());
        let mut req = spec.request.clone();
        req.output = folder.path().join("video.mp4");
        let counted = self.stage_of(task, Some(spec));
        let (sink, forwarded) = EventSink::start(
            q.clone(),
            task.job.clone(),
            &task.kind,
            self.metrics.clone(),
            counted,
        );
        let env = self.engine.env(&sink, cancel, &scratch);
        let result = async {
            match &task.kind {
                TaskKind::Stage(stage) => {
                    let outcome = wf.run_until(&env, &req, Some(stage)).await?;
                    // A page given inline is not stored: the spec carries it.
                    if wf.stores(stage, &req)
                        && let Some(last) = outcome.reports.last()
                    {
                        self.ensure_shared(&last.key, task).await?;
                    }
                    match JobSpec::after(&wf, &req, stage) {
                        Next::Stage(next) => {
                            q.enqueue(&[Task {
                                job: task.job.clone(),
                                kind: TaskKind::Stage(next),
                            }])
                            .await?;
                        }
                        Next::Finish => {
                            let (stage, last) = outcome.last();
                            let result = RemoteResult::Stage {
                                stage: stage.clone(),
                                output: last.value.to_json()?,
                            };
                            q.post(&task.job, &QueueEvent::Succeeded { result }).await?;
                        }
                        Next::Chunks => {
                            // The stages before were replayed from the cache above: quiet.
                            let quiet =
                                self.engine
                                    .env(&|_: Progress| {}, env.cancel.clone(), &scratch);
                            let plan = wf.chunk_plan(&quiet, &req, spec.chunk_seconds).await?;
                            q.set_plan(&task.job, &plan).await?;
                            let chunks = plan.chunks.len() as u32;
                            q.post(
                                &task.job,
                                &QueueEvent::Planned {
                                    chunks,
                                    frames: plan.frames,
                                },
                            )
                            .await?;
                            let tasks: Vec<Task> = plan
                                .chunks
                                .iter()
                                .map(|c| Task {
                                    job: task.job.clone(),
                                    kind: TaskKind::Chunk(c.index),
                                })
                                .collect();
                            q.enqueue(&tasks).await?;
                        }
                    }
                }
                TaskKind::Chunk(index) => {
                    let plan = q.plan(&task.job).await?.ok_or_else(|| {
                        VidflowError::internal(format!("job {} has no chunk plan", task.job))
                    })?;
                    let span = plan.span(*index)?;
                    let report = wf.run_chunk(&env, &req, &plan, *index).await?;
                    if !report.cached {
                        let frames = span.len();
                        let video_seconds = frames as f64 / f64::from(req.fps.max(1));
                        self.metrics
                            .observe_render(frames, video_seconds, report.seconds);
                    }
                    self.ensure_shared(&report.key, task).await?;
                    q.post(
                        &task.job,
                        &QueueEvent::ChunkDone {
                            index: *index,
                            frames: span.len(),
                            worker: self.name.clone(),
                        },
                    )
                    .await?;
                    q.chunk_done(&task.job, *index, plan.chunks.len() as u32)
                        .await?;
                }
                TaskKind::Assemble => {
                    let plan = q.plan(&task.job).await?.ok_or_else(|| {
                        VidflowError::internal(format!("job {} has no chunk plan", task.job))
                    })?;
                    let report = wf.assemble(&env, &req, &plan).await?;
                    self.ensure_shared(&report.key, task).await?;
                    let chunked = wf.chunked_stage().cloned().unwrap_or(StageName::RENDER);
                    match JobSpec::after(&wf, &req, &chunked) {
                        // A stage after the render (rare) runs as a task of its own.
                        Next::Stage(next) => {
                            q.enqueue(&[Task {
                                job: task.job.clone(),
                                kind: TaskKind::Stage(next),
                            }])
                            .await?;
                        }
                        Next::Finish | Next::Chunks => {
                            let result = RemoteResult::Video {
                                plan,
                                key: report.key,
                                bytes: report.bytes,
                            };
                            q.post(&task.job, &QueueEvent::Succeeded { result }).await?;
                        }
                    }
                }
            }
            Ok::<(), VidflowError>(())
        }
        .await;
        // Every progress event is in the job's stream before the task counts as done.
        drop(env);
        drop(sink);
        let _ = forwarded.await;
        result
    }

    /// Fails (for a retry) when a result did not reach the shared tier: another worker or
    /// the server would not find it. Redis may be gone for a moment (restarted, failing
    /// over) while the result sits in this worker's own tiers: then it waits for Redis, up
    /// to ten leases (5 to 60 s), and copies the result there rather than have the work
    /// redone. Longer than a restart and than the cache's backoff while Redis was down;
    /// short next to the lease an operator chose, so a tier that never answers still fails
    /// the task soon.
    async fn ensure_shared(&self, key: &str, task: &Task) -> Result<(), VidflowError> {
        let key = ContentKey::from_string(key);
        let cache = self.engine.cache();
        let wait = (self.options.lease * 10).clamp(Duration::from_secs(5), Duration::from_secs(60));
        let deadline = Instant::now() + wait;
        let mut pause = Duration::from_millis(250);
        loop {
            if cache.contains_in("redis", &key).await == Some(true) {
                return Ok(());
            }
            if !cache.backends().contains(&"redis") || Instant::now() >= deadline {
                return Err(VidflowError::transient(format!(
                    "the result of {} did not reach the shared cache (Redis)",
                    task.kind
                )));
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(4));
            if let Some(hit) = cache.get(&key).await
                && hit.backend != "redis"
                && cache.put_in("redis", &key, &hit.bytes).await
            {
                info!(task = %task.kind, "result copied to the shared cache once Redis was back");
            }
        }
    }
}

/// Forwards a task's own progress events to its job's event stream, in order, and counts
/// the task's own stage in this worker's metrics.
struct EventSink {
    tx: mpsc::UnboundedSender<Progress>,
    stage: Option<StageName>,
    metrics: Arc<Metrics>,
    /// The stage this task runs (for chunks, the chunked stage): the stages before it
    /// are cache hits replayed here and were counted where they ran.
    counted: StageName,
}

impl EventSink {
    fn start(
        queue: TaskQueue,
        job: String,
        kind: &TaskKind,
        metrics: Arc<Metrics>,
        counted: StageName,
    ) -> (EventSink, tokio::task::JoinHandle<()>) {
        let (tx, mut rx) = mpsc::unbounded_channel::<Progress>();
        let forwarder = tokio::spawn(async move {
            while let Some(progress) = rx.recv().await {
                if let Err(e) = queue.post(&job, &QueueEvent::Progress { progress }).await {
                    warn!("cannot post progress of job {job}: {e}");
                }
            }
        });
        // Render tasks report through ChunkDone; stage tasks report their own stage only
        // (the stages before it are cache hits replayed on this worker).
        let stage = match kind {
            TaskKind::Stage(s) => Some(s.clone()),
            _ => None,
        };
        (
            EventSink {
                tx,
                stage,
                metrics,
                counted,
            },
            forwarder,
        )
    }
}

impl ProgressSink for EventSink {
    fn report(&self, event: Progress) {
        if let Some(timing) = StageTiming::finished(&event)
            && timing.stage == self.counted
        {
            self.metrics.stage_finished(&timing);
        }
        let own = !matches!(event, Progress::StageProgress { .. })
            && self.stage.as_ref() == Some(event.stage());
        if own {
            let _ = self.tx.send(event);
        }
    }
}

#[cfg(test)]
mod local_source_tests {
    use super::*;

    #[test]
    fn tasks_naming_local_files_are_refused() {
        let mut req = vidflow_core::MakeRequest {
            source: None,
            script_text: None,
            workflow: None,
            avatar: "avatar_1".into(),
            size: vidflow_core::VideoSize {
                width: 320,
                height: 180,
            },
            fps: 12,
            max_seconds: 5.0,
            voice: "slt".into(),
            preset: "ultrafast".into(),
            crf: 30,
            x264: Default::default(),
            subtitles: false,
            stop_after: None,
            params: Default::default(),
            output: "/tmp/out.mp4".into(),
        };
        for local in ["file:///etc/passwd", "/etc/passwd", "page.html"] {
            req.source = Some(vidflow_core::Source::Url(local.into()));
            let err = refuse_local_source(&req).unwrap_err();
            assert_eq!(err.kind, ErrorKind::BadInput, "{local}");
        }
        req.source = Some(vidflow_core::Source::Url("https://example.org/".into()));
        assert!(refuse_local_source(&req).is_ok());
    }
}
