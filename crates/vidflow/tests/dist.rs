//! Shared mode with real processes: `vidflow serve --redis`, `vidflow worker` and
//! `vidflow make --remote` on a real `redis-server`; videos compared with the single-machine
//! `make` of the same page; a worker killed mid-chunk; a task that always fails.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use redis::Commands;
use vidflow_redis_test::{TestRedis, unique_prefix};

/// A `vidflow worker` process.
struct WorkerProc {
    child: Child,
    metrics_port: u16,
}

impl Drop for WorkerProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Environment every process of one test shares: its own key prefixes, short leases.
fn shared_env(prefix: &str) -> Vec<(&'static str, String)> {
    vec![
        ("VIDFLOW_QUEUE__PREFIX", format!("{prefix}q:")),
        ("VIDFLOW_CACHE__REDIS_PREFIX", format!("{prefix}c:")),
        ("VIDFLOW_QUEUE__CHUNK_SECONDS", "1.5".into()),
        ("VIDFLOW_QUEUE__LEASE_SECONDS", "2".into()),
        ("VIDFLOW_QUEUE__MAX_DELIVERIES", "3".into()),
        ("VIDFLOW_VIDEO__PRESET", "ultrafast".into()),
    ]
}

fn start_worker(
    redis: &str,
    env: &[(&'static str, String)],
    cache: &Path,
    extra: &[&str],
) -> WorkerProc {
    let mut child = vidflow()
        .args(["worker", "--redis", redis, "--metrics-addr", "127.0.0.1:0"])
        .args(["--allow-private-network", "--threads", "1", "--cache-dir"])
        .arg(cache)
        .args(extra)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start vidflow worker");
    let metrics_port = read_port(&mut child, "metrics on http://127.0.0.1:");
    WorkerProc {
        child,
        metrics_port,
    }
}

/// `vidflow make PAGE --remote REDIS` at 24 fps writing `out`, with the test's environment
/// and a client cache folder of its own under `dir`.
fn remote_make(
    page: &str,
    seconds: &str,
    redis: &str,
    env: &[(&'static str, String)],
    dir: &Path,
    out: &Path,
) -> Command {
    let mut c = vidflow();
    c.args(["make", page, "--max-seconds", seconds, "--fps", "24"])
        .args(["--remote", redis, "--allow-private-network", "-o"])
        .arg(out)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .env("VIDFLOW_CACHE__DIR", dir.join("client"));
    c
}

fn http_get(port: u16, path: &str) -> (u16, Vec<u8>) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let head_end = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&raw[..head_end]).into_owned();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, raw[head_end + 4..].to_vec())
}

fn ffprobe(path: &Path, entries: &str) -> String {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0", "-count_frames"])
        .args(["-show_entries", entries, "-of", "default=nw=1:nk=1"])
        .arg(path)
        .output()
        .unwrap();
    assert!(out.status.success(), "ffprobe {}", path.display());
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn frames(path: &Path) -> u64 {
    ffprobe(path, "stream=nb_read_frames").parse().unwrap()
}

fn duration(path: &Path) -> f64 {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "format=duration",
            "-of",
            "default=nw=1:nk=1",
        ])
        .arg(path)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

/// The decoded narration, 16-bit PCM.
fn pcm(path: &Path) -> Vec<u8> {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(path)
        .args(["-map", "0:a:0", "-f", "s16le", "-"])
        .output()
        .unwrap();
    assert!(out.status.success());
    out.stdout
}

/// Mean SSIM of two videos over every fifth frame.
fn ssim(a: &Path, b: &Path) -> f64 {
    let out = Command::new("ffmpeg")
        .args(["-v", "info", "-nostats", "-i"])
        .arg(a)
        .arg("-i")
        .arg(b)
        .args([
            "-lavfi",
            "[0:v]select='not(mod(n,5))'[a];[1:v]select='not(mod(n,5))'[b];[a][b]ssim",
            "-f",
            "null",
            "-",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stderr);
    let all = text
        .split("All:")
        .nth(1)
        .unwrap_or_else(|| panic!("no SSIM in: {text}"));
    all.split_whitespace().next().unwrap().parse().unwrap()
}

fn wait_until(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn two_workers_and_two_servers_make_the_videos_make_makes() {
    let redis = TestRedis::start().unwrap();
    let url = redis.url().to_owned();
    let prefix = unique_prefix("dist");
    let env = shared_env(&prefix);
    let envs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let pages = TestServer::start();
    let dir = tempfile::tempdir().unwrap();
    let w1 = start_worker(&url, &env, &dir.path().join("w1"), &[]);
    let w2 = start_worker(&url, &env, &dir.path().join("w2"), &[]);
    let server_args = ["--redis", url.as_str(), "--allow-private-network"];
    let a = Service::start_with(&dir.path().join("a"), &server_args, &envs);

    // Six jobs: two pages, three voices.
    let mut jobs = Vec::new();
    for page in ["/article.html", "/bread.html"] {
        for voice in ["slt", "awb", "kal"] {
            let body = serde_json::json!({
                "url": pages.url(page),
                "options": {"max_seconds": 4, "fps": 24, "voice": voice},
            });
            jobs.push((a.submit(&body), page, voice));
        }
    }
    // A second server on the same Redis sees the jobs and their progress.
    let b = Service::start_with(&dir.path().join("b"), &server_args, &envs);
    let (status, listed) = b.request("GET", "/v1/jobs?limit=50", None);
    assert_eq!(status, 200, "{listed}");
    for (id, ..) in &jobs {
        assert!(
            listed.contains(id.as_str()),
            "server b does not list {id}: {listed}"
        );
    }
    let b_saw_progress = std::cell::Cell::new(false);
    for (id, ..) in &jobs {
        let job = a.wait_for(id, "success", |j| {
            let seen = b.job(id);
            if seen["state"] == "running" && seen["stage"].is_string() {
                b_saw_progress.set(true);
            }
            j["state"] == "succeeded"
        });
        assert_eq!(job["result"]["kind"], "video", "{job}");
    }
    assert!(
        b_saw_progress.get(),
        "server b never saw a job running with its stage"
    );

    let local = dir.path().join("local");
    std::fs::create_dir_all(&local).unwrap();
    for (i, (id, page, voice)) in jobs.iter().enumerate() {
        // Server b serves the result too, from the shared cache, byte for byte.
        let seen = b.wait_for(id, "success on b", |j| j["state"] == "succeeded");
        assert_eq!(seen["result"]["frames"], a.job(id)["result"]["frames"]);
        let (sa, from_a) = http_get(a.port, &format!("/v1/jobs/{id}/video"));
        let (sb, from_b) = http_get(b.port, &format!("/v1/jobs/{id}/video"));
        assert_eq!((sa, sb), (200, 200));
        assert!(
            from_a == from_b,
            "job {id}: the two servers serve different videos"
        );
        let remote = local.join(format!("remote-{i}.mp4"));
        std::fs::write(&remote, &from_a).unwrap();

        // The single-machine make of the same request.
        let mine = local.join(format!("make-{i}.mp4"));
        let out = vidflow()
            .args([
                "make",
                &pages.url(page),
                "--max-seconds",
                "4",
                "--fps",
                "24",
                "--voice",
                voice,
            ])
            .args([
                "--preset",
                "ultrafast",
                "--allow-private-network",
                "--no-cache",
                "-o",
            ])
            .arg(&mine)
            .output()
            .unwrap();
        assert!(out.status.success(), "make: {}", stderr(&out));
        assert_eq!(frames(&remote), frames(&mine), "job {id}: frame count");
        assert!(
            (duration(&remote) - duration(&mine)).abs() <= 1.0 / 24.0,
            "job {id}: duration"
        );
        assert!(
            pcm(&remote) == pcm(&mine),
            "job {id}: the narration differs"
        );
        let s = ssim(&remote, &mine);
        assert!(s >= 0.98, "job {id}: SSIM {s} against make");
    }

    // Status and metrics name the queue and both workers; each worker did work.
    let (status, body) = a.request("GET", "/v1/status", None);
    assert_eq!(status, 200);
    let st: serde_json::Value = serde_json::from_str(&body).unwrap();
    let workers = st["shared_queue"]["workers"].as_array().unwrap().clone();
    assert_eq!(workers.len(), 2, "{st}");
    for w in &workers {
        assert!(
            w["done"].as_u64().unwrap() > 0,
            "a worker did nothing: {st}"
        );
    }
    assert_eq!(st["shared_queue"]["pending"], 0, "{st}");
    // `vidflow status` shows the same as tables: the queue and both workers by name.
    let out = vidflow()
        .args([
            "status",
            "--server",
            &format!("http://127.0.0.1:{}", a.port),
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("0 running, 0 dead letters"), "{table}");
    for w in &workers {
        assert!(table.contains(w["name"].as_str().unwrap()), "{table}");
    }
    let (_, metrics) = a.request("GET", "/metrics", None);
    assert!(metrics.contains("vidflow_workers 2"), "{metrics}");
    assert!(metrics.contains("vidflow_queue_pending 0"), "{metrics}");
    assert!(
        metrics.contains("cache_hits_total{backend=\"redis\"}"),
        "{metrics}"
    );
    for w in [&w1, &w2] {
        let (code, text) = http_get(w.metrics_port, "/metrics");
        let text = String::from_utf8_lossy(&text);
        assert_eq!(code, 200);
        assert!(
            text.contains("vidflow_worker_tasks_total{kind=\""),
            "{text}"
        );
        assert!(text.contains("vidflow_queue_dead_letters 0"), "{text}");
    }
    drop(redis);
}

/// Entries of a job's event stream as JSON.
fn job_events(con: &mut redis::Connection, prefix: &str, job: &str) -> Vec<serde_json::Value> {
    let reply: redis::streams::StreamRangeReply = con
        .xrange_all(format!("{prefix}q:job:{job}:events"))
        .unwrap();
    reply
        .ids
        .iter()
        .map(|e| serde_json::from_str(&e.get::<String>("event").unwrap()).unwrap())
        .collect()
}

/// A render chunk a worker holds now.
struct RunningChunk {
    entry: String,
    consumer: String,
    job: String,
    index: u64,
}

/// The first pending render chunk (with `unfinished`, only one whose chunk_done is not
/// posted yet).
fn running_chunk(
    con: &mut redis::Connection,
    prefix: &str,
    unfinished: bool,
) -> Option<RunningChunk> {
    let tasks = format!("{prefix}q:tasks");
    let pending: redis::streams::StreamPendingCountReply = redis::cmd("XPENDING")
        .arg(&tasks)
        .arg("workers")
        .arg("-")
        .arg("+")
        .arg(10)
        .query(con)
        .unwrap();
    for p in pending.ids {
        let entry: redis::streams::StreamRangeReply = con.xrange(&tasks, &p.id, &p.id).unwrap();
        let Some(e) = entry.ids.first() else { continue };
        if e.get::<String>("kind").as_deref() != Some("chunk") {
            continue;
        }
        let job: String = e.get("job").unwrap();
        let index: u64 = e.get::<String>("chunk").unwrap().parse().unwrap();
        let done = unfinished
            && job_events(con, prefix, &job)
                .iter()
                .any(|ev| ev["type"] == "chunk_done" && ev["index"] == index);
        if !done {
            return Some(RunningChunk {
                entry: p.id,
                consumer: p.consumer,
                job,
                index,
            });
        }
    }
    None
}

/// Waits up to 240 s for [`running_chunk`] to find one.
fn wait_for_running_chunk(
    con: &mut redis::Connection,
    prefix: &str,
    unfinished: bool,
) -> RunningChunk {
    let mut found = None;
    wait_until(
        "a worker rendering a chunk",
        Duration::from_secs(240),
        || {
            found = running_chunk(con, prefix, unfinished);
            found.is_some()
        },
    );
    found.expect("wait_until returned, so a chunk was found")
}

#[test]
fn a_chunk_whose_worker_is_killed_is_redone_by_the_other() {
    let redis = TestRedis::start().unwrap();
    let url = redis.url().to_owned();
    let prefix = unique_prefix("kill");
    let env = shared_env(&prefix);
    let pages = TestServer::start();
    let dir = tempfile::tempdir().unwrap();
    let mut workers = vec![
        start_worker(&url, &env, &dir.path().join("w1"), &[]),
        start_worker(&url, &env, &dir.path().join("w2"), &[]),
    ];
    let out = dir.path().join("out.mp4");
    let client = remote_make(
        &pages.url("/article.html"),
        "10",
        &url,
        &env,
        dir.path(),
        &out,
    )
    .arg("--json")
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();

    // Find a worker in the middle of a render chunk (its task pending under its name, no
    // ChunkDone for it yet) and kill it.
    let mut con = redis_connection(&url);
    let RunningChunk {
        consumer,
        job,
        index,
        ..
    } = wait_for_running_chunk(&mut con, &prefix, true);
    let pid: u32 = consumer.rsplit('-').nth(1).unwrap().parse().unwrap();
    let killed = workers
        .iter()
        .position(|w| w.child.id() == pid)
        .expect("the consumer is ours");
    let mut dead = workers.remove(killed);
    dead.child.kill().unwrap(); // SIGKILL
    dead.child.wait().unwrap();

    let result = client.wait_with_output().unwrap();
    assert!(
        result.status.success(),
        "make --remote: {}",
        stderr(&result)
    );
    let events = job_events(&mut con, &prefix, &job);
    let planned = events
        .iter()
        .find(|e| e["type"] == "planned")
        .expect("planned");
    let chunks = planned["chunks"].as_u64().unwrap();
    // Every chunk is done; the killed one by the survivor.
    for i in 0..chunks {
        assert!(
            events
                .iter()
                .any(|e| e["type"] == "chunk_done" && e["index"] == i),
            "chunk {i} never done: {events:?}"
        );
    }
    assert!(
        events.iter().any(|e| e["type"] == "chunk_done"
            && e["index"] == index
            && e["worker"].as_str() != Some(consumer.as_str())),
        "chunk {index} was not redone by the other worker: {events:?}"
    );
    // Exactly the expected frames: none missing, none doubled.
    let expected = planned["frames"].as_u64().unwrap();
    assert_eq!(frames(&out), expected);
    assert!((duration(&out) - expected as f64 / 24.0).abs() <= 1.0 / 24.0);
    drop(workers);
}

#[test]
fn a_task_that_always_fails_ends_in_the_dead_letters_and_fails_its_job() {
    let redis = TestRedis::start().unwrap();
    let url = redis.url().to_owned();
    let prefix = unique_prefix("dead");
    let mut env = shared_env(&prefix);
    env.push(("VIDFLOW_QUEUE__LEASE_SECONDS", "1".into()));
    env.push(("VIDFLOW_QUEUE__MAX_DELIVERIES", "2".into()));
    let pages = TestServer::start();
    let dir = tempfile::tempdir().unwrap();
    // This worker's shared-cache tier points at a Redis that is not there: whatever it
    // computes never reaches the other processes, so every try of its task fails.
    let nowhere = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("redis://127.0.0.1:{}/", l.local_addr().unwrap().port())
    };
    let _worker = start_worker(
        &url,
        &env,
        &dir.path().join("w"),
        &["--cache-redis", &nowhere],
    );
    let out = remote_make(
        &pages.url("/article.html"),
        "4",
        &url,
        &env,
        dir.path(),
        &dir.path().join("out.mp4"),
    )
    .output()
    .unwrap();
    let err = stderr(&out);
    assert!(!out.status.success());
    assert!(err.contains("stage fetch failed after 2 tries"), "{err}");
    assert!(err.contains("did not reach the shared cache"), "{err}");
    assert!(
        !dir.path().join("out.mp4").exists(),
        "a failed job left a file"
    );

    let status = vidflow()
        .args(["status", "--json", "--redis", url.as_str()])
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .unwrap();
    assert!(status.status.success(), "{}", stderr(&status));
    let st: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(st["dead_letters"], 1, "{st}");
    assert_eq!(st["pending"], 0, "{st}");
    let letter = &st["dead_letter_tasks"][0];
    assert_eq!(letter["task"], "fetch", "{st}");
    assert_eq!(letter["deliveries"], 2, "{st}");
    assert!(
        letter["error"].as_str().unwrap().contains("shared cache"),
        "{st}"
    );
    assert_eq!(st["workers"].as_array().unwrap().len(), 1, "{st}");
}

#[test]
fn a_worker_stopped_with_sigterm_finishes_its_chunk_and_the_job_goes_on() {
    let redis = TestRedis::start().unwrap();
    let url = redis.url().to_owned();
    let prefix = unique_prefix("term");
    let env = shared_env(&prefix);
    let pages = TestServer::start();
    let dir = tempfile::tempdir().unwrap();
    let mut first = start_worker(&url, &env, &dir.path().join("w1"), &[]);
    let out = dir.path().join("out.mp4");
    let client = remote_make(&pages.url("/bread.html"), "8", &url, &env, dir.path(), &out)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut con = redis_connection(&url);
    let tasks = format!("{prefix}q:tasks");
    let RunningChunk {
        entry, job, index, ..
    } = wait_for_running_chunk(&mut con, &prefix, false);
    let term = Command::new("kill")
        .args(["-TERM", &first.child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    // It finishes the chunk it holds, takes nothing more, and exits cleanly.
    let status = wait_exit(&mut first.child, Duration::from_secs(60), "the worker");
    assert!(status.success(), "worker exit: {status:?}");
    let pending: redis::streams::StreamPendingCountReply = redis::cmd("XPENDING")
        .arg(&tasks)
        .arg("workers")
        .arg(&entry)
        .arg(&entry)
        .arg(1)
        .query(&mut con)
        .unwrap();
    assert!(
        pending.ids.is_empty(),
        "the chunk it held was not finished and acknowledged"
    );
    let events = job_events(&mut con, &prefix, &job);
    assert!(
        events
            .iter()
            .any(|e| e["type"] == "chunk_done" && e["index"] == index),
        "chunk {index} not done: {events:?}"
    );
    let heartbeats: Vec<String> = con.zrange(format!("{prefix}q:workers"), 0, -1).unwrap();
    assert!(
        heartbeats.is_empty(),
        "a stopped worker still reports in: {heartbeats:?}"
    );

    // The job waits in the queue and finishes once another worker joins.
    let _second = start_worker(&url, &env, &dir.path().join("w2"), &[]);
    let result = client.wait_with_output().unwrap();
    assert!(
        result.status.success(),
        "make --remote: {}",
        stderr(&result)
    );
    let planned = job_events(&mut con, &prefix, &job)
        .into_iter()
        .find(|e| e["type"] == "planned")
        .unwrap();
    assert_eq!(frames(&out), planned["frames"].as_u64().unwrap());
}

#[test]
fn a_shared_job_cancelled_on_the_server_is_dropped_by_the_workers() {
    let redis = TestRedis::start().unwrap();
    let url = redis.url().to_owned();
    let prefix = unique_prefix("cancel");
    let env = shared_env(&prefix);
    let envs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let pages = TestServer::start();
    let dir = tempfile::tempdir().unwrap();
    let server = Service::start_with(
        &dir.path().join("s"),
        &["--redis", url.as_str(), "--allow-private-network"],
        &envs,
    );
    // No worker yet: the job's first task waits in the stream.
    let id = server.submit(&serde_json::json!({
        "url": pages.url("/article.html"),
        "options": {"max_seconds": 4, "fps": 24},
    }));
    server.wait_for(&id, "running", |j| j["state"] == "running");
    let (status, body) = server.request("DELETE", &format!("/v1/jobs/{id}"), None);
    assert_eq!(status, 200, "{body}");
    server.wait_for(&id, "cancelled", |j| j["state"] == "cancelled");

    // A worker that joins now drops the task instead of running it.
    let _worker = start_worker(&url, &env, &dir.path().join("w"), &[]);
    let mut con = redis_connection(&url);
    let group = format!("{prefix}q:tasks");
    wait_until("the task to be dropped", Duration::from_secs(60), || {
        let info: redis::streams::StreamInfoGroupsReply = con.xinfo_groups(&group).unwrap();
        let g = &info.groups[0];
        g.pending == 0 && g.lag == Some(0)
    });
    let events = job_events(&mut con, &prefix, &id);
    assert!(
        events.iter().any(|e| e["type"] == "cancelled"),
        "{events:?}"
    );
    assert!(
        !events.iter().any(|e| e["type"] == "progress"),
        "a cancelled job's stage ran: {events:?}"
    );
    let (status, _) = server.request("GET", &format!("/v1/jobs/{id}/video"), None);
    assert_eq!(status, 404);
}

#[test]
fn a_worker_without_the_requested_voice_refuses_its_task_naming_both() {
    // The client checks the voice is installed where it runs; the worker has none.
    let Some(voices) = vidflow_neural::voices_dir()
        .filter(|d| d.join(vidflow_neural::KNOWN_VOICES[0].model).is_file())
    else {
        assert!(
            std::env::var_os("VIDFLOW_REQUIRE_VOICES").is_none(),
            "VIDFLOW_REQUIRE_VOICES is set but no neural voice is installed"
        );
        eprintln!("skipping: no neural voice installed (run scripts/install-voices)");
        return;
    };
    let redis = TestRedis::start().unwrap();
    let url = redis.url().to_owned();
    let prefix = unique_prefix("voice");
    let env = shared_env(&prefix);
    let pages = TestServer::start();
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("no-voices");
    std::fs::create_dir_all(&empty).unwrap();
    let mut worker_env = env.clone();
    worker_env.push(("VIDFLOW_VOICES_DIR", empty.display().to_string()));
    let _worker = start_worker(&url, &worker_env, &dir.path().join("w"), &[]);
    let started = Instant::now();
    let out = remote_make(
        &pages.url("/article.html"),
        "4",
        &url,
        &env,
        dir.path(),
        &dir.path().join("out.mp4"),
    )
    .args(["--voice", "joe"])
    .env("VIDFLOW_VOICES_DIR", &voices)
    .output()
    .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("refused stage script"), "{err}");
    assert!(err.contains("worker "), "{err}");
    assert!(err.contains("voice \"joe\" is not installed"), "{err}");
    assert!(err.contains("no-voices"), "{err}");
    // Refused at once, not after the retries of a failing task.
    assert!(started.elapsed() < Duration::from_secs(60));
    assert!(!dir.path().join("out.mp4").exists());
}

#[test]
fn a_redis_crash_and_restart_under_the_workers_loses_no_task() {
    // Redis run as an operator who must not lose queued work runs it: every write in the AOF,
    // fsynced before it is acknowledged. It is killed (a crash) while a worker renders a
    // chunk, and started again on the same port a few seconds later.
    let mut redis = TestRedis::start_persistent().unwrap();
    let url = redis.url().to_owned();
    let prefix = unique_prefix("restart");
    let env = shared_env(&prefix);
    let pages = TestServer::start();
    let dir = tempfile::tempdir().unwrap();
    let mut workers = vec![
        start_worker(&url, &env, &dir.path().join("w1"), &[]),
        start_worker(&url, &env, &dir.path().join("w2"), &[]),
    ];
    let out = dir.path().join("out.mp4");
    let started = Instant::now();
    let client = remote_make(
        &pages.url("/article.html"),
        "10",
        &url,
        &env,
        dir.path(),
        &out,
    )
    .arg("--json")
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();

    let mut con = redis_connection(&url);
    let RunningChunk { job, index, .. } = wait_for_running_chunk(&mut con, &prefix, true);
    drop(con);
    redis.stop().unwrap(); // SIGKILL
    let down = Duration::from_secs(3);
    std::thread::sleep(down);
    redis.start_again().unwrap();

    let result = client.wait_with_output().unwrap();
    assert!(
        result.status.success(),
        "make --remote: {}",
        stderr(&result)
    );
    let took = started.elapsed().as_secs_f64();
    // The workers rode it out: still running, not restarted by anyone.
    for w in &mut workers {
        assert!(
            w.child.try_wait().unwrap().is_none(),
            "a worker exited when Redis went away"
        );
    }
    let mut con = redis_connection(&url);
    let events = job_events(&mut con, &prefix, &job);
    let planned = events
        .iter()
        .find(|e| e["type"] == "planned")
        .expect("planned");
    let chunks = planned["chunks"].as_u64().unwrap();
    for i in 0..chunks {
        assert!(
            events
                .iter()
                .any(|e| e["type"] == "chunk_done" && e["index"] == i),
            "chunk {i} never done: {events:?}"
        );
    }
    // Nothing left pending, nothing in the dead letters, every frame once.
    let pending: redis::streams::StreamPendingReply = redis::cmd("XPENDING")
        .arg(format!("{prefix}q:tasks"))
        .arg("workers")
        .query(&mut con)
        .unwrap();
    assert_eq!(pending.count(), 0, "tasks still pending");
    let dead: usize = con.xlen(format!("{prefix}q:dead")).unwrap();
    assert_eq!(dead, 0, "tasks in the dead letters");
    let expected = planned["frames"].as_u64().unwrap();
    assert_eq!(frames(&out), expected);
    println!(
        "HARDEN\tfault: Redis killed and restarted under 2 workers (AOF, fsync always)\tworkers reconnect, no task lost, job done\tRedis down {:.0} s while chunk {index} of {chunks} rendered; workers reconnected, all {chunks} chunks done, {expected} frames, 0 pending, 0 dead letters ({took:.1} s)\tpass",
        down.as_secs_f64()
    );
    drop(workers);
}
