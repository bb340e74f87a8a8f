//! End to end through the real binary: pages served on 127.0.0.1 become videos.

mod common;

use std::path::Path;

use common::*;

fn json_stdout(o: &std::process::Output) -> serde_json::Value {
    assert!(o.status.success(), "vidflow failed: {}", stderr(o));
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("bad JSON ({e}): {}", String::from_utf8_lossy(&o.stdout)))
}

fn stream<'a>(probe: &'a serde_json::Value, kind: &str) -> &'a serde_json::Value {
    probe["streams"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["codec_type"] == kind)
        .unwrap_or_else(|| panic!("no {kind} stream"))
}

fn f(v: &serde_json::Value) -> f64 {
    v.as_str()
        .map(|s| s.parse().unwrap())
        .or(v.as_f64())
        .unwrap()
}

/// Parses SRT into (start, end, text).
fn parse_srt(text: &str) -> Vec<(f64, f64, String)> {
    let ts = |s: &str| {
        let (hms, ms) = s.trim().split_once(',').unwrap();
        let p: Vec<f64> = hms.split(':').map(|x| x.parse().unwrap()).collect();
        p[0] * 3600.0 + p[1] * 60.0 + p[2] + ms.parse::<f64>().unwrap() / 1000.0
    };
    text.split("\n\n")
        .filter(|b| !b.trim().is_empty())
        .map(|block| {
            let mut lines = block.lines();
            lines.next();
            let (a, b) = lines.next().unwrap().split_once(" --> ").unwrap();
            let body: Vec<&str> = lines.collect();
            (ts(a), ts(b), body.join(" "))
        })
        .collect()
}

#[test]
fn page_to_video_with_subtitles_that_follow_the_speech() {
    let server = TestServer::start();
    let dir = tempfile::tempdir().unwrap();
    let url = server.url("/article.html");
    let common = [
        url.as_str(),
        "--allow-private-network",
        "--max-seconds",
        "15",
        "--fps",
        "25",
        "--cache-dir",
        "cache",
    ];
    let mut args = vec!["make"];
    args.extend(common);
    args.extend(["--json", "-o", "out.mp4"]);
    let report = json_stdout(&run_in(dir.path(), &args));
    let out = dir.path().join("out.mp4");
    assert!(out.is_file());

    let probe = ffprobe(&out);
    let v = stream(&probe, "video");
    let a = stream(&probe, "audio");
    assert_eq!(v["codec_name"], "h264");
    assert_eq!(a["codec_name"], "aac");
    assert_eq!(v["width"], 1280);
    assert_eq!(v["height"], 720);
    assert_eq!(v["r_frame_rate"], "25/1");

    // Speech, as the pipeline computed it (served from the cache now).
    let mut speak_args = vec!["make"];
    speak_args.extend(common);
    speak_args.extend(["--stop-after", "speak", "-o", "speech.json"]);
    let o = run_in(dir.path(), &speak_args);
    assert!(o.status.success(), "{}", stderr(&o));
    let speech: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("speech.json")).unwrap()).unwrap();
    assert!(dir.path().join("speech.wav").is_file());
    let speech_len = speech["duration"].as_f64().unwrap();
    assert!(
        speech_len > 8.0 && speech_len <= 15.0,
        "speech {speech_len} s for a 15 s budget"
    );
    assert!((report["output"]["duration"].as_f64().unwrap() - speech_len).abs() < 1e-6);
    let video_len = f(&v["duration"]);
    assert!(
        (video_len - speech_len).abs() <= 0.2,
        "video {video_len} s vs speech {speech_len} s"
    );
    assert!((f(&a["duration"]) - speech_len).abs() <= 0.2);

    // Subtitles: ordered, not overlapping, covering the speech, with the script's words.
    let cues = parse_srt(&std::fs::read_to_string(dir.path().join("out.srt")).unwrap());
    assert!(dir.path().join("out.vtt").is_file());
    assert!(!cues.is_empty());
    for w in cues.windows(2) {
        assert!(
            w[0].0 < w[0].1 && w[0].1 <= w[1].0 + 1e-3,
            "{:?} then {:?}",
            w[0],
            w[1]
        );
    }
    let words = speech["words"].as_array().unwrap();
    let first_word = words.first().unwrap()["start"].as_f64().unwrap();
    let last_word = words.last().unwrap()["end"].as_f64().unwrap();
    assert!(cues[0].0 <= first_word + 0.01);
    assert!(cues.last().unwrap().1 >= last_word - 0.01);
    let mut script_args = vec!["make"];
    script_args.extend(common);
    script_args.extend(["--stop-after", "script"]);
    let script = json_stdout(&run_in(dir.path(), &script_args));
    let narration: Vec<String> = script["segments"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| {
            s["narration"]
                .as_str()
                .unwrap()
                .split_whitespace()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect();
    let cue_words: Vec<String> = cues
        .iter()
        .flat_map(|c| {
            c.2.split_whitespace()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(
        cue_words, narration,
        "subtitles must say exactly what is spoken"
    );
    assert!(leftovers(dir.path()).iter().all(|n| !n.contains("partial")));
}

fn stages(report: &serde_json::Value) -> Vec<(String, bool)> {
    report["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["stage"].as_str().unwrap().to_owned(),
                s["cached"].as_bool().unwrap(),
            )
        })
        .collect()
}

fn corrupt_disk_cache(cache: &Path) -> usize {
    let mut n = 0;
    let mut stack = vec![cache.join("content-v2")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let mut bytes = std::fs::read(&p).unwrap();
                let mid = bytes.len() / 2;
                bytes[mid] ^= 0x5a;
                bytes.truncate(bytes.len() - 1);
                std::fs::write(&p, bytes).unwrap();
                n += 1;
            }
        }
    }
    n
}

