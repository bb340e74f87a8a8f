//! `vidflow bench make`: the real binary's `make` (a child process: whole-process wall time
//! and peak memory) next to ffmpeg encoding the same frames alone, in process; the cached
//! rerun; the peak memory of a long video.

use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use rayon::prelude::*;
use serde_json::json;
use vidflow_avatar::Avatar;
use vidflow_cache::TieredCache;
use vidflow_core::{Config, MakeRequest, Source, VideoSize};
use vidflow_encode::{EncodeSettings, encode_only_fps};
use vidflow_media::{FrameRenderer, I420Frame};
use vidflow_stages::Engine;

use crate::render::sample_explainer;
use crate::{BenchError, median, sample_page};

/// What `bench make` measures.
#[derive(Debug, Clone)]
pub struct MakeBench {
    /// Narration seconds for the main run.
    pub seconds: f64,
    /// Length of the long run for the memory figure, seconds (0 skips it).
    pub long_seconds: f64,
    /// Runs to take the median of.
    pub runs: usize,
    /// x264 preset.
    pub preset: String,
    /// The voice every run speaks with (the same as the encode-only yardstick's narration,
    /// and the one the README's figures use: `slt`, Flite).
    pub voice: String,
}

/// One child run's figures.
struct ChildRun {
    wall: f64,
    max_rss_bytes: u64,
    report: serde_json::Value,
}

/// Runs `vidflow make …` as a child and measures wall time and peak RSS.
fn run_child(args: &[&str]) -> Result<ChildRun, BenchError> {
    let exe = std::env::current_exe()?;
    let started = Instant::now();
    let child = Command::new(exe)
        .arg("make")
        .args(args)
        .arg("--json")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()?;
    let pid = child.id() as libc::pid_t;
    // Read output on threads so a full pipe never blocks the child.
    let mut child = child;
    let mut stdout = child
        .stdout
        .take()
        .ok_or_else(|| BenchError::failed("the child has no stdout"))?;
    let mut stderr = child
        .stderr
        .take()
        .ok_or_else(|| BenchError::failed("the child has no stderr"))?;
    let out_t = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut s).map(|_| s)
    });
    let err_t = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut stderr, &mut s).map(|_| s)
    });
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value; wait4 fills it for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: pid is our child, not yet reaped; the pointers are to live locals.
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = started.elapsed().as_secs_f64();
    if r < 0 {
        return Err(BenchError::failed(format!(
            "wait4 failed: {}",
            std::io::Error::last_os_error()
        )));
    }
    let out = out_t
        .join()
        .map_err(|_| BenchError::failed("reader panicked"))??;
    let err = err_t
        .join()
        .map_err(|_| BenchError::failed("reader panicked"))??;
    if !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        return Err(BenchError::failed(format!(
            "vidflow make {} failed: {err}",
            args.join(" ")
        )));
    }
    let report: serde_json::Value = serde_json::from_str(&out)
        .map_err(|e| BenchError::failed(format!("bad JSON from child ({e}): {out}")))?;
    // The child's own VmHWM: wait4's ru_maxrss would also count what the child inherited at
    // fork from this (large) benchmark process, and ffmpeg, its child.
    let max_rss_bytes = report["peak_rss_bytes"]
        .as_u64()
        .unwrap_or(usage.ru_maxrss as u64 * 1024);
    Ok(ChildRun {
        wall,
        max_rss_bytes,
        report,
    })
}

/// The `make` arguments every run shares: `input`, then 1280x720 at 30 fps with the bench's
/// narration limit, preset and voice, into `out`.
fn make_args<'a>(
    input: &[&'a str],
    max_seconds: &'a str,
    preset: &'a str,
    voice: &'a str,
    out: &'a str,
) -> Vec<&'a str> {
    let mut args = input.to_vec();
    args.extend([
        "--max-seconds",
        max_seconds,
        "--size",
        "1280x720",
        "--fps",
        "30",
        "--preset",
        preset,
        "--voice",
        voice,
        "-o",
        out,
    ]);
    args
}

