//! Prometheus metrics shared by the server and the worker: jobs, stages, cache tiers, the
//! shared task queue, memory and CPU, HTTP requests.
//!
//! ```
//! use vidflow_core::StageName;
//! use vidflow_metrics::{Metrics, QueueFigures};
//!
//! let metrics = Metrics::new().unwrap();
//! // Every stage the process may run shows from the first scrape, at zero.
//! metrics.register_stages(["fetch", "render"]);
//! metrics.observe_stage(&StageName::RENDER, 2.5);
//! metrics.watch_queue().unwrap();
//! metrics.set_queue(&QueueFigures { pending: 3, ..QueueFigures::default() }, 2);
//! let text = metrics.render();
//! assert!(text.contains("vidflow_queue_pending 3"));
//! assert!(text.contains(r#"vidflow_stage_failures_total{kind="internal",stage="fetch"} 0"#));
//! ```

#![warn(missing_docs)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{
    Encoder, Gauge, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts,
    Registry, TextEncoder,
};
use serde::{Deserialize, Serialize};
use vidflow_cache::TieredCache;
use vidflow_core::StageName;
use vidflow_jobs::{Job, JobObserver, JobOutput, JobState, StageTiming};

mod process;

pub use process::peak_resident_bytes;
use process::{cpu_seconds, memory_limit_bytes, resident_bytes};

/// Where a finished stage's value came from (label `source` of `vidflow_stage_runs_total`).
pub const STAGE_SOURCES: [&str; 2] = ["computed", "cache"];

/// How a stage can fail (label `kind` of `vidflow_stage_failures_total`): the kinds of
/// [`vidflow_core::ErrorKind`] as jobs report them. A stage that ran out of time fails as
/// `transient` (it is retried) or `internal`.
pub const FAILURE_KINDS: [&str; 4] = ["bad_input", "transient", "internal", "cancelled"];

/// Buckets of the stage duration histogram: 0.1 s to 30 minutes, which is what stages of
/// video work take (a cached stage lands in the first bucket, a long render in the last).
pub const STAGE_BUCKETS: [f64; 14] = [
    0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0,
];

/// Every metric vidflow exports, in one registry.
///
/// Names: `video_processing_requests_total` (finished jobs, label `status`: `succeeded`,
/// `failed`, `cancelled`), `video_processing_duration_seconds` (label `stage`, buckets
/// [`STAGE_BUCKETS`]), `vidflow_stage_runs_total` (labels `stage` and `source`: `computed`
/// or `cache`), `vidflow_stage_input_bytes_total` and `vidflow_stage_output_bytes_total`
/// (label `stage`), `vidflow_stage_failures_total` (labels `stage`, `kind`: see
/// [`FAILURE_KINDS`]), `vidflow_render_fps` and `vidflow_encode_speed_ratio` (the last
/// render's frames per second and video seconds per wall second),
/// `vidflow_render_frames_total`, `vidflow_memory_limit_bytes`, `vidflow_tune_trials_total`
/// (labels `study`, `state`) and `vidflow_tune_best_value` (label `study`), `cache_hits_total` and
/// `cache_misses_total` (label `backend`, read from the cache at scrape time),
/// `memory_usage_bytes`, `cpu_usage_percent`, `video_jobs_queued`, `video_jobs_running`,
/// `http_requests_total` (labels `method`, `route`, `status`),
/// `http_request_duration_seconds` (labels `method`, `route`), and the standard
/// `process_*` set.
///
/// Labelled series exist from the first scrape: job outcomes at zero from [`Metrics::new`],
/// per-stage series once [`Metrics::register_stages`] named the stages, cache tiers once
/// [`Metrics::watch_cache`] gave the cache. A rule on them is never blind after a restart.
pub struct Metrics {
    registry: Registry,
    jobs: IntCounterVec,
    stage_seconds: HistogramVec,
    stage_runs: IntCounterVec,
    stage_bytes_in: IntCounterVec,
    stage_bytes_out: IntCounterVec,
    stage_failures: IntCounterVec,
    render_fps: Gauge,
    encode_speed: Gauge,
    render_frames: IntCounter,
    memory_limit: IntGauge,
    retention_jobs: IntCounter,
    retention_bytes: IntCounter,
    job_files_bytes: IntGauge,
    /// Whether the stages of the jobs this process follows (through [`JobObserver`]) count
    /// in the stage and render figures: not where they run on workers, which count them.
    stages_run_here: AtomicBool,
    tune_trials: IntCounterVec,
    tune_best: prometheus::GaugeVec,
    http_requests: IntCounterVec,
    http_seconds: HistogramVec,
    memory: IntGauge,
    cpu: Gauge,
    queued: IntGauge,
    running: IntGauge,
    /// CPU seconds used and when, at the last scrape: the CPU figure is the share since then.
    cpu_sample: Mutex<Option<(Instant, f64)>>,
    /// The shared queue's gauges, once [`Metrics::watch_queue`] registered them.
    queue: OnceLock<QueueGauges>,
}

