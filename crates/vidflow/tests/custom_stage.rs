//! A stage type of the test's own, registered beside the built-in ones, and a workflow
//! that uses it, run three ways: through the command line (`vidflow run FILE`, in this
//! process with the test's registry), through the HTTP API (`workflow_id`), and on a worker
//! taking tasks from a real Redis (shared mode). Also the real binary running a workflow
//! file made of built-in stages.

mod common;
/// The stage type of the `custom_workflow` example: a script in capitals.
#[path = "../../vidflow-stages/examples/custom_workflow/shout.rs"]
mod shout;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use vidflow_cache::TieredCache;
use vidflow_core::{Config, Registry, WorkflowDef};
use vidflow_dist::{TaskQueue, Worker, WorkerOptions};
use vidflow_metrics::Metrics;
use vidflow_redis_test::{TestRedis, unique_prefix};
use vidflow_server::Server;
use vidflow_stages::Engine;

/// The user's script, shouted, spoken.
const SHOUTED: &str = r#"
id = "shouted"
description = "Your script, in capitals, spoken"

[[stages]]
id = "script"
type = "script"

[[stages]]
id = "shout"
type = "shout"
inputs = ["script"]

[[stages]]
id = "speak"
type = "speak"
inputs = ["shout"]
"#;

const SCRIPT: &str = "Loud news\n\nThe tide comes in twice a day.\n\nCrabs hide under stones.";

fn registry() -> Registry {
    let mut registry = vidflow_stages::registry();
    registry.register("shout", shout::Shout::build);
    registry.add_workflow(WorkflowDef::from_toml(SHOUTED).unwrap());
    registry
}

fn assert_shouted(script: &serde_json::Value) {
    let narration = script["segments"][0]["narration"].as_str().unwrap();
    assert_eq!(narration, "THE TIDE COMES IN TWICE A DAY.", "{script}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registered_stage_runs_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let workflow = dir.path().join("shouted.toml");
    std::fs::write(&workflow, SHOUTED).unwrap();
    let script = dir.path().join("script.txt");
    std::fs::write(&script, SCRIPT).unwrap();
    let arg = |p: &std::path::Path| p.to_str().unwrap().to_owned();
    let cache = arg(&dir.path().join("cache"));

    // Stopped after the new stage: its output, as JSON.
    let shouted = dir.path().join("shouted.json");
    vidflow::run(
        [
            "vidflow",
            "run",
            &arg(&workflow),
            "--script",
            &arg(&script),
            "--stop-after",
            "shout",
            "--cache-dir",
            &cache,
            "-o",
            &arg(&shouted),
        ],
        registry(),
    )
    .await
    .unwrap();
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&shouted).unwrap()).unwrap();
    assert_shouted(&json);

    // The whole workflow: the built-in speak stage reads what the new stage made.
    let speech = dir.path().join("speech.json");
    vidflow::run(
        [
            "vidflow",
            "run",
            &arg(&workflow),
            "--script",
            &arg(&script),
            "--cache-dir",
            &cache,
            "-o",
            &arg(&speech),
        ],
        registry(),
    )
    .await
    .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&speech).unwrap()).unwrap();
    assert!(json["duration"].as_f64().unwrap() > 1.0, "{json}");
    assert!(dir.path().join("speech.wav").is_file());

    // Without the registration the same file is refused before anything runs.
    let err = vidflow::run(
        [
            "vidflow",
            "run",
            &arg(&workflow),
            "--script",
            &arg(&script),
            "--cache-dir",
            &cache,
            "-o",
            &arg(&dir.path().join("x.json")),
        ],
        vidflow_stages::registry(),
    )
    .await
    .unwrap_err();
    assert_eq!(vidflow::exit_code(&err), 2);
    assert!(
        err.to_string()
            .contains("type 'shout', which is not registered"),
        "{err}"
    );
}

/// A server on 127.0.0.1 with the test's registry; stopped when `stop` is sent.
async fn serve(config: Config) -> (String, tokio::sync::oneshot::Sender<()>) {
    let cache = vidflow_server::open_cache(&config).unwrap();
    let server = Server::start_with(config, cache, registry()).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(server.serve(listener, async {
        let _ = stopped.await;
    }));
    (base, stop)
}

