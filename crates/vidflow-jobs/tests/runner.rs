//! The runner on the real pipeline, with jobs that stop after the script stage (fast, no
//! rendering): events in order, idempotency, cancel, restart recovery.

use std::sync::Arc;
use std::time::Duration;

use vidflow_cache::TieredCache;
use vidflow_core::{Config, StageName, VideoSize, VidflowError};
use vidflow_jobs::{
    CancelError, Job, JobEvent, JobOutput, JobState, JobStore, NoObserver, RequestBuilder, Runner,
    RunnerConfig, SqliteJobStore, SubmitError,
};
use vidflow_stages::{Engine, MakeRequest};

const SCRIPT: &str = "Tide pools\n\nA tide pool is a rocky pocket that the sea fills twice a day.\n\n\
    Crabs, snails and anemones live there between the waves.";

fn engine(cache_dir: &std::path::Path) -> Arc<Engine> {
    let cache = Arc::new(TieredCache::embedded(1 << 24, cache_dir, None, None).unwrap());
    Arc::new(Engine::new(Config::default(), cache).unwrap())
}

/// Requests in these tests are `{"script": TEXT}`; they stop after the script stage.
fn requests() -> Arc<RequestBuilder> {
    Arc::new(|request: &serde_json::Value, output| {
        let text = request["script"]
            .as_str()
            .ok_or_else(|| VidflowError::bad_input("no script"))?;
        Ok(MakeRequest {
            source: None,
            script_text: Some(text.to_owned()),
            workflow: None,
            avatar: "avatar_1".into(),
            size: VideoSize {
                width: 1280,
                height: 720,
            },
            fps: 30,
            max_seconds: 10.0,
            voice: "slt".into(),
            preset: "ultrafast".into(),
            crf: 23,
            x264: Default::default(),
            subtitles: true,
            stop_after: Some(StageName::SCRIPT),
            params: Default::default(),
            output,
        })
    })
}

async fn start(dir: &std::path::Path) -> Runner {
    let store = SqliteJobStore::open(&dir.join("jobs.db")).unwrap();
    Runner::start(
        Arc::new(store),
        engine(&dir.join("cache")),
        requests(),
        RunnerConfig {
            max_concurrent: 1,
            max_queued: 8,
            jobs_dir: dir.join("jobs"),
        },
        Arc::new(NoObserver),
    )
    .await
    .unwrap()
}

