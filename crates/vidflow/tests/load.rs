//! A bounded load run against `vidflow serve` on loopback while it renders real jobs: many
//! clients hit the health probe, the job list, one job's status and dry-run submissions for
//! `VIDFLOW_LOAD_SECONDS` (10 s here, 60 s in `scripts/harden`). No answer may be a 5xx or a
//! dropped connection, every job must finish, and the server's memory must not climb; the
//! p99 latency and the memory over time are printed.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;

/// Client threads: more than the server's cores, so requests queue as they would in earnest.
const CLIENTS: usize = 6;

/// What one request came to: its route, its status (0: no answer at all) and its latency.
struct Outcome {
    route: &'static str,
    status: u16,
    latency: Duration,
}

/// One request on its own connection; status 0 when the connection failed or was cut.
fn call(port: u16, method: &str, path: &str, body: Option<&str>) -> (u16, Duration) {
    let started = Instant::now();
    let status = (|| -> std::io::Result<u16> {
        let mut stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        let body = body.unwrap_or("");
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )?;
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw)?;
        let head = String::from_utf8_lossy(&raw[..raw.len().min(64)]).into_owned();
        Ok(head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0))
    })()
    .unwrap_or(0);
    (status, started.elapsed())
}

/// The server's resident memory, KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

#[test]
fn the_api_under_load_while_jobs_render_answers_without_5xx_and_memory_stays_flat() {
    let seconds: u64 = std::env::var("VIDFLOW_LOAD_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10)
        .clamp(4, 600);
    let dir = tempfile::tempdir().unwrap();
    let service = Service::start(&dir.path().join("data"));
    let port = service.port;
    let pid = service.child.id();

    let html = std::fs::read_to_string(sample_dir().join("index.html")).unwrap();
    let job = |n: usize| {
        // Distinct scripts, so every job renders rather than reusing the last one's stages.
        serde_json::json!({
            "html": html,
            "options": {
                "max_seconds": 5 + (n % 8),
                "size": if n.is_multiple_of(2) { "1280x720" } else { "1080x1080" },
            },
        })
    };
    // Warm-up, before the clock starts: one job of each size, so that the halves compared
    // are the server's settled working set, not its first renders' allocations (a render's
    // memory climbs over its first seconds while the allocator settles).
    for n in 0..2 {
        let id = service.submit(&job(n));
        service.wait_for(&id, "the warm-up job", |j| j["state"] == "succeeded");
    }
    let first = service.submit(&job(2));
    let dry_run = serde_json::json!({"html": html, "dry_run": true}).to_string();

    let stop = Arc::new(AtomicBool::new(false));
    let outcomes: Arc<Mutex<Vec<Outcome>>> = Arc::default();
    let started = Instant::now();

    // Jobs: one always rendering, the next submitted as soon as the last one ends.
    let jobs = {
        let stop = stop.clone();
        let first = first.clone();
        let service = &service;
        let job = &job;
        move || {
            let mut finished = Vec::new();
            let mut current = first;
            let mut n = 3;
            loop {
                let body = service.job(&current);
                let state = body["state"].as_str().unwrap_or_default().to_owned();
                if matches!(state.as_str(), "succeeded" | "failed" | "cancelled") {
                    finished.push((current.clone(), state, body["error"].to_string()));
                    if stop.load(Ordering::Relaxed) {
                        return finished;
                    }
                    current = service.submit(&job(n));
                    n += 1;
                } else {
                    assert!(
                        started.elapsed() < Duration::from_secs(seconds + 240),
                        "job {current} never finished: {body}"
                    );
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        }
    };

    // Memory: the server's RSS every half second.
    let memory = {
        let stop = stop.clone();
        move || {
            let mut samples = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                samples.push((started.elapsed().as_secs_f64(), rss_kib(pid)));
                std::thread::sleep(Duration::from_millis(500));
            }
            samples
        }
    };

    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let stop = stop.clone();
            let outcomes = outcomes.clone();
            let job_path = format!("/v1/jobs/{first}");
            let dry_run = dry_run.clone();
            std::thread::spawn(move || {
                let mut mine = Vec::new();
                let mut i = c;
                while !stop.load(Ordering::Relaxed) {
                    let (route, method, path, body) = match i % 4 {
                        0 => ("GET /health/live", "GET", "/health/live", None),
                        1 => ("GET /v1/jobs", "GET", "/v1/jobs?limit=20", None),
                        2 => ("GET /v1/jobs/{id}", "GET", job_path.as_str(), None),
                        _ => (
                            "POST /v1/videos dry run",
                            "POST",
                            "/v1/videos",
                            Some(dry_run.as_str()),
                        ),
                    };
                    let (status, latency) = call(port, method, path, body);
                    mine.push(Outcome {
                        route,
                        status,
                        latency,
                    });
                    i += 1;
                }
                outcomes.lock().unwrap().extend(mine);
            })
        })
        .collect();

    let (memory, finished) = std::thread::scope(|scope| {
        let jobs = scope.spawn(jobs);
        let memory = scope.spawn(memory);
        std::thread::sleep(Duration::from_secs(seconds));
        stop.store(true, Ordering::Relaxed);
        for c in clients {
            c.join().unwrap();
        }
        (memory.join().unwrap(), jobs.join().unwrap())
    });

    let outcomes = outcomes.lock().unwrap();
    let bad: Vec<(&str, u16)> = outcomes
        .iter()
        .filter(|o| o.status == 0 || o.status >= 500)
        .map(|o| (o.route, o.status))
        .collect();
    let mut latencies: Vec<Duration> = outcomes.iter().map(|o| o.latency).collect();
    latencies.sort();
    let p50 = percentile(&latencies, 0.5);
    let p99 = percentile(&latencies, 0.99);
    for route in [
        "GET /health/live",
        "GET /v1/jobs",
        "GET /v1/jobs/{id}",
        "POST /v1/videos dry run",
    ] {
        let mut l: Vec<Duration> = outcomes
            .iter()
            .filter(|o| o.route == route)
            .map(|o| o.latency)
            .collect();
        l.sort();
        let statuses: std::collections::BTreeSet<u16> = outcomes
            .iter()
            .filter(|o| o.route == route)
            .map(|o| o.status)
            .collect();
        eprintln!(
            "{route}: {} requests, statuses {statuses:?}, p50 {:.1} ms, p99 {:.1} ms",
            l.len(),
            percentile(&l, 0.5).as_secs_f64() * 1e3,
            percentile(&l, 0.99).as_secs_f64() * 1e3
        );
    }
    let series: Vec<String> = memory
        .iter()
        .step_by((memory.len() / 12).max(1))
        .map(|(t, kib)| format!("{t:.0}s:{:.0}", *kib as f64 / 1024.0))
        .collect();
    eprintln!("server RSS (MiB) over time: {}", series.join(" "));

    // Memory is flat: the second half of the run peaks no higher than the first half (after
    // the first job warmed everything up), with room for allocator noise.
    let half = seconds as f64 / 2.0;
    let peak = |from: f64, to: f64| {
        memory
            .iter()
            .filter(|(t, _)| (from..to).contains(t))
            .map(|(_, k)| *k)
            .max()
            .unwrap_or(0)
    };
    let (first_half, second_half) = (peak(0.0, half), peak(half, f64::MAX));
    let overall = first_half.max(second_half);
    let failed_jobs: Vec<_> = finished
        .iter()
        .filter(|(_, s, _)| s != "succeeded")
        .collect();
    let happened = format!(
        "{} requests in {seconds} s from {CLIENTS} clients, {} 5xx or dropped; p50 {:.1} ms, p99 {:.1} ms; \
         {} jobs rendered meanwhile, {} failed; server RSS peak {:.0} MiB in the first half, {:.0} MiB in the second",
        outcomes.len(),
        bad.len(),
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3,
        finished.len(),
        failed_jobs.len(),
        first_half as f64 / 1024.0,
        second_half as f64 / 1024.0,
    );
    let flat = second_half <= first_half + first_half / 4 + 8 * 1024;
    let pass = bad.is_empty() && failed_jobs.is_empty() && !finished.is_empty() && flat;
    println!(
        "HARDEN\tfault: {seconds} s load on the API while jobs render\tzero 5xx, memory flat, p99 reported\t{happened}\t{}\t{overall}",
        if pass { "pass" } else { "FAIL" }
    );
    assert!(bad.is_empty(), "5xx or dropped: {bad:?}");
    assert!(failed_jobs.is_empty(), "jobs failed: {failed_jobs:?}");
    assert!(!finished.is_empty(), "no job finished in {seconds} s");
    assert!(flat, "memory grew: {happened}");
}
