//! `vidflow bench`: speed, memory and quality figures as JSON.
//!
//! Runs the real binary as child processes where whole-process figures are wanted (wall
//! time, peak resident memory via `wait4`), and the library in-process where a part is
//! measured alone (encode-only throughput of the very frames the pipeline renders).

use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use rayon::prelude::*;
use serde_json::json;
use vidflow_avatar::Avatar;
use vidflow_cache::TieredCache;
use vidflow_core::{Config, VideoSize};
use vidflow_encode::{EncodeSettings, encode_only_fps};
use vidflow_media::{FrameRenderer, I420Frame};
use vidflow_stages::{Engine, MakeRequest, Source};

use crate::cli::BenchWhat;
use crate::sample;

/// Runs one benchmark and prints its JSON.
pub async fn run(what: BenchWhat) -> Result<()> {
    match what {
        BenchWhat::Extract { dir } => {
            let report = vidflow_extract::eval::evaluate_dir(&dir)?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            Ok(())
        }
        BenchWhat::Render { seconds, runs } => bench_render(seconds, runs.max(1)).await,
        BenchWhat::Kernels { runs } => {
            use vidflow_media::kernels::bench::{BenchOptions, run};
            let report = run(&BenchOptions {
                runs,
                ..BenchOptions::default()
            })?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            Ok(())
        }
        BenchWhat::Make {
            seconds,
            long_seconds,
            runs,
            preset,
        } => bench_make(seconds, long_seconds, runs.max(1), &preset).await,
        BenchWhat::Dist {
            redis,
            runs,
            jobs,
            job_seconds,
            long_seconds,
            worker_threads,
            lease_seconds,
            chunk_seconds,
            pin_cores,
        } => {
            crate::bench_dist::bench_dist(crate::bench_dist::DistBench {
                redis,
                runs,
                jobs,
                job_seconds,
                long_seconds,
                worker_threads,
                lease_seconds,
                chunk_seconds,
                pin_cores,
            })
            .await
        }
    }
}

/// One child run's figures.
struct ChildRun {
    wall: f64,
    max_rss_bytes: u64,
    report: serde_json::Value,
}

/// Runs `vidflow make …` as a child and measures wall time and peak RSS.
fn run_child(args: &[&str]) -> Result<ChildRun> {
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
    let mut stdout = child.stdout.take().context("child stdout")?;
    let mut stderr = child.stderr.take().context("child stderr")?;
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
        bail!("wait4 failed: {}", std::io::Error::last_os_error());
    }
    let out = out_t
        .join()
        .map_err(|_| anyhow::anyhow!("reader panicked"))??;
    let err = err_t
        .join()
        .map_err(|_| anyhow::anyhow!("reader panicked"))??;
    if !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        bail!("vidflow make {} failed: {err}", args.join(" "));
    }
    let report: serde_json::Value =
        serde_json::from_str(&out).with_context(|| format!("bad JSON from child: {out}"))?;
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