fn render_seconds(report: &serde_json::Value) -> f64 {
    report["stages"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["stage"] == "render"))
        .and_then(|s| s["seconds"].as_f64())
        .unwrap_or(f64::NAN)
}

/// Runs the benchmark; needs to run inside the `vidflow` binary (it starts it as a child).
pub async fn run(bench: &MakeBench) -> Result<serde_json::Value, BenchError> {
    let (seconds, long_seconds, runs, preset, voice) = (
        bench.seconds,
        bench.long_seconds,
        bench.runs.max(1),
        bench.preset.as_str(),
        bench.voice.as_str(),
    );
    let work = tempfile::Builder::new()
        .prefix("vidflow-bench-")
        .tempdir()?;
    let page = sample_page::write_to(&work.path().join("page"))?;
    let page_s = page.to_string_lossy().into_owned();
    let out = work.path().join("bench.mp4");
    let out_s = out.to_string_lossy().into_owned();
    let secs = format!("{seconds}");
    let base = make_args(&[&page_s], &secs, preset, voice, &out_s);

    // The frames for encode-only runs, rendered up front into memory.
    let cfg = Config::default();
    let engine = Engine::new(cfg, Arc::new(TieredCache::disabled()))?;
    let req = MakeRequest {
        source: Some(Source::Url(page_s.clone())),
        script_text: None,
        workflow: None,
        avatar: "avatar_1".into(),
        size: VideoSize {
            width: 1280,
            height: 720,
        },
        fps: 30,
        max_seconds: seconds,
        voice: voice.into(),
        preset: preset.into(),
        crf: 23,
        x264: Default::default(),
        subtitles: true,
        stop_after: None,
        params: Default::default(),
        output: out.clone(),
    };
    let (timeline, speech) = sample_explainer(&engine, &req).await?;
    // The same narration the end-to-end runs mux, so that the yardstick is ffmpeg's whole
    // share of a run (frames through the pipe, x264, AAC, mux) and only composing is left out.
    let wav = work.path().join("narration.wav");
    vidflow_encode::write_wav(&wav, &speech.samples, speech.sample_rate)?;
    let renderer = FrameRenderer::new(timeline.clone(), Some(Avatar::builtin("avatar_1")?))?;
    let all: Vec<Vec<u8>> = (0..timeline.frame_count)
        .into_par_iter()
        .map(|n| {
            let mut f = I420Frame::new(timeline.size);
            renderer.render_i420(n, &mut f);
            f.data
        })
        .collect();
    let settings = EncodeSettings {
        width: 1280,
        height: 720,
        fps: 30,
        preset: preset.into(),
        crf: 23,
        ..EncodeSettings::default()
    };
    // 1. End-to-end render speed (no cache) next to encode-only of the same frames.
    // Side by side: each run is an end-to-end child run followed at once by ffmpeg alone on
    // the same frames, so a noisy neighbour slows both halves of a pair alike.
    let mut e2e_fps = Vec::new();
    let mut enc_fps = Vec::new();
    let mut ratios = Vec::new();
    let mut e2e_wall = Vec::new();
    let mut rss_60 = Vec::new();
    let mut frames = 0u64;
    for _ in 0..runs {
        let mut args = base.clone();
        args.push("--no-cache");
        let r = run_child(&args)?;
        frames = r.report["output"]["frames"].as_u64().unwrap_or(0);
        e2e_fps.push(frames as f64 / render_seconds(&r.report));
        e2e_wall.push(r.wall);
        rss_60.push(r.max_rss_bytes as f64);
        let enc = encode_only_fps(&all, all.len() as u64, Some(&wav), &settings)?;
        enc_fps.push(enc);
        ratios.push(e2e_fps.last().copied().unwrap_or(f64::NAN) / enc);
    }

    // Render-only speed of the same frames (no encoder), for context.
    let started = Instant::now();
    let _: Vec<()> = (0..timeline.frame_count)
        .into_par_iter()
        .map(|n| {
            std::hint::black_box(renderer.render_i420_shared(n));
        })
        .collect();
    let render_only_fps = timeline.frame_count as f64 / started.elapsed().as_secs_f64();
    drop(all);

    // 2. Cached rerun: a cold run into a fresh cache, then the same command again.
    let cache_dir = work.path().join("cache");
    let cache_s = cache_dir.to_string_lossy().into_owned();
    let mut cached_ratio = Vec::new();
    let mut cold = Vec::new();
    let mut warm = Vec::new();
    for i in 0..runs {
        let dir = format!("{cache_s}-{i}");
        let mut args = base.clone();
        args.extend(["--cache-dir", &dir]);
        let first = run_child(&args)?;
        let second = run_child(&args)?;
        let all_cached = second.report["stages"]
            .as_array()
            .is_some_and(|s| s.iter().all(|s| s["cached"] == true));
        if !all_cached {
            return Err(BenchError::failed(format!(
                "second run did not reuse every stage: {}",
                second.report["stages"]
            )));
        }
        cached_ratio.push(second.wall / first.wall);
        cold.push(first.wall);
        warm.push(second.wall);
    }

    // 4. Peak memory of a long video next to a short one made the same way (a script, no
    // images, no cache): one long run (it takes minutes), the short one's median of `runs`.
    let long = if long_seconds > 0.0 {
        let script_run = |narration: f64| -> Result<ChildRun, BenchError> {
            let script = work.path().join(format!("script-{narration}.txt"));
            std::fs::write(
                &script,
                sample_page::long_script((narration * 2.9) as usize),
            )?;
            let script_s = script.to_string_lossy().into_owned();
            // Room over the target: the script is whole paragraphs, a little longer.
            let limit = format!("{}", (narration * 1.25).ceil());
            let mut args = make_args(&["--script", &script_s], &limit, preset, voice, &out_s);
            args.push("--no-cache");
            run_child(&args)
        };
        let mut short_rss = Vec::new();
        let mut short_seconds = 0.0;
        for _ in 0..runs {
            let r = script_run(seconds)?;
            short_seconds = r.report["output"]["duration"].as_f64().unwrap_or(0.0);
            short_rss.push(r.max_rss_bytes as f64);
        }
        let short_mib = median(short_rss) / 1048576.0;
        let r = script_run(long_seconds)?;
        let long_mib = r.max_rss_bytes as f64 / 1048576.0;
        json!({
            "video_seconds": r.report["output"]["duration"],
            "frames": r.report["output"]["frames"],
            "wall_seconds": r.wall,
            "peak_rss_mib": long_mib,
            "short_script_video_seconds": short_seconds,
            "short_script_peak_rss_mib": short_mib,
            "ratio_to_short_script": long_mib / short_mib,
        })
    } else {
        serde_json::Value::Null
    };

    let e2e = median(e2e_fps);
    let enc = median(enc_fps);
    let result = json!({
        "command": format!("vidflow bench make --seconds {seconds} --long-seconds {long_seconds} --runs {runs} --preset {preset} --voice {voice}"),
        "voice": voice,
        "size": "1280x720",
        "fps": 30,
        "preset": preset,
        "runs": runs,
        "frames": frames,
        "end_to_end_render_fps": e2e,
        "encode_only_fps": enc,
        // The median of the per-pair ratios: each pair ran back to back.
        "ratio_end_to_end_to_encode_only": median(ratios),
        "render_only_fps": render_only_fps,
        "end_to_end_wall_seconds": median(e2e_wall),
        "peak_rss_mib_short": median(rss_60) / 1048576.0,
        "long": long,
        "cached_rerun": {
            "cold_seconds": median(cold),
            "cached_seconds": median(warm),
            "ratio": median(cached_ratio),
        },
        "threads": rayon::current_num_threads(),
    });
    Ok(result)
}
