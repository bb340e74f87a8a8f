//! Jobs kept in Redis, so that every server sharing it sees every job.

use redis::Script;
use vidflow_core::BoxFuture;
use vidflow_jobs::{Created, Job, JobPage, JobQuery, JobStore, MAX_PAGE, StoreError};

use crate::error::DistError;
use crate::queue::TaskQueue;

/// Stores a new job unless its idempotency key is taken; returns the holder's id when it is.
const CREATE: &str = r"
if ARGV[3] ~= '' then
  local holder = redis.call('GET', KEYS[4])
  if holder then return holder end
  redis.call('SET', KEYS[4], ARGV[1])
end
local seq = redis.call('INCR', KEYS[3])
redis.call('SET', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[2], seq, ARGV[1])
if ARGV[4] == '1' then redis.call('SADD', KEYS[5], ARGV[1]) end
return ''
";

/// Forgets a job: its record, its place in the index and the unfinished set, and its
/// idempotency key while that still names it. Returns 1 when there was a record.
const DELETE: &str = r"
local existed = redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('SREM', KEYS[3], ARGV[1])
if redis.call('GET', KEYS[4]) == ARGV[1] then redis.call('DEL', KEYS[4]) end
return existed
";

/// Job ids read per round trip while listing with a state filter.
const LIST_BATCH: usize = 256;

/// Jobs in Redis: a record per job, an index by creation order, the set of unfinished
/// jobs and the idempotency keys, under the queue's prefix.
#[derive(Debug, Clone)]
pub struct RedisJobStore {
    queue: TaskQueue,
}

impl RedisJobStore {
    /// A store on the queue's Redis.
    pub fn new(queue: TaskQueue) -> RedisJobStore {
        RedisJobStore { queue }
    }

    fn encode(job: &Job) -> Result<String, StoreError> {
        serde_json::to_string(job).map_err(|e| StoreError::Encode(e.to_string()))
    }

    fn decode(raw: &str) -> Result<Job, StoreError> {
        Job::from_record(raw).map_err(|e| StoreError::Shared(format!("unreadable job record: {e}")))
    }

    async fn records(&self, ids: &[String]) -> Result<Vec<Job>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut get = redis::cmd("MGET");
        for id in ids {
            get.arg(self.queue.keys().job_record(id));
        }
        let raw: Vec<Option<String>> = self
            .queue
            .run("read job records", &get)
            .await
            .map_err(shared)?;
        raw.iter().flatten().map(|r| Self::decode(r)).collect()
    }
}

fn shared(e: DistError) -> StoreError {
    StoreError::Shared(e.to_string())
}

impl RedisJobStore {
    async fn create_job(&self, job: &Job) -> Result<Created, StoreError> {
        let keys = self.queue.keys();
        let record = Self::encode(job)?;
        let mut conn = self.queue.connection();
        let holder: String = Script::new(CREATE)
            .key(keys.job_record(&job.id))
            .key(keys.job_index())
            .key(keys.job_seq())
            .key(keys.idempotency(job.idempotency_key.as_deref().unwrap_or("-")))
            .key(keys.jobs_unfinished())
            .arg(&job.id)
            .arg(record)
            .arg(job.idempotency_key.as_deref().unwrap_or(""))
            .arg(if job.state.is_finished() { "0" } else { "1" })
            .invoke_async(&mut conn)
            .await
            .map_err(|e| StoreError::Shared(format!("cannot store job {}: {e}", job.id)))?;
        if holder.is_empty() {
            return Ok(Created::New);
        }
        match self.get_job(&holder).await? {
            Some(existing) => Ok(Created::Existing(Box::new(existing))),
            None => Err(StoreError::Shared(format!(
                "idempotency key held by job {holder}, which has no record"
            ))),
        }
    }

    async fn get_job(&self, id: &str) -> Result<Option<Job>, StoreError> {
        let raw: Option<String> = self
            .queue
            .run(
                "read a job record",
                redis::cmd("GET").arg(self.queue.keys().job_record(id)),
            )
            .await
            .map_err(shared)?;
        raw.as_deref().map(Self::decode).transpose()
    }

    async fn job_by_key(&self, key: &str) -> Result<Option<Job>, StoreError> {
        let holder: Option<String> = self
            .queue
            .run(
                "read an idempotency key",
                redis::cmd("GET").arg(self.queue.keys().idempotency(key)),
            )
            .await
            .map_err(shared)?;
        match holder {
            Some(id) => self.get_job(&id).await,
            None => Ok(None),
        }
    }

    async fn save_job(&self, job: &Job) -> Result<(), StoreError> {
        let keys = self.queue.keys();
        let exists: bool = self
            .queue
            .run(
                "check a job record",
                redis::cmd("EXISTS").arg(keys.job_record(&job.id)),
            )
            .await
            .map_err(shared)?;
        if !exists {
            return Err(StoreError::Missing(job.id.clone()));
        }
        let mut pipe = redis::pipe();
        pipe.cmd("SET")
            .arg(keys.job_record(&job.id))
            .arg(Self::encode(job)?)
            .ignore();
        if job.state.is_finished() {
            pipe.cmd("SREM")
                .arg(keys.jobs_unfinished())
                .arg(&job.id)
                .ignore();
        } else {
            pipe.cmd("SADD")
                .arg(keys.jobs_unfinished())
                .arg(&job.id)
                .ignore();
        }
        let mut conn = self.queue.connection();
        pipe.query_async::<()>(&mut conn)
            .await
            .map_err(|e| StoreError::Shared(format!("cannot save job {}: {e}", job.id)))
    }

