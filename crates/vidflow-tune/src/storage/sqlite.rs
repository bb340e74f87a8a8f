//! Studies in a SQLite file (WAL): they survive the process and several processes can run
//! trials of one study at once.
//!
//! Writes are short `BEGIN IMMEDIATE` transactions retried on `SQLITE_BUSY` on top of a
//! busy timeout, so concurrent workers queue instead of failing with "database is locked".
//! A plain trial costs two commits: `start_trial` (which also fails dead trials) and
//! `finish_trial`; suggestions are held in memory until then (or the next `report` or
//! heartbeat). Every write bumps the row's `seq`, so a snapshot reads only the rows that
//! changed since the last one and keeps the rest from a cache.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, mpsc};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::{FIXED_PARAMS_ATTR, Heartbeat, RETRY_OF_ATTR, Storage, StudyId, StudyRecord, now_s};
use crate::distribution::ParamValue;
use crate::error::{Error, Result};
use crate::frozen::json_f64::JsonF64;
use crate::frozen::{FrozenTrial, Param, TrialState};
use crate::study::Direction;

/// Marks a SQLite file as a vidflow study file ("vftu").
const APPLICATION_ID: i32 = 0x7666_7475;
/// The schema this build writes and reads.
pub(crate) const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = r#"
CREATE TABLE studies (
    study_id     INTEGER PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    directions   TEXT NOT NULL,
    system_attrs TEXT NOT NULL DEFAULT '{}',
    created_at   REAL NOT NULL
);
CREATE TABLE trials (
    trial_id     INTEGER PRIMARY KEY,
    study_id     INTEGER NOT NULL REFERENCES studies(study_id),
    number       INTEGER NOT NULL,
    state        TEXT NOT NULL,
    objective_values TEXT,
    params       TEXT NOT NULL DEFAULT '{}',
    intermediate TEXT NOT NULL DEFAULT '{}',
    user_attrs   TEXT NOT NULL DEFAULT '{}',
    system_attrs TEXT NOT NULL DEFAULT '{}',
    started_at   REAL,
    completed_at REAL,
    heartbeat    REAL,
    seq          INTEGER NOT NULL,
    UNIQUE (study_id, number)
);
CREATE INDEX trials_by_seq ON trials (study_id, seq);
CREATE INDEX trials_by_state ON trials (study_id, state);
"#;

const TRIAL_COLUMNS: &str = "trial_id, number, state, objective_values, params, intermediate, \
     user_attrs, system_attrs, started_at, completed_at, seq";

/// A study file. Cheap to share (`Arc`) between the threads of a process; open the same
/// file in several processes to run one study from all of them.
///
/// ```
/// use std::sync::Arc;
/// use vidflow_tune::{SqliteStorage, Study};
///
/// let dir = tempfile::tempdir().unwrap();
/// let storage = Arc::new(SqliteStorage::open(dir.path().join("study.db")).unwrap());
/// let study = Study::builder().name("demo").storage(storage.clone()).create_or_load().unwrap();
/// study.optimize(|t| Ok(t.suggest_float("x", -1.0, 1.0)?.powi(2)), Some(5), None).unwrap();
///
/// let again = Study::builder().name("demo").storage(storage).load().unwrap();
/// assert_eq!(again.trials().unwrap().len(), 5);
/// ```
pub struct SqliteStorage {
    shared: Arc<Shared>,
    beat: Option<BeatThread>,
}

/// What the storage and its heartbeat thread share.
struct Shared {
    path: PathBuf,
    conn: Mutex<Connection>,
    heartbeat: Option<Heartbeat>,
    /// Running trials of this process: the newest version, committed or not.
    owned: Mutex<HashMap<i64, FrozenTrial>>,
    /// Per study: every trial read so far, by number, and the highest `seq` seen.
    cache: Mutex<HashMap<StudyId, StudyCache>>,
}

/// Beats for every running trial of this storage from one thread, until dropped.
struct BeatThread {
    stop: Option<mpsc::Sender<()>>,
    handle: Option<JoinHandle<()>>,
}

