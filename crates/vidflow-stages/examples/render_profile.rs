//! Renders the sample explainer's frames without an encoder, single-threaded, and prints
//! the CPU time per frame: for profiling the compositor (`perf record`).
//!
//! `cargo run --release -p vidflow-stages --example render_profile -- 1280x720 30`

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use vidflow_avatar::Avatar;
use vidflow_cache::TieredCache;
use vidflow_core::{Config, StageName, Timeline, VideoSize};
use vidflow_media::FrameRenderer;
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
    let started = Instant::now();
    for n in 0..timeline.frame_count {
        std::hint::black_box(renderer.render_i420_shared(n));
    }
    let s = started.elapsed().as_secs_f64();
    println!(
        "{} frames at {size}: {:.3} ms/frame single-threaded ({:.0} fps)",
        timeline.frame_count,
        s * 1e3 / timeline.frame_count as f64,
        timeline.frame_count as f64 / s
    );
}
