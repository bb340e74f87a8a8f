//! Workflows of small stages over an in-memory cache: validation, keys, caching, retries,
//! time limits, progress.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::*;
use crate::artifact::{Artifact, Scratch};
use crate::cancel::CancelFlag;
use crate::key::ContentKey;
use crate::progress::Progress;
use crate::request::{MakeRequest, Source};
use crate::stage::{
    BoxFuture, CachedValue, InputKeys, Inputs, Port, Stage, StageCache, StageContext,
};
use crate::{ErrorKind, Script, Segment, VideoSize};

/// Makes a script from the request's text; counts its runs; fails transiently the
/// first `fail` times.
struct Write {
    runs: Arc<AtomicU32>,
    fail: u32,
}

impl Stage for Write {
    fn inputs(&self) -> &[Port] {
        &[]
    }
    fn output(&self) -> DataType {
        DataType::Script
    }
    fn key(&self, request: &MakeRequest, _inputs: InputKeys<'_>) -> ContentKey {
        ContentKey::builder("write", 1)
            .param("text", request.script_text.clone().unwrap_or_default())
            .build()
    }
    fn weight(&self) -> f64 {
        1.0
    }
    fn run<'a>(
        &'a self,
        ctx: &'a StageContext<'a>,
        _inputs: &'a Inputs,
    ) -> BoxFuture<'a, Result<Artifact, VidflowError>> {
        Box::pin(async move {
            let n = self.runs.fetch_add(1, Ordering::SeqCst);
            if n < self.fail {
                return Err(VidflowError::transient("the typewriter jammed"));
            }
            ctx.progress().report(1, 2);
            let text = ctx.request.script_text.clone().unwrap_or_default();
            Ok(Artifact::from(Script {
                title: "t".into(),
                segments: vec![Segment {
                    key_sentence: text.clone(),
                    narration: text,
                    heading: None,
                    image: None,
                }],
            }))
        })
    }
}

/// Upper-cases a script; with `sleep`, waits (checking its cancel flag) first.
struct Shout {
    sleep: Duration,
}

impl Stage for Shout {
    fn inputs(&self) -> &[Port] {
        const PORTS: [Port; 1] = [Port::required(DataType::Script)];
        &PORTS
    }
    fn output(&self) -> DataType {
        DataType::Script
    }
    fn key(&self, _request: &MakeRequest, inputs: InputKeys<'_>) -> ContentKey {
        let mut k = ContentKey::builder("shout", 1);
        if let Some(script) = inputs.get(DataType::Script) {
            k = k.input(script);
        }
        k.build()
    }
    fn weight(&self) -> f64 {
        3.0
    }
    fn run<'a>(
        &'a self,
        ctx: &'a StageContext<'a>,
        inputs: &'a Inputs,
    ) -> BoxFuture<'a, Result<Artifact, VidflowError>> {
        Box::pin(async move {
            let started = std::time::Instant::now();
            while started.elapsed() < self.sleep {
                ctx.cancel().check()?;
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            let mut script = inputs.need::<Script>()?.as_ref().clone();
            for s in &mut script.segments {
                s.narration = s.narration.to_uppercase();
            }
            Ok(Artifact::from(script))
        })
    }
}

#[derive(Default)]
struct MapCache(Mutex<HashMap<ContentKey, Vec<u8>>>);

impl StageCache for MapCache {
    fn get<'a>(&'a self, key: &'a ContentKey) -> BoxFuture<'a, Option<CachedValue>> {
        let hit = self.0.lock().unwrap().get(key).cloned();
        Box::pin(async move {
            hit.map(|bytes| CachedValue {
                bytes,
                backend: "memory",
            })
        })
    }
    fn put<'a>(&'a self, key: &'a ContentKey, value: &'a [u8]) -> BoxFuture<'a, ()> {
        self.0.lock().unwrap().insert(key.clone(), value.to_vec());
        Box::pin(async {})
    }
    fn contains<'a>(&'a self, key: &'a ContentKey) -> BoxFuture<'a, Option<&'static str>> {
        let has = self.0.lock().unwrap().contains_key(key);
        Box::pin(async move { has.then_some("memory") })
    }
    fn remove<'a>(&'a self, key: &'a ContentKey) -> BoxFuture<'a, ()> {
        self.0.lock().unwrap().remove(key);
        Box::pin(async {})
    }
    fn is_enabled(&self) -> bool {
        true
    }
}

fn registry(runs: Arc<AtomicU32>, fail: u32) -> Registry {
    let mut r = Registry::new();
    r.register("write", move |opts, _| {
        opts.none()?;
        Ok(Arc::new(Write {
            runs: runs.clone(),
            fail,
        }))
    });
    r.register("shout", |opts, _| {
        #[derive(serde::Deserialize, Default)]
        #[serde(deny_unknown_fields, default)]
        struct Options {
            sleep_ms: u64,
        }
        let o: Options = opts.parse()?;
        Ok(Arc::new(Shout {
            sleep: Duration::from_millis(o.sleep_ms),
        }))
    });
    r
}

