//! The worker's `/metrics` endpoint and health checks, and the queue gauges the server
//! exports too.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use vidflow_metrics::Metrics;

use crate::queue::TaskQueue;

/// Sets `metrics`' queue gauges from the queue's figures now (a failed read leaves them).
pub async fn refresh_queue_gauges(metrics: &Metrics, queue: &TaskQueue) {
    match queue.status().await {
        Ok(status) => metrics.set_queue(&status.figures, status.workers.len()),
        Err(e) => tracing::warn!("cannot read the queue's figures for /metrics: {e}"),
    }
}

#[derive(Clone)]
struct Exporter {
    metrics: Arc<Metrics>,
    queue: TaskQueue,
}

async fn metrics_text(State(e): State<Exporter>) -> impl IntoResponse {
    refresh_queue_gauges(&e.metrics, &e.queue).await;
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        e.metrics.render(),
    )
}

/// How long `/health/ready` waits for Redis to answer: a probe must answer quickly even
/// when Redis hangs.
const READY_TIMEOUT: Duration = Duration::from_secs(2);

/// 200 when the queue's Redis answers a `PING`, 503 naming why not: a worker that cannot
/// reach Redis takes no tasks, so it should not count as ready.
async fn ready(State(e): State<Exporter>) -> impl IntoResponse {
    let (status, body) = match tokio::time::timeout(READY_TIMEOUT, e.queue.ping()).await {
        Ok(Ok(())) => (StatusCode::OK, serde_json::json!({"status": "ready"})),
        Ok(Err(err)) => (
            StatusCode::SERVICE_UNAVAILABLE,
            serde_json::json!({"status": "not_ready", "redis": err.to_string()}),
        ),
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            serde_json::json!({
                "status": "not_ready",
                "redis": format!("{} did not answer within {READY_TIMEOUT:?}", e.queue.server()),
            }),
        ),
    };
    (status, axum::Json(body))
}

/// Serves `GET /metrics`, `GET /health/live` (the process answers) and `GET /health/ready`
/// (it can reach the queue's Redis) on `listener` until the task is dropped or aborted.
pub fn serve_metrics(
    listener: tokio::net::TcpListener,
    metrics: Arc<Metrics>,
    queue: TaskQueue,
) -> tokio::task::JoinHandle<()> {
    let app = Router::new()
        .route("/metrics", get(metrics_text))
        .route("/health/live", get(|| async { "ok" }))
        .route("/health/ready", get(ready))
        .with_state(Exporter { metrics, queue });
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::warn!("the metrics endpoint stopped: {e}");
        }
    })
}
