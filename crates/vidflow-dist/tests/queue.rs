//! The Redis side of shared mode against a real `redis-server`: the task stream and its
//! consumer group (dispatch, delivery, leases, dead letters, chunk completion), a job's
//! event stream, the queue's figures and worker heartbeats, and the shared job store.
//!
//! Every test keeps its keys under a prefix of its own, so they also run against one
//! external Redis (`VIDFLOW_TEST_REDIS_URL`); none of them needs to stop or pause it.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use vidflow_core::{Progress, QueueConfig, StageName, VideoSize};
use vidflow_dist::{
    DeadLetter, JobSpec, QueueEvent, RedisJobStore, RemoteResult, Task, TaskKind, TaskQueue,
    WorkerInfo,
};
use vidflow_jobs::{Created, Job, JobQuery, JobState, JobStore, StoreError};
use vidflow_redis_test::{RedisClock, TestRedis, unique_prefix};
use vidflow_stages::{ChunkPlan, MakeRequest, Source};

/// A lease as long as a real one: lease tests move Redis's clock past it with
/// [`RedisClock::advance`] instead of sleeping, so a loaded machine cannot make them flake.
const LEASE: Duration = Duration::from_secs(30);
/// How long a read waits for a task that should be there at once (or should not be).
const BLOCK: Duration = Duration::from_millis(100);

async fn queue(redis: &TestRedis, label: &str) -> TaskQueue {
    queue_at(redis, unique_prefix(label)).await
}

/// A queue and a clock for its keys.
async fn queue_and_clock(redis: &TestRedis, label: &str) -> (TaskQueue, RedisClock) {
    let prefix = unique_prefix(label);
    let clock = RedisClock::new(redis.url(), &prefix).unwrap();
    (queue_at(redis, prefix).await, clock)
}

/// A queue under a given prefix (two of them on one prefix are two servers).
async fn queue_at(redis: &TestRedis, prefix: String) -> TaskQueue {
    let config = QueueConfig {
        redis_url: Some(redis.url().to_owned()),
        prefix,
        ..QueueConfig::default()
    };
    TaskQueue::connect(&config).await.unwrap()
}

