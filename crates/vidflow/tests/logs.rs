//! `--log-format json`: every log line is a JSON object, and each stage that ran ends with a
//! "stage finished" line in its `stage` span, so a job's story can be read by a machine.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use vidflow_redis_test::{TestRedis, unique_prefix};

#[test]
fn json_logs_have_one_finished_line_per_stage_with_its_span() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("s.txt"),
        "Logs\n\nOne short line of narration.\n",
    )
    .unwrap();
    let out = run_in(
        dir.path(),
        &[
            "--log-format",
            "json",
            "-v",
            "make",
            "--script",
            "s.txt",
            "--stop-after",
            "storyboard",
            "-o",
            "out.json",
            "--no-cache",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let lines: Vec<serde_json::Value> = stderr(&out)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let finished: Vec<&str> = lines
        .iter()
        .filter(|l| l["fields"]["message"] == "stage finished")
        .map(|l| l["span"]["stage"].as_str().expect("the stage span"))
        .collect();
    assert_eq!(finished, ["script", "speak", "storyboard"], "{lines:?}");
    for l in lines
        .iter()
        .filter(|l| l["fields"]["message"] == "stage finished")
    {
        assert!(l["fields"]["seconds"].as_f64().is_some(), "{l}");
        assert!(l["span"]["key"].as_str().is_some(), "{l}");
    }
    // A failure is a JSON line too, naming what failed.
    let out = run_in(
        dir.path(),
        &[
            "--log-format",
            "json",
            "make",
            "--script",
            "missing.txt",
            "-o",
            "x.mp4",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let errors: Vec<serde_json::Value> = stderr(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .filter(|l: &serde_json::Value| l["level"] == "ERROR")
        .collect();
    assert_eq!(errors.len(), 1, "{}", stderr(&out));
    assert!(
        errors[0]["fields"]["error"]
            .as_str()
            .unwrap()
            .contains("missing.txt")
    );
    // A bad value is named.
    let out = run_in(dir.path(), &["--log-format", "xml", "voices"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("xml"), "{}", stderr(&out));
}

/// A child process whose stderr lines are kept (and drained, so the pipe never fills).
struct Logged {
    child: Child,
    port: u16,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Logged {
    fn start(mut cmd: std::process::Command, marker: &'static str) -> Logged {
        let mut child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start vidflow");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let port = read_port_keeping(&mut child, marker, Some(lines.clone()));
        Logged { child, port, lines }
    }

    /// Every line so far, each parsed as JSON (a line that is not JSON fails the test).
    fn json(&self) -> Vec<serde_json::Value> {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
            .collect()
    }
}

impl Drop for Logged {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 request with extra headers; returns the status, the headers (lower-cased
/// names) and the body.
fn http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, Vec<(String, String)>, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    write!(stream, "{head}\r\n{body}").unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    (status, headers, body.to_owned())
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The value of `field` in the line's span list (`spans`), from the innermost span out.
fn span_field<'a>(line: &'a serde_json::Value, field: &str) -> Option<&'a str> {
    line["spans"]
        .as_array()?
        .iter()
        .rev()
        .find_map(|s| s[field].as_str())
}

#[test]
fn a_request_id_follows_a_job_from_the_api_through_the_server_to_the_worker() {
    let redis = TestRedis::start().unwrap();
    let url = redis.url().to_owned();
    let prefix = unique_prefix("logs");
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("VIDFLOW_QUEUE__PREFIX", format!("{prefix}q:")),
        ("VIDFLOW_CACHE__REDIS_PREFIX", format!("{prefix}c:")),
        ("VIDFLOW_QUEUE__CHUNK_SECONDS", "1.5".into()),
        ("VIDFLOW_VIDEO__PRESET", "ultrafast".into()),
        ("VIDFLOW_SERVER__RATE_LIMIT_PER_SECOND", "0".into()),
        ("VIDFLOW_SERVER__SHUTDOWN_GRACE_SECONDS", "0".into()),
    ];
    let mut worker = vidflow();
    worker
        .args(["--log-format", "json", "worker", "--redis", &url])
        .args([
            "--metrics-addr",
            "127.0.0.1:0",
            "--threads",
            "1",
            "--cache-dir",
        ])
        .arg(dir.path().join("w"))
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())));
    let worker = Logged::start(worker, "metrics on http://127.0.0.1:");
    let mut server = vidflow();
    server
        .args(["--log-format", "json", "serve", "--addr", "127.0.0.1:0"])
        .args(["--redis", &url, "--data-dir"])
        .arg(dir.path().join("s"))
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())));
    let server = Logged::start(server, "listening on http://127.0.0.1:");

    // The client's id is echoed and kept with the job.
    let body = serde_json::json!({
        "script": "Request ids\n\nOne line of narration, rendered in chunks on a worker.",
        "options": {"max_seconds": 4, "fps": 24},
    })
    .to_string();
    let rid = "test-req-42";
    let (status, headers, resp) = http(
        server.port,
        "POST",
        "/v1/videos",
        &[("X-Request-Id", rid)],
        &body,
    );
    assert_eq!(status, 202, "{resp}");
    assert_eq!(header(&headers, "x-request-id"), Some(rid));
    let job_id = serde_json::from_str::<serde_json::Value>(&resp).unwrap()["job_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let start = Instant::now();
    let job = loop {
        let (status, _, body) = http(server.port, "GET", &format!("/v1/jobs/{job_id}"), &[], "");
        assert_eq!(status, 200, "{body}");
        let job: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_ne!(job["state"], "failed", "{job}");
        if job["state"] == "succeeded" {
            break job;
        }
        assert!(
            start.elapsed() < Duration::from_secs(240),
            "job never finished: {job}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(job["request_id"], rid, "{job}");

    // The server's story of the job: started and finished in the job's span, which names
    // the request.
    let server_lines = server.json();
    let server_job: Vec<&str> = server_lines
        .iter()
        .filter(|l| span_field(l, "request_id") == Some(rid))
        .filter_map(|l| l["fields"]["message"].as_str())
        .collect();
    assert!(
        server_job.contains(&"job started") && server_job.contains(&"job finished"),
        "{server_job:?}\n{server_lines:#?}"
    );
    // The worker's: every task of the job, render chunks included, names the request.
    let worker_lines = worker.json();
    let done: Vec<&serde_json::Value> = worker_lines
        .iter()
        .filter(|l| l["fields"]["message"] == "task done" && span_field(l, "job") == Some(&job_id))
        .collect();
    assert!(!done.is_empty(), "{worker_lines:#?}");
    for l in &done {
        assert_eq!(span_field(l, "request_id"), Some(rid), "{l}");
    }
    assert!(
        done.iter()
            .any(|l| span_field(l, "task").is_some_and(|t| t.starts_with("render chunk"))),
        "no render chunk among {done:#?}"
    );

    // Without a header the server makes one; a malformed one is refused, naming it.
    let (status, headers, _) = http(server.port, "GET", "/v1/status", &[], "");
    assert_eq!(status, 200);
    assert!(header(&headers, "x-request-id").is_some_and(|v| v.len() == 32));
    let long = "x".repeat(129);
    for bad in ["two words", long.as_str(), "quote\"d"] {
        let (status, headers, body) = http(
            server.port,
            "GET",
            "/v1/status",
            &[("X-Request-Id", bad)],
            "",
        );
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(body.contains("X-Request-Id"), "{body}");
        assert!(header(&headers, "x-request-id").is_some());
    }
}