impl BeatThread {
    fn start(shared: Arc<Shared>, interval: Duration) -> Option<Self> {
        let (tx, rx) = mpsc::channel::<()>();
        let handle = std::thread::Builder::new()
            .name("vidflow-tune-heartbeat".into())
            .spawn(move || {
                while let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(interval) {
                    let running: Vec<FrozenTrial> = lock(&shared.owned).values().cloned().collect();
                    for t in running {
                        // A missed beat is retried at the next interval; only a silence as
                        // long as the grace period fails the trial. The flush also writes
                        // what was held back.
                        let _ = shared.flush(&t);
                    }
                }
            })
            .ok()?;
        Some(BeatThread {
            stop: Some(tx),
            handle: Some(handle),
        })
    }
}

impl Drop for BeatThread {
    fn drop(&mut self) {
        self.stop.take();
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

#[derive(Default)]
struct StudyCache {
    trials: Vec<Option<Arc<FrozenTrial>>>,
    last_seq: i64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl SqliteStorage {
    /// Opens (or creates) a study file with heartbeats on (see [`Heartbeat::default`]).
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(path, Some(Heartbeat::default()), true)
    }

    /// Opens a study file that must exist already.
    pub fn open_existing(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(path, Some(Heartbeat::default()), false)
    }

    /// Opens a study file with explicit heartbeat settings (`None`: a dead process's trials
    /// stay running forever); `create` allows a new file.
    pub fn open_with(
        path: impl AsRef<Path>,
        heartbeat: Option<Heartbeat>,
        create: bool,
    ) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        if !create && !path.exists() {
            return Err(Error::CorruptStudyFile {
                path,
                reason: "the file does not exist".into(),
            });
        }
        let conn = Connection::open(&path).map_err(|e| sql_err(&path, e))?;
        conn.busy_timeout(Duration::from_secs(30))
            .map_err(|e| sql_err(&path, e))?;
        check_or_init(&conn, &path)?;
        // Only now, with the file known to be ours, switch it to WAL.
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(|e| sql_err(&path, e))?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(|e| sql_err(&path, e))?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(|e| sql_err(&path, e))?;
        let shared = Arc::new(Shared {
            path,
            conn: Mutex::new(conn),
            heartbeat,
            owned: Mutex::new(HashMap::new()),
            cache: Mutex::new(HashMap::new()),
        });
        let beat = heartbeat.and_then(|hb| BeatThread::start(shared.clone(), hb.interval));
        Ok(SqliteStorage { shared, beat })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.shared.path
    }
}

impl Drop for SqliteStorage {
    fn drop(&mut self) {
        // Stop beating before the connection goes.
        self.beat.take();
    }
}

impl Shared {
    fn err(&self, e: rusqlite::Error) -> Error {
        sql_err(&self.path, e)
    }

