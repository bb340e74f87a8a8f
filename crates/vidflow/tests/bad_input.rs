//! Bad input through the real binary: exit code 2, a message that names the problem, and
//! no output file left behind.

mod common;

use common::*;

/// Runs `make` with `args` in a fresh folder and checks the failure.
fn fails_cleanly(args: &[&str], expect_code: i32, expect_in_message: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let mut all = vec!["make"];
    all.extend(args);
    all.extend(["--cache-dir", "cache", "-o", "out.mp4"]);
    let o = vidflow()
        .current_dir(dir.path())
        .env("VIDFLOW_RETRY_BACKOFF_MS", "10")
        .args(&all)
        .output()
        .unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(expect_code), "args {args:?}: {err}");
    assert!(err.contains("error:"), "{err}");
    for needle in expect_in_message {
        assert!(
            err.to_lowercase().contains(&needle.to_lowercase()),
            "args {args:?}: message lacks '{needle}': {err}"
        );
    }
    let left = leftovers(dir.path());
    assert!(left.is_empty(), "left behind {left:?} for {args:?}");
}

#[test]
fn http_failures_are_bad_input() {
    let server = TestServer::start();
    let flag = "--allow-private-network";
    let cases: Vec<(String, Vec<&str>)> = vec![
        (server.url("/missing.html"), vec!["404"]),
        (server.url("/broken.html"), vec!["500"]),
        (
            server.url("/report.pdf"),
            vec!["application/pdf", "not HTML"],
        ),
        (server.url("/empty.html"), vec!["empty"]),
        (server.url("/nav.html"), vec!["no readable text"]),
        (server.url("/huge.html"), vec!["limit"]),
        (server.url("/loop/0"), vec!["redirect"]),
    ];
    for (url, needles) in cases {
        fails_cleanly(&[&url, flag], 2, &needles);
    }
}

#[test]
fn unreachable_host_is_bad_input() {
    // Port 1 on loopback: nothing listens there.
    fails_cleanly(
        &["http://127.0.0.1:1/page.html", "--allow-private-network"],
        2,
        &["127.0.0.1:1"],
    );
    fails_cleanly(
        &["http://no-such-host.invalid/page.html"],
        2,
        &["no-such-host.invalid"],
    );
}

#[test]
fn private_addresses_need_the_flag() {
    let server = TestServer::start();
    let url = server.url("/article.html");
    fails_cleanly(&[&url], 2, &["127.0.0.1", "--allow-private-network"]);
    // The flag lets the same page through (stopping early keeps this test quick).
    let dir = tempfile::tempdir().unwrap();
    let o = run_in(
        dir.path(),
        &[
            "make",
            &url,
            "--allow-private-network",
            "--stop-after",
            "extract",
            "--no-cache",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["title"].as_str().unwrap().contains("Fractals"));
}

#[test]
fn bad_files_and_options() {
    let page = sample_dir().join("index.html");
    let page = page.to_str().unwrap();
    fails_cleanly(
        &["./no-such-page.html"],
        2,
        &["no-such-page.html", "does not exist"],
    );
    fails_cleanly(&[page, "--size", "640x480"], 2, &["640x480"]);
    fails_cleanly(&[page, "--size", "big"], 2, &["big"]);
    fails_cleanly(&[page, "--fps", "29"], 2, &["fps"]);
    fails_cleanly(&[page, "--avatar", "avatar_99"], 2, &["avatar_99"]);
    fails_cleanly(&[page, "--voice", "klingon"], 2, &["klingon"]);
    fails_cleanly(&[page, "--stop-after", "lunch"], 2, &["lunch"]);
    fails_cleanly(&[page, "--crf", "60"], 2, &["crf"]);
    fails_cleanly(&[page, "--preset", "warp"], 2, &["warp"]);
    fails_cleanly(
        &["--script", "no-such-script.txt"],
        2,
        &["no-such-script.txt"],
    );
    fails_cleanly(&[], 2, &["nothing to make"]);
    fails_cleanly(
        &[page, "--base-url", "ftp://example.org/"],
        2,
        &["--base-url", "http(s)"],
    );
    fails_cleanly(
        &[
            "https://example.org/post",
            "--base-url",
            "https://example.org/",
        ],
        2,
        &["--base-url", "local page"],
    );
    fails_cleanly(&["--base-url", "https://example.org/"], 2, &["--base-url"]);
}

#[test]
fn a_saved_page_reads_its_images_from_the_base_url() {
    let page = sample_dir().join("index.html");
    let dir = tempfile::tempdir().unwrap();
    let images = |extra: &[&str]| -> Vec<String> {
        let mut args = vec![
            "make",
            page.to_str().unwrap(),
            "--stop-after",
            "extract",
            "--no-cache",
        ];
        args.extend(extra);
        let o = run_in(dir.path(), &args);
        assert!(o.status.success(), "{}", stderr(&o));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        v["images"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["url"].as_str().unwrap().to_owned())
            .collect()
    };
    // Without it, relative images sit beside the file; with it, on the page's own site.
    let local = images(&[]);
    assert!(
        local
            .iter()
            .any(|u| u.starts_with("file://") && u.ends_with("/mandelbrot.jpg")),
        "{local:?}"
    );
    let remote = images(&["--base-url", "https://journal.example/fractals/"]);
    assert!(
        remote.contains(&"https://journal.example/fractals/mandelbrot.jpg".to_owned()),
        "{remote:?}"
    );
    assert_eq!(local.len(), remote.len());
}

#[test]
fn missing_output_folder_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let page = sample_dir().join("index.html");
    let o = run_in(
        dir.path(),
        &[
            "make",
            page.to_str().unwrap(),
            "--no-cache",
            "-o",
            "nowhere/out.mp4",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("nowhere"));
}

#[test]
fn serve_refuses_a_public_address_without_keys_unless_insecure() {
    let dir = tempfile::tempdir().unwrap();
    let o = vidflow()
        .current_dir(dir.path())
        .args(["serve", "--addr", "0.0.0.0:0", "--data-dir", "data"])
        .output()
        .unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("no API keys") && err.contains("--insecure"),
        "{err}"
    );
    // With a key, or with --insecure, it starts (and is stopped here).
    for extra in [vec!["--insecure"], vec![]] {
        let mut child = vidflow()
            .current_dir(dir.path())
            .args(["serve", "--addr", "0.0.0.0:0", "--data-dir", "data"])
            .args(&extra)
            .env(
                "VIDFLOW_SERVER__API_KEYS",
                if extra.is_empty() { "[\"k\"]" } else { "[]" },
            )
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        read_port(&mut child, "listening on http://0.0.0.0:");
        child.kill().unwrap();
        child.wait().unwrap();
    }
}