/// `vidflow bench render`: the explainer of the bundled sample page at 720p and 1080p.
/// Each run renders the whole video three ways, side by side: frames only (all cores, no
/// encoder), end to end into ffmpeg (in-process, the real render path), and ffmpeg alone
/// fed the same frames, pre-rendered into memory, with the same narration.
async fn bench_render(seconds: f64, runs: usize) -> Result<()> {
    let work = tempfile::Builder::new()
        .prefix("vidflow-bench-render-")
        .tempdir()?;
    let page = sample::write_to(&work.path().join("page"))?;
    let engine = Engine::new(Config::default(), Arc::new(TieredCache::disabled()))?;
    let avatar = Avatar::builtin("avatar_1")?;
    let mut sizes = Vec::new();
    for size in [
        VideoSize {
            width: 1280,
            height: 720,
        },
        VideoSize {
            width: 1920,
            height: 1080,
        },
    ] {
        let req = MakeRequest {
            source: Some(Source::Url(page.to_string_lossy().into_owned())),
            script_text: None,
            avatar: "avatar_1".into(),
            size,
            fps: 30,
            max_seconds: seconds,
            voice: "slt".into(),
            preset: "veryfast".into(),
            crf: 23,
            subtitles: true,
            stop_after: None,
            output: work.path().join("unused.mp4"),
        };
        let (timeline, speech) = engine.timeline(&req, &|_| {}).await?;
        let timeline = Arc::new(timeline);
        let frames = timeline.frame_count;
        let wav = work.path().join("narration.wav");
        vidflow_encode::write_wav(&wav, &speech.samples, speech.sample_rate)?;

        // Render only: a fresh renderer per run, so slide layers are built as in a real run.
        let mut render_only = Vec::new();
        for _ in 0..runs {
            let renderer = FrameRenderer::new(timeline.clone(), Some(avatar.clone()))?;
            let started = Instant::now();
            (0..frames).into_par_iter().for_each(|n| {
                std::hint::black_box(renderer.render_i420_shared(n));
            });
            render_only.push(frames as f64 / started.elapsed().as_secs_f64());
        }

        let renderer = FrameRenderer::new(timeline.clone(), Some(avatar.clone()))?;
        let all: Vec<Vec<u8>> = (0..frames)
            .into_par_iter()
            .map(|n| renderer.render_i420_shared(n).into_bytes())
            .collect();
        drop(renderer);
        let mut presets = Vec::new();
        for preset in ["ultrafast", "veryfast"] {
            let settings = EncodeSettings {
                width: size.width,
                height: size.height,
                fps: 30,
                preset: preset.into(),
                crf: 23,
                ..EncodeSettings::default()
            };
            let (mut e2e, mut enc, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
            for i in 0..runs {
                let job = vidflow_stages::RenderJob {
                    timeline: timeline.clone(),
                    avatar: Some(avatar.clone()),
                    samples: speech.samples.clone(),
                    sample_rate: speech.sample_rate,
                    output: work.path().join(format!("e2e-{i}.mp4")),
                    preset: preset.into(),
                    crf: 23,
                    threads: 0,
                    chunk_frames: Config::default().chunk_frames,
                };
                let started = Instant::now();
                vidflow_stages::render_video(
                    &job,
                    &vidflow_stages::CancelFlag::default(),
                    &|_, _| {},
                )?;
                let e = frames as f64 / started.elapsed().as_secs_f64();
                let _ = std::fs::remove_file(&job.output);
                let o = encode_only_fps(&all, frames, Some(&wav), &settings)?;
                e2e.push(e);
                enc.push(o);
                ratios.push(e / o);
            }
            presets.push(json!({
                "preset": preset,
                "end_to_end_fps": median(e2e.clone()),
                "encode_only_fps": median(enc.clone()),
                "ratio_end_to_end_to_encode_only": median(ratios.clone()),
                "runs": { "end_to_end_fps": e2e, "encode_only_fps": enc, "ratio": ratios },
            }));
        }
        sizes.push(json!({
            "size": size.to_string(),
            "frames": frames,
            "render_only_fps": median(render_only.clone()),
            "render_only_runs": render_only,
            "encoders": presets,
        }));
    }
    let report = json!({
        "benchmark": "render",
        "explainer": "bundled sample page, avatar_1, 30 fps, subtitles on",
        "narration_seconds": seconds,
        "runs": runs,
        "threads": rayon::current_num_threads(),
        "sizes": sizes,
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n == 0 {
        0.0
    } else if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn render_seconds(report: &serde_json::Value) -> f64 {
    report["stages"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["stage"] == "render"))
        .and_then(|s| s["seconds"].as_f64())
        .unwrap_or(f64::NAN)
}

async fn bench_make(seconds: f64, long_seconds: f64, runs: usize, preset: &str) -> Result<()> {
    let work = tempfile::Builder::new()
        .prefix("vidflow-bench-")
        .tempdir()?;
    let page = sample::write_to(&work.path().join("page"))?;
    let page_s = page.to_string_lossy().into_owned();
    let out = work.path().join("bench.mp4");
    let out_s = out.to_string_lossy().into_owned();
    let secs = format!("{seconds}");
    let base: Vec<&str> = vec![
        &page_s,
        "--max-seconds",
        &secs,
        "--size",
        "1280x720",
        "--fps",
        "30",
        "--preset",
        preset,
        "-o",
        &out_s,
    ];

    // The frames for encode-only runs, rendered up front into memory.
    let cfg = Config::default();
    let engine = Engine::new(cfg, Arc::new(TieredCache::disabled()))?;
    let req = MakeRequest {
        source: Some(Source::Url(page_s.clone())),
        script_text: None,
        avatar: "avatar_1".into(),
        size: VideoSize {
            width: 1280,
            height: 720,
        },
        fps: 30,
        max_seconds: seconds,
        voice: "slt".into(),
        preset: preset.into(),
        crf: 23,
        subtitles: true,
        stop_after: None,
        output: out.clone(),
    };
    let (timeline, speech) = engine.timeline(&req, &|_| {}).await?;
    // The same narration the end-to-end runs mux, so that the yardstick is ffmpeg's whole
    // share of a run (frames through the pipe, x264, AAC, mux) and only composing is left out.
    let wav = work.path().join("narration.wav");
    vidflow_encode::write_wav(&wav, &speech.samples, speech.sample_rate)?;
    let timeline = Arc::new(timeline);
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
            bail!(
                "second run did not reuse every stage: {}",
                second.report["stages"]
            );
        }
        cached_ratio.push(second.wall / first.wall);
        cold.push(first.wall);
        warm.push(second.wall);
    }

    // 4. Peak memory of a long video (one run: it takes minutes).
    let long = if long_seconds > 0.0 {
        let script = work.path().join("long.txt");
        std::fs::write(&script, sample::long_script((long_seconds * 2.9) as usize))?;
        let script_s = script.to_string_lossy().into_owned();
        let long_s = format!("{long_seconds}");
        let r = run_child(&[
            "--script",
            &script_s,
            "--max-seconds",
            &long_s,
            "--size",
            "1280x720",
            "--fps",
            "30",
            "--preset",
            preset,
            "--no-cache",
            "-o",
            &out_s,
        ])?;
        json!({
            "video_seconds": r.report["output"]["duration"],
            "frames": r.report["output"]["frames"],
            "wall_seconds": r.wall,
            "peak_rss_mib": r.max_rss_bytes as f64 / 1048576.0,
        })
    } else {
        serde_json::Value::Null
    };

    let e2e = median(e2e_fps);
    let enc = median(enc_fps);
    let result = json!({
        "command": format!("vidflow bench make --seconds {seconds} --long-seconds {long_seconds} --runs {runs} --preset {preset}"),
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
    println!("{}", serde_json::to_string_pretty(&result)?);
    Ok(())
}
