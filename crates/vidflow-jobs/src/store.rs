//! Where jobs are kept: the [`JobStore`] trait and its SQLite implementation.

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use rusqlite::{Connection, OptionalExtension, params};
use vidflow_core::BoxFuture;

use crate::error::StoreError;
use crate::job::{Job, JobState};

/// The result of [`JobStore::create`].
#[derive(Debug, Clone, PartialEq)]
pub enum Created {
    /// The job was stored.
    New,
    /// A job with the same idempotency key was already there; it is returned and nothing
    /// was stored.
    Existing(Box<Job>),
}

/// Which jobs [`JobStore::list`] returns.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobQuery {
    /// Only jobs in this state.
    pub state: Option<JobState>,
    /// At most this many (the store may cap it).
    pub limit: usize,
    /// Continue after this cursor (from a previous [`JobPage::next_cursor`]).
    pub cursor: Option<String>,
    /// Only jobs whose [`Job::owner`] is this key id (`None`: every job).
    pub owner: Option<String>,
}

/// One page of jobs, newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct JobPage {
    /// The jobs.
    pub jobs: Vec<Job>,
    /// Pass as [`JobQuery::cursor`] for the next page; `None` on the last page.
    pub next_cursor: Option<String>,
}

/// Keeps job records. Small on purpose: a shared (Redis) store implements the same seven
/// calls, and the runner needs nothing else.
pub trait JobStore: Send + Sync + 'static {
    /// Stores a new job, unless its idempotency key is taken, in which case the job that
    /// holds it is returned. Atomic: two concurrent creates with one key store one job.
    fn create<'a>(&'a self, job: &'a Job) -> BoxFuture<'a, Result<Created, StoreError>>;

    /// The job with this id.
    fn get<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<Job>, StoreError>>;

    /// The job holding this idempotency key.
    fn by_idempotency_key<'a>(
        &'a self,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Option<Job>, StoreError>>;

    /// Replaces a stored job's record.
    fn save<'a>(&'a self, job: &'a Job) -> BoxFuture<'a, Result<(), StoreError>>;

    /// Jobs newest first, filtered and paged.
    fn list<'a>(&'a self, query: &'a JobQuery) -> BoxFuture<'a, Result<JobPage, StoreError>>;

    /// Jobs left queued or running (by a stop or a crash), oldest first: what a restart
    /// runs again.
    fn unfinished(&self) -> BoxFuture<'_, Result<Vec<Job>, StoreError>>;

    /// Forgets a job: its record, its place in the list and its idempotency key. False
    /// when there was no such job.
    fn delete<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<bool, StoreError>>;
}

/// Most jobs one [`JobStore::list`] call returns.
pub const MAX_PAGE: usize = 200;

/// Readers kept open beside the writer; WAL lets them read while it writes.
const READERS: usize = 4;

/// Jobs in one SQLite file (WAL), a row per job with its record as JSON.
///
/// Calls run on the caller's thread: each is one indexed statement on a local file
/// (microseconds), cheaper than a hop to a blocking pool.
pub struct SqliteJobStore {
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
}

impl std::fmt::Debug for SqliteJobStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteJobStore").finish_non_exhaustive()
    }
}

impl SqliteJobStore {
    /// Opens (creating if needed) the store at `path`.
    pub fn open(path: &Path) -> Result<SqliteJobStore, StoreError> {
        let writer = connect(path)?;
        writer
            .execute_batch(
                "CREATE TABLE IF NOT EXISTS jobs (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    id TEXT NOT NULL UNIQUE,
                    state TEXT NOT NULL,
                    idempotency_key TEXT UNIQUE,
                    record TEXT NOT NULL
                );
                CREATE INDEX IF NOT EXISTS jobs_by_state ON jobs(state, seq);",
            )
            .map_err(|e| StoreError::open(path, e))?;
        migrate(&writer).map_err(|e| StoreError::open(path, e))?;
        let readers = (0..READERS)
            .map(|_| connect(path).map(Mutex::new))
            .collect::<Result<_, _>>()?;
        Ok(SqliteJobStore {
            writer: Mutex::new(writer),
            readers,
            next_reader: AtomicUsize::new(0),
        })
    }

    fn read<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T, StoreError> {
        let start = self.next_reader.fetch_add(1, Ordering::Relaxed);
        // Take the first idle reader; if all are busy, wait for the one in turn.
        for i in 0..self.readers.len() {
            if let Ok(conn) = self.readers[(start + i) % self.readers.len()].try_lock() {
                return f(&conn).map_err(StoreError::from);
            }
        }
        let conn = self.readers[start % self.readers.len()]
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        f(&conn).map_err(StoreError::from)
    }

    fn write<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut conn)
    }
}