/// How the shared task queue stands: the figures `vidflow status`, `GET /v1/status` and
/// the gauges (`vidflow_queue_length`, `vidflow_queue_pending`, `vidflow_queue_lag`,
/// `vidflow_queue_oldest_pending_seconds`, `vidflow_queue_dead_letters`) show.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct QueueFigures {
    /// Entries in the task stream (acknowledged history included, trimmed approximately).
    pub stream_length: u64,
    /// Tasks delivered to a worker and not yet acknowledged.
    pub pending: u64,
    /// Tasks not yet delivered to any worker (the consumer group's lag).
    pub lag: u64,
    /// Longest time any pending task (of the first 100) has gone without being delivered or
    /// renewed, seconds: high when a worker died holding one.
    pub oldest_pending_seconds: f64,
    /// Entries in the dead-letter stream.
    pub dead_letters: u64,
}

struct QueueGauges {
    length: IntGauge,
    pending: IntGauge,
    lag: IntGauge,
    oldest: Gauge,
    dead: IntGauge,
    workers: IntGauge,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    /// A registry with every metric registered.
    pub fn new() -> Result<Metrics, prometheus::Error> {
        let registry = Registry::new();
        let jobs = IntCounterVec::new(
            Opts::new(
                "video_processing_requests_total",
                "Video jobs finished, by how they ended",
            ),
            &["status"],
        )?;
        let stage_seconds = HistogramVec::new(
            HistogramOpts::new(
                "video_processing_duration_seconds",
                "Wall time of each pipeline stage",
            )
            .buckets(STAGE_BUCKETS.to_vec()),
            &["stage"],
        )?;
        let stage_runs = IntCounterVec::new(
            Opts::new(
                "vidflow_stage_runs_total",
                "Stages finished, by stage and whether computed or served from the cache",
            ),
            &["stage", "source"],
        )?;
        let stage_bytes_in = IntCounterVec::new(
            Opts::new(
                "vidflow_stage_input_bytes_total",
                "Bytes of the values stages read",
            ),
            &["stage"],
        )?;
        let stage_bytes_out = IntCounterVec::new(
            Opts::new(
                "vidflow_stage_output_bytes_total",
                "Bytes of the values stages made (or took from the cache)",
            ),
            &["stage"],
        )?;
        let stage_failures = IntCounterVec::new(
            Opts::new(
                "vidflow_stage_failures_total",
                "Stage runs that failed, by stage and kind of failure",
            ),
            &["stage", "kind"],
        )?;
        let render_fps = Gauge::new(
            "vidflow_render_fps",
            "Frames per second of the last render (or render chunk) this process ran",
        )?;
        let encode_speed = Gauge::new(
            "vidflow_encode_speed_ratio",
            "Seconds of video per second of wall time of the last render this process ran",
        )?;
        let render_frames = IntCounter::new(
            "vidflow_render_frames_total",
            "Frames this process rendered and encoded",
        )?;
        let memory_limit = IntGauge::new(
            "vidflow_memory_limit_bytes",
            "Memory this process may use: its cgroup's limit, else the machine's RAM",
        )?;
        let retention_jobs = IntCounter::new(
            "vidflow_retention_deleted_jobs_total",
            "Finished jobs the retention sweep deleted (records and files)",
        )?;
        let retention_bytes = IntCounter::new(
            "vidflow_retention_freed_bytes_total",
            "Bytes of job files the retention sweep deleted",
        )?;
        let job_files_bytes = IntGauge::new(
            "vidflow_job_files_bytes",
            "Bytes the jobs' files take in the server's data folder, at the last sweep",
        )?;
        let tune_trials = IntCounterVec::new(
            Opts::new(
                "vidflow_tune_trials_total",
                "Tuning trials ended, by study (the job) and how they ended",
            ),
            &["study", "state"],
        )?;
        let tune_best = prometheus::GaugeVec::new(
            Opts::new(
                "vidflow_tune_best_value",
                "The best objective value of a tuning study so far (one-objective studies)",
            ),
            &["study"],
        )?;
        let http_requests = IntCounterVec::new(
            Opts::new("http_requests_total", "HTTP requests answered"),
            &["method", "route", "status"],
        )?;
        let http_seconds = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "Time to answer an HTTP request (to the first byte of the body)",
            )
            .buckets(vec![
                0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5, 2.5,
            ]),
            &["method", "route"],
        )?;
        let memory = IntGauge::new("memory_usage_bytes", "Resident memory of this process")?;
        let cpu = Gauge::new(
            "cpu_usage_percent",
            "CPU used by this process since the previous scrape, percent of one core",
        )?;
        let queued = IntGauge::new("video_jobs_queued", "Jobs waiting to run")?;
        let running = IntGauge::new("video_jobs_running", "Jobs running")?;
        registry.register(Box::new(jobs.clone()))?;
        registry.register(Box::new(stage_seconds.clone()))?;
        registry.register(Box::new(stage_runs.clone()))?;
        registry.register(Box::new(stage_bytes_in.clone()))?;
        registry.register(Box::new(stage_bytes_out.clone()))?;
        registry.register(Box::new(stage_failures.clone()))?;
        registry.register(Box::new(render_fps.clone()))?;
        registry.register(Box::new(encode_speed.clone()))?;
        registry.register(Box::new(render_frames.clone()))?;
        registry.register(Box::new(memory_limit.clone()))?;
        registry.register(Box::new(retention_jobs.clone()))?;
        registry.register(Box::new(retention_bytes.clone()))?;
        registry.register(Box::new(job_files_bytes.clone()))?;
        registry.register(Box::new(tune_trials.clone()))?;
        registry.register(Box::new(tune_best.clone()))?;
        registry.register(Box::new(http_requests.clone()))?;
        registry.register(Box::new(http_seconds.clone()))?;
        registry.register(Box::new(memory.clone()))?;
        registry.register(Box::new(cpu.clone()))?;
        registry.register(Box::new(queued.clone()))?;
        registry.register(Box::new(running.clone()))?;
        registry.register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ))?;
        for state in JobState::ALL.into_iter().filter(|s| s.is_finished()) {
            jobs.with_label_values(&[state.as_str()]);
        }
        if let Some(limit) = memory_limit_bytes() {
            memory_limit.set(i64::try_from(limit).unwrap_or(i64::MAX));
        }
        Ok(Metrics {
            registry,
            jobs,
            stage_seconds,
            stage_runs,
            stage_bytes_in,
            stage_bytes_out,
            stage_failures,
            render_fps,
            encode_speed,
            render_frames,
            memory_limit,
            retention_jobs,
            retention_bytes,
            job_files_bytes,
            stages_run_here: AtomicBool::new(true),
            tune_trials,
            tune_best,
            http_requests,
            http_seconds,
            memory,
            cpu,
            queued,
            running,
            cpu_sample: Mutex::new(None),
            queue: OnceLock::new(),
        })
    }

    /// Creates every per-stage series at zero for `stages` (see
    /// `vidflow_core::Registry::stage_names`): durations, runs per source, bytes, failures
    /// per kind. Stages not named here still get their series when they first report.
    pub fn register_stages<S: AsRef<str>>(&self, stages: impl IntoIterator<Item = S>) {
        for stage in stages {
            let stage = stage.as_ref();
            self.stage_seconds.with_label_values(&[stage]);
            for source in STAGE_SOURCES {
                self.stage_runs.with_label_values(&[stage, source]);
            }
            self.stage_bytes_in.with_label_values(&[stage]);
            self.stage_bytes_out.with_label_values(&[stage]);
            for kind in FAILURE_KINDS {
                self.stage_failures.with_label_values(&[stage, kind]);
            }
        }
    }

    /// Whether the stages of the jobs this process follows through [`JobObserver`] count
    /// in the stage figures (durations, runs, bytes, failures) and the render figures. True
    /// by default; a server whose jobs run on workers sets false: each worker counts the
    /// stages it runs, and counting them again here would count every stage twice in a sum
    /// over instances. Job outcomes and tuning trials are counted either way.
    pub fn set_stages_run_here(&self, here: bool) {
        self.stages_run_here.store(here, Ordering::Relaxed);
    }

    fn stages_run_here(&self) -> bool {
        self.stages_run_here.load(Ordering::Relaxed)
    }

    /// Counts one retention sweep: jobs and bytes it deleted, bytes the jobs' files take now.
    pub fn observe_retention(&self, jobs_deleted: u64, bytes_freed: u64, bytes_kept: u64) {
        self.retention_jobs.inc_by(jobs_deleted);
        self.retention_bytes.inc_by(bytes_freed);
        self.job_files_bytes
            .set(i64::try_from(bytes_kept).unwrap_or(i64::MAX));
    }

    /// Counts one render (or render chunk) this process ran: `frames` frames making
    /// `video_seconds` of video in `wall_seconds`. Sets the fps and speed gauges.
    pub fn observe_render(&self, frames: u64, video_seconds: f64, wall_seconds: f64) {
        self.render_frames.inc_by(frames);
        if wall_seconds > 0.0 && frames > 0 {
            self.render_fps.set(frames as f64 / wall_seconds);
            self.encode_speed.set(video_seconds / wall_seconds);
        }
    }

    /// Counts one failed run of `stage`; `kind` is one of [`FAILURE_KINDS`].
    pub fn observe_stage_failure(&self, stage: &StageName, kind: &str) {
        self.stage_failures
            .with_label_values(&[stage.as_str(), kind])
            .inc();
    }

    /// Registers the shared queue's gauges (see [`QueueFigures`]); call once, in shared mode.
    pub fn watch_queue(&self) -> Result<(), prometheus::Error> {
        let int = |name: &str, help: &str| -> Result<IntGauge, prometheus::Error> {
            let g = IntGauge::new(name, help)?;
            self.registry.register(Box::new(g.clone()))?;
            Ok(g)
        };
        let gauges = QueueGauges {
            length: int("vidflow_queue_length", "Entries in the task stream")?,
            pending: int(
                "vidflow_queue_pending",
                "Tasks delivered to a worker and not yet acknowledged",
            )?,
            lag: int(
                "vidflow_queue_lag",
                "Tasks not yet delivered to any worker (consumer group lag)",
            )?,
            oldest: {
                let g = Gauge::new(
                    "vidflow_queue_oldest_pending_seconds",
                    "Seconds since the oldest pending task was delivered or renewed",
                )?;
                self.registry.register(Box::new(g.clone()))?;
                g
            },
            dead: int(
                "vidflow_queue_dead_letters",
                "Tasks in the dead-letter stream",
            )?,
            workers: int("vidflow_workers", "Workers with a live heartbeat")?,
        };
        let _ = self.queue.set(gauges);
        Ok(())
    }

    /// Sets the queue gauges and the live workers (no-op before [`Metrics::watch_queue`]).
    pub fn set_queue(&self, figures: &QueueFigures, workers: usize) {
        if let Some(g) = self.queue.get() {
            let int = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
            g.length.set(int(figures.stream_length));
            g.pending.set(int(figures.pending));
            g.lag.set(int(figures.lag));
            g.oldest.set(figures.oldest_pending_seconds);
            g.dead.set(int(figures.dead_letters));
            g.workers.set(int(workers as u64));
        }
    }

    /// The registry, for exporting more metrics under the same endpoint.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Exports `cache_hits_total` and `cache_misses_total` of `cache`, per tier.
    pub fn watch_cache(&self, cache: Arc<TieredCache>) -> Result<(), prometheus::Error> {
        self.registry
            .register(Box::new(CacheCollector::new(cache)?))
    }

    /// Creates the HTTP series of `route` answered with `status` at zero. The server
    /// names its `/metrics` route, so the HTTP panels have a series from the first scrape
    /// (every other route appears when first requested).
    pub fn register_http_route(&self, method: &str, route: &str, status: u16) {
        let status = status.to_string();
        self.http_requests
            .with_label_values(&[method, route, status.as_str()]);
        self.http_seconds.with_label_values(&[method, route]);
    }

    /// Counts one answered HTTP request.
    pub fn observe_http(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let status = status.to_string();
        self.http_requests
            .with_label_values(&[method, route, status.as_str()])
            .inc();
        self.http_seconds
            .with_label_values(&[method, route])
            .observe(seconds);
    }

    /// Records one stage's wall time.
    pub fn observe_stage(&self, stage: &StageName, seconds: f64) {
        self.stage_seconds
            .with_label_values(&[stage.as_str()])
            .observe(seconds);
    }

    /// Sets the queue and pool gauges.
    pub fn set_load(&self, queued: usize, running: usize) {
        self.queued.set(queued as i64);
        self.running.set(running as i64);
    }

    /// The Prometheus text exposition, with memory and CPU sampled now.
    pub fn render(&self) -> String {
        self.sample_process();
        let mut out = Vec::with_capacity(16 * 1024);
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            tracing::warn!("cannot encode metrics: {e}");
        }
        String::from_utf8(out).unwrap_or_default()
    }

    fn sample_process(&self) {
        if let Some(rss) = resident_bytes() {
            self.memory.set(rss as i64);
        }
        // Read each time: a container's limit can be changed while it runs.
        if let Some(limit) = memory_limit_bytes() {
            self.memory_limit
                .set(i64::try_from(limit).unwrap_or(i64::MAX));
        }
        let Some(cpu_now) = cpu_seconds() else { return };
        let now = Instant::now();
        let mut last = self.cpu_sample.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((at, before)) = *last {
            let wall = now.duration_since(at).as_secs_f64();
            if wall > 0.0 {
                self.cpu.set(((cpu_now - before) / wall * 100.0).max(0.0));
            }
        }
        *last = Some((now, cpu_now));
    }
}

