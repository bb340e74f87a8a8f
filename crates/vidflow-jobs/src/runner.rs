//! The local runner: a bounded pool of workers over a bounded queue, with cancellation,
//! restart recovery and a live event stream per job.

mod retention;

pub use retention::{FileLease, PruneReport, Retention};

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{Notify, broadcast};
use tokio::task::JoinHandle;
use tracing::{Instrument, info, warn};
use vidflow_core::{
    CancelFlag, ErrorKind, MakeRequest, Progress, ProgressSink, StageName, VidflowError,
};

use crate::error::{CancelError, StoreError, SubmitError};
use crate::event::{JobEvent, JobUpdate};
use crate::executor::{JobExecutor, JobOutcome, RequestBuilder, VIDEO_FILE};
use crate::job::{Job, JobFailure, JobState, StageTiming, failure_kind, now_ms};
use crate::store::{Created, JobPage, JobQuery, JobStore};

/// Sizes and places.
#[derive(Debug, Clone, PartialEq)]
pub struct RunnerConfig {
    /// Jobs run at once (at least 1).
    pub max_concurrent: usize,
    /// Jobs waiting beyond the running ones; more are refused with
    /// [`SubmitError::QueueFull`].
    pub max_queued: usize,
    /// Each job's files go to `<jobs_dir>/<job id>/`.
    pub jobs_dir: PathBuf,
}

/// Told about stages and jobs as they finish (metrics). Called on the runner's tasks:
/// must be quick and must not block.
pub trait JobObserver: Send + Sync {
    /// A stage of some job finished.
    fn stage_finished(&self, _timing: &StageTiming) {}
    /// A job failed or was cancelled in `stage`; `kind` is how (`bad_input`, `transient`,
    /// `internal` or `cancelled`, as [`JobFailure::kind`](crate::JobFailure) spells them).
    fn stage_failed(&self, _stage: &StageName, _kind: &str) {}
    /// A job finished (succeeded, failed or cancelled).
    fn job_finished(&self, _job: &Job) {}
    /// A trial of job `job`'s tuning stage ended (`state`: complete, pruned or failed),
    /// with the study's best value so far.
    fn trial_finished(&self, _job: &str, _state: &str, _best: Option<f64>) {}
}

/// An observer that ignores everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoObserver;

impl JobObserver for NoObserver {}

/// A job accepted by [`Runner::submit`].
#[derive(Debug, Clone, PartialEq)]
pub struct Submission {
    /// The job (for a repeated idempotency key, the one made the first time).
    pub job: Job,
    /// True when the idempotency key named a job that already existed.
    pub existing: bool,
}

/// A job's state now and, while it is not finished, the events that follow it.
#[derive(Debug)]
pub struct Watch {
    /// The job now.
    pub job: Job,
    /// Sequence number of the last event before `job` was taken; updates continue after it.
    pub seq: u64,
    /// Later events; `None` when the job has already finished.
    pub updates: Option<broadcast::Receiver<JobUpdate>>,
}

/// How busy the runner is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Load {
    /// Jobs waiting.
    pub queued: usize,
    /// Jobs running.
    pub running: usize,
    /// Size of the pool.
    pub max_concurrent: usize,
    /// Size of the queue.
    pub max_queued: usize,
}

/// Events buffered per watcher; a watcher further behind is sent a fresh `state`.
const EVENT_BUFFER: usize = 256;
/// How long `cancel` waits for a running job to stop before answering.
const CANCEL_WAIT: Duration = Duration::from_secs(5);
/// How often a running job's record is saved with its progress (when it changed).
const PROGRESS_SAVE_EVERY: Duration = Duration::from_millis(500);
/// Finished job records kept in memory for `get`.
const FINISHED_KEPT: usize = 4096;
/// Job length assumed for `Retry-After` until one has finished.
const DEFAULT_JOB_SECONDS: f64 = 30.0;

/// Runs jobs from a [`JobStore`] with a [`JobExecutor`]. Cheap to clone (one shared core).
pub struct Runner {
    inner: Arc<Inner>,
}

impl Clone for Runner {
    fn clone(&self) -> Self {
        Runner {
            inner: self.inner.clone(),
        }
    }
}

struct Inner {
    store: Arc<dyn JobStore>,
    executor: Arc<dyn JobExecutor>,
    build: Arc<RequestBuilder>,
    config: RunnerConfig,
    observer: Arc<dyn JobObserver>,
    shared: Mutex<Shared>,
    /// A job was queued, or the runner is stopping.
    wake: Notify,
    /// A running job finished.
    idle: Notify,
    accepting: AtomicBool,
    stopping: AtomicBool,
    workers: Mutex<Vec<JoinHandle<()>>>,
}