/// Submits `body` and waits for the job to end; returns it.
async fn run_job(base: &str, body: serde_json::Value) -> serde_json::Value {
    let client = reqwest::Client::new();
    let resp = client
        .post(format!("{base}/v1/videos"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202, "{}", resp.text().await.unwrap());
    let accepted: serde_json::Value = resp.json().await.unwrap();
    let url = format!("{base}{}", accepted["status_url"].as_str().unwrap());
    for _ in 0..1200 {
        let job: serde_json::Value = client.get(&url).send().await.unwrap().json().await.unwrap();
        if ["succeeded", "failed", "cancelled"].contains(&job["state"].as_str().unwrap()) {
            return job;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("job {url} did not finish");
}

fn config(dir: &std::path::Path) -> Config {
    let mut cfg = Config::default();
    cfg.server.data_dir = Some(dir.join("data"));
    cfg.cache.dir = Some(dir.join("cache"));
    cfg.server.rate_limit_per_second = 0;
    cfg.server.shutdown_grace_seconds = 0;
    cfg.video.voice = "slt".into();
    cfg
}

fn stage_names(job: &serde_json::Value) -> Vec<&str> {
    job["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["stage"].as_str().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registered_stage_runs_through_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let (base, stop) = serve(config(dir.path())).await;

    let workflows: serde_json::Value = reqwest::get(format!("{base}/v1/workflows"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let shouted = workflows
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["id"] == "shouted")
        .expect("the registered workflow is listed");
    assert_eq!(
        shouted["stages"],
        serde_json::json!(["script", "shout", "speak"])
    );
    assert_eq!(shouted["output"], "speech");

    let job = run_job(
        &base,
        serde_json::json!({"script": SCRIPT, "workflow_id": "shouted", "options": {"stop_after": "shout"}}),
    )
    .await;
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(job["workflow_id"], "shouted");
    assert_shouted(&job["result"]["output"]);

    let job = run_job(
        &base,
        serde_json::json!({"script": SCRIPT, "workflow_id": "shouted"}),
    )
    .await;
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(stage_names(&job), ["script", "shout", "speak"]);
    // The first two came from the first job's run.
    assert_eq!(job["stages"][1]["cached"], true);
    assert_eq!(job["result"]["stage"], "speak");

    // A stage the workflow does not have is refused, naming the field.
    let resp = reqwest::Client::new()
        .post(format!("{base}/v1/videos"))
        .json(&serde_json::json!({"script": SCRIPT, "workflow_id": "shouted", "options": {"stop_after": "render"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(
        body["error"]["fields"][0]["field"], "options.stop_after",
        "{body}"
    );
    let _ = stop.send(());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registered_stage_runs_on_a_worker() {
    let redis = TestRedis::start().unwrap();
    let prefix = unique_prefix("custom-stage");
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(&dir.path().join("server"));
    cfg.queue.redis_url = Some(redis.url().to_owned());
    cfg.queue.prefix = format!("{prefix}q:");
    cfg.cache.redis_url = Some(redis.url().to_owned());
    cfg.cache.redis_prefix = format!("{prefix}c:");

    // The worker: its own disk cache, the shared Redis tier, the same registry.
    let mut worker_cfg = cfg.clone();
    worker_cfg.cache.dir = Some(dir.path().join("worker-cache"));
    let cache = Arc::new(
        TieredCache::from_config(&worker_cfg.cache, &dir.path().join("worker-cache")).unwrap(),
    );
    let engine = Arc::new(Engine::with_registry(worker_cfg.clone(), cache, registry()).unwrap());
    let queue = TaskQueue::connect(&worker_cfg.queue).await.unwrap();
    let worker = Arc::new(
        Worker::new(
            queue,
            engine,
            WorkerOptions::from_config(&worker_cfg.queue),
            Arc::new(Metrics::new().unwrap()),
        )
        .unwrap(),
    );
    let (stop_worker, worker_stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(worker.clone().run(async {
        let _ = worker_stopped.await;
    }));

    let (base, stop) = serve(cfg).await;
    let job = run_job(
        &base,
        serde_json::json!({"script": SCRIPT, "workflow_id": "shouted", "options": {"stop_after": "shout"}}),
    )
    .await;
    assert_eq!(job["state"], "succeeded", "{job}");
    // The worker ran the new stage (the server has no part in the work).
    assert!(stage_names(&job).contains(&"shout"), "{job}");
    assert_shouted(&job["result"]["output"]);

    let job = run_job(
        &base,
        serde_json::json!({"script": SCRIPT, "workflow_id": "shouted"}),
    )
    .await;
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(job["result"]["stage"], "speak");

    let _ = stop.send(());
    let _ = stop_worker.send(());
    running.await.unwrap().unwrap();
    drop(redis);
}

#[test]
fn the_binary_runs_a_workflow_file_of_built_in_stages() {
    let dir = tempfile::tempdir().unwrap();
    // The explainer's first two stages, under names of the file's own.
    std::fs::write(
        dir.path().join("read.toml"),
        r#"
id = "read"
[[stages]]
id = "page"
type = "fetch"
[[stages]]
id = "text"
type = "extract"
inputs = ["page"]
"#,
    )
    .unwrap();
    let page = sample_dir().join("index.html");
    let o = run_in(
        dir.path(),
        &[
            "run",
            "read.toml",
            "--input",
            page.to_str().unwrap(),
            "--no-cache",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let article: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(
        article["title"].as_str().unwrap().contains("Fractals"),
        "{article}"
    );

    // A file that does not hold together is refused, naming what is wrong.
    std::fs::write(
        dir.path().join("broken.toml"),
        "id = \"broken\"\n[[stages]]\nid = \"text\"\ntype = \"extract\"\n",
    )
    .unwrap();
    let o = run_in(
        dir.path(),
        &["run", "broken.toml", "--input", page.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("needs a page input"), "{}", stderr(&o));
}
