//! `vidflow bench dist`: shared mode with real worker processes on one Redis. Throughput
//! of short jobs and the time of one long chunked video with 1 and with 2 workers, and the
//! extra time a job takes when its worker is killed once mid-chunk.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use vidflow_cache::TieredCache;
use vidflow_core::{CancelFlag, Config, MakeRequest, VideoSize};
use vidflow_dist::{TaskQueue, make_remote};
use vidflow_stages::Engine;

use crate::{BenchError, median, sample_page};

type Result<T> = std::result::Result<T, BenchError>;

/// What `bench dist` measures.
pub struct DistBench {
    /// The Redis to use (a throwaway one: the bench writes under fresh prefixes).
    pub redis: String,
    /// Runs per figure.
    pub runs: usize,
    /// Short jobs per throughput run.
    pub jobs: usize,
    /// Narration seconds of each short job.
    pub job_seconds: f64,
    /// Narration seconds of the long video (0 skips it and the kill run).
    pub long_seconds: f64,
    /// Frame threads per worker (0 = one per core).
    pub worker_threads: usize,
    /// Lease before a dead worker's task is taken over, seconds.
    pub lease_seconds: u64,
    /// Seconds of video per render task.
    pub chunk_seconds: f64,
    /// Pin worker i to core i (and the client to the last core): each worker models a
    /// one-core machine, its encoder's threads included.
    pub pin_cores: bool,
}

/// `n` worker processes on fresh key prefixes and cache folders.
struct Fleet {
    children: std::sync::Mutex<Vec<Child>>,
    config: Config,
    dir: tempfile::TempDir,
    redis: String,
    threads: usize,
    pin_cores: bool,
}

