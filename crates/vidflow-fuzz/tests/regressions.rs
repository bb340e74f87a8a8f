//! Every crash the fuzzer found, as a test: the saved inputs under `regressions/<target>/`
//! run through their target, and the crashes too big to keep as files are rebuilt here.

use std::path::Path;
use std::time::{Duration, Instant};

use vidflow_fuzz::{all_targets, run_one, target};

/// The most time any regression input may take (unoptimised build, loaded machine).
const MAX_SECONDS: u64 = 20;

fn must_pass(name: &str, input: &[u8], what: &str) {
    let t = target(name).unwrap_or_else(|| panic!("no target {name}"));
    let started = Instant::now();
    if let Err(message) = run_one(t, input) {
        panic!("{name}: {what} crashes again: {message}");
    }
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(MAX_SECONDS),
        "{name}: {what} took {:.1} s",
        took.as_secs_f64()
    );
}

#[test]
fn saved_crashes_no_longer_crash() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("regressions");
    let mut ran = 0;
    for t in all_targets() {
        let Ok(entries) = std::fs::read_dir(root.join(t.name)) else {
            continue;
        };
        let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for path in paths {
            let input = std::fs::read(&path).unwrap();
            must_pass(t.name, &input, &path.display().to_string());
            ran += 1;
        }
    }
    assert!(
        ran > 0,
        "no saved regression inputs under {}",
        root.display()
    );
}

/// 10,000 nested `<div>`s took 30 s in the extractor, and 100,000 risked the stack.
#[test]
fn extract_deeply_nested_pages() {
    let para = "<p>Rivers carry water from high ground to the sea, shaping valleys, carving \
        canyons and building deltas where they slow down over thousands of years.</p>";
    for (depth, opener, closer) in [
        (10_000, "<div>", "</div>"),
        (100_000, "<div>", "</div>"),
        (100_000, "<span>", ""),
        (50_000, "<table><tr><td>", ""),
        (50_000, "<b><i>", ""),
    ] {
        let html = format!(
            "<html><body>{}{para}{}</body></html>",
            opener.repeat(depth),
            closer.repeat(depth)
        );
        must_pass("extract", html.as_bytes(), &format!("{depth} x {opener}"));
    }
    // Found by fuzzing: wide under deep, 42,886 empty paragraphs 234 divs down, took the
    // readability pass 8.4 s although nothing passed the depth cap.
    let wide = format!(
        "<html><body>{para}{}{}{para}</body></html>",
        "<div>".repeat(234),
        "<p>".repeat(42_886)
    );
    let started = Instant::now();
    must_pass(
        "extract",
        wide.as_bytes(),
        "42,886 paragraphs under 234 divs",
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

/// Deep TOML in the file and in a variable overflowed the stack (the process died).
#[test]
fn config_deeply_nested() {
    for input in [
        format!("a = {}", "[".repeat(100_000)),
        format!("a = {}", "{b=".repeat(100_000)),
        format!("{} = 1", vec!["k"; 100_000].join(".")),
        format!(
            "threads = 1\n%%ENV\nSERVER__API_KEYS={}\n",
            "[".repeat(100_000)
        ),
        format!("%%ENV\nCACHE{}=1\n", "__X".repeat(10_000)),
    ] {
        must_pass("config", input.as_bytes(), &format!("{:.40}...", input));
    }
}

/// A manifest naming files outside the pack read them.
#[test]
fn avatar_manifest_outside_the_pack() {
    let input = b"--- avatar.toml\nbase = \"../secret.png\"\n[mouths]\nclosed = \"m.png\"\nopen = \"m.png\"\n";
    must_pass("avatar", input, "a manifest reading ../secret.png");
}
