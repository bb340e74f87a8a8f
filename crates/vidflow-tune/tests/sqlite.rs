//! The SQLite storage: resuming, bad files left untouched, several processes on one study,
//! and a process killed in the middle of a trial.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use vidflow_tune::{
    Error, Heartbeat, SqliteStorage, Storage, Study, TpeSampler, TrialError, TrialOutcome,
    TrialState,
};

const BENCH: &str = env!("CARGO_BIN_EXE_hpo_bench");

fn open(path: &Path) -> Arc<SqliteStorage> {
    Arc::new(SqliteStorage::open(path).unwrap())
}

fn quadratic(t: &mut vidflow_tune::Trial) -> Result<f64, TrialError> {
    let x = t.suggest_float("x", -5.0, 5.0)?;
    let n = t.suggest_int("n", 1, 8)?;
    let act = t.suggest_categorical("act", &["relu", "tanh"])?;
    Ok(x * x + n as f64 + if act == "relu" { 0.0 } else { 0.5 })
}

#[test]
fn a_study_resumes_where_it_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("study.db");
    {
        let s = Study::builder()
            .name("resume")
            .storage(open(&path))
            .sampler(TpeSampler::new(Some(1)))
            .create()
            .unwrap();
        s.optimize(quadratic, Some(12), None).unwrap();
        let mut t = s.ask().unwrap();
        t.report(3, 0.5).unwrap();
        t.set_user_attr("tag", "kept").unwrap();
        s.tell(t, TrialOutcome::Pruned).unwrap();
    }
    let storage = open(&path);
    assert_eq!(storage.study_names().unwrap(), ["resume"]);
    let s = Study::builder()
        .name("resume")
        .storage(storage)
        .sampler(TpeSampler::new(Some(2)))
        .load()
        .unwrap();
    let before = s.trials().unwrap();
    assert_eq!(before.len(), 13);
    assert_eq!(before[12].state, TrialState::Pruned);
    assert_eq!(before[12].intermediate_values[&3], 0.5);
    assert_eq!(before[12].user_attrs["tag"], "kept");
    // TPE goes on from the stored trials (past its 10 start-up trials).
    s.optimize(quadratic, Some(5), None).unwrap();
    let after = s.trials().unwrap();
    assert_eq!(after.len(), 18);
    assert_eq!(after[17].number, 17);
    assert!(after[13..].iter().all(|t| t.state == TrialState::Complete));
    // What was read back equals what memory had: same values, same parameters.
    for (a, b) in before.iter().zip(&after) {
        assert_eq!(a.params, b.params);
        assert_eq!(a.values, b.values);
    }
}

#[test]
fn threads_of_one_process_share_a_study_file() {
    let dir = tempfile::tempdir().unwrap();
    let s = Study::builder()
        .name("threads")
        .storage(open(&dir.path().join("t.db")))
        .sampler(TpeSampler::new(Some(3)))
        .create()
        .unwrap();
    let summary = s.optimize_parallel(quadratic, Some(30), None, 3).unwrap();
    assert_eq!(summary.complete, 30);
    assert_eq!(s.trials().unwrap().len(), 30);
}

fn bytes(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap()
}

#[test]
fn a_file_that_is_not_a_database_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.db");
    let text = "these are my notes, not a study\n".repeat(200);
    std::fs::write(&path, &text).unwrap();
    let e = SqliteStorage::open(&path).err().unwrap();
    assert!(matches!(e, Error::CorruptStudyFile { .. }), "{e}");
    assert!(e.to_string().contains("notes.db"), "{e}");
    assert_eq!(bytes(&path), text.as_bytes());
}