async fn wait_finished(runner: &Runner, id: &str) -> Job {
    for _ in 0..600 {
        let job = runner.get(id).await.unwrap().unwrap();
        if job.state.is_finished() {
            return job;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("job {id} did not finish");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_runs_with_its_events_in_order_and_repeats_are_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let runner = start(dir.path()).await;
    let request = serde_json::json!({ "script": SCRIPT });
    let sub = runner
        .submit(
            request.clone(),
            "hash-a".into(),
            Some("wf-a".into()),
            Some("req-a".into()),
        )
        .await
        .unwrap();
    assert!(!sub.existing);
    assert_eq!(sub.job.request_id.as_deref(), Some("req-a"));
    let mut watch = runner.watch(&sub.job.id).await.unwrap().unwrap();
    let mut names = Vec::new();
    let mut last_seq = watch.seq;
    // The job may finish before we look; then there is no stream, only the final record.
    if let Some(rx) = watch.updates.as_mut() {
        loop {
            let update = tokio::time::timeout(Duration::from_secs(60), rx.recv())
                .await
                .expect("events keep coming")
                .expect("stream open until the last event");
            assert_eq!(update.seq, last_seq + 1, "no gaps, no repeats");
            last_seq = update.seq;
            names.push(update.event.name());
            if update.event.is_last() {
                assert!(matches!(update.event, JobEvent::Done { .. }), "{update:?}");
                break;
            }
        }
    }
    if !names.is_empty() {
        assert!(names.ends_with(&["stage_finished", "done"]), "{names:?}");
    }

    let job = wait_finished(&runner, &sub.job.id).await;
    assert_eq!(job.state, JobState::Succeeded);
    assert_eq!(job.attempts, 1);
    assert_eq!(
        job.request_id.as_deref(),
        Some("req-a"),
        "kept in the record"
    );
    assert_eq!(job.stages.last().unwrap().stage, StageName::SCRIPT);
    assert!(matches!(
        &job.result,
        Some(JobOutput::Stage { stage, .. }) if *stage == StageName::SCRIPT
    ));
    // The store holds the same finished record.
    assert_eq!(runner.store().get(&job.id).await.unwrap().unwrap(), job);

    // Same idempotency key, same request: the same job. Different request: a conflict.
    let again = runner
        .submit(request.clone(), "hash-a".into(), Some("wf-a".into()), None)
        .await
        .unwrap();
    assert!(again.existing);
    assert_eq!(again.job.id, job.id);
    let conflict = runner
        .submit(
            serde_json::json!({"script": "Other."}),
            "hash-b".into(),
            Some("wf-a".into()),
            None,
        )
        .await
        .unwrap_err();
    assert!(matches!(conflict, SubmitError::Conflict { ref job_id, .. } if *job_id == job.id));

    // A finished job cannot be cancelled; an unknown one is not found.
    assert!(matches!(
        runner.cancel(&job.id).await,
        Err(CancelError::Finished(_))
    ));
    assert!(matches!(
        runner.cancel("nope").await,
        Err(CancelError::NotFound(_))
    ));

    // A late watcher gets the finished job and no stream.
    let late = runner.watch(&job.id).await.unwrap().unwrap();
    assert!(late.updates.is_none());
    assert_eq!(late.job.state, JobState::Succeeded);
    runner.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_left_running_by_a_dead_process_run_again_and_failures_are_recorded() {
    let dir = tempfile::tempdir().unwrap();
    // What a killed process leaves: one job marked running, one queued, in the store.
    let store = SqliteJobStore::open(&dir.path().join("jobs.db")).unwrap();
    let mut interrupted = Job::new(serde_json::json!({ "script": SCRIPT }), "h1", None);
    interrupted.state = JobState::Running;
    interrupted.attempts = 1;
    interrupted.stage = Some(StageName::SCRIPT);
    store.create(&interrupted).await.unwrap();
    // A request the builder rejects: the job fails with bad_input, nothing else breaks.
    let broken = Job::new(serde_json::json!({ "page": "x" }), "h2", None);
    store.create(&broken).await.unwrap();
    drop(store);

    let runner = start(dir.path()).await;
    let done = wait_finished(&runner, &interrupted.id).await;
    assert_eq!(done.state, JobState::Succeeded, "{:?}", done.error);
    assert_eq!(done.attempts, 2);
    let failed = wait_finished(&runner, &broken.id).await;
    assert_eq!(failed.state, JobState::Failed);
    let error = failed.error.unwrap();
    assert_eq!(error.kind, "bad_input");
    assert!(error.message.contains("no script"), "{}", error.message);
    // A failed job leaves no folder behind.
    assert!(!dir.path().join("jobs").join(&broken.id).exists());
    runner.shutdown(Duration::from_secs(5)).await;
    // Nothing is left unfinished for the next start.
    let store = SqliteJobStore::open(&dir.path().join("jobs.db")).unwrap();
    assert!(store.unfinished().await.unwrap().is_empty());
}

/// Reports `stage` started, then fails with `error`.
struct FailingIn {
    stage: StageName,
    error: VidflowError,
}

impl vidflow_jobs::JobExecutor for FailingIn {
    fn make<'a>(
        &'a self,
        _id: &'a str,
        _request_id: Option<&'a str>,
        _request: &'a MakeRequest,
        progress: &'a dyn vidflow_core::ProgressSink,
        _cancel: vidflow_core::CancelFlag,
    ) -> vidflow_core::BoxFuture<'a, Result<vidflow_stages::MakeReport, VidflowError>> {
        Box::pin(async move {
            progress.report(vidflow_core::Progress::StageStarted {
                stage: self.stage.clone(),
                percent: 40.0,
            });
            Err(self.error.clone())
        })
    }
}

/// Remembers what it was told.
#[derive(Default)]
struct Recorder(std::sync::Mutex<Vec<String>>);

impl vidflow_jobs::JobObserver for Recorder {
    fn stage_failed(&self, stage: &StageName, kind: &str) {
        self.0.lock().unwrap().push(format!("{stage} {kind}"));
    }

    fn job_finished(&self, job: &Job) {
        self.0.lock().unwrap().push(format!("job {}", job.state));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_observer_hears_which_stage_failed_and_how() {
    let dir = tempfile::tempdir().unwrap();
    for (error, kind) in [
        (VidflowError::internal("ffmpeg crashed"), "internal"),
        (
            VidflowError::transient("took longer than its 600 s limit"),
            "transient",
        ),
        (VidflowError::bad_input("no readable text"), "bad_input"),
    ] {
        let recorder = Arc::new(Recorder::default());
        let store = SqliteJobStore::open(&dir.path().join(format!("{kind}.db"))).unwrap();
        let runner = Runner::start(
            Arc::new(store),
            Arc::new(FailingIn {
                stage: StageName::RENDER,
                error,
            }),
            requests(),
            RunnerConfig {
                max_concurrent: 1,
                max_queued: 8,
                jobs_dir: dir.path().join("jobs"),
            },
            recorder.clone(),
        )
        .await
        .unwrap();
        let sub = runner
            .submit(
                serde_json::json!({ "script": SCRIPT }),
                "h".into(),
                None,
                None,
            )
            .await
            .unwrap();
        let job = wait_finished(&runner, &sub.job.id).await;
        assert_eq!(job.state, JobState::Failed);
        assert_eq!(job.error.as_ref().unwrap().kind, kind);
        // The observer hears of it just after the record is final.
        for _ in 0..500 {
            if recorder.0.lock().unwrap().len() >= 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        // The stage first, so that a scrape that counts the failed job counts its stage.
        assert_eq!(
            *recorder.0.lock().unwrap(),
            [format!("render {kind}"), "job failed".to_owned()]
        );
        runner.shutdown(Duration::from_secs(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_deletes_old_and_oversize_finished_jobs_but_not_ones_being_downloaded() {
    use vidflow_jobs::Retention;
    let dir = tempfile::tempdir().unwrap();
    let runner = start(dir.path()).await;
    let mut ids = Vec::new();
    for (i, script) in [
        "One\n\nFirst words.",
        "Two\n\nSecond words.",
        "Three\n\nThird.",
    ]
    .iter()
    .enumerate()
    {
        let sub = runner
            .submit(
                serde_json::json!({ "script": script }),
                format!("hash-r{i}"),
                None,
                None,
            )
            .await
            .unwrap();
        let mut job = wait_finished(&runner, &sub.job.id).await;
        // Each job's files: 1,000 bytes; each finished a day after the one before.
        let files = dir.path().join("jobs").join(&job.id);
        std::fs::create_dir_all(&files).unwrap();
        std::fs::write(files.join("video.mp4"), vec![0u8; 1000]).unwrap();
        job.finished_at_ms = Some(vidflow_jobs::now_ms() - (40 - 10 * i as u64) * 86_400_000);
        runner.store().save(&job).await.unwrap();
        ids.push(job.id);
    }
    let gone = |id: &str| {
        let id = id.to_owned();
        let runner = runner.clone();
        let dir = dir.path().join("jobs").join(&id);
        async move { runner.store().get(&id).await.unwrap().is_none() && !dir.exists() }
    };
    // Kept forever when unbounded.
    let report = runner.prune(Retention::default()).await.unwrap();
    assert_eq!((report.jobs_deleted, report.bytes_kept), (0, 3000));
    // 35 days: the one that ended 40 days ago goes (30 and 20 days ago stay).
    let month = Retention {
        max_age: Some(Duration::from_secs(35 * 86_400)),
        max_bytes: None,
    };
    let report = runner.prune(month).await.unwrap();
    assert_eq!(report.jobs_deleted, 1, "{report:?}");
    assert_eq!((report.bytes_freed, report.bytes_kept), (1000, 2000));
    assert!(gone(&ids[0]).await);
    assert!(!gone(&ids[1]).await && !gone(&ids[2]).await);
    // 1,500 bytes at most: the oldest left would go, but a download is reading it, so the
    // next one goes instead; once the download ends, the old one goes too.
    let lease = runner.lease_files(&ids[1]);
    let small = Retention {
        max_age: None,
        max_bytes: Some(1500),
    };
    let report = runner.prune(small).await.unwrap();
    assert_eq!((report.jobs_deleted, report.in_use), (1, 1), "{report:?}");
    assert!(!gone(&ids[1]).await && gone(&ids[2]).await);
    let report = runner.prune(small).await.unwrap();
    assert_eq!(report.jobs_deleted, 0, "still being read: {report:?}");
    drop(lease);
    let report = runner
        .prune(Retention {
            max_age: None,
            max_bytes: Some(500),
        })
        .await
        .unwrap();
    assert_eq!(
        (report.jobs_deleted, report.bytes_kept),
        (1, 0),
        "{report:?}"
    );
    assert!(gone(&ids[1]).await);
}
