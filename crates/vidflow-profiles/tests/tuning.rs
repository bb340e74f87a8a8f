//! The encode search on a tiny real render: SSIM as ffmpeg's `ssim` filter computes it, a
//! target search that keeps its promise, resuming a study file, and profiles that are
//! missing or damaged.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use vidflow_core::{CancelFlag, VideoSize};
use vidflow_encode::I420Reader;
use vidflow_profiles::encode::{self, EncodeTuning, EncoderChoice};
use vidflow_profiles::{EncodeSample, load_profile, quality::ssim_i420};

fn sample(seconds: f64) -> EncodeSample {
    let size = VideoSize {
        width: 320,
        height: 180,
    };
    let t = Arc::new(vidflow_media::synthetic::timeline(size, 24, 12.0));
    EncodeSample::render(t, None, seconds).unwrap()
}

/// ffmpeg's "All" SSIM of two raw yuv420p files.
fn ffmpeg_ssim(reference: &Path, distorted: &Path, w: u32, h: u32) -> f64 {
    let size = format!("{w}x{h}");
    let raw = |p: &Path| {
        vec![
            "-f".to_owned(),
            "rawvideo".into(),
            "-pix_fmt".into(),
            "yuv420p".into(),
            "-s".into(),
            size.clone(),
            "-framerate".into(),
            "24".into(),
            "-i".into(),
            p.display().to_string(),
        ]
    };
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostats"])
        .args(raw(distorted))
        .args(raw(reference))
        .args(["-lavfi", "ssim", "-f", "null", "-"])
        .output()
        .expect("run ffmpeg");
    let text = String::from_utf8_lossy(&out.stderr);
    let all = text
        .split("All:")
        .nth(1)
        .unwrap_or_else(|| panic!("no SSIM in ffmpeg's output: {text}"));
    all.split_whitespace().next().unwrap().parse().unwrap()
}

#[test]
fn ssim_matches_ffmpegs_ssim_filter_on_a_real_encode() {
    let s = sample(1.0);
    let (w, h) = (s.size.width, s.size.height);
    let dir = tempfile::tempdir().unwrap();
    for crf in [20u8, 38] {
        let choice = EncoderChoice {
            preset: "ultrafast".into(),
            crf,
            x264: Default::default(),
        };
        let video = dir.path().join(format!("crf{crf}.mp4"));
        let mut encoder =
            vidflow_encode::VideoEncoder::start(&video, None, &choice.settings(&s)).unwrap();
        for f in &s.frames {
            encoder.write_frame(f.clone()).unwrap();
        }
        encoder.finish().unwrap();
        let mut reader = I420Reader::open(&video, w, h).unwrap();
        let (mut ours, mut decoded) = (0.0, Vec::new());
        for original in &s.frames {
            let frame = reader.next_frame().unwrap().expect("a decoded frame");
            ours += ssim_i420(original, frame, w, h);
            decoded.extend_from_slice(frame);
        }
        ours /= s.len() as f64;
        let reference = dir.path().join("reference.yuv");
        std::fs::write(&reference, s.frames.concat()).unwrap();
        let distorted = dir.path().join("distorted.yuv");
        std::fs::write(&distorted, &decoded).unwrap();
        let theirs = ffmpeg_ssim(&reference, &distorted, w, h);
        assert!(
            (ours - theirs).abs() < 0.0005,
            "crf {crf}: ours {ours}, ffmpeg {theirs}"
        );
        assert!(ours < 1.0, "an encode at crf {crf} is lossy: {ours}");
    }
}

#[test]
fn a_target_search_picks_the_smallest_setting_that_reaches_it_and_resumes() {
    let s = sample(0.75);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("study.db");
    let options = EncodeTuning {
        trials: 5,
        target_ssim: Some(0.97),
        seed: Some(11),
        storage: Some(db.clone()),
        seconds: 0.75,
        ..Default::default()
    };
    let seen = std::sync::Mutex::new(Vec::new());
    let report = encode::tune(&s, &options, &CancelFlag::default(), &|t, done, total| {
        assert_eq!(total, 5);
        seen.lock().unwrap().push((t.number, t.state.clone(), done));
    })
    .unwrap();
    assert_eq!(seen.lock().unwrap().len(), 5, "every trial is reported");
    let all = report["all"].as_array().unwrap();
    assert_eq!(all.len(), 5, "{report}");
    // x264's defaults are trial 0, the yardstick.
    let defaults = &report["x264_defaults"];
    assert_eq!(defaults["trial"], 0, "{report}");
    assert_eq!(defaults["choice"]["preset"], "medium");
    assert_eq!(defaults["choice"]["crf"], 23);
    // The chosen point reaches the target and no complete trial that does is smaller.
    let chosen = &report["chosen"];
    assert!(chosen["ssim"].as_f64().unwrap() >= 0.97, "{report}");
    let bytes = chosen["bytes"].as_u64().unwrap();
    for t in all.iter().filter(|t| t["state"] == "complete") {
        assert!(
            t["ssim"].as_f64().unwrap() >= 0.97,
            "complete below target: {t}"
        );
        assert!(
            t["bytes"].as_u64().unwrap() >= bytes,
            "{t} beats the chosen {chosen}"
        );
    }
    for t in all.iter().filter(|t| t["state"] == "pruned") {
        assert!(
            t["ssim"].as_f64().unwrap() < 0.97,
            "pruned above target: {t}"
        );
    }
    // The profile is the chosen point, read back from the file.
    let profile = load_profile(&db, "encode").unwrap();
    assert_eq!(serde_json::to_value(&profile).unwrap(), chosen["choice"]);

    // Resuming adds trials; x264's defaults are not tried twice.
    let again = EncodeTuning {
        trials: 2,
        ..options.clone()
    };
    let report = encode::tune(&s, &again, &CancelFlag::default(), &|_, _, _| {}).unwrap();
    let all = report["all"].as_array().unwrap();
    assert_eq!(all.len(), 7, "{report}");
    let medium23 = all
        .iter()
        .filter(|t| t["choice"]["preset"] == "medium" && t["choice"]["crf"] == 23)
        .filter(|t| t["choice"]["x264"]["tune"].is_null())
        .count();
    assert_eq!(medium23, 1, "{report}");
}