impl JobObserver for Metrics {
    fn stage_finished(&self, timing: &StageTiming) {
        if !self.stages_run_here() {
            return;
        }
        let stage = timing.stage.as_str();
        self.observe_stage(&timing.stage, timing.seconds);
        let source = if timing.cached { "cache" } else { "computed" };
        self.stage_runs.with_label_values(&[stage, source]).inc();
        self.stage_bytes_in
            .with_label_values(&[stage])
            .inc_by(timing.bytes_in);
        self.stage_bytes_out
            .with_label_values(&[stage])
            .inc_by(timing.bytes_out);
    }

    fn stage_failed(&self, stage: &StageName, kind: &str) {
        if self.stages_run_here() {
            self.observe_stage_failure(stage, kind);
        }
    }

    fn job_finished(&self, job: &Job) {
        self.jobs.with_label_values(&[job.state.as_str()]).inc();
        if !self.stages_run_here() {
            return;
        }
        // The video came from the render stage (the last stage of a video workflow); a
        // render served from the cache rendered nothing.
        if let Some(JobOutput::Video {
            frames, duration, ..
        }) = &job.result
            && let Some(render) = job
                .stages
                .iter()
                .rev()
                .find(|t| t.stage == StageName::RENDER)
                .or(job.stages.last())
            && !render.cached
        {
            self.observe_render(*frames, *duration, render.seconds);
        }
    }