impl Drop for Fleet {
    fn drop(&mut self) {
        let children = self.children.get_mut().unwrap_or_else(|p| p.into_inner());
        for c in children {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Fleet {
    async fn start(b: &DistBench, workers: usize, tag: &str) -> Result<(Fleet, TaskQueue)> {
        let dir = tempfile::Builder::new()
            .prefix("vidflow-bench-dist-")
            .tempdir()?;
        let stamp = format!("{:?}", std::time::SystemTime::now());
        let prefix = format!(
            "bench-{tag}-{}:",
            &blake3::hash(stamp.as_bytes()).to_hex()[..8]
        );
        let mut config = Config::default();
        config.queue.redis_url = Some(b.redis.clone());
        config.queue.prefix = format!("{prefix}q:");
        config.queue.lease_seconds = b.lease_seconds;
        config.queue.chunk_seconds = b.chunk_seconds;
        config.cache.redis_url = Some(b.redis.clone());
        config.cache.redis_prefix = format!("{prefix}c:");
        config.cache.dir = Some(dir.path().join("client"));
        let fleet = Fleet {
            children: std::sync::Mutex::new(Vec::new()),
            config,
            dir,
            redis: b.redis.clone(),
            threads: b.worker_threads,
            pin_cores: b.pin_cores,
        };
        for i in 0..workers {
            fleet.spawn(i)?;
        }
        let config = &fleet.config;
        let queue = TaskQueue::connect(&config.queue).await?;
        let start = Instant::now();
        while queue.workers().await?.len() < workers {
            if start.elapsed() > Duration::from_secs(60) {
                return Err(BenchError::failed(
                    "the workers did not report in within a minute",
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok((fleet, queue))
    }

    /// Starts worker number `i` (pinned to core `i` when pinning).
    fn spawn(&self, i: usize) -> Result<()> {
        let mut cmd = Command::new(std::env::current_exe()?);
        if self.pin_cores {
            pin_to_core(&mut cmd, i);
        }
        let child = cmd
            .args(["worker", "--redis", &self.redis, "--metrics-addr", ""])
            .args(["--threads", &self.threads.to_string(), "--cache-dir"])
            .arg(self.dir.path().join(format!("w{i}-{}", now_nanos())))
            .env("VIDFLOW_QUEUE__PREFIX", &self.config.queue.prefix)
            .env(
                "VIDFLOW_QUEUE__LEASE_SECONDS",
                self.config.queue.lease_seconds.to_string(),
            )
            .env(
                "VIDFLOW_CACHE__REDIS_PREFIX",
                &self.config.cache.redis_prefix,
            )
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| BenchError::failed(format!("cannot start a worker: {e}")))?;
        self.children
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(child);
        Ok(())
    }

    fn engine(&self) -> Result<Arc<Engine>> {
        let dir = self.config.cache.dir.clone().unwrap_or_default();
        let cache = TieredCache::from_config(&self.config.cache, &dir)?;
        Ok(Arc::new(Engine::new(self.config.clone(), Arc::new(cache))?))
    }

    /// Kills (SIGKILL) the worker holding a render chunk, once one does; returns its pid
    /// and its index (its core when pinning).
    async fn kill_one_rendering(&self, queue: &TaskQueue) -> Result<(u32, usize)> {
        loop {
            for w in queue.workers().await? {
                let index = self
                    .children
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .iter()
                    .position(|c| c.id() == w.pid);
                if w.tasks.iter().any(|t| t.starts_with("render chunk"))
                    && let Some(index) = index
                {
                    // SAFETY: kill(2) on our own child's pid; it is reaped on drop.
                    unsafe { libc::kill(w.pid as libc::pid_t, libc::SIGKILL) };
                    return Ok((w.pid, index));
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn now_nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

/// Runs the child (and the ffmpeg it starts) on one core only.
fn pin_to_core(cmd: &mut Command, core: usize) {
    use std::os::unix::process::CommandExt;
    // SAFETY: only async-signal-safe calls between fork and exec (sched_setaffinity on a
    // stack-local set).
    unsafe {
        cmd.pre_exec(move || {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            libc::CPU_SET(core, &mut set);
            if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

fn request(script: String, seconds: f64, voice: &str) -> MakeRequest {
    MakeRequest {
        source: None,
        script_text: Some(script),
        workflow: None,
        avatar: "avatar_1".into(),
        size: VideoSize {
            width: 1280,
            height: 720,
        },
        fps: 30,
        max_seconds: seconds,
        voice: voice.into(),
        preset: "veryfast".into(),
        crf: 23,
        x264: Default::default(),
        subtitles: true,
        stop_after: None,
        params: Default::default(),
        output: std::env::temp_dir().join("vidflow-bench-dist.mp4"),
    }
}

/// Runs `reqs` at once on the fleet; returns the wall time.
async fn run_jobs(
    fleet: &Fleet,
    queue: &TaskQueue,
    reqs: Vec<MakeRequest>,
    tag: &str,
) -> Result<f64> {
    let engine = fleet.engine()?;
    let out = tempfile::tempdir()?;
    let started = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for (i, mut req) in reqs.into_iter().enumerate() {
        req.output = out.path().join(format!("{i}.mp4"));
        let (engine, queue) = (engine.clone(), queue.clone());
        let id = format!("{tag}-{i}");
        let chunk = fleet.config.queue.chunk_seconds;
        set.spawn(async move {
            make_remote(
                &queue,
                &engine,
                &id,
                None,
                &req,
                chunk,
                &|_| {},
                CancelFlag::default(),
                &AtomicBool::new(false),
            )
            .await
        });
    }
    while let Some(done) = set.join_next().await {
        done.map_err(|e| BenchError::failed(format!("a job panicked: {e}")))??;
    }
    Ok(started.elapsed().as_secs_f64())
}

fn short_jobs(b: &DistBench) -> Vec<MakeRequest> {
    let voices = ["slt", "awb", "rms", "kal"];
    (0..b.jobs)
        .map(|i| {
            // Distinct scripts, so no job reuses another's stages.
            let words = (b.job_seconds * 2.8) as usize + 3 * i;
            request(
                sample_page::long_script(words),
                b.job_seconds,
                voices[i % voices.len()],
            )
        })
        .collect()
}

/// Runs the benchmark (inside the `vidflow` binary: workers are child processes of it).
pub async fn run(b: DistBench) -> Result<serde_json::Value> {
    let runs = b.runs.max(1);
    let mut short = [Vec::new(), Vec::new()];
    let mut long = [Vec::new(), Vec::new()];
    for run in 0..runs {
        // 1 and 2 workers alternate, so slow spells on the machine hit both alike.
        for (slot, workers) in [1usize, 2].into_iter().enumerate() {
            let (fleet, queue) = Fleet::start(&b, workers, &format!("s{run}w{workers}")).await?;
            let t = run_jobs(&fleet, &queue, short_jobs(&b), "short").await?;
            eprintln!(
                "run {run}: {} short jobs on {workers} worker(s): {t:.1} s",
                b.jobs
            );
            short[slot].push(t);
        }
        if b.long_seconds > 0.0 {
            for (slot, workers) in [1usize, 2].into_iter().enumerate() {
                let (fleet, queue) =
                    Fleet::start(&b, workers, &format!("l{run}w{workers}")).await?;
                let words = (b.long_seconds * 2.8) as usize;
                let req = request(sample_page::long_script(words), b.long_seconds, "slt");
                let t = run_jobs(&fleet, &queue, vec![req], "long").await?;
                eprintln!(
                    "run {run}: {:.0} s video on {workers} worker(s): {t:.1} s",
                    b.long_seconds
                );
                long[slot].push(t);
            }
        }
    }
    let mut kill = Vec::new();
    if b.long_seconds > 0.0 {
        let base = median(long[1].clone());
        // Killed and not replaced (the survivor finishes alone), then killed and replaced at
        // once (as a supervisor restarting the worker would).
        for replace in [false, true] {
            let (fleet, queue) =
                Fleet::start(&b, 2, if replace { "killr" } else { "kill" }).await?;
            let words = (b.long_seconds * 2.8) as usize;
            let req = request(sample_page::long_script(words), b.long_seconds, "slt");
            let job = run_jobs(&fleet, &queue, vec![req], "long");
            tokio::pin!(job);
            // Kill a worker in the middle of the render, once.
            let (victim, index) = tokio::select! {
                t = &mut job => return Err(BenchError::failed(format!("the job ended ({:?}) before a chunk was running", t.map(|_| ())))),
                killed = async {
                    tokio::time::sleep(Duration::from_secs_f64(b.long_seconds / 30.0)).await;
                    fleet.kill_one_rendering(&queue).await
                } => killed?,
            };
            if replace {
                fleet.spawn(index)?;
            }
            let t = job.await?;
            eprintln!(
                "kill run (replaced: {replace}): worker {victim} killed mid-chunk; {t:.1} s against {base:.1} s"
            );
            kill.push(serde_json::json!({
                "killed_worker_pid": victim,
                "replaced_at_once": replace,
                "seconds": t,
                "baseline_2_workers_seconds": base,
                "extra_seconds": t - base,
                "lease_seconds": b.lease_seconds,
            }));
        }
    }
    let (s1, s2) = (median(short[0].clone()), median(short[1].clone()));
    let (l1, l2) = (median(long[0].clone()), median(long[1].clone()));
    let report = serde_json::json!({
        "machine_cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        "worker_threads": b.worker_threads,
        "workers_pinned_one_core_each": b.pin_cores,
        "runs": runs,
        "chunk_seconds": b.chunk_seconds,
        "short_jobs": {
            "jobs": b.jobs,
            "job_seconds": b.job_seconds,
            "one_worker_seconds": short[0],
            "two_workers_seconds": short[1],
            "one_worker_jobs_per_minute": b.jobs as f64 * 60.0 / s1,
            "two_workers_jobs_per_minute": b.jobs as f64 * 60.0 / s2,
            "speedup": s1 / s2,
        },
        "long_video": if b.long_seconds > 0.0 { serde_json::json!({
            "video_seconds": b.long_seconds,
            "one_worker_seconds": long[0],
            "two_workers_seconds": long[1],
            "speedup": l1 / l2,
        }) } else { serde_json::Value::Null },
        "worker_killed_once": kill,
    });
    Ok(report)
}
