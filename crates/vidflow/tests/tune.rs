//! `vidflow tune` end to end on a tiny render: an encode search whose chosen point `make
//! --encode-profile` then encodes with, a render search written into a config file, and
//! the same through the HTTP API (`POST /v1/tune`, then `options.encode_profile`).

mod common;

use std::path::Path;

use common::*;

const SCRIPT: &str = "Tuning\n\nA short video to tune the encoder on.\n\nIt has two segments.\n";

fn json_stdout(o: &std::process::Output) -> serde_json::Value {
    assert!(o.status.success(), "{}", stderr(o));
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", stderr(o)))
}

/// The x264 settings an MP4 was encoded with: x264 writes them into the stream as text.
fn x264_options(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    let at = text
        .find("options: ")
        .expect("x264's settings in the stream");
    text[at..].chars().take(2000).collect()
}

fn expect_setting(options: &str, setting: &str) {
    assert!(
        options.split_whitespace().any(|s| s == setting),
        "{setting} not in {options}"
    );
}

/// What x264 writes for a choice's CRF and keyframe interval.
fn expected_settings(choice: &serde_json::Value) -> Vec<String> {
    let mut want = vec![format!("crf={}.0", choice["crf"])];
    if let Some(k) = choice["x264"]["keyint"].as_u64() {
        want.push(format!("keyint={k}"));
    }
    want
}

#[test]
fn tune_encode_feeds_make_and_tune_render_writes_the_config() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("script.txt"), SCRIPT).unwrap();
    let report = json_stdout(&run_in(
        dir.path(),
        &[
            "tune",
            "encode",
            "--script",
            "script.txt",
            "--trials",
            "4",
            "--seconds",
            "1",
            "--target-ssim",
            "0.97",
            "--storage",
            "study.db",
            "--seed",
            "5",
            "--json",
        ],
    ));
    assert_eq!(report["kind"], "encode", "{report}");
    assert_eq!(report["all"].as_array().unwrap().len(), 4, "{report}");
    let chosen = &report["chosen"];
    assert!(chosen["ssim"].as_f64().unwrap() >= 0.97, "{report}");

    // make encodes with the chosen point.
    let out = run_in(
        dir.path(),
        &[
            "make",
            "--script",
            "script.txt",
            "--encode-profile",
            "study.db",
            "-o",
            "tuned.mp4",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let options = x264_options(&dir.path().join("tuned.mp4"));
    for setting in expected_settings(&chosen["choice"]) {
        expect_setting(&options, &setting);
    }

    // A profile that is not there stops make before anything is written.
    let out = run_in(
        dir.path(),
        &[
            "make",
            "--script",
            "script.txt",
            "--encode-profile",
            "nope.db",
            "-o",
            "no.mp4",
        ],
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("nope.db does not exist"),
        "{}",
        stderr(&out)
    );
    assert!(!dir.path().join("no.mp4").exists());
    assert!(!dir.path().join("nope.db").exists());

    // tune render keeps what the config file says and adds the best settings.
    let cfg = dir.path().join("vidflow.toml");
    std::fs::write(&cfg, "# my settings\n[video]\ncrf = 30 # smaller files\n").unwrap();
    let out = run_in(
        dir.path(),
        &[
            "tune",
            "render",
            "--trials",
            "2",
            "--seed",
            "1",
            "--write-config",
            "vidflow.toml",
            "--max-seconds",
            "4",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let written = std::fs::read_to_string(&cfg).unwrap();
    assert!(written.contains("# my settings"), "{written}");
    assert!(written.contains("crf = 30 # smaller files"), "{written}");
    for key in [
        "threads = ",
        "chunk_frames = ",
        "render_ahead = ",
        "preset = ",
    ] {
        assert!(written.contains(key), "{key} missing: {written}");
    }
    let shown = run_in(dir.path(), &["--config", "vidflow.toml", "config", "show"]);
    assert!(shown.status.success(), "{}", stderr(&shown));
}

#[test]
fn the_api_runs_a_search_as_a_job_and_videos_use_it_as_a_profile() {
    let dir = tempfile::tempdir().unwrap();
    let svc = Service::start(&dir.path().join("data"));

    // Bad input: 422 naming the field.
    let (status, body) = svc.request(
        "POST",
        "/v1/tune",
        Some(&serde_json::json!({"kind": "render", "url": "https://example.org/"})),
    );
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("\"script\""), "{body}");
    let (status, body) = svc.request(
        "POST",
        "/v1/tune",
        Some(&serde_json::json!({"kind": "encode", "script": SCRIPT, "tune": {"target_ssim": 2}})),
    );
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("tune.target_ssim"), "{body}");
    let (status, body) = svc.request(
        "POST",
        "/v1/videos",
        Some(&serde_json::json!({"script": SCRIPT, "options": {"encode_profile": "f00"}})),
    );
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("options.encode_profile"), "{body}");

    let (status, body) = svc.request(
        "POST",
        "/v1/tune",
        Some(&serde_json::json!({
            "kind": "encode",
            "script": SCRIPT,
            "tune": {"trials": 3, "seconds": 0.5, "target_ssim": 0.95, "seed": 3}
        })),
    );
    assert_eq!(status, 202, "{body}");
    let id = serde_json::from_str::<serde_json::Value>(&body).unwrap()["job_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let job = svc.wait_for(&id, "the search", |j| j["state"] == "succeeded");
    assert_eq!(job["workflow_id"], "tune-encode-script", "{job}");
    let report = &job["result"]["output"];
    assert_eq!(report["all"].as_array().unwrap().len(), 3, "{job}");
    let choice = report["chosen"]["choice"].clone();
    assert!(choice.is_object(), "{job}");
    // The study file is in the job's folder.
    assert!(
        dir.path()
            .join("data/jobs")
            .join(&id)
            .join("study.db")
            .is_file()
    );

    // Each trial counted on /metrics under the job's study.
    let (status, metrics) = svc.request("GET", "/metrics", None);
    assert_eq!(status, 200);
    let trials: f64 = metrics
        .lines()
        .filter(|l| l.starts_with("vidflow_tune_trials_total{") && l.contains(&id))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
        .sum();
    assert_eq!(trials, 3.0, "{metrics}");
    assert!(metrics.contains("vidflow_tune_best_value{"), "{metrics}");

    // The docs have it.
    let (_, doc) = svc.request("GET", "/openapi.json", None);
    assert!(doc.contains("\"/v1/tune\""));

    // A video encoded with the search's choice.
    let (status, body) = svc.request(
        "POST",
        "/v1/videos",
        Some(&serde_json::json!({"script": SCRIPT, "options": {"encode_profile": id}})),
    );
    assert_eq!(status, 202, "{body}");
    let video = serde_json::from_str::<serde_json::Value>(&body).unwrap()["job_id"]
        .as_str()
        .unwrap()
        .to_owned();
    svc.wait_for(&video, "the video", |j| j["state"] == "succeeded");
    let options = x264_options(&dir.path().join("data/jobs").join(&video).join("video.mp4"));
    for setting in expected_settings(&choice) {
        expect_setting(&options, &setting);
    }
}