    fn trial_finished(&self, job: &str, state: &str, best: Option<f64>) {
        self.tune_trials.with_label_values(&[job, state]).inc();
        if let Some(best) = best {
            self.tune_best.with_label_values(&[job]).set(best);
        }
    }
}

/// Reads the cache's own counters at scrape time, so nothing double-counts.
struct CacheCollector {
    cache: Arc<TieredCache>,
    descs: Vec<Desc>,
}

impl CacheCollector {
    fn new(cache: Arc<TieredCache>) -> Result<CacheCollector, prometheus::Error> {
        let (hits, misses) = Self::vecs()?;
        let descs = hits
            .desc()
            .into_iter()
            .chain(misses.desc())
            .cloned()
            .collect();
        Ok(CacheCollector { cache, descs })
    }

    fn vecs() -> Result<(IntCounterVec, IntCounterVec), prometheus::Error> {
        Ok((
            IntCounterVec::new(
                Opts::new(
                    "cache_hits_total",
                    "Stage cache look-ups answered, per tier",
                ),
                &["backend"],
            )?,
            IntCounterVec::new(
                Opts::new(
                    "cache_misses_total",
                    "Stage cache look-ups that found nothing, per tier",
                ),
                &["backend"],
            )?,
        ))
    }
}

impl Collector for CacheCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let Ok((hits, misses)) = Self::vecs() else {
            return Vec::new();
        };
        for tier in self.cache.counters().backends {
            hits.with_label_values(&[tier.backend]).inc_by(tier.hits);
            misses
                .with_label_values(&[tier.backend])
                .inc_by(tier.misses);
        }
        let mut out = hits.collect();
        out.extend(misses.collect());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_named_metric_is_exported() {
        let m = Metrics::new().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let cache = Arc::new(TieredCache::embedded(1 << 20, dir.path(), None, None).unwrap());
        m.watch_cache(cache).unwrap();
        m.observe_stage(&StageName::RENDER, 1.5);
        m.observe_http("GET", "/health/live", 200, 0.0001);
        let mut job = Job::new(serde_json::json!({}), "h", None);
        job.state = vidflow_jobs::JobState::Succeeded;
        m.job_finished(&job);
        m.render();
        let text = m.render();
        for name in [
            "video_processing_requests_total{status=\"succeeded\"} 1",
            "video_processing_duration_seconds_bucket{stage=\"render\"",
            "cache_hits_total{backend=\"memory\"} 0",
            "cache_misses_total{backend=\"disk\"} 0",
            "memory_usage_bytes ",
            "cpu_usage_percent ",
            "http_requests_total{method=\"GET\",route=\"/health/live\",status=\"200\"} 1",
            "http_request_duration_seconds_bucket{method=\"GET\",route=\"/health/live\"",
            "process_resident_memory_bytes",
        ] {
            assert!(text.contains(name), "{name} missing from:\n{text}");
        }
    }

    /// Value of the exposition line that starts with `series ` (name and labels as the
    /// text encoder writes them: labels sorted by name).
    fn value(text: &str, series: &str) -> Option<f64> {
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
            .map(|v| v.parse().unwrap())
    }

    #[test]
    fn a_fresh_registry_shows_every_series_rules_and_panels_name_at_zero() {
        let m = Metrics::new().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let cache = Arc::new(TieredCache::embedded(1 << 20, dir.path(), None, None).unwrap());
        m.watch_cache(cache).unwrap();
        m.watch_queue().unwrap();
        m.register_stages(["fetch", "render"]);
        let text = m.render();
        let mut want: Vec<String> = Vec::new();
        for status in ["succeeded", "failed", "cancelled"] {
            want.push(format!(
                "video_processing_requests_total{{status=\"{status}\"}}"
            ));
        }
        for stage in ["fetch", "render"] {
            want.push(format!(
                "video_processing_duration_seconds_bucket{{stage=\"{stage}\",le=\"1800\"}}"
            ));
            want.push(format!(
                "video_processing_duration_seconds_count{{stage=\"{stage}\"}}"
            ));
            for source in STAGE_SOURCES {
                want.push(format!(
                    "vidflow_stage_runs_total{{source=\"{source}\",stage=\"{stage}\"}}"
                ));
            }
            want.push(format!(
                "vidflow_stage_input_bytes_total{{stage=\"{stage}\"}}"
            ));
            want.push(format!(
                "vidflow_stage_output_bytes_total{{stage=\"{stage}\"}}"
            ));
            for kind in FAILURE_KINDS {
                want.push(format!(
                    "vidflow_stage_failures_total{{kind=\"{kind}\",stage=\"{stage}\"}}"
                ));
            }
        }
        for tier in ["memory", "disk"] {
            want.push(format!("cache_hits_total{{backend=\"{tier}\"}}"));
            want.push(format!("cache_misses_total{{backend=\"{tier}\"}}"));
        }
        for gauge in [
            "vidflow_render_fps",
            "vidflow_encode_speed_ratio",
            "vidflow_render_frames_total",
            "video_jobs_queued",
            "video_jobs_running",
            "vidflow_queue_length",
            "vidflow_queue_pending",
            "vidflow_queue_lag",
            "vidflow_queue_oldest_pending_seconds",
            "vidflow_queue_dead_letters",
            "vidflow_workers",
        ] {
            want.push(gauge.to_owned());
        }
        for series in &want {
            assert_eq!(
                value(&text, series),
                Some(0.0),
                "{series} not at 0 in:\n{text}"
            );
        }
        // The process figures are sampled at each scrape.
        assert!(value(&text, "memory_usage_bytes").unwrap() > 0.0);
        assert!(value(&text, "vidflow_memory_limit_bytes").unwrap() > 0.0);
        assert!(text.contains("cpu_usage_percent "));
    }

    #[test]
    fn stage_duration_buckets_span_a_tenth_of_a_second_to_half_an_hour() {
        let m = Metrics::new().unwrap();
        m.observe_stage(&StageName::RENDER, 0.05);
        m.observe_stage(&StageName::RENDER, 1500.0);
        let text = m.render();
        let bucket = |le: &str| {
            value(
                &text,
                &format!(
                    "video_processing_duration_seconds_bucket{{stage=\"render\",le=\"{le}\"}}"
                ),
            )
        };
        assert_eq!(bucket("0.1"), Some(1.0));
        assert_eq!(bucket("1200"), Some(1.0));
        assert_eq!(bucket("1800"), Some(2.0));
        assert_eq!(STAGE_BUCKETS.first(), Some(&0.1));
        assert_eq!(STAGE_BUCKETS.last(), Some(&1800.0));
    }

    #[test]
    fn failures_and_renders_are_counted() {
        let m = Metrics::new().unwrap();
        m.stage_failed(&StageName::RENDER, "internal");
        m.stage_failed(&StageName::RENDER, "internal");
        m.stage_failed(&StageName::FETCH, "bad_input");
        // A job whose render was computed: 240 frames, 10 s of video, in 4 s.
        let mut job = Job::new(serde_json::json!({}), "h", None);
        job.state = JobState::Succeeded;
        job.result = Some(JobOutput::Video {
            duration: 10.0,
            bytes: 1000,
            width: 1280,
            height: 720,
            fps: 24,
            frames: 240,
        });
        let timing = |stage: StageName, cached, seconds| StageTiming {
            stage,
            cached,
            backend: None,
            seconds,
            bytes_in: 10,
            bytes_out: 20,
        };
        job.stages = vec![
            timing(StageName::SPEAK, true, 0.01),
            timing(StageName::RENDER, false, 4.0),
        ];
        for t in &job.stages {
            m.stage_finished(t);
        }
        m.job_finished(&job);
        // The same job again with its render from the cache: counted as a job, not a render.
        job.stages[1].cached = true;
        m.job_finished(&job);
        let text = m.render();
        let v = |s: &str| value(&text, s).unwrap_or_else(|| panic!("{s} missing:\n{text}"));
        assert_eq!(
            v(r#"vidflow_stage_failures_total{kind="internal",stage="render"}"#),
            2.0
        );
        assert_eq!(
            v(r#"vidflow_stage_failures_total{kind="bad_input",stage="fetch"}"#),
            1.0
        );
        assert_eq!(v("vidflow_render_frames_total"), 240.0);
        assert_eq!(v("vidflow_render_fps"), 60.0);
        assert_eq!(v("vidflow_encode_speed_ratio"), 2.5);
        assert_eq!(
            v(r#"video_processing_requests_total{status="succeeded"}"#),
            2.0
        );
        assert_eq!(
            v(r#"vidflow_stage_runs_total{source="computed",stage="render"}"#),
            1.0
        );
        assert_eq!(
            v(r#"vidflow_stage_runs_total{source="cache",stage="speak"}"#),
            1.0
        );
        assert_eq!(
            v(r#"vidflow_stage_output_bytes_total{stage="render"}"#),
            20.0
        );

        // Where jobs run on the workers, the server leaves the stage and render figures to
        // them and counts the jobs.
        let remote = Metrics::new().unwrap();
        remote.register_stages(["render"]);
        remote.set_stages_run_here(false);
        job.stages[1].cached = false;
        for t in &job.stages {
            remote.stage_finished(t);
        }
        remote.stage_failed(&StageName::RENDER, "internal");
        remote.job_finished(&job);
        let text = remote.render();
        let v = |s: &str| value(&text, s).unwrap_or_else(|| panic!("{s} missing:\n{text}"));
        assert_eq!(v("vidflow_render_frames_total"), 0.0);
        assert_eq!(
            v(r#"vidflow_stage_runs_total{source="computed",stage="render"}"#),
            0.0
        );
        assert_eq!(
            v(r#"vidflow_stage_failures_total{kind="internal",stage="render"}"#),
            0.0
        );
        assert_eq!(
            v(r#"video_processing_requests_total{status="succeeded"}"#),
            1.0
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn memory_gauge_reports_resident_memory() {
        let ballast = std::hint::black_box(vec![1u8; 8 << 20]);
        let text = Metrics::new().unwrap().render();
        let reported: i64 = text
            .lines()
            .find_map(|l| l.strip_prefix("memory_usage_bytes "))
            .unwrap()
            .parse()
            .unwrap();
        assert!(reported >= 8 << 20, "memory_usage_bytes {reported}");
        drop(ballast);
    }
}
