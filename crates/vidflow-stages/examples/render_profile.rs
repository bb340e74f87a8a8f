//! Renders the sample explainer's frames without an encoder, single-threaded, and prints
//! the CPU time per frame: for profiling the compositor (`perf record`) and for comparing
//! changes to it on a busy machine (CPU time, best of five passes).
//!
//! `cargo run --release -p vidflow-stages --example render_profile -- 1280x720 30`

use std::path::Path;
use std::sync::Arc;

use vidflow_avatar::Avatar;
use vidflow_cache::TieredCache;
use vidflow_core::{Config, StageName, Timeline, VideoSize};
use vidflow_media::{CROSSFADE_SECONDS, FrameRenderer};
use vidflow_stages::{Engine, MakeRequest, Source};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let size = VideoSize::parse(args.get(1).map_or("1280x720", String::as_str)).unwrap();
    let seconds: f64 = args.get(2).map_or(30.0, |s| s.parse().unwrap());
    let page = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/sample-page/index.html");
    let engine = Engine::new(Config::default(), Arc::new(TieredCache::disabled())).unwrap();
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
        output: std::env::temp_dir().join("unused.mp4"),
    };
    let outcome = engine
        .run_until(&req, &StageName::STORYBOARD, &|_| {})
        .await
        .unwrap();
    let timeline: Arc<Timeline> = outcome.get::<Timeline>().unwrap().clone();
    let renderer =
        FrameRenderer::new(timeline.clone(), Some(Avatar::builtin("avatar_1").unwrap())).unwrap();
    // One worker thread, so nested kernel parallelism cannot hide or add cost; the best of
    // five passes, in CPU time, so other load on the machine counts as little as it can.
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let mut best = f64::MAX;
    let mut best_fades = (f64::MAX, 0u64);
    // Crossfade frames are composed whole; the rest only where they change.
    let fading = |n: u64| {
        let t = timeline.frame_time(n);
        timeline
            .slides
            .iter()
            .skip(1)
            .any(|s| (s.start..s.start + CROSSFADE_SECONDS).contains(&t))
    };
    for _ in 0..5 {
        pool.install(|| {
            let (mut fades, mut fade_frames) = (0.0, 0);
            let cpu = thread_cpu_seconds();
            for n in 0..timeline.frame_count {
                let t0 = thread_cpu_seconds();
                std::hint::black_box(renderer.render_i420_shared(n));
                if fading(n) {
                    fades += thread_cpu_seconds() - t0;
                    fade_frames += 1;
                }
            }
            best = best.min(thread_cpu_seconds() - cpu);
            if fades < best_fades.0 {
                best_fades = (fades, fade_frames);
            }
        });
    }
    println!(
        "{} frames at {size}: {:.3} ms of CPU per frame, one thread, best of 5",
        timeline.frame_count,
        best * 1e3 / timeline.frame_count as f64,
    );
    println!(
        "  of which {} crossfade frames: {:.3} s ({:.3} ms each)",
        best_fades.1,
        best_fades.0,
        best_fades.0 * 1e3 / best_fades.1.max(1) as f64
    );
    // The same frames on every core, as the render path draws them (frames in parallel,
    // in chunks): process CPU time per frame, which shows what parallel drawing adds.
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let wide = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    let mut best_wide = f64::MAX;
    for _ in 0..5 {
        let cpu = process_cpu_seconds();
        wide.install(|| {
            use rayon::prelude::*;
            (0..timeline.frame_count).into_par_iter().for_each(|n| {
                std::hint::black_box(renderer.render_i420_shared(n));
            });
        });
        best_wide = best_wide.min(process_cpu_seconds() - cpu);
    }
    println!(
        "on {threads} threads: {:.3} ms of CPU per frame, best of 5",
        best_wide * 1e3 / timeline.frame_count as f64
    );
}

/// CPU time of the whole process.
fn process_cpu_seconds() -> f64 {
    cpu_seconds(libc::CLOCK_PROCESS_CPUTIME_ID)
}

/// CPU time of the calling thread.
fn thread_cpu_seconds() -> f64 {
    cpu_seconds(libc::CLOCK_THREAD_CPUTIME_ID)
}

fn cpu_seconds(clock: libc::clockid_t) -> f64 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime only writes the struct it is given.
    unsafe { libc::clock_gettime(clock, &mut t) };
    t.tv_sec as f64 + t.tv_nsec as f64 * 1e-9
}