    /// Runs `f` in a `BEGIN IMMEDIATE` transaction, retrying while the database is busy.
    fn write<T>(&self, f: impl Fn(&rusqlite::Transaction<'_>) -> Result<T>) -> Result<T> {
        let mut conn = lock(&self.conn);
        let mut delay = Duration::from_millis(2);
        let mut attempts = 0;
        loop {
            let result = (|| {
                let tx = conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(|e| self.err(e))?;
                let out = f(&tx)?;
                tx.commit().map_err(|e| self.err(e))?;
                Ok(out)
            })();
            match result {
                Err(Error::Sqlite { source, .. }) if is_busy(&source) && attempts < 200 => {
                    attempts += 1;
                    std::thread::sleep(delay);
                    delay = (delay * 2).min(Duration::from_millis(100));
                }
                other => return other,
            }
        }
    }

    fn flush(&self, trial: &FrozenTrial) -> Result<()> {
        let p = serde_json::to_string(&trial.params).expect("params serialise");
        let iv = intermediate_json(trial);
        let ua = serde_json::to_string(&trial.user_attrs).expect("json values serialise");
        let sa = serde_json::to_string(&trial.system_attrs).expect("json values serialise");
        let changed = self.write(|tx| {
            let seq = next_seq(tx, trial.id).map_err(|e| self.err(e))?;
            tx.execute(
                "UPDATE trials SET params = ?1, intermediate = ?2, user_attrs = ?3, \
                 system_attrs = ?4, heartbeat = ?5, seq = ?6 \
                 WHERE trial_id = ?7 AND state = 'running'",
                params![p, iv, ua, sa, now_s(), seq, trial.id],
            )
            .map_err(|e| self.err(e))
        })?;
        if changed == 0 {
            lock(&self.owned).remove(&trial.id);
            return Err(self.not_running(trial));
        }
        Ok(())
    }

    fn not_running(&self, trial: &FrozenTrial) -> Error {
        let state: Option<String> = lock(&self.conn)
            .query_row(
                "SELECT state FROM trials WHERE trial_id = ?1",
                [trial.id],
                |r| r.get(0),
            )
            .optional()
            .ok()
            .flatten();
        Error::TrialNotRunning {
            number: trial.number,
            state: state.unwrap_or_else(|| "missing".into()),
        }
    }

    fn fail_stale(&self, tx: &rusqlite::Transaction<'_>, study: StudyId) -> Result<Vec<u64>> {
        let Some(hb) = self.heartbeat else {
            return Ok(Vec::new());
        };
        let cutoff = now_s() - hb.grace.as_secs_f64();
        let stale: Vec<(i64, i64, String, String)> = {
            let mut stmt = tx
                .prepare_cached(
                    "SELECT trial_id, number, params, system_attrs FROM trials \
                     WHERE study_id = ?1 AND state = 'running' AND heartbeat < ?2",
                )
                .map_err(|e| self.err(e))?;
            stmt.query_map(params![study, cutoff], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })
            .map_err(|e| self.err(e))?
            .collect::<rusqlite::Result<_>>()
            .map_err(|e| self.err(e))?
        };
        let mut failed = Vec::new();
        for (id, number, params_json, attrs_json) in stale {
            let mut attrs: BTreeMap<String, serde_json::Value> =
                serde_json::from_str(&attrs_json).map_err(|e| self.corrupt(e))?;
            attrs.insert(
                "fail_reason".into(),
                serde_json::json!(format!(
                    "no heartbeat for more than {:?}: the process running it died",
                    hb.grace
                )),
            );
            let seq = next_seq_study(tx, study).map_err(|e| self.err(e))?;
            tx.execute(
                "UPDATE trials SET state = 'failed', completed_at = ?1, system_attrs = ?2, \
                 seq = ?3 WHERE trial_id = ?4",
                params![
                    now_s(),
                    serde_json::to_string(&attrs).expect("json"),
                    seq,
                    id
                ],
            )
            .map_err(|e| self.err(e))?;
            failed.push(number as u64);
            if hb.retry {
                let ps: BTreeMap<String, Param> =
                    serde_json::from_str(&params_json).map_err(|e| self.corrupt(e))?;
                let fixed: BTreeMap<String, ParamValue> =
                    ps.iter().map(|(k, p)| (k.clone(), p.value())).collect();
                let mut sys = BTreeMap::new();
                sys.insert(
                    FIXED_PARAMS_ATTR.to_string(),
                    serde_json::to_value(&fixed).expect("json"),
                );
                sys.insert(RETRY_OF_ATTR.to_string(), serde_json::json!(number));
                insert_trial(tx, study, TrialState::Waiting, &sys, &BTreeMap::new())
                    .map_err(|e| self.err(e))?;
            }
        }
        Ok(failed)
    }

    fn corrupt(&self, e: impl std::fmt::Display) -> Error {
        Error::CorruptStudyFile {
            path: self.path.clone(),
            reason: format!("unreadable trial data: {e}"),
        }
    }

    fn read_trial_row(&self, r: &rusqlite::Row<'_>) -> rusqlite::Result<RawTrial> {
        Ok(RawTrial {
            id: r.get(0)?,
            number: r.get(1)?,
            state: r.get(2)?,
            values: r.get(3)?,
            params: r.get(4)?,
            intermediate: r.get(5)?,
            user_attrs: r.get(6)?,
            system_attrs: r.get(7)?,
            started_at: r.get(8)?,
            completed_at: r.get(9)?,
            seq: r.get(10)?,
        })
    }