const SHOUTED: &str = r#"
id = "shouted"
[[stages]]
id = "write"
type = "write"
[[stages]]
id = "loud"
type = "shout"
inputs = ["write"]
"#;

fn request(text: &str) -> MakeRequest {
    MakeRequest {
        source: Some(Source::Url("https://example.org/".into())),
        script_text: Some(text.into()),
        workflow: None,
        avatar: "avatar_1".into(),
        size: VideoSize {
            width: 1280,
            height: 720,
        },
        fps: 30,
        max_seconds: 10.0,
        voice: "slt".into(),
        preset: "veryfast".into(),
        crf: 23,
        x264: Default::default(),
        subtitles: true,
        stop_after: None,
        params: Default::default(),
        output: "out.mp4".into(),
    }
}

fn build(def: &str) -> Result<Workflow, VidflowError> {
    registry(Arc::new(AtomicU32::new(0)), 0)
        .build(&WorkflowDef::from_toml(def)?, &Config::default())
}

#[tokio::test]
async fn a_workflow_runs_in_order_and_the_second_run_is_cached() {
    let runs = Arc::new(AtomicU32::new(0));
    let wf = registry(runs.clone(), 0)
        .build(
            &WorkflowDef::from_toml(SHOUTED).unwrap(),
            &Config::default(),
        )
        .unwrap();
    let cache = MapCache::default();
    let dir = tempfile::tempdir().unwrap();
    let scratch = Scratch::new(dir.path());
    let events = Mutex::new(Vec::new());
    let sink = |e: Progress| events.lock().unwrap().push(e);
    let env = RunEnv {
        cache: &cache,
        config: &Config::default(),
        progress: &sink,
        cancel: CancelFlag::default(),
        scratch: &scratch,
    };
    let req = request("hello");
    wf.check(&req).unwrap();
    let plan = wf.plan(&req, &cache).await.unwrap();
    assert!(plan.stages.iter().all(|s| s.cached == Some(false)));
    let first = wf.run(&env, &req).await.unwrap();
    let script = first.get::<Script>().unwrap();
    assert_eq!(script.segments[0].narration, "HELLO");
    assert_eq!(
        first
            .reports
            .iter()
            .map(|r| r.stage.as_str())
            .collect::<Vec<_>>(),
        ["write", "loud"]
    );
    // The plan's keys are the run's.
    for (p, r) in plan.stages.iter().zip(&first.reports) {
        assert_eq!(p.key.as_deref(), Some(r.key.as_str()));
    }
    assert!(first.reports.iter().all(|r| r.bytes_out > 0));
    assert_eq!(first.reports[1].bytes_in, first.reports[0].bytes_out);

    let second = wf.run(&env, &req).await.unwrap();
    assert!(second.reports.iter().all(|r| r.cached));
    assert_eq!(runs.load(Ordering::SeqCst), 1);

    // Progress: started/progress/finished per stage, percent weighted 1:3.
    let names: Vec<_> = events.lock().unwrap()[..5]
        .iter()
        .map(|e| (e.name(), e.percent()))
        .collect();
    assert_eq!(
        names,
        [
            ("stage_started", Some(0.0)),
            ("progress", Some(12.5)),
            ("stage_finished", Some(25.0)),
            ("stage_started", Some(25.0)),
            ("stage_finished", Some(100.0)),
        ]
    );

    // Another input: every key below it changes.
    let other = wf.keys(&request("bye"), None).unwrap();
    let same = wf.keys(&req, None).unwrap();
    assert_ne!(other[0].1, same[0].1);
    assert_ne!(other[1].1, same[1].1);

    // Stopping after the first stage runs only it.
    let stop = MakeRequest {
        stop_after: Some(StageName::new("write")),
        params: Default::default(),
        ..req.clone()
    };
    let partial = wf.run(&env, &stop).await.unwrap();
    assert_eq!(partial.reports.len(), 1);
    assert_eq!(partial.last().0, "write");
    let err = wf
        .check(&MakeRequest {
            stop_after: Some(StageName::new("lunch")),
            params: Default::default(),
            ..req
        })
        .unwrap_err();
    assert!(err.message.contains("no stage 'lunch'"), "{}", err.message);
}