#[test]
fn without_a_target_the_front_has_three_objectives() {
    let s = sample(0.5);
    let options = EncodeTuning {
        trials: 4,
        seed: Some(2),
        seconds: 0.5,
        jobs: 2,
        ..Default::default()
    };
    let report = encode::tune(&s, &options, &CancelFlag::default(), &|_, _, _| {}).unwrap();
    let front = report["front"].as_array().unwrap();
    assert!(!front.is_empty(), "{report}");
    assert_eq!(report["trials"]["complete"], 4, "{report}");
    // Nothing on the front is dominated by another complete trial.
    let all = report["all"].as_array().unwrap();
    let v = |t: &serde_json::Value| {
        (
            t["bytes"].as_f64().unwrap(),
            t["ssim"].as_f64().unwrap(),
            t["seconds"].as_f64().unwrap(),
        )
    };
    for f in front {
        let (fb, fs, ft) = v(f);
        for t in all {
            let (b, s, sec) = v(t);
            let dominates = b <= fb && s >= fs && sec <= ft && (b < fb || s > fs || sec < ft);
            assert!(!dominates, "{t} dominates front point {f}");
        }
    }
    assert!(report["chosen"].is_object(), "{report}");
}

#[test]
fn bad_settings_and_bad_profiles_are_clear_errors_and_leave_files_alone() {
    let s = sample(0.5);
    let cancel = CancelFlag::default();
    for (options, words) in [
        (
            EncodeTuning {
                target_ssim: Some(1.5),
                ..Default::default()
            },
            "target SSIM",
        ),
        (
            EncodeTuning {
                trials: 0,
                ..Default::default()
            },
            "trials",
        ),
        (
            EncodeTuning {
                seconds: 0.0,
                ..Default::default()
            },
            "sample length",
        ),
    ] {
        let e = encode::tune(&s, &options, &cancel, &|_, _, _| {}).unwrap_err();
        assert!(e.to_string().contains(words), "{e}");
    }
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.db");
    let e = load_profile(&missing, "encode").unwrap_err();
    assert!(e.to_string().contains("does not exist"), "{e}");
    assert!(!missing.exists(), "loading must not create the file");

    let corrupt = dir.path().join("corrupt.db");
    let junk = b"this is not a study file at all, just some bytes".repeat(100);
    std::fs::write(&corrupt, &junk).unwrap();
    let e = load_profile(&corrupt, "encode").unwrap_err();
    assert!(e.to_string().contains("tuning study"), "{e}");
    assert_eq!(
        std::fs::read(&corrupt).unwrap(),
        junk,
        "the file is untouched"
    );

    // A study file without the study asked for names it.
    let other = dir.path().join("other.db");
    let options = EncodeTuning {
        trials: 1,
        storage: Some(other.clone()),
        study: "mine".into(),
        seconds: 0.5,
        ..Default::default()
    };
    encode::tune(&s, &options, &cancel, &|_, _, _| {}).unwrap();
    let e = load_profile(&other, "encode").unwrap_err();
    assert!(e.to_string().contains("encode"), "{e}");
}

#[test]
fn a_cancelled_search_stops_and_keeps_its_finished_trials() {
    let s = sample(0.5);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("study.db");
    let options = EncodeTuning {
        trials: 20,
        storage: Some(db.clone()),
        seconds: 0.5,
        ..Default::default()
    };
    let cancel = CancelFlag::default();
    let e = encode::tune(&s, &options, &cancel, &|_, done, _| {
        if done == 2 {
            cancel.cancel();
        }
    })
    .unwrap_err();
    assert!(e.to_string().contains("cancel"), "{e}");
    // The two finished trials are in the file; a resumed search goes on from them.
    let resumed = EncodeTuning {
        trials: 1,
        ..options
    };
    let report = encode::tune(&s, &resumed, &CancelFlag::default(), &|_, _, _| {}).unwrap();
    assert_eq!(report["trials"]["complete"], 3, "{report}");
}