#[test]
fn a_damaged_study_file_is_a_typed_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("study.db");
    {
        let s = Study::builder()
            .name("d")
            .storage(open(&path))
            .create()
            .unwrap();
        s.optimize(quadratic, Some(40), None).unwrap();
    }
    // Overwrite everything after the first page (the schema stays readable, the tables
    // do not).
    let mut b = bytes(&path);
    let page = 4096.min(b.len());
    for x in &mut b[page..] {
        *x = 0xA5;
    }
    std::fs::write(&path, &b).unwrap();
    let result = SqliteStorage::open(&path).and_then(|st| {
        let st: Arc<dyn Storage> = Arc::new(st);
        let s = Study::builder().name("d").storage(st).load()?;
        s.trials()
    });
    match result {
        Err(Error::CorruptStudyFile { .. }) => {}
        other => panic!(
            "expected CorruptStudyFile, got {:?}",
            other.map(|t| t.len())
        ),
    }
    assert_eq!(bytes(&path), b, "a damaged file is not written to");
}

#[test]
fn a_newer_schema_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("future.db");
    {
        Study::builder()
            .name("f")
            .storage(open(&path))
            .create()
            .unwrap();
    }
    // What a newer build would leave: schema version 99.
    rusqlite::Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", 99)
        .unwrap();
    let before = bytes(&path);
    let e = SqliteStorage::open(&path).err().unwrap();
    match &e {
        Error::NewerSchema { found, .. } => assert_eq!(*found, 99),
        other => panic!("expected NewerSchema, got {other}"),
    }
    assert!(e.to_string().contains("upgrade"), "{e}");
    assert_eq!(bytes(&path), before);
}

#[test]
fn another_applications_database_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("other.db");
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
            .unwrap();
    }
    let b = bytes(&path);
    let e = SqliteStorage::open(&path).err().unwrap();
    assert!(matches!(e, Error::CorruptStudyFile { .. }), "{e}");
    assert!(e.to_string().contains("other tables"), "{e}");
    assert_eq!(bytes(&path), b);

    // One with another program's application id.
    let path = dir.path().join("app.db");
    rusqlite::Connection::open(&path)
        .unwrap()
        .pragma_update(None, "application_id", 0x1234_5678)
        .unwrap();
    let b = bytes(&path);
    let e = SqliteStorage::open(&path).err().unwrap();
    assert!(matches!(e, Error::CorruptStudyFile { .. }), "{e}");
    assert!(e.to_string().contains("another application"), "{e}");
    assert_eq!(bytes(&path), b);
}

#[test]
fn an_unknown_study_lists_the_known_ones_and_a_missing_file_is_not_created() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let storage = open(&path);
    Study::builder()
        .name("known")
        .storage(storage.clone())
        .create()
        .unwrap();
    let e = Study::builder()
        .name("typo")
        .storage(storage)
        .load()
        .unwrap_err();
    assert!(matches!(e, Error::UnknownStudy { .. }));
    assert!(e.to_string().contains("known"), "{e}");

    let missing = dir.path().join("missing.db");
    assert!(SqliteStorage::open_existing(&missing).is_err());
    assert!(!missing.exists());
}

