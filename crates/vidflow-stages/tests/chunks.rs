//! Chunked rendering (real Flite, real ffmpeg): a video rendered chunk by chunk and joined
//! is the video `make` renders, frame for frame in count and time, with the same audio.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use vidflow_cache::{DiskCache, MemoryCache, TieredCache};
use vidflow_core::{Config, ContentKey, ErrorKind, Progress, StageName, VideoSize};
use vidflow_stages::{CancelFlag, ChunkPlan, Engine, MakeOutput, MakeRequest, Source};

fn request(output: PathBuf, preset: &str, max_seconds: f64) -> MakeRequest {
    let page = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/sample-page/index.html");
    MakeRequest {
        source: Some(Source::Url(page.to_string_lossy().into_owned())),
        script_text: None,
        workflow: None,
        avatar: "avatar_1".into(),
        size: VideoSize {
            width: 1280,
            height: 720,
        },
        fps: 24,
        max_seconds,
        voice: "slt".into(),
        preset: preset.into(),
        crf: 23,
        x264: Default::default(),
        subtitles: true,
        stop_after: None,
        params: Default::default(),
        output,
    }
}

fn engine(dir: &Path, config: Config) -> Engine {
    let disk = DiskCache::open(&dir.join("cache"), None, None).unwrap();
    let cache = Arc::new(TieredCache::new(vec![
        Arc::new(MemoryCache::new(256 << 20, None)),
        Arc::new(disk),
    ]));
    Engine::new(config, cache).unwrap()
}

fn run(program: &str, args: &[&str], file: &Path) -> Vec<u8> {
    let out = Command::new(program)
        .args(args.iter().take_while(|a| **a != "FILE"))
        .arg(file)
        .args(args.iter().skip_while(|a| **a != "FILE").skip(1))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    [out.stdout, out.stderr].concat()
}

/// Frames counted by decoding, and the video stream's duration.
fn counted(path: &Path) -> (u64, f64) {
    let text = String::from_utf8(run(
        "ffprobe",
        &[
            "-v",
            "error",
            "-count_frames",
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=nb_read_frames,duration",
            "-of",
            "default=nw=1",
            "FILE",
        ],
        path,
    ))
    .unwrap();
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}=")))
            .unwrap_or_else(|| panic!("no {name} in {text}"))
            .to_owned()
    };
    (
        field("nb_read_frames").parse().unwrap(),
        field("duration").parse().unwrap(),
    )
}

/// Presentation times of the decoded frames, in the stream's ticks.
fn frame_times(path: &Path) -> Vec<String> {
    String::from_utf8(run(
        "ffprobe",
        &[
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            "frame=pts",
            "-of",
            "csv=p=0",
            "FILE",
        ],
        path,
    ))
    .unwrap()
    .lines()
    .map(|l| l.trim_matches(',').to_owned())
    .filter(|l| !l.is_empty())
    .collect()
}

/// The audio decoded to 16-bit PCM.
fn pcm(path: &Path) -> Vec<u8> {
    run(
        "ffmpeg",
        &[
            "-v", "error", "-i", "FILE", "-map", "0:a", "-f", "s16le", "-",
        ],
        path,
    )
}

