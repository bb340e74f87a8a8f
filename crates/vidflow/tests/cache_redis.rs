//! `make` with the Redis cache tier, through the real binary and a real `redis-server`:
//! Redis dies in the middle of a job, the job still succeeds; once Redis is back, runs on
//! other (empty) cache folders get their stages from it.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use redis::Commands;
use vidflow_redis_test::{TestRedis, unique_prefix};

/// The `make` command on the sample page with a Redis tier under `prefix`.
fn make(dir: &Path, cache_dir: &str, out: &str, redis_url: &str, prefix: &str) -> Command {
    let page = sample_dir().join("index.html");
    let mut c = vidflow();
    c.current_dir(dir)
        .env("VIDFLOW_CACHE__REDIS_PREFIX", prefix)
        .args(["make", page.to_str().unwrap()])
        .args(["--max-seconds", "5", "--fps", "24", "--size", "1080x1080"])
        .args(["--cache-dir", cache_dir, "--cache-redis", redis_url])
        .args(["--json", "-o", out]);
    c
}

fn report(o: &std::process::Output) -> serde_json::Value {
    assert!(o.status.success(), "vidflow failed: {}", stderr(o));
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("bad JSON ({e}): {}", String::from_utf8_lossy(&o.stdout)))
}

/// (stage, backend) of every stage report.
fn backends(report: &serde_json::Value) -> Vec<(String, Option<String>)> {
    report["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["stage"].as_str().unwrap().to_owned(),
                s["backend"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

fn heads_under(con: &mut redis::Connection, prefix: &str) -> Vec<String> {
    con.scan_match::<_, String>(format!("{prefix}*"))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap()
        .into_iter()
        .filter(|k| !k.contains(":p"))
        .collect()
}

#[test]
fn make_survives_redis_stopping_mid_job_and_uses_it_again_once_back() {
    // Stops or pauses the server: always one of its own, even with an external Redis set.
    let mut redis = TestRedis::start_own().unwrap();
    let url = redis.url().to_owned();
    let prefix = unique_prefix("cli");
    let storyboard = format!("{prefix}storyboard-");
    let render = format!("{prefix}render-");
    let dir = tempfile::tempdir().unwrap();

    // Run 1: stop Redis once the storyboard is stored, that is while the render runs.
    let child = make(dir.path(), "cache-a", "a.mp4", &url, &prefix)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut con = redis_connection(&url);
    let give_up = Instant::now() + Duration::from_secs(120);
    let stopped_mid_job = loop {
        let heads = heads_under(&mut con, &prefix);
        if heads.iter().any(|k| k.starts_with(&storyboard)) {
            let render_stored = heads.iter().any(|k| k.starts_with(&render));
            redis.stop().unwrap();
            break !render_stored;
        }
        assert!(
            Instant::now() < give_up,
            "the storyboard never reached Redis"
        );
        std::thread::sleep(Duration::from_millis(5));
    };
    assert!(
        stopped_mid_job,
        "the render finished before Redis could be stopped"
    );
    let first = child.wait_with_output().unwrap();
    let first_report = report(&first);
    assert!(dir.path().join("a.mp4").is_file());
    let log = stderr(&first);
    assert_eq!(
        log.matches("Redis cache tier is unavailable").count(),
        1,
        "the outage is logged once: {log}"
    );
    assert!(
        backends(&first_report).iter().all(|(_, b)| b.is_none()),
        "a first run computes everything: {first_report}"
    );

    // Redis back (empty: nothing is persisted). Run 2, on a fresh local cache, stores
    // every stage in Redis again.
    redis.start_again().unwrap();
    let mut con = redis_connection(&url);
    let second = report(
        &make(dir.path(), "cache-b", "b.mp4", &url, &prefix)
            .output()
            .unwrap(),
    );
    assert!(
        backends(&second).iter().all(|(_, b)| b.is_none()),
        "{second}"
    );
    let heads = heads_under(&mut con, &prefix);
    assert!(
        heads.iter().any(|k| k.starts_with(&render)),
        "the render output is in Redis: {heads:?}"
    );

    // Run 3, on another fresh local cache: every stage comes from Redis.
    let third = report(
        &make(dir.path(), "cache-c", "c.mp4", &url, &prefix)
            .output()
            .unwrap(),
    );
    let stages = backends(&third);
    assert!(stages.iter().any(|(s, _)| s == "render"), "{third}");
    for (stage, backend) in &stages {
        assert_eq!(
            backend.as_deref(),
            Some("redis"),
            "{stage} should come from Redis: {third}"
        );
    }
    let a = std::fs::metadata(dir.path().join("b.mp4")).unwrap().len();
    let c = std::fs::metadata(dir.path().join("c.mp4")).unwrap().len();
    assert_eq!(a, c, "the video from Redis is the one stored");
}

#[test]
fn a_bad_redis_url_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let page = sample_dir().join("index.html");
    let o = run_in(
        dir.path(),
        &[
            "make",
            page.to_str().unwrap(),
            "--cache-dir",
            "cache",
            "--cache-redis",
            "http://127.0.0.1:1/",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("redis_url"), "{}", stderr(&o));
}
