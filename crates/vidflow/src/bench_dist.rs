//! `vidflow bench dist`: shared mode with real worker processes on one Redis. Throughput
//! of short jobs and the time of one long chunked video with 1 and with 2 workers, and the
//! extra time a job takes when its worker is killed once mid-chunk.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use vidflow_cache::TieredCache;
use vidflow_core::{Config, VideoSize};
use vidflow_dist::{TaskQueue, make_remote};
use vidflow_stages::{CancelFlag, Engine, MakeRequest};

use crate::bench::median;
use crate::sample;

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
}

/// `n` worker processes on fresh key prefixes and cache folders.
struct Fleet {
    children: Vec<Child>,
    config: Config,
    _dir: tempfile::TempDir,
}

impl Drop for Fleet {
    fn drop(&mut self) {
        for c in &mut self.children {
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
        let exe = std::env::current_exe()?;
        let mut children = Vec::new();
        for i in 0..workers {
            let child = Command::new(&exe)
                .args(["worker", "--redis", &b.redis, "--metrics-addr", ""])
                .args(["--threads", &b.worker_threads.to_string(), "--cache-dir"])
                .arg(dir.path().join(format!("w{i}")))
                .env("VIDFLOW_QUEUE__PREFIX", &config.queue.prefix)
                .env("VIDFLOW_QUEUE__LEASE_SECONDS", b.lease_seconds.to_string())
                .env("VIDFLOW_CACHE__REDIS_PREFIX", &config.cache.redis_prefix)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .context("starting a worker")?;
            children.push(child);
        }
        let queue = TaskQueue::connect(&config.queue).await?;
        let start = Instant::now();
        while queue.workers().await?.len() < workers {
            if start.elapsed() > Duration::from_secs(60) {
                bail!("the workers did not report in within a minute");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok((
            Fleet {
                children,
                config,
                _dir: dir,
            },
            queue,
        ))
    }

    fn engine(&self) -> Result<Arc<Engine>> {
        let dir = self.config.cache.dir.clone().unwrap_or_default();
        let cache = TieredCache::from_config(&self.config.cache, &dir)?;
        Ok(Arc::new(Engine::new(self.config.clone(), Arc::new(cache))?))
    }

    /// Kills (SIGKILL) the worker holding a render chunk, once one does; returns its pid.
    async fn kill_one_rendering(&self, queue: &TaskQueue) -> Result<u32> {
        loop {
            for w in queue.workers().await? {
                if w.tasks.iter().any(|t| t.starts_with("render chunk"))
                    && self.children.iter().any(|c| c.id() == w.pid)
                {
                    // SAFETY: kill(2) on our own child's pid; it is reaped on drop.
                    unsafe { libc::kill(w.pid as libc::pid_t, libc::SIGKILL) };
                    return Ok(w.pid);
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn request(script: String, seconds: f64, voice: &str) -> MakeRequest {
    MakeRequest {
        source: None,
        script_text: Some(script),
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
        subtitles: true,
        stop_after: None,
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
        done.context("a job panicked")??;
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
                sample::long_script(words),
                b.job_seconds,
                voices[i % voices.len()],
            )
        })
        .collect()
}

/// Runs the benchmark and prints its JSON.
pub async fn bench_dist(b: DistBench) -> Result<()> {
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
                let req = request(sample::long_script(words), b.long_seconds, "slt");
                let t = run_jobs(&fleet, &queue, vec![req], "long").await?;
                eprintln!(
                    "run {run}: {:.0} s video on {workers} worker(s): {t:.1} s",
                    b.long_seconds
                );
                long[slot].push(t);
            }
        }
    }
    let mut kill = serde_json::Value::Null;
    if b.long_seconds > 0.0 {
        let (fleet, queue) = Fleet::start(&b, 2, "kill").await?;
        let words = (b.long_seconds * 2.8) as usize;
        let req = request(sample::long_script(words), b.long_seconds, "slt");
        let job = run_jobs(&fleet, &queue, vec![req], "long");
        tokio::pin!(job);
        // Kill a worker in the middle of the render, once.
        let victim = tokio::select! {
            t = &mut job => bail!("the job ended ({:?}) before a chunk was running", t.map(|_| ())),
            pid = async {
                tokio::time::sleep(Duration::from_secs_f64(b.long_seconds / 30.0)).await;
                fleet.kill_one_rendering(&queue).await
            } => pid?,
        };
        let t = job.await?;
        let base = median(long[1].clone());
        eprintln!("kill run: worker {victim} killed mid-chunk; {t:.1} s against {base:.1} s");
        kill = serde_json::json!({
            "killed_worker_pid": victim,
            "seconds": t,
            "baseline_2_workers_seconds": base,
            "extra_seconds": t - base,
            "lease_seconds": b.lease_seconds,
        });
    }
    let (s1, s2) = (median(short[0].clone()), median(short[1].clone()));
    let (l1, l2) = (median(long[0].clone()), median(long[1].clone()));
    let report = serde_json::json!({
        "machine_cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        "worker_threads": b.worker_threads,
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
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}