    fn parse(&self, raw: RawTrial) -> Result<FrozenTrial> {
        let state = TrialState::parse(&raw.state)
            .ok_or_else(|| self.corrupt(format!("unknown trial state `{}`", raw.state)))?;
        let values: Option<Vec<JsonF64>> = match &raw.values {
            Some(s) => Some(serde_json::from_str(s).map_err(|e| self.corrupt(e))?),
            None => None,
        };
        let intermediate: BTreeMap<u64, JsonF64> =
            serde_json::from_str(&raw.intermediate).map_err(|e| self.corrupt(e))?;
        Ok(FrozenTrial {
            id: raw.id,
            number: raw.number as u64,
            state,
            values: values.map(|v| v.into_iter().map(|x| x.0).collect()),
            params: serde_json::from_str(&raw.params).map_err(|e| self.corrupt(e))?,
            intermediate_values: intermediate.into_iter().map(|(k, v)| (k, v.0)).collect(),
            user_attrs: serde_json::from_str(&raw.user_attrs).map_err(|e| self.corrupt(e))?,
            system_attrs: serde_json::from_str(&raw.system_attrs).map_err(|e| self.corrupt(e))?,
            started_at: raw.started_at,
            completed_at: raw.completed_at,
        })
    }
}

struct RawTrial {
    id: i64,
    number: i64,
    state: String,
    values: Option<String>,
    params: String,
    intermediate: String,
    user_attrs: String,
    system_attrs: String,
    started_at: Option<f64>,
    completed_at: Option<f64>,
    seq: i64,
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

fn sql_err(path: &Path, e: rusqlite::Error) -> Error {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt) => {
            Error::CorruptStudyFile {
                path: path.to_path_buf(),
                reason: e.to_string(),
            }
        }
        _ => Error::Sqlite {
            path: path.to_path_buf(),
            source: e,
        },
    }
}