#[tokio::test]
async fn passing_failures_are_retried_and_bad_input_is_not() {
    let runs = Arc::new(AtomicU32::new(0));
    let wf = registry(runs.clone(), 2)
        .build(
            &WorkflowDef::from_toml(SHOUTED).unwrap(),
            &Config::default(),
        )
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let scratch = Scratch::new(dir.path());
    let retried = Mutex::new(Vec::new());
    let sink = |e: Progress| {
        if let Progress::Retrying { attempt, error, .. } = e {
            retried.lock().unwrap().push((attempt, error));
        }
    };
    let config = Config {
        retry_backoff_ms: 1,
        ..Config::default()
    };
    let env = RunEnv {
        cache: &crate::stage::NoCache,
        config: &config,
        progress: &sink,
        cancel: CancelFlag::default(),
        scratch: &scratch,
    };
    wf.run(&env, &request("x")).await.unwrap();
    assert_eq!(runs.load(Ordering::SeqCst), 3);
    assert_eq!(retried.lock().unwrap().len(), 2);

    // With one try, the passing failure is final and names the stage.
    let runs = Arc::new(AtomicU32::new(0));
    let wf = registry(runs.clone(), 5)
        .build(&WorkflowDef::from_toml(SHOUTED).unwrap(), &config)
        .unwrap();
    let once = Config {
        retry_attempts: 1,
        ..config.clone()
    };
    let env = RunEnv {
        config: &once,
        ..env
    };
    let err = wf.run(&env, &request("x")).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Transient);
    assert_eq!(err.message, "write: the typewriter jammed");
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_try_past_its_limit_is_stopped() {
    let wf = build(
        r#"
id = "slow"
[[stages]]
id = "write"
type = "write"
[[stages]]
id = "loud"
type = "shout"
sleep_ms = 60000
timeout_seconds = 1
inputs = ["write"]
"#,
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let scratch = Scratch::new(dir.path());
    let config = Config {
        retry_attempts: 1,
        ..Config::default()
    };
    let env = RunEnv {
        cache: &crate::stage::NoCache,
        config: &config,
        progress: &|_| {},
        cancel: CancelFlag::default(),
        scratch: &scratch,
    };
    let started = std::time::Instant::now();
    let err = wf.run(&env, &request("x")).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(err.kind, ErrorKind::Transient);
    assert_eq!(err.message, "loud: took longer than its 1 s limit");

    // A cancelled job stops at the next stage boundary (or sooner).
    let cancel = CancelFlag::default();
    cancel.cancel();
    let env = RunEnv { cancel, ..env };
    let err = wf.run(&env, &request("x")).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Cancelled);
}

#[test]
fn bad_workflows_are_refused_before_anything_runs() {
    let cases = [
        (
            "id = \"w\"\n[[stages]]\nid = \"a\"\ntype = \"paint\"\n",
            "type 'paint', which is not registered",
        ),
        (
            "id = \"w\"\n[[stages]]\nid = \"a\"\ntype = \"shout\"\n",
            "needs a script input",
        ),
        (
            "id = \"w\"\n[[stages]]\nid = \"a\"\ntype = \"write\"\ninputs = [\"b\"]\n",
            "reads from 'b', which is not a stage",
        ),
        (
            "id = \"w\"\n[[stages]]\nid = \"a\"\ntype = \"write\"\n[[stages]]\nid = \"a\"\ntype = \"write\"\n",
            "two stages are named 'a'",
        ),
        (
            "id = \"w\"\n[[stages]]\nid = \"a\"\ntype = \"write\"\n[[stages]]\nid = \"b\"\ntype = \"write\"\n",
            "ends in 2 stages (a, b)",
        ),
        (
            "id = \"w\"\n[[stages]]\nid = \"a\"\ntype = \"shout\"\ninputs = [\"b\"]\n[[stages]]\nid = \"b\"\ntype = \"shout\"\ninputs = [\"a\"]\n",
            "cycle",
        ),
        (
            "id = \"w\"\n[[stages]]\nid = \"a\"\ntype = \"write\"\ncolour = \"red\"\n",
            "unknown option 'colour'",
        ),
        (
            "id = \"w\"\n[[stages]]\nid = \"a\"\ntype = \"write\"\n[[stages]]\nid = \"b\"\ntype = \"shout\"\nsleep_ms = \"long\"\ninputs = [\"a\"]\n",
            "stage 'b': bad options",
        ),
        (
            "id = \"w w\"\n[[stages]]\nid = \"a\"\ntype = \"write\"\n",
            "not valid",
        ),
        ("id = \"w\"\nstages = []\n", "no stages"),
    ];
    for (text, expected) in cases {
        let err = build(text).unwrap_err();
        assert_eq!(err.kind, ErrorKind::BadInput);
        assert!(
            err.message.contains(expected),
            "{text}: {} (expected {expected})",
            err.message
        );
    }
    // A write feeding a write: the second takes no input of that kind.
    let err = build(
        "id = \"w\"\n[[stages]]\nid = \"a\"\ntype = \"write\"\n[[stages]]\nid = \"b\"\ntype = \"write\"\ninputs = [\"a\"]\n",
    )
    .unwrap_err();
    assert!(
        err.message.contains("cannot read from 'a'"),
        "{}",
        err.message
    );
    let err = WorkflowDef::from_toml("id = 3").unwrap_err();
    assert!(
        err.message.contains("workflow is not valid"),
        "{}",
        err.message
    );
}

#[test]
fn stages_run_in_the_written_order_when_free_to() {
    let wf = build(SHOUTED).unwrap();
    assert_eq!(
        wf.stage_names(),
        [&StageName::new("write"), &StageName::new("loud")]
    );
    assert_eq!(wf.percent(&StageName::new("loud"), 0.5), 62.5);
    assert_eq!(wf.output(None), Some(DataType::Script));
    assert_eq!(
        topological_order(&[vec![2], vec![], vec![1]]),
        Some(vec![1, 2, 0])
    );
    assert_eq!(topological_order(&[vec![1], vec![0]]), None);
}