#[test]
fn cache_reuses_stages_and_survives_corruption() {
    let server = TestServer::start();
    let dir = tempfile::tempdir().unwrap();
    let url = server.url("/bread.html");
    let base = [
        "make",
        url.as_str(),
        "--allow-private-network",
        "--max-seconds",
        "8",
        "--size",
        "1080x1080",
        "--fps",
        "24",
        "--cache-dir",
        "cache",
        "-o",
        "bread.mp4",
    ];
    let mut args = base.to_vec();
    args.push("--json");
    let first = json_stdout(&run_in(dir.path(), &args));
    assert!(
        stages(&first).iter().all(|(_, cached)| !cached),
        "{:?}",
        stages(&first)
    );
    let probe = ffprobe(&dir.path().join("bread.mp4"));
    assert_eq!(stream(&probe, "video")["width"], 1080);
    assert_eq!(stream(&probe, "video")["r_frame_rate"], "24/1");
    let first_bytes = std::fs::read(dir.path().join("bread.mp4")).unwrap();

    // The same command again: every stage from the cache, the same video.
    let second = json_stdout(&run_in(dir.path(), &args));
    assert_eq!(stages(&second).len(), 6);
    assert!(
        stages(&second).iter().all(|(_, cached)| *cached),
        "{:?}",
        stages(&second)
    );
    assert_eq!(
        std::fs::read(dir.path().join("bread.mp4")).unwrap(),
        first_bytes
    );

    // Another avatar: everything before rendering is reused, and the CLI says so.
    let mut other = base.to_vec();
    other.extend(["--avatar", "avatar_2"]);
    let o = run_in(dir.path(), &other);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("reused from cache: fetch, extract, script, speak, storyboard"),
        "{err}"
    );
    assert!(err.contains("render: done"), "{err}");
    assert_ne!(
        std::fs::read(dir.path().join("bread.mp4")).unwrap(),
        first_bytes
    );

    // Damage every entry on disk: each is detected, dropped and recomputed.
    assert!(corrupt_disk_cache(&dir.path().join("cache")) >= 6);
    let third = json_stdout(&run_in(dir.path(), &args));
    assert!(
        stages(&third).iter().all(|(_, cached)| !cached),
        "{:?}",
        stages(&third)
    );
    assert_eq!(
        std::fs::read(dir.path().join("bread.mp4")).unwrap(),
        first_bytes
    );
    // And the recomputed entries are good again.
    let fourth = json_stdout(&run_in(dir.path(), &args));
    assert!(stages(&fourth).iter().all(|(_, cached)| *cached));

    // Pruning: a bad bound is refused; entries younger than a day stay; a size bound of
    // 0 bytes empties the disk tier, and the next run recomputes everything.
    let prune = |extra: &[&str]| {
        let mut a = vec!["cache", "prune", "--cache-dir", "cache", "--json"];
        a.extend(extra);
        run_in(dir.path(), &a)
    };
    let bad = prune(&["--max-age-days", "0"]);
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
    assert!(stderr(&bad).contains("--max-age-days"), "{}", stderr(&bad));
    let kept = json_stdout(&prune(&["--max-age-days", "1"]));
    assert_eq!(kept["expired"], 0, "{kept}");
    assert_eq!(kept["evicted"], 0, "{kept}");
    let emptied = json_stdout(&prune(&["--max-bytes", "0"]));
    assert!(emptied["evicted"].as_u64().unwrap() >= 6, "{emptied}");
    assert!(emptied["bytes_freed"].as_u64().unwrap() > 0, "{emptied}");
    let fifth = json_stdout(&run_in(dir.path(), &args));
    assert!(
        stages(&fifth).iter().all(|(_, cached)| !cached),
        "{:?}",
        stages(&fifth)
    );
}

