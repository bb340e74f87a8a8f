//! Frames of a real explainer (sample page → extract → script → Flite → storyboard):
//! deterministic, and with a mouth that follows the speech.

use std::path::Path;
use std::sync::Arc;

use vidflow_avatar::Avatar;
use vidflow_cache::TieredCache;
use vidflow_core::{Config, StageName, Timeline, VideoSize, Viseme};
use vidflow_media::{FrameRenderer, I420Frame};
use vidflow_stages::{Engine, MakeRequest, Source};

async fn sample_timeline() -> Timeline {
    let page = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/sample-page/index.html");
    let engine = Engine::new(Config::default(), Arc::new(TieredCache::disabled())).unwrap();
    let req = MakeRequest {
        source: Some(Source::Url(page.to_string_lossy().into_owned())),
        script_text: None,
        workflow: None,
        avatar: "avatar_1".into(),
        size: VideoSize {
            width: 1280,
            height: 720,
        },
        fps: 30,
        max_seconds: 20.0,
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
    outcome.get::<Timeline>().unwrap().as_ref().clone()
}

fn frame_hash(r: &FrameRenderer, n: u64) -> blake3::Hash {
    let mut f = I420Frame::new(r.size());
    r.render_i420(n, &mut f);
    blake3::hash(f.as_bytes())
}

#[tokio::test(flavor = "multi_thread")]
async fn same_input_renders_identical_frames() {
    let a = Arc::new(sample_timeline().await);
    let b = Arc::new(sample_timeline().await);
    assert_eq!(a, b, "the timeline itself must be reproducible");
    let ra = FrameRenderer::new(a.clone(), Some(Avatar::builtin("avatar_1").unwrap())).unwrap();
    let rb = FrameRenderer::new(b, Some(Avatar::builtin("avatar_1").unwrap())).unwrap();
    let step = (a.frame_count / 12).max(1);
    let sample: Vec<u64> = (0..a.frame_count).step_by(step as usize).collect();
    // Different orders on different renderers: no hidden state may leak between frames.
    let forward: Vec<_> = sample.iter().map(|&n| frame_hash(&ra, n)).collect();
    let backward: Vec<_> = sample.iter().rev().map(|&n| frame_hash(&rb, n)).collect();
    assert_eq!(forward, backward.into_iter().rev().collect::<Vec<_>>());
    // And frames do change over the video.
    let distinct: std::collections::HashSet<_> = forward.iter().collect();
    assert!(distinct.len() > sample.len() / 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn mouth_follows_the_visemes_of_the_speech() {
    let mut t = sample_timeline().await;
    // Still presenter, so the mouth region depends only on the viseme and the blink.
    t.motion.amount = 0.0;
    let t = Arc::new(t);
    let r = FrameRenderer::new(t.clone(), Some(Avatar::builtin("avatar_2").unwrap())).unwrap();
    let (mx, my, mw, mh) = r.mouth_region().expect("a presenter has a mouth");
    let mouth = |n: u64| {
        let mut rgba = vec![0u8; (t.size.width * t.size.height * 4) as usize];
        r.render_rgba(n, &mut rgba);
        let mut out = Vec::new();
        for y in my..my + mh {
            let row = ((y * t.size.width + mx) * 4) as usize;
            out.extend_from_slice(&rgba[row..row + (mw * 4) as usize]);
        }
        out
    };
    // Frames (mid-span, eyes open) at rest and at open shapes, from the real track.
    let frames_at = |shapes: &[Viseme]| -> Vec<u64> {
        (0..t.frame_count)
            .filter(|&n| {
                let time = t.frame_time(n);
                let span = t.visemes.iter().find(|v| v.start <= time && time < v.end);
                span.is_some_and(|v| {
                    shapes.contains(&v.shape) && time - v.start > 0.02 && v.end - time > 0.02
                }) && t.eye_closure_at(time) == 0.0
            })
            .collect()
    };
    let rest = frames_at(&[Viseme::X]);
    let open = frames_at(&[Viseme::C, Viseme::D]);
    assert!(
        rest.len() >= 2 && open.len() >= 2,
        "speech has rest and open shapes"
    );
    let rest_a = mouth(rest[0]);
    let rest_b = mouth(*rest.last().unwrap());
    let open_a = mouth(open[0]);
    assert_ne!(rest_a, open_a, "open mouth must differ from rest");
    assert_eq!(
        rest_a, rest_b,
        "same shape, same blink, no motion: same mouth"
    );
    let same_shape: Vec<u64> = open
        .iter()
        .copied()
        .filter(|&n| t.viseme_at(t.frame_time(n)) == t.viseme_at(t.frame_time(open[0])))
        .collect();
    assert_eq!(mouth(same_shape[0]), mouth(*same_shape.last().unwrap()));
}
