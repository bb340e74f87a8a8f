//! The task queue: a Redis stream read by one consumer group, each job's event stream,
//! and the small records that tie a job's tasks together.

use std::time::Duration;

use redis::aio::ConnectionManager;
use redis::aio::ConnectionManagerConfig;
use redis::streams::{
    StreamAutoClaimReply, StreamId, StreamInfoGroupsReply, StreamPendingCountReply, StreamReadReply,
};
use redis::{Client, Script};
use serde::{Deserialize, Serialize};
use vidflow_core::QueueConfig;
use vidflow_core::config::mask_url_password;
use vidflow_core::{ChunkPlan, StageName};
pub use vidflow_metrics::QueueFigures;

use crate::error::DistError;
use crate::keys::{GROUP, QueueKeys};
use crate::task::{JobSpec, QueueEvent, RemoteResult, Task, TaskKind};

/// Events kept per job stream (a job posts a few per stage and one per chunk).
const EVENTS_KEPT: usize = 10_000;
/// Pending entries `status` looks at for the longest idle time.
const PENDING_SCANNED: usize = 100;
/// Entries the task stream keeps before trimming acknowledged history (approximate).
const TASKS_KEPT: usize = 100_000;

/// Stores the spec and queues the first task, once: a second dispatch of the same job
/// (a restarted server, a second server) changes nothing.
const DISPATCH: &str = r"
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[6], '*', 'job', ARGV[3], 'kind', ARGV[4], 'stage', ARGV[7], 'chunk', ARGV[5])
  return 1
end
return 0
";

/// Marks a chunk done; the call that completes the set queues the assembly, once.
const CHUNK_DONE: &str = r"
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[3])
if redis.call('SCARD', KEYS[1]) >= tonumber(ARGV[2]) and redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[3]) then
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[5], '*', 'job', ARGV[4], 'kind', 'assemble', 'stage', '', 'chunk', '0')
  return 1
end
return 0
";

/// Renews a claim only while the caller still owns the entry: XCLAIM alone would take a
/// task back from the worker that took it over.
const RENEW: &str = r"
local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1)
if p[1] == nil or p[1][2] ~= ARGV[2] then return 0 end
redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[3], 'JUSTID')
return 1
";

/// A task taken from the stream, with its entry id and how often it has been delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The stream entry id (what is acknowledged).
    pub id: String,
    /// The task, or why its fields could not be read.
    pub task: Result<Task, String>,
    /// Deliveries so far, this one included.
    pub deliveries: u64,
}

/// A live worker, from its heartbeat.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WorkerInfo {
    /// Consumer name (host, process id, random suffix).
    pub name: String,
    /// Host it runs on.
    pub host: String,
    /// Process id.
    pub pid: u32,
    /// Tasks it can run at once.
    pub concurrency: usize,
    /// What it is running now.
    pub tasks: Vec<String>,
    /// Tasks finished since it started.
    pub done: u64,
    /// Tasks that failed since it started.
    pub failed: u64,
    /// When it started, ms since the epoch.
    pub started_at_ms: u64,
    /// Its last heartbeat, ms since the epoch.
    pub seen_at_ms: u64,
}

/// The queue's state: figures and live workers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct QueueStatus {
    /// Stream figures.
    #[serde(flatten)]
    pub figures: QueueFigures,
    /// Workers whose heartbeat has not expired.
    pub workers: Vec<WorkerInfo>,
}

/// A connection to the queue. Cheap to clone; every clone shares one connection, which
/// reconnects by itself after Redis comes back.
#[derive(Clone)]
pub struct TaskQueue {
    client: Client,
    conn: ConnectionManager,
    keys: QueueKeys,
    server: String,
    ttl: u64,
}

impl std::fmt::Debug for TaskQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskQueue")
            .field("server", &self.server)
            .field("prefix", &self.keys.prefix())
            .finish()
    }
}