fn bench(db: &Path, trials: usize, extra: &[&str]) -> Command {
    let mut c = Command::new(BENCH);
    c.args(["--function", "sphere5", "--sampler", "tpe", "--seed", "0"])
        .args(["--trials", &trials.to_string()])
        .args(["--storage", &format!("sqlite:///{}", db.display())])
        .args(["--study-name", "shared"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

#[test]
fn two_processes_run_one_study_without_lock_errors() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shared.db");
    let children: Vec<_> = (0..2)
        .map(|_| {
            bench(&db, 50, &["--objective-sleep-ms", "1"])
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "worker failed: {stderr}");
        assert!(!stderr.to_lowercase().contains("locked"), "{stderr}");
        let line: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(line["n_complete"], 50);
    }
    let storage: Arc<dyn Storage> = open(&db);
    let s = Study::builder()
        .name("shared")
        .storage(storage)
        .load()
        .unwrap();
    let trials = s.trials().unwrap();
    assert_eq!(trials.len(), 100);
    assert!(trials.iter().all(|t| t.state == TrialState::Complete));
    let numbers: Vec<u64> = trials.iter().map(|t| t.number).collect();
    assert_eq!(numbers, (0..100).collect::<Vec<_>>());
}

fn wait_for(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn running_trials(db: &PathBuf) -> Vec<Arc<vidflow_tune::FrozenTrial>> {
    // A reader without heartbeats, so looking does not fail anything.
    let Ok(storage) = SqliteStorage::open_with(db, None, false) else {
        return Vec::new();
    };
    let Ok(rec) = storage.load_study("shared") else {
        return Vec::new();
    };
    storage
        .trials(rec.id)
        .unwrap_or_default()
        .into_iter()
        .filter(|t| t.state == TrialState::Running)
        .collect()
}

#[test]
fn a_killed_worker_s_trial_is_failed_after_the_heartbeat_timeout_and_retried() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crash.db");
    // The worker's first objective sleeps a minute: it is killed in the middle of it, with
    // its parameters suggested and flushed by a heartbeat (every 100 ms).
    let mut child = bench(
        &db,
        3,
        &[
            "--objective-sleep-ms",
            "60000",
            "--heartbeat-ms",
            "100",
            "--grace-ms",
            "3000",
        ],
    )
    .spawn()
    .unwrap();
    wait_for(
        "a running trial with its parameters",
        Duration::from_secs(30),
        || running_trials(&db).iter().any(|t| t.params.len() == 5),
    );
    let dead = running_trials(&db).remove(0);
    child.kill().unwrap(); // SIGKILL: no destructor, no last write.
    child.wait().unwrap();
    let killed_at = Instant::now();

    let hb = Heartbeat {
        interval: Duration::from_millis(100),
        grace: Duration::from_millis(3000),
        retry: true,
    };
    let storage: Arc<dyn Storage> =
        Arc::new(SqliteStorage::open_with(&db, Some(hb), false).unwrap());
    let s = Study::builder()
        .name("shared")
        .storage(storage)
        .load()
        .unwrap();
    // Within the grace period the trial still counts as alive.
    assert_eq!(s.fail_stale_trials().unwrap(), Vec::<u64>::new());
    std::thread::sleep(Duration::from_millis(3200).saturating_sub(killed_at.elapsed()));
    // The next ask fails it and takes its parameters up again.
    let mut t = s.ask().unwrap();
    let trials = s.trials().unwrap();
    let old = &trials[dead.number as usize];
    assert_eq!(old.state, TrialState::Failed);
    assert!(
        old.system_attrs["fail_reason"]
            .as_str()
            .unwrap()
            .contains("heartbeat"),
        "{:?}",
        old.system_attrs
    );
    assert_eq!(t.record().system_attrs["retry_of"], dead.number);
    let mut x = Vec::new();
    for i in 0..5 {
        x.push(t.suggest_float(&format!("x{i}"), -5.0, 5.0).unwrap());
    }
    let old_x: Vec<f64> = (0..5)
        .map(|i| old.param(&format!("x{i}")).unwrap().as_f64().unwrap())
        .collect();
    assert_eq!(x, old_x, "the retry evaluates the dead trial's point");
    s.tell(
        t,
        TrialOutcome::Complete(vec![x.iter().map(|v| v * v).sum()]),
    )
    .unwrap();
    // And the study goes on normally.
    s.optimize(
        |t| Ok::<_, TrialError>(t.suggest_float("x0", -5.0, 5.0)?.abs()),
        Some(2),
        None,
    )
    .unwrap();
    let states: Vec<TrialState> = s.trials().unwrap().iter().map(|t| t.state).collect();
    assert_eq!(
        states.iter().filter(|s| **s == TrialState::Failed).count(),
        1
    );
    assert_eq!(
        states
            .iter()
            .filter(|s| **s == TrialState::Complete)
            .count(),
        3
    );
}