fn connect(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path).map_err(|e| StoreError::open(path, e))?;
    // WAL: readers never block the writer; NORMAL sync is durable across process crashes
    // (only a power loss can drop the last commits).
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = NORMAL;
         PRAGMA busy_timeout = 5000;",
    )
    .map_err(|e| StoreError::open(path, e))?;
    Ok(conn)
}

/// Brings a file written by an older vidflow up to date: the idempotency key's column
/// was called `workflow_id` before workflows had ids of their own. (Its records are read
/// by [`Job::from_record`].)
fn migrate(conn: &Connection) -> rusqlite::Result<()> {
    let old: bool = conn.query_row(
        "SELECT COUNT(*) FROM pragma_table_info('jobs') WHERE name = 'workflow_id'",
        [],
        |r| r.get::<_, i64>(0),
    )? > 0;
    if old {
        conn.execute_batch("ALTER TABLE jobs RENAME COLUMN workflow_id TO idempotency_key;")?;
    }
    Ok(())
}

fn decode(record: String) -> rusqlite::Result<Job> {
    Job::from_record(&record).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

fn encode(job: &Job) -> Result<String, StoreError> {
    serde_json::to_string(job).map_err(|e| StoreError::Encode(e.to_string()))
}

impl JobStore for SqliteJobStore {
    fn create<'a>(&'a self, job: &'a Job) -> BoxFuture<'a, Result<Created, StoreError>> {
        Box::pin(async move {
            let record = encode(job)?;
            self.write(|conn| {
                let tx = conn.transaction()?;
                if let Some(wf) = &job.idempotency_key {
                    let existing: Option<String> = tx
                        .query_row(
                            "SELECT record FROM jobs WHERE idempotency_key = ?1",
                            [wf],
                            |r| r.get(0),
                        )
                        .optional()?;
                    if let Some(rec) = existing {
                        return Ok(Created::Existing(Box::new(decode(rec)?)));
                    }
                }
                tx.execute(
                    "INSERT INTO jobs (id, state, idempotency_key, record) VALUES (?1, ?2, ?3, ?4)",
                    params![job.id, job.state.as_str(), job.idempotency_key, record],
                )?;
                tx.commit()?;
                Ok(Created::New)
            })
        })
    }

    fn get<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<Job>, StoreError>> {
        Box::pin(async move {
            self.read(|conn| {
                conn.prepare_cached("SELECT record FROM jobs WHERE id = ?1")?
                    .query_row([id], |r| r.get::<_, String>(0))
                    .optional()?
                    .map(decode)
                    .transpose()
            })
        })
    }

    fn by_idempotency_key<'a>(
        &'a self,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Option<Job>, StoreError>> {
        Box::pin(async move {
            self.read(|conn| {
                conn.prepare_cached("SELECT record FROM jobs WHERE idempotency_key = ?1")?
                    .query_row([key], |r| r.get::<_, String>(0))
                    .optional()?
                    .map(decode)
                    .transpose()
            })
        })
    }

    fn save<'a>(&'a self, job: &'a Job) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let record = encode(job)?;
            let changed = self.write(|conn| {
                Ok(conn
                    .prepare_cached("UPDATE jobs SET state = ?2, record = ?3 WHERE id = ?1")?
                    .execute(params![job.id, job.state.as_str(), record])?)
            })?;
            if changed == 0 {
                return Err(StoreError::Missing(job.id.clone()));
            }
            Ok(())
        })
    }

    fn list<'a>(&'a self, query: &'a JobQuery) -> BoxFuture<'a, Result<JobPage, StoreError>> {
        Box::pin(async move {
            let limit = query.limit.clamp(1, MAX_PAGE);
            let after = match &query.cursor {
                None => i64::MAX,
                // Digits past the last job are past every job: the first page.
                Some(c) if !c.is_empty() && c.bytes().all(|b| b.is_ascii_digit()) => {
                    c.parse::<i64>().unwrap_or(i64::MAX)
                }
                Some(c) => return Err(StoreError::BadCursor(c.clone())),
            };
            let state = query.state.map(JobState::as_str);
            let owner = query.owner.as_deref();
            let rows: Vec<(i64, String)> = self.read(|conn| {
                let mut stmt = conn.prepare_cached(
                    "SELECT seq, record FROM jobs
                 WHERE seq < ?1 AND (?2 IS NULL OR state = ?2)
                   AND (?4 IS NULL OR json_extract(record, '$.owner') = ?4)
                 ORDER BY seq DESC LIMIT ?3",
                )?;
                stmt.query_map(params![after, state, (limit + 1) as i64, owner], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })?
                .collect()
            })?;
            let more = rows.len() > limit;
            let mut jobs = Vec::with_capacity(limit);
            let mut last = None;
            for (seq, record) in rows.into_iter().take(limit) {
                jobs.push(decode(record)?);
                last = Some(seq);
            }
            Ok(JobPage {
                jobs,
                next_cursor: if more {
                    last.map(|s| s.to_string())
                } else {
                    None
                },
            })
        })
    }

    fn unfinished(&self) -> BoxFuture<'_, Result<Vec<Job>, StoreError>> {
        Box::pin(async move {
            self.read(|conn| {
                let mut stmt = conn.prepare_cached(
                    "SELECT record FROM jobs WHERE state IN ('queued', 'running') ORDER BY seq",
                )?;
                stmt.query_map([], |r| r.get::<_, String>(0))?
                    .map(|r| r.and_then(decode))
                    .collect()
            })
        })
    }

    fn delete<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let deleted = self.write(|conn| {
                Ok(conn
                    .prepare_cached("DELETE FROM jobs WHERE id = ?1")?
                    .execute([id])?)
            })?;
            Ok(deleted > 0)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, SqliteJobStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteJobStore::open(&dir.path().join("jobs.db")).unwrap();
        (dir, store)
    }

    #[tokio::test]
    async fn create_get_save_and_workflow_ids() {
        let (_dir, store) = store();
        let mut job = Job::new(serde_json::json!({"html": "x"}), "h1", Some("wf-1".into()));
        assert_eq!(store.create(&job).await.unwrap(), Created::New);
        assert_eq!(store.get(&job.id).await.unwrap().unwrap(), job);

        // The same workflow id returns the first job and stores nothing.
        let other = Job::new(serde_json::json!({"html": "y"}), "h2", Some("wf-1".into()));
        match store.create(&other).await.unwrap() {
            Created::Existing(found) => assert_eq!(found.id, job.id),
            Created::New => panic!("second job with one workflow id was stored"),
        }
        assert!(store.get(&other.id).await.unwrap().is_none());
        assert_eq!(
            store.by_idempotency_key("wf-1").await.unwrap().unwrap().id,
            job.id
        );

        job.state = JobState::Running;
        store.save(&job).await.unwrap();
        assert_eq!(store.unfinished().await.unwrap(), vec![job.clone()]);
        job.state = JobState::Succeeded;
        store.save(&job).await.unwrap();
        assert!(store.unfinished().await.unwrap().is_empty());

        let ghost = Job::new(serde_json::json!({}), "h", None);
        assert!(matches!(
            store.save(&ghost).await,
            Err(StoreError::Missing(_))
        ));
    }

    #[tokio::test]
    async fn list_pages_newest_first_and_filters() {
        let (_dir, store) = store();
        let mut ids = Vec::new();
        for i in 0..5 {
            let mut job = Job::new(serde_json::json!({ "n": i }), format!("h{i}"), None);
            if i % 2 == 0 {
                job.state = JobState::Failed;
            }
            store.create(&job).await.unwrap();
            ids.push(job.id);
        }
        let first = store
            .list(&JobQuery {
                limit: 2,
                ..JobQuery::default()
            })
            .await
            .unwrap();
        let got: Vec<&str> = first.jobs.iter().map(|j| j.id.as_str()).collect();
        assert_eq!(got, [ids[4].as_str(), ids[3].as_str()]);
        let second = store
            .list(&JobQuery {
                limit: 2,
                cursor: first.next_cursor.clone(),
                ..JobQuery::default()
            })
            .await
            .unwrap();
        let got: Vec<&str> = second.jobs.iter().map(|j| j.id.as_str()).collect();
        assert_eq!(got, [ids[2].as_str(), ids[1].as_str()]);
        let failed = store
            .list(&JobQuery {
                state: Some(JobState::Failed),
                limit: 10,
                cursor: None,
                owner: None,
            })
            .await
            .unwrap();
        assert_eq!(failed.jobs.len(), 3);
        assert!(failed.next_cursor.is_none());
        let mut owned = Job::new(serde_json::json!({ "n": "owned" }), "h-owned", None);
        owned.owner = Some("key-a".into());
        store.create(&owned).await.unwrap();
        let of = |owner: &str| JobQuery {
            limit: 10,
            owner: Some(owner.into()),
            ..JobQuery::default()
        };
        let mine = store.list(&of("key-a")).await.unwrap();
        assert_eq!(mine.jobs.len(), 1);
        assert_eq!(mine.jobs[0].id, owned.id);
        assert!(store.list(&of("key-b")).await.unwrap().jobs.is_empty());
        assert!(matches!(
            store
                .list(&JobQuery {
                    cursor: Some("nope".into()),
                    limit: 1,
                    ..JobQuery::default()
                })
                .await,
            Err(StoreError::BadCursor(_))
        ));
    }

    #[tokio::test]
    async fn reopening_keeps_the_jobs() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jobs.db");
        let job = Job::new(serde_json::json!({"script": "Hi."}), "h", None);
        {
            let store = SqliteJobStore::open(&path).unwrap();
            store.create(&job).await.unwrap();
        }
        let store = SqliteJobStore::open(&path).unwrap();
        assert_eq!(store.unfinished().await.unwrap(), vec![job]);
    }
}