fn manager_config(response: Duration) -> ConnectionManagerConfig {
    ConnectionManagerConfig::new()
        .set_connection_timeout(Some(Duration::from_secs(3)))
        .set_response_timeout(Some(response))
        .set_number_of_retries(2)
        .set_max_delay(Duration::from_secs(2))
}

impl TaskQueue {
    /// Connects to the queue's Redis and makes sure the workers' group exists. Fails with
    /// [`DistError::Settings`] when `queue.redis_url` is unset or unusable and with
    /// [`DistError::Redis`] when Redis does not answer.
    pub async fn connect(config: &QueueConfig) -> Result<TaskQueue, DistError> {
        let url = config
            .redis_url
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .ok_or_else(|| DistError::Settings("queue.redis_url is not set".into()))?;
        let server = mask_url_password(url);
        if config.prefix.is_empty() {
            return Err(DistError::Settings("queue.prefix must not be empty".into()));
        }
        let client = vidflow_cache::redis_client(url, config.redis_ca_file.as_deref())
            .map_err(|e| DistError::Settings(format!("queue.redis_url '{server}': {e}")))?;
        let conn = ConnectionManager::new_with_config(
            client.clone(),
            manager_config(Duration::from_secs(10)),
        )
        .await
        .map_err(|source| DistError::Redis {
            server: server.clone(),
            op: "connect",
            source,
        })?;
        let queue = TaskQueue {
            client,
            conn,
            keys: QueueKeys::new(config.prefix.clone()),
            server,
            ttl: config.job_ttl_seconds.max(60),
        };
        queue.ensure_group().await?;
        Ok(queue)
    }

    /// Asks Redis for a `PONG`: fails when it cannot be reached (for readiness checks).
    pub async fn ping(&self) -> Result<(), DistError> {
        let _: String = self.run("ping", &redis::cmd("PING")).await?;
        Ok(())
    }

    /// The key names.
    pub fn keys(&self) -> &QueueKeys {
        &self.keys
    }

    /// The Redis URL with its password masked.
    pub fn server(&self) -> &str {
        &self.server
    }

