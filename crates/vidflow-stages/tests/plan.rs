//! `Engine::plan`: the keys it reports are the keys a run uses, and it says truthfully which
//! stages the cache already holds.

use std::path::Path;
use std::sync::Arc;

use vidflow_cache::{DiskCache, MemoryCache, TieredCache};
use vidflow_core::{Config, StageName, VideoSize};
use vidflow_stages::{CancelFlag, Engine, MakeRequest, Source};

fn request(dir: &Path, stop_after: Option<StageName>) -> MakeRequest {
    let page = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/sample-page/index.html");
    MakeRequest {
        source: Some(Source::Url(page.to_string_lossy().into_owned())),
        script_text: None,
        workflow: None,
        avatar: "avatar_2".into(),
        size: VideoSize {
            width: 1280,
            height: 720,
        },
        fps: 24,
        max_seconds: 6.0,
        voice: "slt".into(),
        preset: "ultrafast".into(),
        crf: 30,
        x264: Default::default(),
        subtitles: true,
        stop_after,
        params: Default::default(),
        output: dir.join("plan.mp4"),
    }
}

#[tokio::test]
async fn plan_keys_match_the_run_and_cache_answers_are_true() {
    let dir = tempfile::tempdir().unwrap();
    let disk = DiskCache::open(&dir.path().join("cache"), None, None).unwrap();
    let cache = Arc::new(TieredCache::new(vec![
        Arc::new(MemoryCache::new(64 << 20, None)),
        Arc::new(disk),
    ]));
    let engine = Engine::new(Config::default(), cache).unwrap();

    let req = request(dir.path(), Some(StageName::STORYBOARD));
    let before = engine.plan(&req).await.unwrap();
    let stages: Vec<_> = before.stages.iter().map(|s| s.stage.clone()).collect();
    assert_eq!(
        stages,
        [
            StageName::FETCH,
            StageName::EXTRACT,
            StageName::SCRIPT,
            StageName::SPEAK,
            StageName::STORYBOARD
        ],
        "stop_after cuts the plan"
    );
    assert!(before.stages.iter().all(|s| s.cached == Some(false)));
    assert!(before.estimated_seconds > 0.0);

    let report = engine
        .make(&req, &|_| {}, CancelFlag::default())
        .await
        .unwrap();
    for (planned, ran) in before.stages.iter().zip(&report.stages) {
        assert_eq!(planned.stage, ran.stage);
        assert_eq!(
            planned.key.as_deref(),
            Some(ran.key.as_str()),
            "{}",
            ran.stage
        );
    }

    // After the run every planned stage is in the cache; the full plan adds render, not cached.
    let full = engine.plan(&request(dir.path(), None)).await.unwrap();
    assert_eq!(full.stages.len(), 6);
    for s in &full.stages[..5] {
        assert_eq!(s.cached, Some(true), "{:?}", s.stage);
        assert_eq!(s.backend.as_deref(), Some("memory"));
        assert_eq!(s.estimated_seconds, 0.0);
    }
    assert_eq!(full.stages[5].cached, Some(false));
    assert!(
        full.estimated_seconds > 0.0 && full.estimated_seconds < before.estimated_seconds * 100.0
    );
}

#[tokio::test]
async fn plan_rejects_bad_input_like_a_run() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::new(Config::default(), Arc::new(TieredCache::disabled())).unwrap();
    let mut req = request(dir.path(), None);
    req.avatar = "avatar_99".into();
    let err = engine.plan(&req).await.unwrap_err();
    assert!(err.message.contains("avatar_99"), "{}", err.message);
}
