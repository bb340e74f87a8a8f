//! `--log-format json`: every log line is a JSON object, and each stage that ran ends with a
//! "stage finished" line in its `stage` span, so a job's story can be read by a machine.

mod common;

use common::*;

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
