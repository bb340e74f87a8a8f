//! The worker's `/metrics` endpoint, and the queue gauges the server exports too.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::header;
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

/// Serves `GET /metrics` (and `GET /health/live`) on `listener` until the task is dropped
/// or aborted.
pub fn serve_metrics(
    listener: tokio::net::TcpListener,
    metrics: Arc<Metrics>,
    queue: TaskQueue,
) -> tokio::task::JoinHandle<()> {
    let app = Router::new()
        .route("/metrics", get(metrics_text))
        .route("/health/live", get(|| async { "ok" }))
        .with_state(Exporter { metrics, queue });
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::warn!("the metrics endpoint stopped: {e}");
        }
    })
}
