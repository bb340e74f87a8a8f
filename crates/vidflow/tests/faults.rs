//! Faults injected into a real `vidflow make`: ffmpeg killed mid-encode must end the run
//! with an error that says so, leaving nothing at the output path and no partial file
//! beside it, and a rerun must then make the video.
//!
//! Prints one `HARDEN<TAB>case<TAB>expected<TAB>what happened<TAB>pass` line that
//! `scripts/harden` collects into docs/hardening.md.

mod common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use common::*;

/// The children of process `parent` whose command name is `name`, from /proc.
fn children_named(parent: u32, name: &str) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                return false;
            };
            // `pid (comm) state ppid ...`; comm may hold spaces, so split after its ')'.
            let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
                return false;
            };
            let comm = &stat[open + 1..close];
            let ppid = stat[close + 1..].split_whitespace().nth(1);
            comm == name && ppid == Some(parent.to_string().as_str())
        })
        .collect()
}

#[test]
fn an_ffmpeg_killed_mid_encode_fails_the_run_cleanly_and_a_rerun_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let script = "Killing the encoder\n\n".to_owned()
        + &"The encoder is stopped while it writes this video, and nothing half-written may be left behind. "
            .repeat(6);
    std::fs::write(dir.path().join("script.txt"), script).unwrap();
    let args = [
        "make",
        "--script",
        "script.txt",
        "--max-seconds",
        "40",
        "--preset",
        "medium",
        "--cache-dir",
        "cache",
        "-o",
        "out.mp4",
    ];
    let started = Instant::now();
    let mut child = vidflow()
        .current_dir(dir.path())
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the encoder has been running a moment, then kill it as the OOM killer would.
    let mut killed = None;
    while started.elapsed() < Duration::from_secs(120) {
        if let Some(pid) = children_named(child.id(), "ffmpeg").first() {
            std::thread::sleep(Duration::from_millis(300));
            // SAFETY: kill only sends a signal to a process we just found as our child's child.
            if unsafe { libc::kill(*pid, libc::SIGKILL) } == 0 {
                killed = Some(*pid);
                break;
            }
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(killed.is_some(), "never saw ffmpeg running: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(out.status.code(), Some(1), "an internal failure: {err}");
    assert!(
        err.contains("killed by signal 9"),
        "the error says so: {err}"
    );
    let left = leftovers(dir.path());
    assert!(left.is_empty(), "left behind {left:?}");
    let took = started.elapsed().as_secs_f64();

    // The stages before the encoder were cached and are good; the rerun makes the video.
    let again = run_in(dir.path(), &args);
    assert!(again.status.success(), "{}", stderr(&again));
    let probe = ffprobe(&dir.path().join("out.mp4"));
    assert!(probe["format"]["duration"].as_str().is_some(), "{probe}");
    // The error line the user sees (the log lines before it are coloured).
    let line = err
        .lines()
        .find(|l| l.starts_with("error:") && l.contains("killed by signal"))
        .unwrap_or("")
        .replace('\t', " ");
    println!(
        "HARDEN\tfault: ffmpeg SIGKILLed mid-encode\texit 1 naming it, nothing at the output path, a rerun makes the video\t{line} ({took:.1} s); rerun made the video\tpass"
    );
}