#[derive(Default)]
struct Shared {
    queue: VecDeque<String>,
    /// Queue places promised to submissions still being stored.
    reserved: usize,
    running: usize,
    /// Every queued or running job, with its watchers.
    live: HashMap<String, Live>,
    /// Finished jobs recently read or ended here: their records never change again, so
    /// `get` answers them without the store (the most frequent call of a polling client).
    finished: FinishedJobs,
    /// Smoothed wall time of finished jobs, for `Retry-After`.
    job_seconds: Option<f64>,
    /// Jobs whose files are being downloaded, with how many downloads: retention waits.
    reading: HashMap<String, usize>,
}

struct Live {
    job: Job,
    seq: u64,
    tx: broadcast::Sender<JobUpdate>,
    cancel: CancelFlag,
    /// Stopped by shutdown: goes back to the queue instead of to `cancelled`.
    requeue: bool,
}

impl Live {
    fn new(job: Job) -> Live {
        Live {
            job,
            seq: 0,
            tx: broadcast::channel(EVENT_BUFFER).0,
            cancel: CancelFlag::default(),
            requeue: false,
        }
    }

    fn emit(&mut self, event: JobEvent) {
        self.seq += 1;
        // No watchers is fine: the event is for whoever listens now.
        let _ = self.tx.send(JobUpdate {
            seq: self.seq,
            event,
        });
    }
}

impl Runner {
    /// Starts the runner: jobs left queued or running by an earlier process are queued
    /// again (oldest first), then `config.max_concurrent` workers start. Needs a Tokio
    /// runtime.
    pub async fn start(
        store: Arc<dyn JobStore>,
        executor: Arc<dyn JobExecutor>,
        build: Arc<RequestBuilder>,
        config: RunnerConfig,
        observer: Arc<dyn JobObserver>,
    ) -> Result<Runner, StoreError> {
        let workers = config.max_concurrent.max(1);
        let inner = Arc::new(Inner {
            store,
            executor,
            build,
            config,
            observer,
            shared: Mutex::new(Shared::default()),
            wake: Notify::new(),
            idle: Notify::new(),
            accepting: AtomicBool::new(true),
            stopping: AtomicBool::new(false),
            workers: Mutex::new(Vec::new()),
        });
        let left = inner.store.unfinished().await?;
        if !left.is_empty() {
            info!(jobs = left.len(), "re-queueing jobs left by the last run");
        }
        for mut job in left {
            reset_to_queued(&mut job);
            inner.store.save(&job).await?;
            let mut shared = inner.lock();
            shared.queue.push_back(job.id.clone());
            shared.live.insert(job.id.clone(), Live::new(job));
        }
        let handles = (0..workers)
            .map(|_| tokio::spawn(work(inner.clone())))
            .collect();
        *inner.workers.lock().unwrap_or_else(|p| p.into_inner()) = handles;
        Ok(Runner { inner })
    }

    /// The store jobs are kept in.
    pub fn store(&self) -> &dyn JobStore {
        self.inner.store.as_ref()
    }

    /// The executor jobs run on.
    pub fn executor(&self) -> &dyn JobExecutor {
        self.inner.executor.as_ref()
    }

    /// The request job `job` runs, its files going into `workdir`.
    pub fn request_of(&self, job: &Job, workdir: &Path) -> Result<MakeRequest, VidflowError> {
        (self.inner.build)(&job.request, workdir.join(VIDEO_FILE))
    }

    /// Puts a finished job's files back into `workdir` when they are not on this machine
    /// (another server ran it); returns whether it did.
    pub async fn restore_files(&self, job: &Job, workdir: &Path) -> Result<bool, VidflowError> {
        let request = self.request_of(job, workdir)?;
        self.inner.executor.restore_files(&job.id, &request).await
    }

    /// Accepts a job for `request` (stored as given; `request_hash` identifies equal
    /// requests; `request_id` names the HTTP request that asked, for the logs). With an
    /// idempotency key already used, returns that job when the hashes are equal and
    /// [`SubmitError::Conflict`] when they differ.
    pub async fn submit(
        &self,
        request: serde_json::Value,
        request_hash: String,
        idempotency_key: Option<String>,
        request_id: Option<String>,
    ) -> Result<Submission, SubmitError> {
        self.submit_owned(request, request_hash, idempotency_key, request_id, None)
            .await
    }

