//! `vidflow serve` as a process: a job survives SIGKILL mid-render and a SIGTERM shutdown,
//! and finishes after the restart.

mod common;

use std::time::Duration;

use common::*;

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
    let status = wait_exit(
        &mut svc.child,
        Duration::from_secs(60),
        "the server after SIGTERM",
    );
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

#[test]
fn status_prints_the_servers_status_as_tables_or_json_and_names_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("vidflow.toml");
    std::fs::write(&config, "[server]\napi_keys = [\"key-one\"]\n").unwrap();
    let svc = Service::start_with(
        &dir.path().join("data"),
        &["--config", config.to_str().unwrap()],
        &[],
    );
    let server = format!("http://127.0.0.1:{}", svc.port);
    let status = |extra: &[&str]| {
        vidflow()
            .args(["status", "--server", &server])
            .args(extra)
            .env_remove("VIDFLOW_API_KEY")
            .output()
            .unwrap()
    };

    let out = status(&["--api-key", "key-one"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let table = String::from_utf8_lossy(&out.stdout);
    for want in [
        server.as_str(),
        "jobs running",
        "0 of ",
        "cache",
        "disk free",
    ] {
        assert!(table.contains(want), "no '{want}' in\n{table}");
    }
    assert!(table.contains("none (single machine)"), "{table}");

    let out = status(&["--api-key", "key-one", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["version"], env!("CARGO_PKG_VERSION"), "{json}");
    assert!(
        json["jobs"]["max_concurrent"].as_u64().unwrap() >= 1,
        "{json}"
    );

    // The key from the same config file the server reads.
    let out = vidflow()
        .args([
            "--config",
            config.to_str().unwrap(),
            "status",
            "--server",
            &server,
        ])
        .env_remove("VIDFLOW_API_KEY")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));

    // No key: the server's refusal, and how to give one.
    let out = status(&[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("401") && err.contains("--api-key"), "{err}");
    assert!(out.stdout.is_empty());

    // Nobody there.
    drop(svc);
    let out = status(&["--api-key", "key-one"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("cannot reach the server"),
        "{}",
        stderr(&out)
    );
}