/// ffmpeg's SSIM "All:" figure of `a` against `b` over every frame.
fn ssim(a: &Path, b: &Path) -> f64 {
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostats", "-i"])
        .arg(a)
        .arg("-i")
        .arg(b)
        .args(["-lavfi", "[0:v][1:v]ssim", "-f", "null", "-"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    let all = text
        .rsplit("All:")
        .next()
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no SSIM in {text}"));
    all.parse().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn chunked_render_is_the_video_make_renders() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(dir.path(), Config::default());
    // veryfast uses B-frames: the case where joining segments can go wrong.
    let whole_req = request(dir.path().join("whole.mp4"), "veryfast", 7.0);
    let chunked_req = MakeRequest {
        output: dir.path().join("chunked.mp4"),
        ..whole_req.clone()
    };

    let plan: ChunkPlan = engine.chunk_plan(&chunked_req, 1.3, &|_| {}).await.unwrap();
    assert!(plan.chunks.len() >= 3, "{plan:?}");
    let last = plan.chunks.last().unwrap();
    assert!(
        last.len() < plan.chunk_frames,
        "last chunk is short: {plan:?}"
    );

    // 31 frames a chunk: not a whole number of milliseconds, which MP4 segments round to.
    assert_eq!(plan.chunk_frames, 31);
    // Chunks in any order, as workers would take them.
    for chunk in plan.chunks.iter().rev() {
        let report = engine
            .render_chunk(
                &chunked_req,
                &plan,
                chunk.index,
                &|_| {},
                CancelFlag::default(),
            )
            .await
            .unwrap();
        assert!(!report.cached && report.bytes > 0, "{report:?}");
    }
    let assembled = engine
        .assemble(&chunked_req, &plan, &|_| {}, CancelFlag::default())
        .await
        .unwrap();
    assert!(!assembled.cached);
    assert!(!chunked_req.output.exists(), "assemble writes no output");
    let written = engine
        .write_assembled(&chunked_req, &plan)
        .await
        .unwrap()
        .expect("assembled video is cached");

    let made = engine
        .make(&whole_req, &|_| {}, CancelFlag::default())
        .await
        .unwrap()
        .output;
    let (
        MakeOutput::Video {
            path: chunked,
            srt: chunked_srt,
            duration: d1,
            frames: f1,
            bytes,
            ..
        },
        MakeOutput::Video {
            path: whole,
            srt: whole_srt,
            duration: d2,
            frames: f2,
            ..
        },
    ) = (written, made)
    else {
        panic!("both are videos")
    };
    assert_eq!((d1, f1), (d2, f2));
    assert_eq!(f1, plan.frames);
    assert_eq!(bytes, std::fs::metadata(&chunked).unwrap().len());
    assert_eq!(
        std::fs::read(chunked_srt).unwrap(),
        std::fs::read(whole_srt).unwrap()
    );

    let ((n1, v1), (n2, v2)) = (counted(&chunked), counted(&whole));
    assert_eq!((n1, n2), (plan.frames, plan.frames), "decoded frame counts");
    assert!(
        (v1 - v2).abs() < 1.0 / 24.0,
        "video durations {v1} and {v2} differ by a frame or more"
    );
    // Stronger than within a frame: every frame at the very tick a whole encode puts it.
    assert_eq!(frame_times(&chunked), frame_times(&whole));
    // The narration is encoded from the same PCM with the same AAC settings: same samples.
    let (a1, a2) = (pcm(&chunked), pcm(&whole));
    assert!(!a1.is_empty());
    assert!(
        a1 == a2,
        "decoded audio differs ({} vs {} bytes)",
        a1.len(),
        a2.len()
    );
    let s = ssim(&chunked, &whole);
    let lens: Vec<u64> = plan.chunks.iter().map(|c| c.len()).collect();
    eprintln!("chunks {lens:?}: SSIM {s} against make");
    assert!(s >= 0.98, "SSIM {s}");

    // A redelivered chunk: served from the cache under the same key.
    let again = engine
        .render_chunk(&chunked_req, &plan, 1, &|_| {}, CancelFlag::default())
        .await
        .unwrap();
    let keys = engine.chunk_keys(&chunked_req, &plan).await.unwrap();
    assert!(again.cached, "{again:?}");
    assert_eq!(again.key, keys.chunks[1]);
    let assembled_again = engine
        .assemble(&chunked_req, &plan, &|_| {}, CancelFlag::default())
        .await
        .unwrap();
    assert!(assembled_again.cached);
    assert_eq!(
        (assembled_again.key.as_str(), assembled_again.bytes),
        (keys.assembled.as_str(), assembled.bytes)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn chunks_are_content_addressed_and_checked() {
    let dir = tempfile::tempdir().unwrap();
    // Small parallel chunks, so that a cancel lands between two of them.
    let config = Config {
        chunk_frames: 4,
        ..Config::default()
    };
    let engine = engine(dir.path(), config);
    // The output folder need not exist where chunks are rendered.
    let req = request(dir.path().join("absent/out.mp4"), "ultrafast", 4.0);

    for bad in [0.0, -2.0, f64::NAN, f64::INFINITY] {
        let err = engine.chunk_plan(&req, bad, &|_| {}).await.unwrap_err();
        assert_eq!(err.kind, ErrorKind::BadInput, "{bad}: {}", err.message);
        assert!(err.message.contains("chunk length"), "{}", err.message);
    }
    let plan = engine.chunk_plan(&req, 1.0, &|_| {}).await.unwrap();
    assert!(plan.chunks.len() >= 3, "{plan:?}");
    let keys = engine.chunk_keys(&req, &plan).await.unwrap();
    let distinct: std::collections::HashSet<_> = keys.chunks.iter().collect();
    assert_eq!(distinct.len(), plan.chunks.len());

    // Cancelled in the middle of chunk 1's frames: Cancelled, and nothing stored.
    let cancel = CancelFlag::default();
    let flag = cancel.clone();
    let cancelling = move |event: Progress| {
        if let Progress::StageProgress { stage, .. } = event
            && stage == StageName::RENDER
        {
            flag.cancel();
        }
    };
    let err = engine
        .render_chunk(&req, &plan, 1, &cancelling, cancel)
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Cancelled, "{}", err.message);
    let key1 = ContentKey::from_string(keys.chunks[1].clone());
    assert_eq!(engine.cache().contains(&key1).await, None);

    // Rendered twice: the same key, the second time from the cache.
    let first = engine
        .render_chunk(&req, &plan, 1, &|_| {}, CancelFlag::default())
        .await
        .unwrap();
    let second = engine
        .render_chunk(&req, &plan, 1, &|_| {}, CancelFlag::default())
        .await
        .unwrap();
    assert_eq!(first.key, keys.chunks[1]);
    assert!(!first.cached && second.cached);
    assert_eq!((second.key, second.bytes), (first.key, first.bytes));

    // Chunk 0 is done, chunk 1 too; the rest are missing: the first missing one is named.
    engine
        .render_chunk(&req, &plan, 0, &|_| {}, CancelFlag::default())
        .await
        .unwrap();
    let err = engine
        .assemble(&req, &plan, &|_| {}, CancelFlag::default())
        .await
        .unwrap_err();
    assert!(err.message.contains("chunk 2 of"), "{}", err.message);
    assert!(err.message.contains(&keys.chunks[2]), "{}", err.message);
    let assembled = ContentKey::from_string(keys.assembled.clone());
    assert_eq!(engine.cache().contains(&assembled).await, None);

    // Nothing assembled: nothing to write.
    let writable = MakeRequest {
        output: dir.path().join("out.mp4"),
        ..req.clone()
    };
    assert!(
        engine
            .write_assembled(&writable, &plan)
            .await
            .unwrap()
            .is_none()
    );
    assert!(!writable.output.exists());

    // A chunk the plan does not have, and a plan made for another video.
    let err = engine
        .render_chunk(&req, &plan, 99, &|_| {}, CancelFlag::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::BadInput);
    let other = ChunkPlan::new(plan.frames + 10, plan.fps, plan.duration, 1.0).unwrap();
    let last = other.chunks.last().unwrap().index;
    let err = engine
        .render_chunk(&req, &other, last, &|_| {}, CancelFlag::default())
        .await
        .unwrap_err();
    assert!(err.message.contains("chunk plan is for"), "{}", err.message);
}

#[tokio::test]
async fn chunked_rendering_needs_a_cache() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::new(Config::default(), Arc::new(TieredCache::disabled())).unwrap();
    let req = request(dir.path().join("out.mp4"), "ultrafast", 4.0);
    let plan = ChunkPlan::new(96, 24, 4.0, 1.0).unwrap();
    let err = engine
        .render_chunk(&req, &plan, 0, &|_| {}, CancelFlag::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::BadInput);
    assert!(err.message.contains("cache"), "{}", err.message);
}