/// A raw connection, to look at keys the queue's API does not expose.
async fn raw(redis: &TestRedis) -> redis::aio::MultiplexedConnection {
    redis::Client::open(redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

fn spec(source: bool) -> JobSpec {
    JobSpec {
        workflow: None,
        request: MakeRequest {
            source: source.then(|| Source::Url("https://example.com/article".into())),
            script_text: (!source).then(|| "Hello there.\n\nA second paragraph.".into()),
            workflow: None,
            avatar: "avatar_1".into(),
            size: VideoSize {
                width: 320,
                height: 180,
            },
            fps: 12,
            max_seconds: 5.0,
            voice: "slt".into(),
            preset: "ultrafast".into(),
            crf: 30,
            x264: Default::default(),
            subtitles: false,
            stop_after: None,
            params: Default::default(),
            output: "/tmp/out.mp4".into(),
        },
        chunk_seconds: 2.0,
        request_id: None,
    }
}

/// The stage a job of `spec` starts with, as a server works it out from the workflow
/// the request runs.
fn first_stage(spec: &JobSpec) -> StageName {
    let registry = vidflow_stages::registry();
    let id = if spec.request.source.is_some() {
        vidflow_stages::DEFAULT_WORKFLOW
    } else {
        vidflow_stages::SCRIPT_WORKFLOW
    };
    let wf = registry
        .build(
            registry.workflow(id).unwrap(),
            &vidflow_core::Config::default(),
        )
        .unwrap();
    match JobSpec::first(&wf) {
        vidflow_dist::Next::Stage(s) => s,
        other => panic!("{other:?}"),
    }
}

/// Dispatches `spec` as job `id`.
async fn dispatch(q: &TaskQueue, id: &str, spec: &JobSpec) -> bool {
    q.dispatch(id, spec, &first_stage(spec)).await.unwrap()
}

fn task(job: &str, kind: TaskKind) -> Task {
    Task {
        job: job.into(),
        kind,
    }
}

fn worker(name: &str, seen_at_ms: u64) -> WorkerInfo {
    WorkerInfo {
        name: name.into(),
        host: "host-a".into(),
        pid: 4242,
        concurrency: 2,
        tasks: vec!["job-1 render chunk 0".into()],
        done: 7,
        failed: 1,
        started_at_ms: seen_at_ms - 1_000,
        seen_at_ms,
    }
}

#[tokio::test]
async fn dispatch_stores_the_spec_and_queues_the_first_task_once() {
    let redis = TestRedis::start().unwrap();
    let q = queue(&redis, "dispatch").await;

    let page = spec(true);
    assert!(dispatch(&q, "job-a", &page).await);
    // A second dispatch (a restarted or second server) changes nothing, not even the spec.
    assert!(!dispatch(&q, "job-a", &spec(false)).await);
    let stored = q.spec("job-a").await.unwrap().expect("the spec is stored");
    assert_eq!(
        serde_json::to_value(&stored).unwrap(),
        serde_json::to_value(&page).unwrap()
    );
    assert!(q.spec("job-never").await.unwrap().is_none());

    let figures = q.status().await.unwrap().figures;
    assert_eq!(
        figures.stream_length, 1,
        "one task for the job: {figures:?}"
    );
    assert_eq!(figures.lag, 1);

    let first = q.read("w1", BLOCK).await.unwrap().expect("the first task");
    assert_eq!(
        first.task,
        Ok(task("job-a", TaskKind::Stage(StageName::FETCH)))
    );
    assert_eq!(first.deliveries, 1);
    assert!(q.read("w1", BLOCK).await.unwrap().is_none());

    // Without a page there is nothing to fetch: the script stage comes first.
    assert!(dispatch(&q, "job-b", &spec(false)).await);
    let first = q.read("w2", BLOCK).await.unwrap().expect("the first task");
    assert_eq!(
        first.task,
        Ok(task("job-b", TaskKind::Stage(StageName::SCRIPT)))
    );
    assert_eq!(q.status().await.unwrap().figures.stream_length, 2);
}

#[tokio::test]
async fn a_task_is_read_once_and_reclaimed_only_after_its_lease() {
    let redis = TestRedis::start().unwrap();
    let (q, clock) = queue_and_clock(&redis, "lease").await;
    q.enqueue(&[task("job", TaskKind::Chunk(3))]).await.unwrap();

    let got = q.read("a", BLOCK).await.unwrap().expect("a task");
    assert_eq!(got.task, Ok(task("job", TaskKind::Chunk(3))));
    assert_eq!(got.deliveries, 1);
    assert!(q.read("b", BLOCK).await.unwrap().is_none(), "read twice");

    // Fresh: nobody may take it over yet.
    assert!(q.reclaim("b", LEASE).await.unwrap().is_none());
    clock.advance(LEASE + LEASE / 2).unwrap();
    let second = q.reclaim("b", LEASE).await.unwrap().expect("taken over");
    assert_eq!(
        (second.id.as_str(), second.deliveries),
        (got.id.as_str(), 2)
    );
    assert_eq!(second.task, got.task);
    // The claim just taken is fresh again.
    assert!(q.reclaim("c", LEASE).await.unwrap().is_none());
    clock.advance(LEASE + LEASE / 2).unwrap();
    let third = q.reclaim("c", LEASE).await.unwrap().expect("taken over");
    assert_eq!((third.id.as_str(), third.deliveries), (got.id.as_str(), 3));

    // Renewing for longer than the lease keeps the janitors off, and is not a delivery.
    for _ in 0..6 {
        clock.advance(LEASE / 4).unwrap();
        assert!(
            q.renew("c", &got.id).await.unwrap(),
            "the claim is still ours"
        );
    }
    assert!(
        q.reclaim("a", LEASE).await.unwrap().is_none(),
        "a renewed task was taken over"
    );
    clock.advance(LEASE + LEASE / 2).unwrap();
    let fourth = q.reclaim("a", LEASE).await.unwrap().expect("taken over");
    assert_eq!(
        (fourth.id.as_str(), fourth.deliveries),
        (got.id.as_str(), 4)
    );
    // The stalled consumer cannot renew its way back: the task is "a"'s now.
    assert!(
        !q.renew("c", &got.id).await.unwrap(),
        "a renew took a task back from the worker that took it over"
    );
    assert!(q.renew("a", &got.id).await.unwrap(), "the new owner renews");

    q.ack(&got.id).await.unwrap();
    clock.advance(LEASE + LEASE / 2).unwrap();
    assert!(
        q.reclaim("b", LEASE).await.unwrap().is_none(),
        "acknowledged"
    );
    assert_eq!(q.status().await.unwrap().figures.pending, 0);
}

#[tokio::test]
async fn an_abandoned_task_behind_many_renewed_ones_is_reclaimed() {
    let redis = TestRedis::start().unwrap();
    let (q, clock) = queue_and_clock(&redis, "behind").await;
    // More live tasks ahead of the abandoned one than one XAUTOCLAIM call looks at.
    let tasks: Vec<Task> = (0..25).map(|i| task("job", TaskKind::Chunk(i))).collect();
    q.enqueue(&tasks).await.unwrap();
    let mut ids = Vec::new();
    while let Some(d) = q.read("a", BLOCK).await.unwrap() {
        ids.push(d.id);
    }
    assert_eq!(ids.len(), tasks.len());

    clock.advance(LEASE + LEASE / 2).unwrap();
    let (abandoned, live) = ids.split_last().unwrap();
    for id in live {
        assert!(q.renew("a", id).await.unwrap(), "the claim is still ours");
    }
    let got = q
        .reclaim("b", LEASE)
        .await
        .unwrap()
        .expect("the abandoned task is taken over");
    assert_eq!(&got.id, abandoned);
    assert_eq!(got.deliveries, 2);
    assert_eq!(got.task, Ok(task("job", TaskKind::Chunk(24))));
    assert!(q.reclaim("b", LEASE).await.unwrap().is_none());
}

#[tokio::test]
async fn dead_letters_keep_the_task_and_its_last_error_and_acknowledge_it() {
    let redis = TestRedis::start().unwrap();
    let (q, clock) = queue_and_clock(&redis, "dead").await;
    q.enqueue(&[
        task("job-x", TaskKind::Chunk(2)),
        task("job-y", TaskKind::Stage(StageName::SPEAK)),
    ])
    .await
    .unwrap();
    let chunk = q.read("w", BLOCK).await.unwrap().unwrap();
    let speak = q.read("w", BLOCK).await.unwrap().unwrap();
    assert_eq!(q.status().await.unwrap().figures.pending, 2);

    assert_eq!(q.last_error("job-x", &chunk.id).await.unwrap(), None);
    q.record_error("job-x", &chunk.id, "encoder crashed")
        .await
        .unwrap();
    q.record_error("job-x", &chunk.id, "out of disk")
        .await
        .unwrap();
    assert_eq!(
        q.last_error("job-x", &chunk.id).await.unwrap().as_deref(),
        Some("out of disk")
    );
    // Errors are per entry: the other task has none.
    assert_eq!(q.last_error("job-x", &speak.id).await.unwrap(), None);

    let t = chunk.task.clone().unwrap();
    q.dead_letter(&chunk.id, &t, 3, "out of disk")
        .await
        .unwrap();
    let figures = q.status().await.unwrap().figures;
    assert_eq!(
        (figures.pending, figures.dead_letters),
        (1, 1),
        "{figures:?}"
    );
    q.dead_letter(&speak.id, &speak.task.clone().unwrap(), 5, "no voice")
        .await
        .unwrap();
    let figures = q.status().await.unwrap().figures;
    assert_eq!(
        (figures.pending, figures.dead_letters),
        (0, 2),
        "{figures:?}"
    );

    assert_eq!(
        q.dead_letters(10).await.unwrap(),
        [
            DeadLetter {
                job: "job-x".into(),
                task: "chunk 2".into(),
                deliveries: 3,
                error: "out of disk".into(),
            },
            DeadLetter {
                job: "job-y".into(),
                task: "speak".into(),
                deliveries: 5,
                error: "no voice".into(),
            },
        ]
    );
    assert_eq!(q.dead_letters(1).await.unwrap().len(), 1);
    // Acknowledged: no janitor brings a dead task back.
    clock.advance(LEASE + LEASE / 2).unwrap();
    assert!(q.reclaim("other", LEASE).await.unwrap().is_none());
}

#[tokio::test]
async fn the_last_chunk_queues_the_assembly_exactly_once_despite_redeliveries() {
    let redis = TestRedis::start().unwrap();
    let q = queue(&redis, "chunks").await;

    // Chunks finish out of order and some twice (a task delivered again after a takeover).
    let mut completed = Vec::new();
    for index in [1, 0, 1, 0, 2, 2, 1] {
        completed.push(q.chunk_done("job-1", index, 3).await.unwrap());
    }
    assert_eq!(completed, [false, false, false, false, true, false, false]);

    // Several workers finishing the last chunks at once: one of them queues the assembly.
    let racers: Vec<_> = (0..12u32)
        .map(|i| {
            let q = q.clone();
            tokio::spawn(async move { q.chunk_done("job-2", i % 4, 4).await.unwrap() })
        })
        .collect();
    let mut winners = 0;
    for r in racers {
        winners += usize::from(r.await.unwrap());
    }
    assert_eq!(winners, 1);

    let mut queued = Vec::new();
    while let Some(d) = q.read("w", BLOCK).await.unwrap() {
        queued.push(d.task.unwrap());
    }
    assert_eq!(
        queued,
        [
            task("job-1", TaskKind::Assemble),
            task("job-2", TaskKind::Assemble)
        ]
    );
}

#[tokio::test]
async fn events_come_back_in_order_and_success_records_the_result() {
    let redis = TestRedis::start().unwrap();
    let q = queue(&redis, "events").await;
    let listener = q.listener().await.unwrap();

    let result = RemoteResult::Stage {
        stage: StageName::SCRIPT,
        output: serde_json::json!({"segments": [{"text": "Hello."}]}),
    };
    let posted = vec![
        QueueEvent::Progress {
            progress: Progress::StageStarted {
                stage: StageName::FETCH,
                percent: 0.0,
            },
        },
        QueueEvent::Planned {
            chunks: 2,
            frames: 48,
        },
        QueueEvent::ChunkDone {
            index: 1,
            frames: 24,
            worker: "w1".into(),
        },
        QueueEvent::Succeeded {
            result: result.clone(),
        },
    ];
    assert_eq!(q.result("job").await.unwrap(), None);
    for e in &posted {
        q.post("job", e).await.unwrap();
    }
    // Another job's events are its own.
    q.post("other", &QueueEvent::Cancelled).await.unwrap();

    let all = listener.events("job", "0", BLOCK).await.unwrap();
    let events: Vec<QueueEvent> = all.iter().map(|(_, e)| e.clone()).collect();
    assert_eq!(events, posted);
    let after = listener.events("job", &all[1].0, BLOCK).await.unwrap();
    assert_eq!(after, all[2..]);
    assert!(
        listener
            .events("job", &all[3].0, BLOCK)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(q.result("job").await.unwrap(), Some(result));
    assert_eq!(q.result("other").await.unwrap(), None);
    assert_eq!(listener.events("other", "0", BLOCK).await.unwrap().len(), 1);

    // A follower waiting on the stream wakes when the next event arrives.
    let last = all[3].0.clone();
    let waiting = tokio::spawn(async move {
        listener
            .events("job", &last, Duration::from_secs(10))
            .await
            .unwrap()
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let failed = QueueEvent::Failed {
        kind: "internal".into(),
        message: "render chunk 1 failed".into(),
    };
    q.post("job", &failed).await.unwrap();
    let woke = tokio::time::timeout(Duration::from_secs(5), waiting)
        .await
        .expect("the follower woke")
        .unwrap();
    assert_eq!(woke.len(), 1);
    assert_eq!(woke[0].1, failed);
}

#[tokio::test]
async fn plans_and_cancellations_are_per_job() {
    let redis = TestRedis::start().unwrap();
    let q = queue(&redis, "plan").await;
    let plan = ChunkPlan::new(120, 12, 10.0, 4.0).unwrap();
    assert_eq!(q.plan("job").await.unwrap(), None);
    q.set_plan("job", &plan).await.unwrap();
    assert_eq!(q.plan("job").await.unwrap(), Some(plan));
    assert_eq!(q.plan("other").await.unwrap(), None);

    assert!(!q.is_cancelled("job").await.unwrap());
    q.cancel("job").await.unwrap();
    assert!(q.is_cancelled("job").await.unwrap());
    assert!(!q.is_cancelled("other").await.unwrap());
}

#[tokio::test]
async fn status_counts_the_stream_and_lists_live_workers() {
    let redis = TestRedis::start().unwrap();
    let (q, clock) = queue_and_clock(&redis, "status").await;
    let mut con = raw(&redis).await;
    let empty = q.status().await.unwrap();
    assert_eq!(empty.figures, Default::default());
    assert!(empty.workers.is_empty());

    q.enqueue(&[
        task("job", TaskKind::Chunk(0)),
        task("job", TaskKind::Chunk(1)),
        task("job", TaskKind::Chunk(2)),
    ])
    .await
    .unwrap();
    let f = q.status().await.unwrap().figures;
    assert_eq!((f.stream_length, f.pending, f.lag), (3, 0, 3), "{f:?}");
    assert_eq!(f.oldest_pending_seconds, 0.0);

    let d = q.read("w", BLOCK).await.unwrap().unwrap();
    clock.advance(Duration::from_secs(5)).unwrap();
    let f = q.status().await.unwrap().figures;
    assert_eq!((f.stream_length, f.pending, f.lag), (3, 1, 2), "{f:?}");
    assert!(
        (5.0..30.0).contains(&f.oldest_pending_seconds),
        "idle for 5 s: {f:?}"
    );
    assert!(
        q.renew("w", &d.id).await.unwrap(),
        "the claim is still ours"
    );
    let f = q.status().await.unwrap().figures;
    assert!(f.oldest_pending_seconds < 0.5, "just renewed: {f:?}");
    q.ack(&d.id).await.unwrap();
    let f = q.status().await.unwrap().figures;
    assert_eq!((f.stream_length, f.pending, f.lag), (3, 0, 2), "{f:?}");
    assert_eq!(f.oldest_pending_seconds, 0.0);

    // Heartbeats: one short-lived, one long-lived.
    let now = vidflow_jobs::now_ms();
    let short = worker("w-short", now);
    let long = worker("w-long", now + 1);
    q.heartbeat(&short, Duration::from_secs(20)).await.unwrap();
    q.heartbeat(&long, Duration::from_secs(60)).await.unwrap();
    let mut seen = q.status().await.unwrap().workers;
    seen.sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(seen, [long.clone(), short.clone()]);

    clock.advance(Duration::from_secs(30)).unwrap();
    assert_eq!(q.workers().await.unwrap(), std::slice::from_ref(&long));
    // The expired worker is dropped from the set of names too, not only hidden.
    let names: Vec<String> = redis::cmd("ZRANGE")
        .arg(q.keys().workers())
        .arg(0)
        .arg(-1)
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(names, ["w-long"]);

    q.forget_worker("w-long").await.unwrap();
    assert!(q.workers().await.unwrap().is_empty());
    let (set, beat): (u64, bool) = redis::pipe()
        .cmd("ZCARD")
        .arg(q.keys().workers())
        .cmd("EXISTS")
        .arg(q.keys().worker("w-long"))
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!((set, beat), (0, false));
}

async fn store(redis: &TestRedis, label: &str) -> RedisJobStore {
    RedisJobStore::new(queue(redis, label).await)
}

fn job(n: u32, workflow: Option<&str>) -> Job {
    Job::new(
        serde_json::json!({ "script": format!("Job number {n}.") }),
        format!("hash-{n}"),
        workflow.map(str::to_owned),
    )
}

fn ids(jobs: &[Job]) -> Vec<&str> {
    jobs.iter().map(|j| j.id.as_str()).collect()
}

#[tokio::test]
async fn jobs_round_trip_and_save_needs_a_created_job() {
    let redis = TestRedis::start().unwrap();
    let s = store(&redis, "store").await;
    let mut j = job(1, None);
    assert_eq!(s.create(&j).await.unwrap(), Created::New);
    assert_eq!(s.get(&j.id).await.unwrap().as_ref(), Some(&j));
    assert_eq!(s.unfinished().await.unwrap(), [j.clone()]);

    j.state = JobState::Running;
    j.stage = Some(StageName::SPEAK);
    j.percent = Some(42.5);
    j.attempts = 1;
    j.started_at_ms = Some(j.created_at_ms + 5);
    s.save(&j).await.unwrap();
    assert_eq!(s.get(&j.id).await.unwrap().as_ref(), Some(&j));
    assert_eq!(s.unfinished().await.unwrap(), [j.clone()]);

    j.state = JobState::Failed;
    j.error = Some(vidflow_jobs::JobFailure {
        kind: "bad_input".into(),
        message: "fetch failed: 404".into(),
    });
    s.save(&j).await.unwrap();
    assert_eq!(s.get(&j.id).await.unwrap().as_ref(), Some(&j));
    assert!(s.unfinished().await.unwrap().is_empty());

    assert_eq!(s.get("no-such-job").await.unwrap(), None);
    let ghost = job(2, None);
    match s.save(&ghost).await {
        Err(StoreError::Missing(id)) => assert_eq!(id, ghost.id),
        other => panic!("save of an unknown job: {other:?}"),
    }
    assert_eq!(s.get(&ghost.id).await.unwrap(), None, "save created it");
    assert!(s.unfinished().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_deleted_job_leaves_the_list_the_unfinished_set_and_its_key() {
    let redis = TestRedis::start().unwrap();
    let s = store(&redis, "delete").await;
    let keyed = job(1, Some("key-1"));
    let other = job(2, None);
    s.create(&keyed).await.unwrap();
    s.create(&other).await.unwrap();
    assert!(s.delete(&keyed.id).await.unwrap());
    assert_eq!(s.get(&keyed.id).await.unwrap(), None);
    assert_eq!(s.by_idempotency_key("key-1").await.unwrap(), None);
    assert_eq!(s.unfinished().await.unwrap(), std::slice::from_ref(&other));
    let all = s
        .list(&JobQuery {
            limit: 50,
            ..JobQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(ids(&all.jobs), [other.id.as_str()]);
    assert!(!s.delete(&keyed.id).await.unwrap(), "already gone");
    // The key is free for a new job.
    assert_eq!(
        s.create(&job(3, Some("key-1"))).await.unwrap(),
        Created::New
    );
}

#[tokio::test]
async fn a_workflow_id_names_one_job() {
    let redis = TestRedis::start().unwrap();
    let s = store(&redis, "workflow").await;
    let first = job(1, Some("wf-1"));
    assert_eq!(s.create(&first).await.unwrap(), Created::New);
    let second = job(2, Some("wf-1"));
    assert_eq!(
        s.create(&second).await.unwrap(),
        Created::Existing(Box::new(first.clone()))
    );
    assert_eq!(s.get(&second.id).await.unwrap(), None);
    assert_eq!(
        s.by_idempotency_key("wf-1").await.unwrap(),
        Some(first.clone())
    );
    assert_eq!(s.by_idempotency_key("wf-2").await.unwrap(), None);
    // Jobs without a workflow id never collide.
    assert_eq!(s.create(&job(3, None)).await.unwrap(), Created::New);
    assert_eq!(s.create(&job(4, None)).await.unwrap(), Created::New);
    let all = s
        .list(&JobQuery {
            limit: 50,
            ..JobQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(all.jobs.len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_creates_with_one_workflow_id_store_one_job() {
    let redis = TestRedis::start().unwrap();
    // Two stores (two servers) on the same keys, each with its own connection.
    let prefix = unique_prefix("race");
    let s = Arc::new(RedisJobStore::new(queue_at(&redis, prefix.clone()).await));
    let other = Arc::new(RedisJobStore::new(queue_at(&redis, prefix).await));
    let racers: Vec<_> = (0..16u32)
        .map(|i| {
            let s = if i % 2 == 0 { s.clone() } else { other.clone() };
            let j = job(i, Some("wf-race"));
            tokio::spawn(async move { (j.id.clone(), s.create(&j).await.unwrap()) })
        })
        .collect();
    let mut new = Vec::new();
    let mut existing = HashSet::new();
    for r in racers {
        match r.await.unwrap() {
            (id, Created::New) => new.push(id),
            (_, Created::Existing(j)) => {
                existing.insert(j.id);
            }
        }
    }
    assert_eq!(new.len(), 1, "one create wins");
    assert_eq!(existing, HashSet::from([new[0].clone()]));
    let all = s
        .list(&JobQuery {
            limit: 50,
            ..JobQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(ids(&all.jobs), [new[0].as_str()]);
    assert_eq!(ids(&other.unfinished().await.unwrap()), [new[0].as_str()]);
}

#[tokio::test]
async fn lists_page_newest_first_with_filters_and_cursors() {
    let redis = TestRedis::start().unwrap();
    let s = store(&redis, "list").await;
    let mut made = Vec::new();
    for n in 0..7 {
        let mut j = job(n, None);
        if n % 3 == 0 {
            j.state = JobState::Failed;
        }
        assert_eq!(s.create(&j).await.unwrap(), Created::New);
        made.push(j);
    }
    let newest_first: Vec<&str> = made.iter().rev().map(|j| j.id.as_str()).collect();

    let mut pages = Vec::new();
    let mut cursor = None;
    loop {
        let page = s
            .list(&JobQuery {
                limit: 3,
                cursor: cursor.clone(),
                ..JobQuery::default()
            })
            .await
            .unwrap();
        pages.push(page.jobs);
        cursor = page.next_cursor;
        if cursor.is_none() {
            break;
        }
        assert!(pages.len() < 5, "paging does not end");
    }
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [3, 3, 1]);
    let listed: Vec<&str> = pages.iter().flat_map(|p| ids(p)).collect();
    assert_eq!(listed, newest_first, "newest first, each job once");

    // A page that ends exactly at the last job has no cursor.
    let whole = s
        .list(&JobQuery {
            limit: 7,
            ..JobQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(ids(&whole.jobs), newest_first);
    assert_eq!(whole.next_cursor, None);

    // Failed: jobs 6, 3, 0, in pages of two.
    let failed = |cursor| JobQuery {
        state: Some(JobState::Failed),
        limit: 2,
        cursor,
        owner: None,
    };
    let first = s.list(&failed(None)).await.unwrap();
    assert_eq!(ids(&first.jobs), [made[6].id.as_str(), made[3].id.as_str()]);
    let second = s.list(&failed(first.next_cursor.clone())).await.unwrap();
    assert_eq!(ids(&second.jobs), [made[0].id.as_str()]);
    assert_eq!(second.next_cursor, None);
    let running = s
        .list(&JobQuery {
            state: Some(JobState::Running),
            limit: 10,
            cursor: None,
            owner: None,
        })
        .await
        .unwrap();
    assert!(running.jobs.is_empty() && running.next_cursor.is_none());

    // Owned: only the jobs of one key, paged like the rest.
    let mut mine = Vec::new();
    for i in 0..3 {
        let mut job = Job::new(serde_json::json!({ "owned": i }), format!("o{i}"), None);
        job.owner = Some("key-a".into());
        s.create(&job).await.unwrap();
        mine.push(job.id);
    }
    let owned = s
        .list(&JobQuery {
            limit: 2,
            owner: Some("key-a".into()),
            ..JobQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(ids(&owned.jobs), [mine[2].as_str(), mine[1].as_str()]);
    let rest = s
        .list(&JobQuery {
            limit: 2,
            owner: Some("key-a".into()),
            cursor: owned.next_cursor.clone(),
            ..JobQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(ids(&rest.jobs), [mine[0].as_str()]);
    assert_eq!(rest.next_cursor, None);
    let none = s
        .list(&JobQuery {
            limit: 10,
            owner: Some("key-b".into()),
            ..JobQuery::default()
        })
        .await
        .unwrap();
    assert!(none.jobs.is_empty());

    for bad in ["nope", "-1", ""] {
        match s
            .list(&JobQuery {
                limit: 3,
                cursor: Some(bad.into()),
                ..JobQuery::default()
            })
            .await
        {
            Err(StoreError::BadCursor(c)) => assert_eq!(c, bad),
            other => panic!("cursor {bad:?}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn unfinished_jobs_come_oldest_first() {
    let redis = TestRedis::start().unwrap();
    let s = store(&redis, "unfinished").await;
    // A burst: jobs accepted in the same millisecond, as a busy server does.
    let at = vidflow_jobs::now_ms();
    let states = [
        JobState::Queued,
        JobState::Succeeded,
        JobState::Running,
        JobState::Queued,
        JobState::Failed,
        JobState::Queued,
        JobState::Running,
        JobState::Cancelled,
        JobState::Queued,
        JobState::Queued,
    ];
    let mut made = Vec::new();
    for (n, state) in states.into_iter().enumerate() {
        let mut j = job(n as u32, None);
        j.state = state;
        j.created_at_ms = at;
        s.create(&j).await.unwrap();
        made.push(j);
    }
    // An older job created last (its server's clock was behind) still comes first.
    let mut late = job(99, None);
    late.created_at_ms = at - 10_000;
    s.create(&late).await.unwrap();

    // One queued job finishes, one finished job is saved again as finished.
    made[3].state = JobState::Succeeded;
    s.save(&made[3]).await.unwrap();
    made[4].percent = Some(10.0);
    s.save(&made[4]).await.unwrap();

    let expect: Vec<&str> = std::iter::once(late.id.as_str())
        .chain(
            made.iter()
                .filter(|j| !j.state.is_finished())
                .map(|j| j.id.as_str()),
        )
        .collect();
    assert_eq!(expect.len(), 7);
    assert_eq!(ids(&s.unfinished().await.unwrap()), expect);
}

#[tokio::test]
async fn an_unreadable_entry_goes_to_the_dead_letters_as_such() {
    let redis = TestRedis::start().unwrap();
    let q = queue(&redis, "junk").await;
    let mut con = raw(&redis).await;
    let _: String = redis::cmd("XADD")
        .arg(q.keys().tasks())
        .arg("*")
        .arg("what")
        .arg("not a task")
        .query_async(&mut con)
        .await
        .unwrap();
    let d = q.read("a", BLOCK).await.unwrap().expect("delivered");
    let why = d.task.clone().expect_err("no job or kind field");
    q.dead_letter_unreadable(&d.id, d.deliveries, &why)
        .await
        .unwrap();
    let dead = q.dead_letters(10).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].task, "unreadable");
    assert_eq!(dead[0].error, why);
    assert_eq!(q.status().await.unwrap().figures.pending, 0);
}

#[tokio::test]
async fn the_queue_works_over_tls_with_the_servers_ca() {
    let redis = TestRedis::start_tls().unwrap();
    let config = QueueConfig {
        redis_url: redis.tls_url(),
        redis_ca_file: redis.ca_file(),
        prefix: unique_prefix("tls"),
        ..QueueConfig::default()
    };
    let q = TaskQueue::connect(&config).await.unwrap();
    q.enqueue(&[task("job", TaskKind::Chunk(1))]).await.unwrap();
    let got = q.read("a", BLOCK).await.unwrap().expect("a task over TLS");
    assert_eq!(got.task, Ok(task("job", TaskKind::Chunk(1))));
    // Without the CA the server's certificate is not trusted: connecting fails, naming it.
    let untrusted = QueueConfig {
        redis_ca_file: None,
        ..config
    };
    let err = TaskQueue::connect(&untrusted)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("localhost"), "{err}");
}