    /// Like [`Runner::submit`], for the API key whose id is `owner` ([`Job::owner`]). An
    /// idempotency key held by another owner's job is a [`SubmitError::Conflict`]: that
    /// job is never returned to this one.
    pub async fn submit_owned(
        &self,
        request: serde_json::Value,
        request_hash: String,
        idempotency_key: Option<String>,
        request_id: Option<String>,
        owner: Option<String>,
    ) -> Result<Submission, SubmitError> {
        let inner = &self.inner;
        if !inner.accepting.load(Ordering::SeqCst) {
            return Err(SubmitError::ShuttingDown);
        }
        // A repeat is answered even when the queue is full: it adds no work.
        if let Some(key) = &idempotency_key
            && let Some(existing) = inner.store.by_idempotency_key(key).await?
        {
            return same_owner(existing, &owner).and_then(|j| same_request(j, &request_hash));
        }
        {
            let mut shared = inner.lock();
            let waiting = shared.queue.len() + shared.reserved;
            if waiting >= inner.config.max_queued {
                let per_job = shared.job_seconds.unwrap_or(DEFAULT_JOB_SECONDS);
                let ahead = (waiting + shared.running) as f64 / inner.config.max_concurrent as f64;
                return Err(SubmitError::QueueFull {
                    queued: waiting,
                    retry_after_s: (per_job * ahead).ceil().clamp(1.0, 3600.0) as u64,
                });
            }
            shared.reserved += 1;
        }
        let mut job = Job::new(request, request_hash, idempotency_key);
        job.request_id = request_id;
        job.owner = owner;
        let created = inner.store.create(&job).await;
        let mut shared = inner.lock();
        shared.reserved -= 1;
        match created? {
            Created::Existing(existing) => {
                drop(shared);
                same_owner(*existing, &job.owner).and_then(|j| same_request(j, &job.request_hash))
            }
            Created::New => {
                shared.queue.push_back(job.id.clone());
                shared.live.insert(job.id.clone(), Live::new(job.clone()));
                drop(shared);
                inner.wake.notify_one();
                Ok(Submission {
                    job,
                    existing: false,
                })
            }
        }
    }

    /// The job with this id, live state included.
    pub async fn get(&self, id: &str) -> Result<Option<Job>, StoreError> {
        {
            let shared = self.inner.lock();
            if let Some(live) = shared.live.get(id) {
                return Ok(Some(live.job.clone()));
            }
            if let Some(job) = shared.finished.get(id) {
                return Ok(Some(job));
            }
        }
        let job = self.inner.store.get(id).await?;
        if let Some(j) = job.as_ref().filter(|j| j.state.is_finished()) {
            self.inner.lock().finished.insert(j.clone());
        }
        Ok(job)
    }

    /// Jobs newest first, with live state for those queued or running.
    pub async fn list(&self, query: &JobQuery) -> Result<JobPage, StoreError> {
        let mut page = self.inner.store.list(query).await?;
        let shared = self.inner.lock();
        for job in &mut page.jobs {
            if let Some(live) = shared.live.get(&job.id) {
                *job = live.job.clone();
            }
        }
        Ok(page)
    }

    /// The job now and its later events (see [`Watch`]); `None` when there is no such job.
    pub async fn watch(&self, id: &str) -> Result<Option<Watch>, StoreError> {
        if let Some(live) = self.inner.lock().live.get(id) {
            return Ok(Some(Watch {
                job: live.job.clone(),
                seq: live.seq,
                updates: Some(live.tx.subscribe()),
            }));
        }
        Ok(self.inner.store.get(id).await?.map(|job| Watch {
            job,
            seq: 0,
            updates: None,
        }))
    }

