//! `vidflow serve` as a process: a job survives SIGKILL mid-render and a SIGTERM shutdown,
//! and finishes after the restart.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// A running `vidflow serve` and its port.
struct Service {
    child: Child,
    port: u16,
}

impl Service {
    fn start(data: &Path) -> Service {
        let mut child = vidflow()
            .args(["serve", "--addr", "127.0.0.1:0", "--data-dir"])
            .arg(data)
            .env("VIDFLOW_VIDEO__PRESET", "ultrafast")
            .env("VIDFLOW_SERVER__SHUTDOWN_GRACE_SECONDS", "0")
            .env("VIDFLOW_SERVER__RATE_LIMIT_PER_SECOND", "0")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start vidflow serve");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        // Reads the port from the first line, then keeps draining so the pipe never fills.
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.split("listening on http://127.0.0.1:").nth(1)
                    && let Some(tx) = tx.take()
                {
                    let port: u16 = rest.split_whitespace().next().unwrap().parse().unwrap();
                    let _ = tx.send(port);
                }
            }
        });
        let port = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the server says where it listens");
        Service { child, port }
    }

    /// One HTTP/1.1 request; returns the status and the body.
    fn request(&self, method: &str, path: &str, body: Option<&serde_json::Value>) -> (u16, String) {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).unwrap();
        let text = String::from_utf8_lossy(&raw).into_owned();
        let status = text.split_whitespace().nth(1).unwrap().parse().unwrap();
        let body = text
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_owned())
            .unwrap();
        (status, body)
    }

    fn job(&self, id: &str) -> serde_json::Value {
        let (status, body) = self.request("GET", &format!("/v1/jobs/{id}"), None);
        assert_eq!(status, 200, "{body}");
        serde_json::from_str(&body).unwrap()
    }

    fn wait_for(
        &self,
        id: &str,
        what: &str,
        done: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(240) {
            let job = self.job(id);
            if done(&job) {
                return job;
            }
            assert_ne!(job["state"], "failed", "{job}");
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("job {id}: timed out waiting for {what}");
    }

    fn submit(&self, body: &serde_json::Value) -> String {
        let (status, resp) = self.request("POST", "/v1/videos", Some(body));
        assert_eq!(status, 202, "{resp}");
        let v: serde_json::Value = serde_json::from_str(&resp).unwrap();
        v["job_id"].as_str().unwrap().to_owned()
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn job_body(size: &str) -> serde_json::Value {
    let html = std::fs::read_to_string(sample_dir().join("index.html")).unwrap();
    serde_json::json!({"html": html, "options": {"max_seconds": 12, "size": size}})
}

#[test]
fn jobs_survive_sigkill_and_sigterm_and_finish_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");

    // SIGKILL mid-render: nothing is saved on the way down.
    let mut svc = Service::start(&data);
    let killed = svc.submit(&job_body("1280x720"));
    svc.wait_for(&killed, "rendering", |j| j["stage"] == "render");
    svc.child.kill().unwrap();
    svc.child.wait().unwrap();
    drop(svc);

    let svc = Service::start(&data);
    let job = svc.wait_for(&killed, "success after restart", |j| {
        j["state"] == "succeeded"
    });
    assert_eq!(job["attempts"], 2, "{job}");
    // The stages before render came from the cache the first run filled.
    let cached: Vec<bool> = job["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["cached"].as_bool().unwrap())
        .collect();
    assert!(cached[1..5].iter().all(|c| *c), "{job}");
    let video = data.join("jobs").join(&killed).join("video.mp4");
    let probe = ffprobe(&video);
    assert_eq!(probe["streams"].as_array().unwrap().len(), 2);

    // SIGTERM mid-render with no grace: exit 0, the job is back in the queue for next time.
    let mut svc = svc;
    let stopped = svc.submit(&job_body("1080x1080"));
    svc.wait_for(&stopped, "rendering", |j| j["stage"] == "render");
    // SAFETY: sending a signal to our own child process.
    assert_eq!(
        unsafe { libc::kill(svc.child.id() as i32, libc::SIGTERM) },
        0
    );
    let start = Instant::now();
    let status = loop {
        if let Some(status) = svc.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
    drop(svc);
    // No partial output was left in the stopped job's folder.
    assert!(!data.join("jobs").join(&stopped).join("video.mp4").exists());

    let svc = Service::start(&data);
    let job = svc.wait_for(&stopped, "success after restart", |j| {
        j["state"] == "succeeded"
    });
    assert_eq!(job["attempts"], 2, "{job}");
    assert_eq!(job["result"]["width"], 1080);
}