#[test]
fn own_script_in_portrait_without_a_page() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("script.txt"),
        "Three Facts About Octopuses\n\nAn octopus has three hearts and blue blood.\n\nEach arm can taste what it touches.",
    )
    .unwrap();
    let o = run_in(
        dir.path(),
        &[
            "make",
            "--script",
            "script.txt",
            "--size",
            "1080x1920",
            "--avatar",
            "avatar_3",
            "--no-cache",
            "--json",
            "-o",
            "short.mp4",
        ],
    );
    let report = json_stdout(&o);
    assert_eq!(
        report["stages"].as_array().unwrap().len(),
        4,
        "script, speak, storyboard, render"
    );
    let probe = ffprobe(&dir.path().join("short.mp4"));
    assert_eq!(stream(&probe, "video")["width"], 1080);
    assert_eq!(stream(&probe, "video")["height"], 1920);
    let srt = std::fs::read_to_string(dir.path().join("short.srt")).unwrap();
    assert!(srt.replace('\n', " ").contains("three hearts"), "{srt}");
}

#[test]
fn extract_prints_the_article_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let page = sample_dir().join("index.html");
    let o = run_in(
        dir.path(),
        &["extract", page.to_str().unwrap(), "--json", "--no-cache"],
    );
    let v = json_stdout(&o);
    assert_eq!(
        v["title"],
        "Simple Rules, Endless Shapes: A Short Guide to Fractals"
    );
    assert_eq!(v["lang"], "en");
    assert_eq!(v["images"].as_array().unwrap().len(), 3);
    let text = v["text"].as_str().unwrap();
    assert!(text.contains("Mandelbrot set appears"));
    assert!(
        !text.contains("All rights reserved"),
        "footer leaked into the text"
    );
    for key in ["byline", "paragraphs"] {
        assert!(v.get(key).is_some(), "missing {key}");
    }
}

#[test]
fn config_show_names_where_values_came_from() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("vidflow.toml"),
        "threads = 3\n[video]\nfps = 25\n",
    )
    .unwrap();
    let o = vidflow()
        .current_dir(dir.path())
        .env("VIDFLOW_VIDEO__CRF", "30")
        .env("VIDFLOW_LLM__API_KEY", "sk-secret")
        .args(["config", "show"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    let line = |k: &str| {
        out.lines()
            .find(|l| l.starts_with(&format!("{k} = ")))
            .unwrap_or_else(|| panic!("no {k} in {out}"))
            .to_owned()
    };
    assert!(
        line("threads").contains("3") && line("threads").contains("TOML"),
        "{out}"
    );
    assert!(
        line("video.crf").contains("30") && line("video.crf").contains("environment"),
        "{out}"
    );
    assert!(line("video.preset").contains("default"), "{out}");
    assert!(!out.contains("sk-secret"), "secret printed: {out}");
}

#[test]
fn bench_render_measures_one_case_and_says_where_the_cpu_goes() {
    let dir = tempfile::tempdir().unwrap();
    let o = run_in(
        dir.path(),
        &[
            "bench",
            "render",
            "--size",
            "1280x720",
            "--preset",
            "ultrafast",
            "--seconds",
            "2",
            "--runs",
            "1",
        ],
    );
    let v = json_stdout(&o);
    let sizes = v["sizes"].as_array().unwrap();
    assert_eq!(sizes.len(), 1, "{v}");
    assert_eq!(sizes[0]["size"], "1280x720");
    let encoders = sizes[0]["encoders"].as_array().unwrap();
    assert_eq!(encoders.len(), 1, "{v}");
    let e = &encoders[0];
    assert_eq!(e["preset"], "ultrafast");
    assert!(f(&e["end_to_end_fps"]) > 0.0 && f(&e["encode_only_fps"]) > 0.0);
    // Both sides spend CPU: ffmpeg encodes, vidflow composes and feeds the pipe.
    for side in ["end_to_end", "encode_only"] {
        for who in ["vidflow", "ffmpeg"] {
            let ms = f(&e["cpu_ms_per_frame"][side][who]);
            assert!(ms > 0.0 && ms < 1000.0, "{side} {who}: {ms}");
        }
    }
    let cpu_ratio = f(&e["cpu_ratio_encode_only_to_end_to_end"]);
    assert!(cpu_ratio > 0.0 && cpu_ratio < 2.0, "{cpu_ratio}");

    let bad = run_in(dir.path(), &["bench", "render", "--size", "1280 by 720"]);
    assert!(!bad.status.success());
    assert!(stderr(&bad).contains("1280 by 720"), "{}", stderr(&bad));
}