    /// Cancels a job. A queued one is taken off the queue and never starts; a running one is
    /// told to stop (its ffmpeg is killed, its files removed) and this waits a few seconds
    /// for it. Returns the job as it is then.
    pub async fn cancel(&self, id: &str) -> Result<Job, CancelError> {
        let inner = &self.inner;
        let taken = {
            let mut shared = inner.lock();
            match shared.queue.iter().position(|q| q == id) {
                Some(pos) => {
                    shared.queue.remove(pos);
                    shared.live.remove(id)
                }
                None => None,
            }
        };
        if let Some(mut live) = taken {
            live.job.state = JobState::Cancelled;
            live.job.finished_at_ms = Some(now_ms());
            inner.store.save(&live.job).await?;
            let job = live.job.clone();
            if let Some(event) = JobEvent::finished(&job) {
                live.emit(event);
            }
            inner.observer.job_finished(&job);
            return Ok(job);
        }
        let mut updates = {
            let shared = inner.lock();
            shared.live.get(id).map(|live| {
                let rx = live.tx.subscribe();
                live.cancel.cancel();
                rx
            })
        };
        if let Some(rx) = updates.as_mut() {
            let stopped = tokio::time::timeout(CANCEL_WAIT, async {
                loop {
                    match rx.recv().await {
                        Ok(update) if update.event.is_last() => break,
                        Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                        Err(broadcast::error::RecvError::Closed) => break,
                    }
                }
            })
            .await;
            if stopped.is_err() {
                warn!(
                    job = id,
                    "job did not stop within {CANCEL_WAIT:?} of its cancel"
                );
            }
            return self
                .get(id)
                .await?
                .ok_or_else(|| CancelError::NotFound(id.to_owned()));
        }
        match inner.store.get(id).await? {
            None => Err(CancelError::NotFound(id.to_owned())),
            Some(job) if job.state.is_finished() => Err(CancelError::Finished(Box::new(job))),
            // Stored as unfinished but not known to this runner (another process's job):
            // record the cancel so that no one runs it.
            Some(mut job) => {
                job.state = JobState::Cancelled;
                job.finished_at_ms = Some(now_ms());
                inner.store.save(&job).await?;
                inner.executor.cancel_elsewhere(id).await;
                Ok(job)
            }
        }
    }