    async fn list_jobs(&self, query: &JobQuery) -> Result<JobPage, StoreError> {
        let limit = query.limit.clamp(1, MAX_PAGE);
        // The cursor is the creation number of the last job of the previous page.
        let mut below = match &query.cursor {
            Some(c) => c
                .parse::<u64>()
                .map_err(|_| StoreError::BadCursor(c.clone()))?
                .to_string(),
            None => "+inf".to_owned(),
        };
        let filtered = query.state.is_some() || query.owner.is_some();
        let mut jobs = Vec::new();
        loop {
            let max = if below == "+inf" {
                below.clone()
            } else {
                format!("({below}")
            };
            let batch: Vec<(String, f64)> = self
                .queue
                .run(
                    "list jobs",
                    redis::cmd("ZREVRANGEBYSCORE")
                        .arg(self.queue.keys().job_index())
                        .arg(max)
                        .arg("-inf")
                        .arg("WITHSCORES")
                        .arg("LIMIT")
                        .arg(0)
                        .arg(if filtered { LIST_BATCH } else { limit + 1 }),
                )
                .await
                .map_err(shared)?;
            let exhausted = batch.len() < if filtered { LIST_BATCH } else { limit + 1 };
            let ids: Vec<String> = batch.iter().map(|(id, _)| id.clone()).collect();
            let records = self.records(&ids).await?;
            for (job, (_, score)) in records.into_iter().zip(batch.iter()) {
                if query.state.is_none_or(|s| s == job.state)
                    && query
                        .owner
                        .as_ref()
                        .is_none_or(|o| job.owner.as_ref() == Some(o))
                {
                    if jobs.len() == limit {
                        let cursor = jobs
                            .last()
                            .map(|(_, s): &(Job, f64)| (*s as u64).to_string());
                        return Ok(JobPage {
                            jobs: jobs.into_iter().map(|(j, _)| j).collect(),
                            next_cursor: cursor,
                        });
                    }
                    jobs.push((job, *score));
                }
                below = (*score as u64).to_string();
            }
            if exhausted || batch.is_empty() {
                return Ok(JobPage {
                    jobs: jobs.into_iter().map(|(j, _)| j).collect(),
                    next_cursor: None,
                });
            }
        }
    }

    async fn unfinished_jobs(&self) -> Result<Vec<Job>, StoreError> {
        let mut ids: Vec<String> = self
            .queue
            .run(
                "list unfinished jobs",
                redis::cmd("SMEMBERS").arg(self.queue.keys().jobs_unfinished()),
            )
            .await
            .map_err(shared)?;
        // SMEMBERS has no order: put the ids in creation order, so that jobs accepted in the
        // same millisecond still come oldest first (the sort below is stable).
        if !ids.is_empty() {
            let seqs: Vec<Option<f64>> = self
                .queue
                .run(
                    "order unfinished jobs",
                    redis::cmd("ZMSCORE")
                        .arg(self.queue.keys().job_index())
                        .arg(&ids),
                )
                .await
                .map_err(shared)?;
            let mut order: Vec<(String, f64)> = ids
                .into_iter()
                .zip(seqs)
                .map(|(id, seq)| (id, seq.unwrap_or(f64::MAX)))
                .collect();
            order.sort_by(|a, b| a.1.total_cmp(&b.1));
            ids = order.into_iter().map(|(id, _)| id).collect();
        }
        let mut jobs: Vec<Job> = self
            .records(&ids)
            .await?
            .into_iter()
            .filter(|j| !j.state.is_finished())
            .collect();
        jobs.sort_by_key(|j| j.created_at_ms);
        Ok(jobs)
    }
}

impl JobStore for RedisJobStore {
    fn create<'a>(&'a self, job: &'a Job) -> BoxFuture<'a, Result<Created, StoreError>> {
        Box::pin(self.create_job(job))
    }

    fn get<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<Job>, StoreError>> {
        Box::pin(self.get_job(id))
    }

    fn by_idempotency_key<'a>(
        &'a self,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Option<Job>, StoreError>> {
        Box::pin(self.job_by_key(key))
    }

    fn save<'a>(&'a self, job: &'a Job) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(self.save_job(job))
    }

    fn list<'a>(&'a self, query: &'a JobQuery) -> BoxFuture<'a, Result<JobPage, StoreError>> {
        Box::pin(self.list_jobs(query))
    }

    fn unfinished(&self) -> BoxFuture<'_, Result<Vec<Job>, StoreError>> {
        Box::pin(self.unfinished_jobs())
    }

    fn delete<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let keys = self.queue.keys();
            let Some(job) = self.get_job(id).await? else {
                return Ok(false);
            };
            let mut conn = self.queue.connection();
            let existed: i64 = Script::new(DELETE)
                .key(keys.job_record(id))
                .key(keys.job_index())
                .key(keys.jobs_unfinished())
                .key(keys.idempotency(job.idempotency_key.as_deref().unwrap_or("-")))
                .arg(id)
                .invoke_async(&mut conn)
                .await
                .map_err(|e| StoreError::Shared(format!("cannot delete job {id}: {e}")))?;
            Ok(existed > 0)
        })
    }
}