    fn redis_error(&self, op: &'static str) -> impl FnOnce(redis::RedisError) -> DistError + '_ {
        move |source| DistError::Redis {
            server: self.server.clone(),
            op,
            source,
        }
    }

    pub(crate) async fn run<T: redis::FromRedisValue>(
        &self,
        op: &'static str,
        cmd: &redis::Cmd,
    ) -> Result<T, DistError> {
        let mut conn = self.conn.clone();
        cmd.query_async(&mut conn)
            .await
            .map_err(self.redis_error(op))
    }

    /// The shared connection, for calls this module does not wrap.
    pub(crate) fn connection(&self) -> ConnectionManager {
        self.conn.clone()
    }

    /// A connection of its own for blocking reads, which would hold up every other call on
    /// a shared one.
    pub async fn listener(&self) -> Result<TaskQueue, DistError> {
        let conn = ConnectionManager::new_with_config(
            self.client.clone(),
            manager_config(Duration::from_secs(15)),
        )
        .await
        .map_err(self.redis_error("connect"))?;
        Ok(TaskQueue {
            conn,
            ..self.clone()
        })
    }

    async fn ensure_group(&self) -> Result<(), DistError> {
        let created: Result<(), DistError> = self
            .run(
                "create the workers' group",
                redis::cmd("XGROUP")
                    .arg("CREATE")
                    .arg(self.keys.tasks())
                    .arg(GROUP)
                    .arg("0")
                    .arg("MKSTREAM"),
            )
            .await;
        match created {
            Err(DistError::Redis { source, .. }) if source.to_string().contains("BUSYGROUP") => {
                Ok(())
            }
            other => other,
        }
    }

    /// Stores `spec` for job `id` and queues its first task (`first`, a stage of the
    /// spec's workflow), unless the job was dispatched before; returns whether this call
    /// dispatched it.
    pub async fn dispatch(
        &self,
        id: &str,
        spec: &JobSpec,
        first: &StageName,
    ) -> Result<bool, DistError> {
        let json = serde_json::to_string(spec).map_err(|e| DistError::Malformed {
            what: "job spec",
            detail: e.to_string(),
        })?;
        let first = Task {
            job: id.to_owned(),
            kind: TaskKind::Stage(first.clone()),
        };
        let [_, (_, kind), (_, stage), (_, chunk)] = first.fields();
        let mut conn = self.conn.clone();
        let done: i64 = Script::new(DISPATCH)
            .key(self.keys.job(id, "spec"))
            .key(self.keys.tasks())
            .arg(json)
            .arg(self.ttl)
            .arg(id)
            .arg(kind)
            .arg(chunk)
            .arg(TASKS_KEPT)
            .arg(stage)
            .invoke_async(&mut conn)
            .await
            .map_err(self.redis_error("dispatch a job"))?;
        Ok(done == 1)
    }

    /// The spec of job `id`, if it was dispatched and has not expired.
    pub async fn spec(&self, id: &str) -> Result<Option<JobSpec>, DistError> {
        let raw: Option<String> = self
            .run(
                "read a job spec",
                redis::cmd("GET").arg(self.keys.job(id, "spec")),
            )
            .await?;
        raw.map(|r| {
            serde_json::from_str(&r).map_err(|e| DistError::Malformed {
                what: "job spec",
                detail: e.to_string(),
            })
        })
        .transpose()
    }

    /// Queues tasks.
    pub async fn enqueue(&self, tasks: &[Task]) -> Result<(), DistError> {
        let mut pipe = redis::pipe();
        for task in tasks {
            let cmd = pipe
                .cmd("XADD")
                .arg(self.keys.tasks())
                .arg("MAXLEN")
                .arg("~")
                .arg(TASKS_KEPT)
                .arg("*");
            for (k, v) in task.fields() {
                cmd.arg(k).arg(v);
            }
            cmd.ignore();
        }
        let mut conn = self.conn.clone();
        pipe.query_async::<()>(&mut conn)
            .await
            .map_err(self.redis_error("queue tasks"))
    }

    /// Appends an event to job `id`'s event stream.
    pub async fn post(&self, id: &str, event: &QueueEvent) -> Result<(), DistError> {
        let json = serde_json::to_string(event).map_err(|e| DistError::Malformed {
            what: "event",
            detail: e.to_string(),
        })?;
        let key = self.keys.job(id, "events");
        let mut pipe = redis::pipe();
        pipe.cmd("XADD")
            .arg(&key)
            .arg("MAXLEN")
            .arg("~")
            .arg(EVENTS_KEPT)
            .arg("*")
            .arg("event")
            .arg(json)
            .ignore()
            .cmd("EXPIRE")
            .arg(&key)
            .arg(self.ttl)
            .ignore();
        if let QueueEvent::Succeeded { result } = event {
            let json = serde_json::to_string(result).map_err(|e| DistError::Malformed {
                what: "result",
                detail: e.to_string(),
            })?;
            pipe.cmd("SET")
                .arg(self.keys.job(id, "result"))
                .arg(json)
                .arg("EX")
                .arg(self.ttl)
                .ignore();
        }
        let mut conn = self.conn.clone();
        pipe.query_async::<()>(&mut conn)
            .await
            .map_err(self.redis_error("post a job event"))
    }

    /// Events of job `id` after entry `after` (`0` for all), waiting up to `block` for the
    /// first. Call on a [`listener`](TaskQueue::listener).
    pub async fn events(
        &self,
        id: &str,
        after: &str,
        block: Duration,
    ) -> Result<Vec<(String, QueueEvent)>, DistError> {
        let reply: Option<StreamReadReply> = self
            .run(
                "read job events",
                redis::cmd("XREAD")
                    .arg("COUNT")
                    .arg(256)
                    .arg("BLOCK")
                    .arg(block.as_millis() as u64)
                    .arg("STREAMS")
                    .arg(self.keys.job(id, "events"))
                    .arg(after),
            )
            .await?;
        let mut out = Vec::new();
        for entry in reply.into_iter().flat_map(|r| r.keys).flat_map(|k| k.ids) {
            let raw: Option<String> = entry.get("event");
            let event = raw
                .as_deref()
                .map(serde_json::from_str::<QueueEvent>)
                .ok_or_else(|| DistError::Malformed {
                    what: "event",
                    detail: format!("entry {} has no event field", entry.id),
                })?
                .map_err(|e| DistError::Malformed {
                    what: "event",
                    detail: e.to_string(),
                })?;
            out.push((entry.id, event));
        }
        Ok(out)
    }

    /// The recorded result of job `id`, once it succeeded.
    pub async fn result(&self, id: &str) -> Result<Option<RemoteResult>, DistError> {
        let raw: Option<String> = self
            .run(
                "read a job result",
                redis::cmd("GET").arg(self.keys.job(id, "result")),
            )
            .await?;
        raw.map(|r| {
            serde_json::from_str(&r).map_err(|e| DistError::Malformed {
                what: "result",
                detail: e.to_string(),
            })
        })
        .transpose()
    }

    /// Asks every worker to drop job `id`'s tasks.
    pub async fn cancel(&self, id: &str) -> Result<(), DistError> {
        self.run(
            "cancel a job",
            redis::cmd("SET")
                .arg(self.keys.job(id, "cancel"))
                .arg("1")
                .arg("EX")
                .arg(self.ttl),
        )
        .await
    }

    /// Whether job `id` was cancelled.
    pub async fn is_cancelled(&self, id: &str) -> Result<bool, DistError> {
        self.run(
            "check a job's cancel",
            redis::cmd("EXISTS").arg(self.keys.job(id, "cancel")),
        )
        .await
    }

    /// Records job `id`'s chunk plan.
    pub async fn set_plan(&self, id: &str, plan: &ChunkPlan) -> Result<(), DistError> {
        let json = serde_json::to_string(plan).map_err(|e| DistError::Malformed {
            what: "chunk plan",
            detail: e.to_string(),
        })?;
        self.run(
            "store a chunk plan",
            redis::cmd("SET")
                .arg(self.keys.job(id, "plan"))
                .arg(json)
                .arg("EX")
                .arg(self.ttl),
        )
        .await
    }

    /// Job `id`'s chunk plan.
    pub async fn plan(&self, id: &str) -> Result<Option<ChunkPlan>, DistError> {
        let raw: Option<String> = self
            .run(
                "read a chunk plan",
                redis::cmd("GET").arg(self.keys.job(id, "plan")),
            )
            .await?;
        raw.map(|r| {
            serde_json::from_str(&r).map_err(|e| DistError::Malformed {
                what: "chunk plan",
                detail: e.to_string(),
            })
        })
        .transpose()
    }

    /// Marks chunk `index` of `chunks` done; returns true when this completed the set and
    /// queued the assembly.
    pub async fn chunk_done(&self, id: &str, index: u32, chunks: u32) -> Result<bool, DistError> {
        let mut conn = self.conn.clone();
        let queued: i64 = Script::new(CHUNK_DONE)
            .key(self.keys.job(id, "chunks"))
            .key(self.keys.job(id, "assembling"))
            .key(self.keys.tasks())
            .arg(index)
            .arg(chunks)
            .arg(self.ttl)
            .arg(id)
            .arg(TASKS_KEPT)
            .invoke_async(&mut conn)
            .await
            .map_err(self.redis_error("record a finished chunk"))?;
        Ok(queued == 1)
    }

    /// Waits up to `block` for a new task for `consumer`.
    pub async fn read(
        &self,
        consumer: &str,
        block: Duration,
    ) -> Result<Option<Delivery>, DistError> {
        let reply: Result<Option<StreamReadReply>, DistError> = self
            .run(
                "read a task",
                redis::cmd("XREADGROUP")
                    .arg("GROUP")
                    .arg(GROUP)
                    .arg(consumer)
                    .arg("COUNT")
                    .arg(1)
                    .arg("BLOCK")
                    .arg(block.as_millis() as u64)
                    .arg("STREAMS")
                    .arg(self.keys.tasks())
                    .arg(">"),
            )
            .await;
        let reply = match reply {
            Err(DistError::Redis { source, .. }) if source.to_string().contains("NOGROUP") => {
                // The stream was deleted under us (FLUSHDB): make the group again.
                self.ensure_group().await?;
                return Ok(None);
            }
            other => other?,
        };
        Ok(reply
            .into_iter()
            .flat_map(|r| r.keys)
            .flat_map(|k| k.ids)
            .next()
            .map(|entry| delivery(entry, 1)))
    }

    /// Takes over one task that no worker has renewed for `lease` (a dead or stuck
    /// worker's), with its delivery count after this claim.
    pub async fn reclaim(
        &self,
        consumer: &str,
        lease: Duration,
    ) -> Result<Option<Delivery>, DistError> {
        // One XAUTOCLAIM call looks at no more than COUNT × 10 pending entries, so follow
        // its cursor: an abandoned task may sit behind many live, renewed ones.
        let mut start = "0-0".to_owned();
        let entry = loop {
            let reply: StreamAutoClaimReply = self
                .run(
                    "reclaim a task",
                    redis::cmd("XAUTOCLAIM")
                        .arg(self.keys.tasks())
                        .arg(GROUP)
                        .arg(consumer)
                        .arg(lease.as_millis() as u64)
                        .arg(&start)
                        .arg("COUNT")
                        .arg(1),
                )
                .await?;
            if let Some(entry) = reply.claimed.into_iter().next() {
                break entry;
            }
            if reply.next_stream_id.is_empty() || reply.next_stream_id == "0-0" {
                return Ok(None);
            }
            start = reply.next_stream_id;
        };
        let pending: StreamPendingCountReply = self
            .run(
                "read a task's deliveries",
                redis::cmd("XPENDING")
                    .arg(self.keys.tasks())
                    .arg(GROUP)
                    .arg(&entry.id)
                    .arg(&entry.id)
                    .arg(1),
            )
            .await?;
        let deliveries = pending
            .ids
            .first()
            .map(|p| p.times_delivered as u64)
            .unwrap_or(1);
        Ok(Some(delivery(entry, deliveries)))
    }

    /// Renews `consumer`'s claim on entry `id` (resets its idle time without counting a
    /// delivery), so the janitors leave a long task alone. Returns false when the entry is
    /// no longer this consumer's (a janitor took it over, or it was acknowledged): the
    /// caller should stop working on it.
    pub async fn renew(&self, consumer: &str, id: &str) -> Result<bool, DistError> {
        let mut conn = self.conn.clone();
        let owned: i64 = Script::new(RENEW)
            .key(self.keys.tasks())
            .arg(GROUP)
            .arg(consumer)
            .arg(id)
            .invoke_async(&mut conn)
            .await
            .map_err(self.redis_error("renew a task's claim"))?;
        Ok(owned == 1)
    }

    /// Acknowledges entry `id`: the task is done (or dropped) for good.
    pub async fn ack(&self, id: &str) -> Result<(), DistError> {
        let _: u64 = self
            .run(
                "acknowledge a task",
                redis::cmd("XACK").arg(self.keys.tasks()).arg(GROUP).arg(id),
            )
            .await?;
        Ok(())
    }

    /// Records why a delivery of entry `id` failed, for the dead letter if it comes to that.
    pub async fn record_error(&self, job: &str, id: &str, error: &str) -> Result<(), DistError> {
        let key = self.keys.job(job, "errors");
        let mut pipe = redis::pipe();
        pipe.cmd("HSET").arg(&key).arg(id).arg(error).ignore();
        pipe.cmd("EXPIRE").arg(&key).arg(self.ttl).ignore();
        let mut conn = self.conn.clone();
        pipe.query_async::<()>(&mut conn)
            .await
            .map_err(self.redis_error("record a task error"))
    }

    /// The last recorded error of entry `id`.
    pub async fn last_error(&self, job: &str, id: &str) -> Result<Option<String>, DistError> {
        self.run(
            "read a task error",
            redis::cmd("HGET").arg(self.keys.job(job, "errors")).arg(id),
        )
        .await
    }

    /// Moves entry `id` to the dead-letter stream with its last error and acknowledges it.
    pub async fn dead_letter(
        &self,
        id: &str,
        task: &Task,
        deliveries: u64,
        error: &str,
    ) -> Result<(), DistError> {
        self.bury(id, &task.fields(), deliveries, error).await
    }

    /// Moves an entry whose fields are not a task (another program's, or a newer
    /// vidflow's) to the dead letters, as kind `unreadable`, and acknowledges it.
    pub async fn dead_letter_unreadable(
        &self,
        id: &str,
        deliveries: u64,
        why: &str,
    ) -> Result<(), DistError> {
        let fields = [("job", String::new()), ("kind", "unreadable".to_owned())];
        self.bury(id, &fields, deliveries, why).await
    }

    async fn bury(
        &self,
        id: &str,
        fields: &[(&'static str, String)],
        deliveries: u64,
        error: &str,
    ) -> Result<(), DistError> {
        let mut pipe = redis::pipe();
        pipe.atomic();
        let cmd = pipe
            .cmd("XADD")
            .arg(self.keys.dead())
            .arg("MAXLEN")
            .arg("~")
            .arg(TASKS_KEPT)
            .arg("*")
            .arg("entry")
            .arg(id);
        for (k, v) in fields {
            cmd.arg(*k).arg(v);
        }
        cmd.arg("deliveries")
            .arg(deliveries)
            .arg("error")
            .arg(error)
            .ignore();
        pipe.cmd("XACK")
            .arg(self.keys.tasks())
            .arg(GROUP)
            .arg(id)
            .ignore();
        let mut conn = self.conn.clone();
        pipe.query_async::<()>(&mut conn)
            .await
            .map_err(self.redis_error("move a task to the dead letters"))
    }

    /// Dead letters, oldest first: (entry, task fields, deliveries, error).
    pub async fn dead_letters(&self, count: usize) -> Result<Vec<DeadLetter>, DistError> {
        let reply: redis::streams::StreamRangeReply = self
            .run(
                "read the dead letters",
                redis::cmd("XRANGE")
                    .arg(self.keys.dead())
                    .arg("-")
                    .arg("+")
                    .arg("COUNT")
                    .arg(count),
            )
            .await?;
        Ok(reply
            .ids
            .into_iter()
            .map(|e| DeadLetter {
                job: e.get("job").unwrap_or_default(),
                task: {
                    let kind: String = e.get("kind").unwrap_or_default();
                    match kind.as_str() {
                        "chunk" => {
                            format!("chunk {}", e.get::<String>("chunk").unwrap_or_default())
                        }
                        "stage" => e.get("stage").unwrap_or_default(),
                        _ => kind,
                    }
                },
                deliveries: e.get("deliveries").unwrap_or_default(),
                error: e.get("error").unwrap_or_default(),
            })
            .collect())
    }

    /// The queue's figures and live workers.
    pub async fn status(&self) -> Result<QueueStatus, DistError> {
        let tasks = self.keys.tasks();
        let mut pipe = redis::pipe();
        pipe.cmd("XLEN").arg(&tasks);
        pipe.cmd("XINFO").arg("GROUPS").arg(&tasks);
        // The longest-idle of the first pending entries: a renewed long task at the front
        // must not hide an abandoned one behind it.
        pipe.cmd("XPENDING")
            .arg(&tasks)
            .arg(GROUP)
            .arg("-")
            .arg("+")
            .arg(PENDING_SCANNED);
        pipe.cmd("XLEN").arg(self.keys.dead());
        let mut conn = self.conn.clone();
        let (stream_length, groups, oldest, dead_letters): (
            u64,
            StreamInfoGroupsReply,
            StreamPendingCountReply,
            u64,
        ) = pipe
            .query_async(&mut conn)
            .await
            .map_err(self.redis_error("read the queue's figures"))?;
        let group = groups.groups.iter().find(|g| g.name == GROUP);
        let figures = QueueFigures {
            stream_length,
            pending: group.map(|g| g.pending as u64).unwrap_or(0),
            lag: group.and_then(|g| g.lag).unwrap_or(0) as u64,
            oldest_pending_seconds: oldest
                .ids
                .iter()
                .map(|p| p.last_delivered_ms)
                .max()
                .map_or(0.0, |ms| ms as f64 / 1000.0),
            dead_letters,
        };
        Ok(QueueStatus {
            figures,
            workers: self.workers().await?,
        })
    }

    /// Workers whose heartbeat is live; forgets those whose heartbeat expired.
    pub async fn workers(&self) -> Result<Vec<WorkerInfo>, DistError> {
        let names: Vec<String> = self
            .run(
                "list workers",
                redis::cmd("ZRANGE").arg(self.keys.workers()).arg(0).arg(-1),
            )
            .await?;
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let mut get = redis::cmd("MGET");
        for n in &names {
            get.arg(self.keys.worker(n));
        }
        let beats: Vec<Option<String>> = self.run("read worker heartbeats", &get).await?;
        let mut live = Vec::new();
        let mut gone = Vec::new();
        for (name, beat) in names.into_iter().zip(beats) {
            match beat.and_then(|b| serde_json::from_str::<WorkerInfo>(&b).ok()) {
                Some(info) => live.push(info),
                None => gone.push(name),
            }
        }
        if !gone.is_empty() {
            let _: u64 = self
                .run(
                    "forget stopped workers",
                    redis::cmd("ZREM").arg(self.keys.workers()).arg(&gone),
                )
                .await?;
        }
        Ok(live)
    }

    /// Publishes a worker's heartbeat, valid for `ttl`.
    pub async fn heartbeat(&self, info: &WorkerInfo, ttl: Duration) -> Result<(), DistError> {
        let json = serde_json::to_string(info).map_err(|e| DistError::Malformed {
            what: "heartbeat",
            detail: e.to_string(),
        })?;
        let mut pipe = redis::pipe();
        pipe.cmd("SET")
            .arg(self.keys.worker(&info.name))
            .arg(json)
            .arg("PX")
            .arg(ttl.as_millis() as u64)
            .ignore();
        pipe.cmd("ZADD")
            .arg(self.keys.workers())
            .arg(info.seen_at_ms)
            .arg(&info.name)
            .ignore();
        let mut conn = self.conn.clone();
        pipe.query_async::<()>(&mut conn)
            .await
            .map_err(self.redis_error("publish a heartbeat"))
    }

    /// Removes a worker's heartbeat (it is stopping).
    pub async fn forget_worker(&self, name: &str) -> Result<(), DistError> {
        let mut pipe = redis::pipe();
        pipe.cmd("DEL").arg(self.keys.worker(name)).ignore();
        pipe.cmd("ZREM").arg(self.keys.workers()).arg(name).ignore();
        let mut conn = self.conn.clone();
        pipe.query_async::<()>(&mut conn)
            .await
            .map_err(self.redis_error("remove a heartbeat"))
    }
}

/// A task that failed every delivery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadLetter {
    /// Its job.
    pub job: String,
    /// Which task (`fetch`, `chunk 3`, ...).
    pub task: String,
    /// Deliveries it had.
    pub deliveries: u64,
    /// Its last error.
    pub error: String,
}

fn delivery(entry: StreamId, deliveries: u64) -> Delivery {
    Delivery {
        task: Task::from_fields(&entry.map).map_err(|e| e.to_string()),
        id: entry.id,
        deliveries,
    }
}