    /// Deletes a job and its files; an unfinished job is cancelled first. Returns false
    /// when there was no such job.
    pub async fn delete(&self, id: &str) -> Result<bool, CancelError> {
        match self.cancel(id).await {
            Ok(_) | Err(CancelError::Finished(_)) => {}
            Err(CancelError::NotFound(_)) => return Ok(false),
            Err(e) => return Err(e),
        }
        let inner = &self.inner;
        // A job that did not stop within the cancel's wait keeps its record: deleting it
        // would let its worker write files nobody can find.
        if inner.lock().live.contains_key(id) {
            return Err(CancelError::Store(StoreError::Shared(format!(
                "job {id} is still stopping; delete it again in a few seconds"
            ))));
        }
        let deleted = inner.store.delete(id).await?;
        inner.lock().finished.remove(id);
        let dir = inner.config.jobs_dir.join(id);
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => warn!(job = id, "cannot remove {}: {e}", dir.display()),
        }
        Ok(deleted)
    }

    /// Queue and pool use now.
    pub fn load(&self) -> Load {
        let shared = self.inner.lock();
        Load {
            queued: shared.queue.len(),
            running: shared.running,
            max_concurrent: self.inner.config.max_concurrent,
            max_queued: self.inner.config.max_queued,
        }
    }

    /// Stops the runner: no new jobs are accepted or started; running jobs get `grace` to
    /// finish, then are stopped and put back in the queue (in the store), so the next start
    /// runs them again. Returns once every worker has ended.
    pub async fn shutdown(&self, grace: Duration) {
        let inner = &self.inner;
        inner.accepting.store(false, Ordering::SeqCst);
        inner.stopping.store(true, Ordering::SeqCst);
        inner.wake.notify_waiters();
        let deadline = tokio::time::Instant::now() + grace;
        loop {
            let idle = inner.idle.notified();
            tokio::pin!(idle);
            idle.as_mut().enable();
            if inner.lock().running == 0 {
                break;
            }
            if tokio::time::timeout_at(deadline, idle).await.is_err() {
                break;
            }
        }
        inner.executor.stopping();
        {
            let mut shared = inner.lock();
            for live in shared.live.values_mut() {
                if live.job.state == JobState::Running {
                    info!(job = %live.job.id, "stopping job for shutdown; it runs again on the next start");
                    live.requeue = true;
                    live.cancel.cancel();
                }
            }
        }
        let handles = std::mem::take(&mut *inner.workers.lock().unwrap_or_else(|p| p.into_inner()));
        for handle in handles {
            let _ = handle.await;
        }
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, Shared> {
        // A panic elsewhere must not take the whole service down with a poisoned lock.
        self.shared.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The job an idempotency key names, when the submitter owns it.
fn same_owner(existing: Job, owner: &Option<String>) -> Result<Job, SubmitError> {
    if existing.owner == *owner {
        Ok(existing)
    } else {
        Err(SubmitError::KeyTaken {
            idempotency_key: existing.idempotency_key.unwrap_or_default(),
        })
    }
}

fn same_request(existing: Job, request_hash: &str) -> Result<Submission, SubmitError> {
    if existing.request_hash == request_hash {
        Ok(Submission {
            job: existing,
            existing: true,
        })
    } else {
        Err(SubmitError::Conflict {
            idempotency_key: existing.idempotency_key.clone().unwrap_or_default(),
            job_id: existing.id,
        })
    }
}

fn reset_to_queued(job: &mut Job) {
    job.state = JobState::Queued;
    job.stage = None;
    job.percent = None;
    job.stages.clear();
    job.started_at_ms = None;
}

/// One worker: takes queued jobs until the runner stops.
async fn work(inner: Arc<Inner>) {
    while let Some(id) = next_job(&inner).await {
        run_job(&inner, &id).await;
    }
}

async fn next_job(inner: &Inner) -> Option<String> {
    loop {
        // Registered before looking, so a job queued in between still wakes us.
        let woken = inner.wake.notified();
        tokio::pin!(woken);
        woken.as_mut().enable();
        {
            let mut shared = inner.lock();
            if inner.stopping.load(Ordering::SeqCst) {
                return None;
            }
            if let Some(id) = shared.queue.pop_front() {
                shared.running += 1;
                return Some(id);
            }
        }
        woken.await;
    }
}

/// Finished jobs kept in memory, oldest dropped first beyond [`FINISHED_KEPT`].
#[derive(Default)]
struct FinishedJobs {
    jobs: HashMap<String, Job>,
    order: VecDeque<String>,
}

impl FinishedJobs {
    fn get(&self, id: &str) -> Option<Job> {
        self.jobs.get(id).cloned()
    }

    fn remove(&mut self, id: &str) {
        if self.jobs.remove(id).is_some() {
            self.order.retain(|k| k != id);
        }
    }

    fn insert(&mut self, job: Job) {
        if self.jobs.insert(job.id.clone(), job.clone()).is_none() {
            self.order.push_back(job.id);
            if self.order.len() > FINISHED_KEPT
                && let Some(old) = self.order.pop_front()
            {
                self.jobs.remove(&old);
            }
        }
    }
}

/// Reports a running job's progress to its record and watchers.
struct LiveSink<'a> {
    inner: &'a Inner,
    id: &'a str,
}

impl ProgressSink for LiveSink<'_> {
    fn report(&self, event: Progress) {
        if let Some(live) = self.inner.lock().live.get_mut(self.id) {
            live.job.apply(&event);
            if matches!(event, Progress::StageFinished { .. })
                && let Some(timing) = live.job.stages.last()
            {
                self.inner.observer.stage_finished(timing);
            }
            if let Progress::Trial { state, best, .. } = &event {
                self.inner.observer.trial_finished(self.id, state, *best);
            }
            live.emit(JobEvent::Stage(event));
        }
    }
}

async fn run_job(inner: &Inner, id: &str) {
    let started = {
        let mut shared = inner.lock();
        match shared.live.get_mut(id) {
            Some(live) => {
                let job = &mut live.job;
                reset_to_queued(job);
                job.state = JobState::Running;
                job.attempts += 1;
                job.started_at_ms = Some(now_ms());
                job.percent = Some(0.0);
                job.result = None;
                job.error = None;
                let snapshot = job.clone();
                live.emit(JobEvent::State {
                    job: Box::new(snapshot.clone()),
                });
                Some((snapshot, live.cancel.clone()))
            }
            None => None,
        }
    };
    let Some((job, cancel)) = started else {
        inner.lock().running -= 1;
        return;
    };
    if let Err(e) = inner.store.save(&job).await {
        warn!(job = id, "cannot record the job as running: {e}");
    }
    let workdir = inner.config.jobs_dir.join(id);
    // Every line the run logs (its stages' spans nest here) names the job and the request
    // that submitted it.
    let span = tracing::info_span!(
        "job",
        job = %job.id,
        request_id = job.request_id.as_deref(),
    );
    span.in_scope(|| info!(attempt = job.attempts, "job started"));
    let result = match fresh_dir(&workdir) {
        Ok(()) => {
            let sink = LiveSink { inner, id };
            let run = async {
                let request = (inner.build)(&job.request, workdir.join(VIDEO_FILE))?;
                let report = inner
                    .executor
                    .make(&job.id, job.request_id.as_deref(), &request, &sink, cancel)
                    .await?;
                Ok(JobOutcome::from_report(report))
            }
            .instrument(span.clone());
            tokio::pin!(run);
            // The record follows the run's progress, so that other processes sharing the
            // store (a second server) see it too.
            let mut tick = tokio::time::interval(PROGRESS_SAVE_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut saved_seq = 0;
            loop {
                tokio::select! {
                    result = &mut run => break result,
                    _ = tick.tick() => {
                        let changed = inner.lock().live.get(id).and_then(|live| {
                            (live.seq != saved_seq).then(|| (live.seq, live.job.clone()))
                        });
                        if let Some((seq, snapshot)) = changed {
                            saved_seq = seq;
                            if let Err(e) = inner.store.save(&snapshot).await {
                                warn!(job = id, "cannot record the job's progress: {e}");
                            }
                        }
                    }
                }
            }
        }
        Err(e) => Err(e),
    };
    finish_job(inner, id, result, &workdir)
        .instrument(span)
        .await;
}

/// An empty folder for a run: what an interrupted earlier run left is removed first.
fn fresh_dir(dir: &Path) -> Result<(), VidflowError> {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            return Err(VidflowError::internal(format!(
                "cannot clear {}: {e}",
                dir.display()
            )));
        }
    }
    std::fs::create_dir_all(dir)
        .map_err(|e| VidflowError::internal(format!("cannot create {}: {e}", dir.display())))
}

