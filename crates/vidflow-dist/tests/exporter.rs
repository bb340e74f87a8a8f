//! The worker's metrics listener against a real `redis-server`: `/metrics` carries the queue
//! figures, `/health/live` answers, and `/health/ready` follows whether Redis answers.

use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use vidflow_core::QueueConfig;
use vidflow_dist::{TaskQueue, serve_metrics};
use vidflow_metrics::Metrics;
use vidflow_redis_test::{TestRedis, unique_prefix};

async fn get(port: u16, path: &str) -> (u16, String) {
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let head = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    s.write_all(head.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, text)
}

#[tokio::test]
async fn ready_follows_redis_and_metrics_carry_the_queue() {
    // Stops the server: always one of its own, even with an external Redis set.
    let mut redis = TestRedis::start_own().unwrap();
    let config = QueueConfig {
        redis_url: Some(redis.url().to_owned()),
        prefix: unique_prefix("exporter"),
        ..QueueConfig::default()
    };
    let queue = TaskQueue::connect(&config).await.unwrap();
    let metrics = Arc::new(Metrics::new().unwrap());
    metrics.watch_queue().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = serve_metrics(listener, metrics, queue);

    assert_eq!(get(port, "/health/live").await.0, 200);
    let (status, body) = get(port, "/health/ready").await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#""status":"ready""#), "{body}");
    let (status, body) = get(port, "/metrics").await;
    assert_eq!(status, 200);
    assert!(body.contains("vidflow_queue_lag 0"), "{body}");
    assert!(body.contains("vidflow_memory_limit_bytes "), "{body}");

    redis.stop().unwrap();
    let (status, body) = get(port, "/health/ready").await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("not_ready"), "{body}");
    // Still alive: liveness is about the process, not its dependencies.
    assert_eq!(get(port, "/health/live").await.0, 200);
    redis.start_again().unwrap();
    server.abort();
}
