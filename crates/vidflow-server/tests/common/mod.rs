//! A real server on 127.0.0.1 for the API tests, stopped by the test.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::sync::oneshot;
use vidflow_core::Config;
use vidflow_server::Server;

/// A running server and a client for it.
pub struct TestService {
    pub base: String,
    pub client: reqwest::Client,
    pub dir: tempfile::TempDir,
    stop: Option<oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<Result<(), vidflow_server::ServerError>>>,
}

/// The bundled sample article.
pub fn sample_html() -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/sample-page/index.html"),
    )
    .expect("sample page")
}

/// Test defaults: own data and cache folders, no rate limit, quick encodes.
pub fn test_config(dir: &Path) -> Config {
    let mut cfg = Config::default();
    cfg.server.data_dir = Some(dir.join("data"));
    cfg.cache.dir = Some(dir.join("cache"));
    cfg.server.rate_limit_per_second = 0;
    cfg.server.shutdown_grace_seconds = 0;
    cfg.video.preset = "ultrafast".into();
    cfg.video.max_seconds = 4.0;
    // Fast, byte-stable speech: `auto` would pick a neural voice where one is installed.
    cfg.video.voice = "slt".into();
    cfg
}

impl TestService {
    /// Starts a server with the test defaults changed by `adjust`.
    pub async fn start(adjust: impl FnOnce(&mut Config)) -> TestService {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = test_config(dir.path());
        adjust(&mut cfg);
        Self::start_in(dir, cfg).await
    }

    /// Starts a server with `cfg` as given (its folders are the caller's to keep).
    pub async fn start_with_config(cfg: Config) -> TestService {
        Self::start_in(tempfile::tempdir().unwrap(), cfg).await
    }

    async fn start_in(dir: tempfile::TempDir, cfg: Config) -> TestService {
        let server = Server::start(cfg).await.expect("server starts");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = oneshot::channel::<()>();
        let handle = tokio::spawn(server.serve(listener, async {
            let _ = rx.await;
        }));
        TestService {
            base,
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(120))
                .build()
                .unwrap(),
            dir,
            stop: Some(tx),
            handle: Some(handle),
        }
    }

    /// `base + path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The data folder.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// POSTs JSON to /v1/videos.
    pub async fn submit(&self, body: &serde_json::Value) -> reqwest::Response {
        self.client
            .post(self.url("/v1/videos"))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// Submits and returns the job id (expects 202).
    pub async fn submit_ok(&self, body: &serde_json::Value) -> String {
        let resp = self.submit(body).await;
        let status = resp.status();
        let v: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(status, 202, "{v}");
        v["job_id"].as_str().unwrap().to_owned()
    }

    /// GET as JSON.
    pub async fn get_json(&self, path: &str) -> (u16, serde_json::Value) {
        let resp = self.client.get(self.url(path)).send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap())
    }

    /// Polls the job until `done(job)` holds.
    pub async fn wait_for(
        &self,
        id: &str,
        what: &str,
        done: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        for _ in 0..1200 {
            let (status, job) = self.get_json(&format!("/v1/jobs/{id}")).await;
            assert_eq!(status, 200, "{job}");
            if done(&job) {
                return job;
            }
            assert!(
                !(job["state"] == "failed"),
                "job failed while waiting for {what}: {job}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("job {id}: timed out waiting for {what}");
    }

    /// Stops the server and waits for it.
    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.handle.take() {
            h.await.unwrap().unwrap();
        }
    }
}

/// The error body's code, asserting the uniform shape.
pub fn error_code(body: &serde_json::Value) -> String {
    let e = &body["error"];
    assert!(e["message"].is_string(), "no message: {body}");
    assert!(e["fields"].is_array(), "no fields: {body}");
    e["code"].as_str().expect("error.code").to_owned()
}