async fn finish_job(
    inner: &Inner,
    id: &str,
    result: Result<JobOutcome, VidflowError>,
    workdir: &Path,
) {
    let mut failed_in: Option<(StageName, &'static str)> = None;
    let job = {
        let mut shared = inner.lock();
        let Some(live) = shared.live.get_mut(id) else {
            shared.running -= 1;
            return;
        };
        let requeue = live.requeue;
        let mut job = live.job.clone();
        // The stage running when the run ended is the one that failed (if it failed).
        let running = job.stage.take();
        if let (Some(stage), Err(e)) = (&running, &result)
            && !(e.kind == ErrorKind::Cancelled && requeue)
        {
            failed_in = Some((stage.clone(), failure_kind(e.kind)));
        }
        match result {
            Ok(outcome) => {
                job.state = JobState::Succeeded;
                job.stages = outcome.stages;
                job.result = Some(outcome.output);
                job.percent = Some(100.0);
            }
            Err(e) if e.kind == ErrorKind::Cancelled && requeue => reset_to_queued(&mut job),
            Err(e) if e.kind == ErrorKind::Cancelled => job.state = JobState::Cancelled,
            Err(e) => {
                job.state = JobState::Failed;
                job.error = Some(JobFailure::from(&e));
            }
        }
        if job.state.is_finished() {
            job.finished_at_ms = Some(now_ms());
        }
        if job.state == JobState::Succeeded
            && let Some(secs) = job.run_seconds()
        {
            shared.job_seconds = Some(match shared.job_seconds {
                Some(avg) => 0.8 * avg + 0.2 * secs,
                None => secs,
            });
        }
        job
    };
    match &job.error {
        Some(e) => {
            warn!(state = job.state.as_str(), kind = %e.kind, error = %e.message, "job finished")
        }
        None => info!(
            state = job.state.as_str(),
            seconds = job.run_seconds(),
            "job finished"
        ),
    }
    if job.state != JobState::Succeeded {
        // No half-made outputs: a failed, cancelled or interrupted run leaves nothing.
        if let Err(e) = std::fs::remove_dir_all(workdir)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            warn!(job = id, "cannot remove {}: {e}", workdir.display());
        }
    }
    // Stored before it is announced, so whoever hears "done" finds it done.
    if let Err(e) = inner.store.save(&job).await {
        warn!(job = id, "cannot record the job's end: {e}");
    }
    {
        let mut shared = inner.lock();
        shared.running -= 1;
        if job.state.is_finished() {
            shared.finished.insert(job.clone());
        }
        if let Some(mut live) = shared.live.remove(id) {
            live.job = job.clone();
            let event = JobEvent::finished(&job).unwrap_or_else(|| JobEvent::State {
                job: Box::new(job.clone()),
            });
            live.emit(event);
        }
    }
    inner.idle.notify_waiters();
    if let Some((stage, kind)) = &failed_in {
        inner.observer.stage_failed(stage, kind);
    }
    if job.state.is_finished() {
        inner.observer.job_finished(&job);
    }
}