/// Checks that the file is a study file this build can read, or empty (then creates the
/// schema). Nothing is written to a file that fails the check.
fn check_or_init(conn: &Connection, path: &Path) -> Result<()> {
    let read = |sql: &str| -> Result<i64> {
        conn.query_row(sql, [], |r| r.get(0))
            .map_err(|e| sql_err(path, e))
    };
    let app_id = read("PRAGMA application_id")?;
    let version = read("PRAGMA user_version")?;
    if app_id == APPLICATION_ID as i64 {
        if version > SCHEMA_VERSION {
            return Err(Error::NewerSchema {
                path: path.to_path_buf(),
                found: version,
                supported: SCHEMA_VERSION,
            });
        }
        if version < 1 {
            return Err(Error::CorruptStudyFile {
                path: path.to_path_buf(),
                reason: format!("schema version {version} is not one this crate ever wrote"),
            });
        }
        return Ok(());
    }
    if app_id != 0 {
        return Err(Error::CorruptStudyFile {
            path: path.to_path_buf(),
            reason: format!("it is another application's database (application id {app_id:#x})"),
        });
    }
    // Not ours yet: only an empty database becomes a study file; the check and the
    // creation share one write transaction so two processes cannot both create it.
    conn.execute_batch("BEGIN IMMEDIATE")
        .map_err(|e| sql_err(path, e))?;
    let result = (|| {
        let app_id = read("PRAGMA application_id")?;
        if app_id == APPLICATION_ID as i64 {
            return Ok(());
        }
        if read("SELECT count(*) FROM sqlite_master")? > 0 {
            return Err(Error::CorruptStudyFile {
                path: path.to_path_buf(),
                reason: "it is a SQLite database with other tables, not a study file".into(),
            });
        }
        conn.execute_batch(SCHEMA).map_err(|e| sql_err(path, e))?;
        conn.pragma_update(None, "application_id", APPLICATION_ID)
            .map_err(|e| sql_err(path, e))?;
        conn.pragma_update(None, "user_version", SCHEMA_VERSION)
            .map_err(|e| sql_err(path, e))?;
        Ok(())
    })();
    match result {
        Ok(()) => conn.execute_batch("COMMIT").map_err(|e| sql_err(path, e)),
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

fn next_seq_study(tx: &rusqlite::Transaction<'_>, study: StudyId) -> rusqlite::Result<i64> {
    tx.query_row(
        "SELECT coalesce(max(seq), 0) + 1 FROM trials WHERE study_id = ?1",
        [study],
        |r| r.get(0),
    )
}

fn next_seq(tx: &rusqlite::Transaction<'_>, trial_id: i64) -> rusqlite::Result<i64> {
    let study: i64 = tx.query_row(
        "SELECT study_id FROM trials WHERE trial_id = ?1",
        [trial_id],
        |r| r.get(0),
    )?;
    next_seq_study(tx, study)
}

fn insert_trial(
    tx: &rusqlite::Transaction<'_>,
    study: StudyId,
    state: TrialState,
    system_attrs: &BTreeMap<String, serde_json::Value>,
    user_attrs: &BTreeMap<String, serde_json::Value>,
) -> rusqlite::Result<(i64, i64)> {
    let number: i64 = tx.query_row(
        "SELECT coalesce(max(number), -1) + 1 FROM trials WHERE study_id = ?1",
        [study],
        |r| r.get(0),
    )?;
    let seq = next_seq_study(tx, study)?;
    let now = now_s();
    let (started, heartbeat) = if state == TrialState::Running {
        (Some(now), Some(now))
    } else {
        (None, None)
    };
    tx.execute(
        "INSERT INTO trials (study_id, number, state, system_attrs, user_attrs, started_at, \
         heartbeat, seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            study,
            number,
            state.as_str(),
            serde_json::to_string(system_attrs).expect("json"),
            serde_json::to_string(user_attrs).expect("json"),
            started,
            heartbeat,
            seq
        ],
    )?;
    Ok((tx.last_insert_rowid(), number))
}

fn intermediate_json(t: &FrozenTrial) -> String {
    let m: BTreeMap<u64, JsonF64> = t
        .intermediate_values
        .iter()
        .map(|(k, v)| (*k, JsonF64(*v)))
        .collect();
    serde_json::to_string(&m).expect("json")
}

fn parse_directions(s: &str) -> Option<Vec<Direction>> {
    serde_json::from_str(s).ok()
}

impl Storage for Shared {
    fn describe(&self) -> String {
        format!("sqlite:///{}", self.path.display())
    }

    fn create_study(
        &self,
        name: &str,
        directions: &[Direction],
        load_if_exists: bool,
    ) -> Result<StudyRecord> {
        let dirs_json = serde_json::to_string(directions).expect("json");
        self.write(|tx| {
            let found: Option<(i64, String)> = tx
                .query_row(
                    "SELECT study_id, directions FROM studies WHERE name = ?1",
                    [name],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .map_err(|e| self.err(e))?;
            if let Some((id, stored)) = found {
                if !load_if_exists {
                    return Err(Error::StudyExists {
                        name: name.to_string(),
                        storage: self.describe(),
                    });
                }
                let stored = parse_directions(&stored)
                    .ok_or_else(|| self.corrupt("unreadable study directions"))?;
                if stored != directions {
                    return Err(Error::DirectionsMismatch {
                        name: name.to_string(),
                        stored: stored.iter().map(|d| d.to_string()).collect(),
                        requested: directions.iter().map(|d| d.to_string()).collect(),
                    });
                }
                return Ok(StudyRecord {
                    id,
                    name: name.to_string(),
                    directions: stored,
                });
            }
            tx.execute(
                "INSERT INTO studies (name, directions, created_at) VALUES (?1, ?2, ?3)",
                params![name, dirs_json, now_s()],
            )
            .map_err(|e| self.err(e))?;
            Ok(StudyRecord {
                id: tx.last_insert_rowid(),
                name: name.to_string(),
                directions: directions.to_vec(),
            })
        })
    }

    fn load_study(&self, name: &str) -> Result<StudyRecord> {
        let conn = lock(&self.conn);
        let found: Option<(i64, String)> = conn
            .query_row(
                "SELECT study_id, directions FROM studies WHERE name = ?1",
                [name],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(|e| self.err(e))?;
        drop(conn);
        match found {
            Some((id, dirs)) => Ok(StudyRecord {
                id,
                name: name.to_string(),
                directions: parse_directions(&dirs)
                    .ok_or_else(|| self.corrupt("unreadable study directions"))?,
            }),
            None => Err(Error::UnknownStudy {
                name: name.to_string(),
                storage: self.describe(),
                known: self.study_names()?,
            }),
        }
    }

    fn study_names(&self) -> Result<Vec<String>> {
        let conn = lock(&self.conn);
        let mut stmt = conn
            .prepare_cached("SELECT name FROM studies ORDER BY study_id")
            .map_err(|e| self.err(e))?;
        let names = stmt
            .query_map([], |r| r.get(0))
            .map_err(|e| self.err(e))?
            .collect::<rusqlite::Result<Vec<String>>>()
            .map_err(|e| self.err(e))?;
        Ok(names)
    }

    fn study_system_attrs(&self, study: StudyId) -> Result<BTreeMap<String, serde_json::Value>> {
        let s: String = lock(&self.conn)
            .query_row(
                "SELECT system_attrs FROM studies WHERE study_id = ?1",
                [study],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))?;
        serde_json::from_str(&s).map_err(|e| self.corrupt(e))
    }

    fn set_study_system_attr(
        &self,
        study: StudyId,
        key: &str,
        value: serde_json::Value,
    ) -> Result<()> {
        self.write(|tx| {
            let s: String = tx
                .query_row(
                    "SELECT system_attrs FROM studies WHERE study_id = ?1",
                    [study],
                    |r| r.get(0),
                )
                .map_err(|e| self.err(e))?;
            let mut attrs: BTreeMap<String, serde_json::Value> =
                serde_json::from_str(&s).map_err(|e| self.corrupt(e))?;
            attrs.insert(key.to_string(), value.clone());
            tx.execute(
                "UPDATE studies SET system_attrs = ?1 WHERE study_id = ?2",
                params![serde_json::to_string(&attrs).expect("json"), study],
            )
            .map_err(|e| self.err(e))?;
            Ok(())
        })
    }

    fn enqueue_trial(
        &self,
        study: StudyId,
        params: &BTreeMap<String, ParamValue>,
        user_attrs: &BTreeMap<String, serde_json::Value>,
    ) -> Result<u64> {
        let mut sys = BTreeMap::new();
        sys.insert(
            FIXED_PARAMS_ATTR.to_string(),
            serde_json::to_value(params).expect("json"),
        );
        let (_, number) = self.write(|tx| {
            insert_trial(tx, study, TrialState::Waiting, &sys, user_attrs).map_err(|e| self.err(e))
        })?;
        Ok(number as u64)
    }

    fn start_trial(&self, study: StudyId) -> Result<FrozenTrial> {
        let raw = self.write(|tx| {
            self.fail_stale(tx, study)?;
            let waiting: Option<i64> = tx
                .query_row(
                    "SELECT trial_id FROM trials WHERE study_id = ?1 AND state = 'waiting' \
                     ORDER BY number LIMIT 1",
                    [study],
                    |r| r.get(0),
                )
                .optional()
                .map_err(|e| self.err(e))?;
            let id = match waiting {
                Some(id) => {
                    let seq = next_seq_study(tx, study).map_err(|e| self.err(e))?;
                    let now = now_s();
                    tx.execute(
                        "UPDATE trials SET state = 'running', started_at = ?1, heartbeat = ?1, \
                         seq = ?2 WHERE trial_id = ?3",
                        params![now, seq, id],
                    )
                    .map_err(|e| self.err(e))?;
                    id
                }
                None => {
                    insert_trial(
                        tx,
                        study,
                        TrialState::Running,
                        &BTreeMap::new(),
                        &BTreeMap::new(),
                    )
                    .map_err(|e| self.err(e))?
                    .0
                }
            };
            tx.query_row(
                &format!("SELECT {TRIAL_COLUMNS} FROM trials WHERE trial_id = ?1"),
                [id],
                |r| self.read_trial_row(r),
            )
            .map_err(|e| self.err(e))
        })?;
        let trial = self.parse(raw)?;
        lock(&self.owned).insert(trial.id, trial.clone());
        Ok(trial)
    }

    fn update_trial(&self, trial: &FrozenTrial, urgent: bool) -> Result<()> {
        let known = match lock(&self.owned).get_mut(&trial.id) {
            Some(t) => {
                *t = trial.clone();
                true
            }
            None => false,
        };
        // Asked with the `owned` lock released: nothing holds two of this storage's locks
        // while waiting for the database.
        if !known {
            return Err(self.not_running(trial));
        }
        if urgent { self.flush(trial) } else { Ok(()) }
    }

    fn finish_trial(&self, trial: &FrozenTrial) -> Result<()> {
        lock(&self.owned).remove(&trial.id);
        let values = trial.values.as_ref().map(|v| {
            serde_json::to_string(&v.iter().map(|x| JsonF64(*x)).collect::<Vec<_>>()).expect("json")
        });
        let p = serde_json::to_string(&trial.params).expect("json");
        let iv = intermediate_json(trial);
        let ua = serde_json::to_string(&trial.user_attrs).expect("json");
        let sa = serde_json::to_string(&trial.system_attrs).expect("json");
        let changed = self.write(|tx| {
            let seq = next_seq(tx, trial.id).map_err(|e| self.err(e))?;
            tx.execute(
                "UPDATE trials SET state = ?1, objective_values = ?2, params = ?3, \
                 intermediate = ?4, user_attrs = ?5, system_attrs = ?6, completed_at = ?7, \
                 seq = ?8 WHERE trial_id = ?9 AND state = 'running'",
                params![
                    trial.state.as_str(),
                    values,
                    p,
                    iv,
                    ua,
                    sa,
                    trial.completed_at,
                    seq,
                    trial.id
                ],
            )
            .map_err(|e| self.err(e))
        })?;
        if changed == 0 {
            return Err(self.not_running(trial));
        }
        Ok(())
    }

    fn trials(&self, study: StudyId) -> Result<Vec<Arc<FrozenTrial>>> {
        let mut caches = lock(&self.cache);
        let cache = caches.entry(study).or_default();
        let raws: Vec<RawTrial> = {
            let conn = lock(&self.conn);
            let mut stmt = conn
                .prepare_cached(&format!(
                    "SELECT {TRIAL_COLUMNS} FROM trials WHERE study_id = ?1 AND seq > ?2"
                ))
                .map_err(|e| self.err(e))?;
            stmt.query_map(params![study, cache.last_seq], |r| self.read_trial_row(r))
                .map_err(|e| self.err(e))?
                .collect::<rusqlite::Result<_>>()
                .map_err(|e| self.err(e))?
        };
        for raw in raws {
            cache.last_seq = cache.last_seq.max(raw.seq);
            let t = self.parse(raw)?;
            let n = t.number as usize;
            if cache.trials.len() <= n {
                cache.trials.resize(n + 1, None);
            }
            cache.trials[n] = Some(Arc::new(t));
        }
        let owned = lock(&self.owned);
        Ok(cache
            .trials
            .iter()
            .flatten()
            .map(|t| match owned.get(&t.id) {
                Some(mine) if t.state == TrialState::Running => Arc::new(mine.clone()),
                _ => t.clone(),
            })
            .collect())
    }

    fn heartbeat(&self) -> Option<Heartbeat> {
        self.heartbeat
    }

    fn fail_stale_trials(&self, study: StudyId) -> Result<Vec<u64>> {
        self.write(|tx| self.fail_stale(tx, study))
    }
}

/// Every call goes to the shared part; the heartbeat thread is the only other user of it.
impl Storage for SqliteStorage {
    fn describe(&self) -> String {
        self.shared.describe()
    }

    fn create_study(
        &self,
        name: &str,
        directions: &[Direction],
        load_if_exists: bool,
    ) -> Result<StudyRecord> {
        self.shared.create_study(name, directions, load_if_exists)
    }

    fn load_study(&self, name: &str) -> Result<StudyRecord> {
        self.shared.load_study(name)
    }

    fn study_names(&self) -> Result<Vec<String>> {
        self.shared.study_names()
    }

    fn study_system_attrs(&self, study: StudyId) -> Result<BTreeMap<String, serde_json::Value>> {
        self.shared.study_system_attrs(study)
    }

    fn set_study_system_attr(
        &self,
        study: StudyId,
        key: &str,
        value: serde_json::Value,
    ) -> Result<()> {
        self.shared.set_study_system_attr(study, key, value)
    }

    fn enqueue_trial(
        &self,
        study: StudyId,
        params: &BTreeMap<String, ParamValue>,
        user_attrs: &BTreeMap<String, serde_json::Value>,
    ) -> Result<u64> {
        self.shared.enqueue_trial(study, params, user_attrs)
    }

    fn start_trial(&self, study: StudyId) -> Result<FrozenTrial> {
        self.shared.start_trial(study)
    }

    fn update_trial(&self, trial: &FrozenTrial, urgent: bool) -> Result<()> {
        self.shared.update_trial(trial, urgent)
    }

    fn finish_trial(&self, trial: &FrozenTrial) -> Result<()> {
        self.shared.finish_trial(trial)
    }

    fn trials(&self, study: StudyId) -> Result<Vec<Arc<FrozenTrial>>> {
        self.shared.trials(study)
    }

    fn heartbeat(&self) -> Option<Heartbeat> {
        self.shared.heartbeat
    }

    fn fail_stale_trials(&self, study: StudyId) -> Result<Vec<u64>> {
        self.shared.fail_stale_trials(study)
    }
}
