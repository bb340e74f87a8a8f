//! Shared mode from the command line: `vidflow worker`, `vidflow status`, and
//! `vidflow make --remote`.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use anyhow::{Context, Result};
use figment::Figment;
use vidflow_core::{
    CancelFlag, Config, MakeRequest, ProgressSink, Registry, Source, VidflowError,
    shutdown::shutdown_signal,
};
use vidflow_dist::{TaskQueue, Worker, WorkerOptions};
use vidflow_metrics::Metrics;
use vidflow_stages::{Engine, MakeReport};

use crate::cli::{StatusArgs, WorkerArgs};
use crate::settings;

/// Runs a worker until SIGTERM or SIGINT, with the stage types and workflows of
/// `registry`.
pub async fn worker(base: Figment, args: WorkerArgs, registry: Registry) -> Result<()> {
    let mut fig = settings::cache_flags(base, &args.cache);
    fig = settings::flag(fig, "queue.redis_url", args.redis.clone());
    fig = settings::flag(fig, "queue.concurrency", args.concurrency);
    fig = settings::flag(fig, "queue.worker_metrics_addr", args.metrics_addr.clone());
    fig = settings::flag(fig, "threads", args.threads);
    if args.allow_private_network {
        fig = settings::flag(fig, "allow_private_network", Some(true));
    }
    let cfg = settings::apply_encode_profile(settings::shared_cache(Config::from_figment(&fig)?))?;
    if !cfg.queue.is_shared() {
        return Err(VidflowError::bad_input(
            "a worker needs the shared queue: pass --redis redis://host:6379/0 (or set queue.redis_url)",
        )
        .into());
    }
    let cache = settings::open_cache(&cfg)?;
    let engine = Arc::new(Engine::with_registry(cfg.clone(), cache.clone(), registry)?);
    let queue = TaskQueue::connect(&cfg.queue)
        .await
        .map_err(VidflowError::from)?;
    let metrics = Arc::new(Metrics::new().context("metrics")?);
    metrics.watch_cache(cache).context("metrics")?;
    metrics.watch_queue().context("metrics")?;
    let worker = Arc::new(
        Worker::new(
            queue.clone(),
            engine,
            WorkerOptions::from_config(&cfg.queue),
            metrics.clone(),
        )
        .map_err(VidflowError::from)?,
    );
    let exporter = match cfg.queue.worker_metrics_addr.trim() {
        "" => None,
        addr => {
            let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
                VidflowError::bad_input(format!("cannot serve metrics on {addr}: {e}"))
            })?;
            let bound = listener.local_addr()?;
            crate::progress::say!("vidflow worker metrics on http://{bound}/metrics");
            Some(vidflow_dist::serve_metrics(
                listener,
                metrics,
                queue.clone(),
            ))
        }
    };
    // Tests and scripts read the worker's name from this line.
    crate::progress::say!(
        "vidflow worker {} serving {}",
        worker.name(),
        queue.server()
    );
    worker
        .run(shutdown_signal())
        .await
        .map_err(VidflowError::from)?;
    if let Some(e) = exporter {
        e.abort();
    }
    Ok(())
}

/// Prints the shared queue's figures and live workers.
pub async fn status(base: Figment, args: StatusArgs) -> Result<()> {
    let fig = settings::flag(base, "queue.redis_url", args.redis.clone());
    let cfg = Config::from_figment(&fig)?;
    let queue = TaskQueue::connect(&cfg.queue)
        .await
        .map_err(VidflowError::from)?;
    let status = queue.status().await.map_err(VidflowError::from)?;
    let dead = queue
        .dead_letters(args.dead_letters)
        .await
        .map_err(VidflowError::from)?;
    if args.json {
        let mut v = serde_json::to_value(&status)?;
        v["dead_letter_tasks"] = serde_json::to_value(&dead)?;
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    let f = &status.figures;
    println!(
        "queue {} (prefix {})",
        queue.server(),
        queue.keys().prefix()
    );
    println!(
        "  tasks: {} in stream, {} waiting (lag), {} running (pending), oldest pending {:.1} s, {} dead letters",
        f.stream_length, f.lag, f.pending, f.oldest_pending_seconds, f.dead_letters
    );
    println!("workers: {}", status.workers.len());
    for w in &status.workers {
        let doing = if w.tasks.is_empty() {
            "idle".to_owned()
        } else {
            w.tasks.join("; ")
        };
        println!(
            "  {} (pid {}, {} slot(s), {} done, {} failed): {doing}",
            w.name, w.pid, w.concurrency, w.done, w.failed
        );
    }
    for d in &dead {
        println!(
            "dead letter: job {} {} after {} tries: {}",
            d.job, d.task, d.deliveries, d.error
        );
    }
    Ok(())
}

/// A local page travels inside the request: the workers may be on other machines.
pub fn inline_local_page(req: &mut MakeRequest) -> Result<()> {
    let Some(Source::Url(input)) = &req.source else {
        return Ok(());
    };
    let path = match input.strip_prefix("file://") {
        Some(p) => std::path::PathBuf::from(p),
        None if !input.contains("://") => std::path::PathBuf::from(input),
        None => return Ok(()),
    };
    let bytes = std::fs::read(&path)
        .map_err(|e| VidflowError::bad_input(format!("cannot read {}: {e}", path.display())))?;
    let absolute = std::fs::canonicalize(&path).unwrap_or(path);
    req.source = Some(Source::Html {
        html: String::from_utf8_lossy(&bytes).into_owned(),
        base_url: format!("file://{}", absolute.display()),
    });
    Ok(())
}

/// `make --remote`: the job runs on the workers; the video is written here.
pub async fn make_remote(
    cfg: &Config,
    engine: &Engine,
    req: &MakeRequest,
    progress: &dyn ProgressSink,
) -> Result<MakeReport> {
    let queue = TaskQueue::connect(&cfg.queue)
        .await
        .map_err(VidflowError::from)?;
    let seed = format!("{:?}{}", std::time::SystemTime::now(), std::process::id());
    let id = format!("cli-{}", &blake3::hash(seed.as_bytes()).to_hex()[..16]);
    let cancel = CancelFlag::default();
    let watcher = {
        let cancel = cancel.clone();
        tokio::spawn(async move {
            shutdown_signal().await;
            cancel.cancel();
        })
    };
    let report = vidflow_dist::make_remote(
        &queue,
        engine,
        &id,
        None,
        req,
        cfg.queue.chunk_seconds,
        progress,
        cancel,
        &AtomicBool::new(false),
    )
    .await;
    watcher.abort();
    Ok(report?)
}
