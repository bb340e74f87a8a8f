//! `vidflow bench render`: the explainer of the bundled sample page at 720p and 1080p,
//! in process. Each run renders the whole video three ways, side by side: frames only
//! (all cores, no encoder), end to end into ffmpeg (the real render path), and ffmpeg
//! alone fed the same frames, pre-rendered into memory, with the same narration.

use std::sync::Arc;
use std::time::Instant;

use rayon::prelude::*;
use serde_json::json;
use vidflow_avatar::Avatar;
use vidflow_cache::TieredCache;
use vidflow_core::{
    CancelFlag, Config, MakeRequest, Source, Speech, StageName, Timeline, VideoSize,
};
use vidflow_encode::{EncodeSettings, encode_only_fps};
use vidflow_media::FrameRenderer;
use vidflow_stages::Engine;

use crate::{BenchError, median, sample_page};

/// What `bench render` measures.
#[derive(Debug, Clone)]
pub struct RenderBench {
    /// Narration seconds of the explainer rendered.
    pub seconds: f64,
    /// Runs to take the median of.
    pub runs: usize,
    /// Frame sizes (empty: 1280x720 and 1920x1080).
    pub sizes: Vec<VideoSize>,
    /// x264 presets (empty: ultrafast and veryfast).
    pub presets: Vec<String>,
}

/// The timeline and narration of the sample page's explainer for `req` (every stage
/// before the render, uncached).
pub(crate) async fn sample_explainer(
    engine: &Engine,
    req: &MakeRequest,
) -> Result<(Arc<Timeline>, Arc<Speech>), BenchError> {
    let outcome = engine
        .run_until(req, &StageName::STORYBOARD, &|_| {})
        .await?;
    let timeline = outcome
        .get::<Timeline>()
        .ok_or_else(|| BenchError::failed("the storyboard made no timeline"))?;
    let speech = outcome
        .get::<Speech>()
        .ok_or_else(|| BenchError::failed("the run made no speech"))?;
    Ok((timeline.clone(), speech.clone()))
}

/// `vidflow bench render`: the explainer of the bundled sample page at 720p and 1080p.
/// Each run renders the whole video three ways, side by side: frames only (all cores, no
/// encoder), end to end into ffmpeg (in-process, the real render path), and ffmpeg alone
/// fed the same frames, pre-rendered into memory, with the same narration.
pub async fn run(bench: &RenderBench) -> Result<serde_json::Value, BenchError> {
    let (seconds, runs) = (bench.seconds, bench.runs.max(1));
    let work = tempfile::Builder::new()
        .prefix("vidflow-bench-render-")
        .tempdir()?;
    let page = sample_page::write_to(&work.path().join("page"))?;
    let engine = Engine::new(Config::default(), Arc::new(TieredCache::disabled()))?;
    let avatar = Avatar::builtin("avatar_1")?;
    let mut sizes = Vec::new();
    let wanted = if bench.sizes.is_empty() {
        // 1280x720 and 1920x1080.
        VideoSize::SUPPORTED[..2].to_vec()
    } else {
        bench.sizes.clone()
    };
    let presets_wanted: Vec<String> = if bench.presets.is_empty() {
        vec!["ultrafast".into(), "veryfast".into()]
    } else {
        bench.presets.clone()
    };
    for size in wanted {
        let req = MakeRequest {
            source: Some(Source::Url(page.to_string_lossy().into_owned())),
            script_text: None,
            workflow: None,
            avatar: "avatar_1".into(),
            size,
            fps: 30,
            max_seconds: seconds,
            voice: "slt".into(),
            preset: "veryfast".into(),
            crf: 23,
            x264: Default::default(),
            subtitles: true,
            stop_after: None,
            params: Default::default(),
            output: work.path().join("unused.mp4"),
        };
        let (timeline, speech) = sample_explainer(&engine, &req).await?;
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
        for preset in &presets_wanted {
            let settings = EncodeSettings {
                width: size.width,
                height: size.height,
                fps: 30,
                preset: preset.clone(),
                crf: 23,
                ..EncodeSettings::default()
            };
            let (mut e2e, mut enc, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
            // CPU milliseconds per frame: (this process, ffmpeg).
            let (mut e2e_cpu, mut enc_cpu) = ((Vec::new(), Vec::new()), (Vec::new(), Vec::new()));
            for i in 0..runs {
                let job = vidflow_stages::RenderJob {
                    timeline: timeline.clone(),
                    avatar: Some(avatar.clone()),
                    speech: speech.clone(),
                    output: work.path().join(format!("e2e-{i}.mp4")),
                    preset: preset.clone(),
                    crf: 23,
                    x264: Default::default(),
                    threads: 0,
                    chunk_frames: Config::default().chunk_frames,
                    ahead: Config::default().render_ahead,
                };
                let cpu0 = CpuTime::now();
                let started = Instant::now();
                vidflow_stages::render_video(&job, &CancelFlag::default(), &|_, _| {})?;
                let e = frames as f64 / started.elapsed().as_secs_f64();
                let cpu1 = CpuTime::now();
                let _ = std::fs::remove_file(&job.output);
                let o = encode_only_fps(&all, frames, Some(&wav), &settings)?;
                let cpu2 = CpuTime::now();
                e2e.push(e);
                enc.push(o);
                ratios.push(e / o);
                let per_frame = |s: f64| s * 1e3 / frames as f64;
                e2e_cpu.0.push(per_frame(cpu1.own - cpu0.own));
                e2e_cpu.1.push(per_frame(cpu1.children - cpu0.children));
                enc_cpu.0.push(per_frame(cpu2.own - cpu1.own));
                enc_cpu.1.push(per_frame(cpu2.children - cpu1.children));
            }
            presets.push(json!({
                "preset": preset,
                "end_to_end_fps": median(e2e.clone()),
                "encode_only_fps": median(enc.clone()),
                "ratio_end_to_end_to_encode_only": median(ratios.clone()),
                // Encode-only CPU over the render's, per pair: what the fps ratio tends to on
                // a machine whose cores are all busy, and much steadier than it.
                "cpu_ratio_encode_only_to_end_to_end": median(
                    (0..e2e_cpu.0.len())
                        .map(|i| (enc_cpu.0[i] + enc_cpu.1[i]) / (e2e_cpu.0[i] + e2e_cpu.1[i]))
                        .collect()
                ),
                "cpu_ms_per_frame": {
                    "end_to_end": { "vidflow": median(e2e_cpu.0), "ffmpeg": median(e2e_cpu.1) },
                    "encode_only": { "vidflow": median(enc_cpu.0), "ffmpeg": median(enc_cpu.1) },
                },
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
    Ok(report)
}

/// CPU seconds (user + system) used so far by this process and by its waited-for children
/// (ffmpeg): where a render's time goes when the cores are shared.
struct CpuTime {
    own: f64,
    children: f64,
}

impl CpuTime {
    fn now() -> CpuTime {
        fn seconds(who: libc::c_int) -> f64 {
            // SAFETY: getrusage only writes the struct it is given.
            let mut u: libc::rusage = unsafe { std::mem::zeroed() };
            if unsafe { libc::getrusage(who, &mut u) } != 0 {
                return 0.0;
            }
            let t = |v: libc::timeval| v.tv_sec as f64 + v.tv_usec as f64 * 1e-6;
            t(u.ru_utime) + t(u.ru_stime)
        }
        CpuTime {
            own: seconds(libc::RUSAGE_SELF),
            children: seconds(libc::RUSAGE_CHILDREN),
        }
    }
}
