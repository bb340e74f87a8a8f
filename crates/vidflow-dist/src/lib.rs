//! Shared mode: vidflow over several machines, with Redis as the only thing they share.
//!
//! A job becomes tasks on one Redis stream (`<prefix>tasks`) that every `vidflow worker`
//! reads through one consumer group (`workers`): the early stages a task each (fetch,
//! extract, script, speak, storyboard), then the render split into time chunks (each a
//! closed-GOP segment), then one task that joins the segments without re-encoding and
//! muxes the narration. Each task's output goes to the shared cache under its content key
//! *before* the task is acknowledged, so a task delivered twice repeats work but can never
//! change the result. The worker that finishes a task queues the next ones; the server
//! only dispatches the first and follows the job's event stream (`<prefix>job:<id>:events`),
//! so any number of servers (and `vidflow make --remote`) can follow the same job.
//!
//! Liveness: a worker renews its claim on a running task (XCLAIM … JUSTID); every worker's
//! janitor takes over tasks idle longer than the lease (XAUTOCLAIM); a task that fails or
//! loses its worker `max_deliveries` times goes to the dead-letter stream (`<prefix>dead`)
//! with its last error, and its job fails with a message naming the stage and the error.
//! Workers publish heartbeats (keys with a TTL), which [`TaskQueue::status`] lists beside
//! the stream's length, pending count, consumer-group lag, oldest pending age and dead
//! letters.
//!
//! * [`TaskQueue`] — the Redis side: dispatch, tasks, events, plans, status.
//! * [`Worker`] — the worker loop, janitor and heartbeat.
//! * [`RemoteExecutor`] / [`make_remote`] — run a job on the workers and fetch its video.
//! * [`RedisJobStore`] — the job records every server sharing the Redis sees.
//!
//! ```no_run
//! use std::sync::Arc;
//! use std::sync::atomic::AtomicBool;
//! use vidflow_cache::TieredCache;
//! use vidflow_core::{Config, QueueConfig};
//! use vidflow_dist::{TaskQueue, make_remote};
//! use vidflow_stages::{CancelFlag, Engine, MakeRequest, Source};
//!
//! # async fn run(req: MakeRequest) -> Result<(), Box<dyn std::error::Error>> {
//! let mut config = Config::default();
//! config.queue.redis_url = Some("redis://127.0.0.1:6379/0".into());
//! config.cache.redis_url = config.queue.redis_url.clone();
//! let cache = TieredCache::from_config(&config.cache, "/tmp/vidflow-cache".as_ref())?;
//! let engine = Engine::new(config.clone(), Arc::new(cache))?;
//! let queue = TaskQueue::connect(&config.queue).await?;
//! // Workers (`vidflow worker --redis redis://127.0.0.1:6379/0`) do the work.
//! let report = make_remote(&queue, &engine, "job-1", None, &req, 10.0, &|_| {}, CancelFlag::default(),
//!     &AtomicBool::new(false)).await?;
//! println!("{:?}", report.output);
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

mod error;
mod exporter;
mod keys;
mod queue;
mod remote;
mod store;
mod task;
mod worker;

pub use error::DistError;
pub use exporter::{refresh_queue_gauges, serve_metrics};
pub use keys::{GROUP, QueueKeys};
pub use queue::{DeadLetter, Delivery, QueueFigures, QueueStatus, TaskQueue, WorkerInfo};
pub use remote::{RemoteExecutor, make_remote};
pub use store::RedisJobStore;
pub use task::{JobSpec, Next, QueueEvent, RemoteResult, Task, TaskKind};
pub use worker::{Worker, WorkerOptions};
