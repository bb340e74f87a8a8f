//! Faults injected into a real `vidflow make`: ffmpeg killed mid-encode must end the run
//! with an error that says so, leaving nothing at the output path and no partial file
//! beside it, and a rerun must then make the video; a full filesystem under the output or
//! the cache must end the same way (output) or cost only the entries that did not fit
//! (cache), and no entry cut short may be read back.
//!
//! Each test prints one `HARDEN<TAB>case<TAB>expected<TAB>what happened<TAB>pass` line that
//! `scripts/harden` collects into docs/hardening.md.

mod common;

use std::process::{Command, Stdio};
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

/// Whether this machine lets a process mount a tmpfs in its own user and mount namespace
/// (`unshare -rm`): the only way to get a small full filesystem without root.
fn private_mounts_work() -> bool {
    Command::new("unshare")
        .args([
            "-rm",
            "sh",
            "-c",
            "d=$(mktemp -d) && mount -t tmpfs -o size=64k tmpfs \"$d\"",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn a_full_filesystem_under_the_output_or_the_cache_loses_nothing() {
    if !private_mounts_work() {
        assert!(
            std::env::var_os("VIDFLOW_REQUIRE_USERNS").is_none(),
            "VIDFLOW_REQUIRE_USERNS is set but `unshare -rm` cannot mount a tmpfs here"
        );
        eprintln!("skipped: `unshare -rm` cannot mount a tmpfs on this machine");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let script = "A full disk\n\n".to_owned()
        + &"The disk fills up while this video is written, and nothing half-written may be left behind. "
            .repeat(6);
    std::fs::write(dir.path().join("script.txt"), script).unwrap();
    // Three runs in one private mount namespace (the tmpfs lives as long as it does):
    // A writes the video onto a 1.6 MB filesystem (the 2.4 MB video cannot fit), B keeps
    // its cache on a 120 kB one (the speech does not fit, the script does), C reruns B's
    // cache after the filesystem has grown. Each run's exit status, stderr and what it
    // left on the small filesystem are written next to the script for the test to read.
    let make = "\"$VIDFLOW\" make --script script.txt --max-seconds 40 --preset ultrafast";
    let steps = format!(
        r#"set -u
mkdir out cache
mount -t tmpfs -o size=1600k tmpfs out
mount -t tmpfs -o size=120k tmpfs cache
{make} --cache-dir local-cache -o out/a.mp4 2>a.err; echo $? >a.rc
ls -A out >a.ls
{make} --cache-dir cache -o b.mp4 2>b.err; echo $? >b.rc
ls -A cache/tmp >b.tmp 2>&1
mount -o remount,size=64m cache
{make} --cache-dir cache -o c.mp4 2>c.err; echo $? >c.rc
"#
    );
    let status = Command::new("unshare")
        .args(["-rm", "bash", "-c", &steps])
        .current_dir(dir.path())
        .env("VIDFLOW", env!("CARGO_BIN_EXE_vidflow"))
        .env("VIDFLOW_VIDEO__VOICE", "slt")
        .env("HOME", std::env::temp_dir())
        .env_remove("VIDFLOW_CACHE__DIR")
        .status()
        .unwrap();
    assert!(status.success(), "the steps ran");
    let read = |name: &str| std::fs::read_to_string(dir.path().join(name)).unwrap();
    let (a_err, b_err, c_err) = (read("a.err"), read("b.err"), read("c.err"));
    for err in [&a_err, &b_err, &c_err] {
        assert!(!err.contains("panicked"), "{err}");
    }

    // A: the output's filesystem fills mid-encode: exit 1 naming it, nothing left there.
    assert_eq!(read("a.rc").trim(), "1", "{a_err}");
    assert!(a_err.contains("No space left on device"), "{a_err}");
    assert_eq!(read("a.ls").trim(), "", "left on the full filesystem");
    // The error line up to the encoder's own words, and the words that name the fault.
    let a_line = a_err
        .lines()
        .find(|l| l.starts_with("error:"))
        .and_then(|l| l.split(" while ").next())
        .unwrap_or("")
        .replace('\t', " ");

    // B: the cache's filesystem fills: the entries that do not fit are skipped with a
    // warning, the video is made, and no temporary file is left in the cache.
    assert_eq!(read("b.rc").trim(), "0", "{b_err}");
    assert!(b_err.contains("could not store an entry"), "{b_err}");
    assert_eq!(
        read("b.tmp").trim(),
        "",
        "temporary files left in the cache"
    );
    let b_probe = ffprobe(&dir.path().join("b.mp4"));

    // C: with room again, what B stored is read back and checked; what it could not store
    // is made again. The video is the same length as B's.
    assert_eq!(read("c.rc").trim(), "0", "{c_err}");
    let c_probe = ffprobe(&dir.path().join("c.mp4"));
    assert_eq!(
        b_probe["format"]["duration"], c_probe["format"]["duration"],
        "the rerun made the same video"
    );
    let reused = c_err
        .lines()
        .find(|l| l.starts_with("reused from cache:"))
        .unwrap_or("reused from cache: nothing")
        .to_owned();
    assert!(
        !reused.contains("speak"),
        "speech that did not fit was read back: {c_err}"
    );
    println!(
        "HARDEN\tfault: output and cache on a full filesystem (tmpfs)\toutput: exit 1 naming it, nothing left; cache: entries that do not fit skipped, none cut short read back\toutput: {a_line} … No space left on device, nothing left; cache: video made with a warning, rerun {reused}, the rest made again\tpass"
    );
}
