//! The study API end to end, in memory: ask/tell, optimize, best trials, enqueue, export,
//! attributes, callbacks, bad input.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use vidflow_tune::{
    Direction, Error, GridSampler, ParamValue, RandomSampler, Study, TpeSampler, TrialError,
    TrialOutcome, TrialState,
};

fn study() -> Study {
    Study::builder()
        .sampler(RandomSampler::new(Some(1)))
        .create()
        .unwrap()
}

#[test]
fn optimize_runs_n_trials_and_finds_the_best() {
    let s = Study::builder()
        .sampler(TpeSampler::new(Some(3)))
        .create()
        .unwrap();
    let summary = s
        .optimize(
            |t| Ok::<_, TrialError>((t.suggest_float("x", -10.0, 10.0)? - 3.0).powi(2)),
            Some(50),
            None,
        )
        .unwrap();
    assert_eq!(summary.complete, 50);
    let best = s.best_trial().unwrap();
    let x = best.param("x").unwrap().as_f64().unwrap();
    assert!((x - 3.0).abs() < 1.0, "x = {x}");
    assert_eq!(s.best_value().unwrap(), best.value().unwrap());
    let all = s.trials().unwrap();
    let min = all
        .iter()
        .filter_map(|t| t.value())
        .fold(f64::INFINITY, f64::min);
    assert_eq!(best.value().unwrap(), min);
}

#[test]
fn maximize_picks_the_largest() {
    let s = Study::builder()
        .direction(Direction::Maximize)
        .sampler(RandomSampler::new(Some(2)))
        .create()
        .unwrap();
    s.optimize(
        |t| Ok::<_, TrialError>(t.suggest_float("x", 0.0, 1.0)?),
        Some(20),
        None,
    )
    .unwrap();
    let max = s
        .trials()
        .unwrap()
        .iter()
        .filter_map(|t| t.value())
        .fold(f64::NEG_INFINITY, f64::max);
    assert_eq!(s.best_value().unwrap(), max);
}

#[test]
fn ask_and_tell_record_every_state() {
    let s = study();
    let mut t = s.ask().unwrap();
    t.suggest_float("x", 0.0, 1.0).unwrap();
    t.set_user_attr("note", "first").unwrap();
    let done = s.tell(t, TrialOutcome::Complete(vec![1.0])).unwrap();
    assert_eq!(done.state, TrialState::Complete);

    let t = s.ask().unwrap();
    assert_eq!(
        s.tell(t, TrialOutcome::Pruned).unwrap().state,
        TrialState::Pruned
    );
    let t = s.ask().unwrap();
    let failed = s.tell(t, TrialOutcome::Failed("boom".into())).unwrap();
    assert_eq!(failed.state, TrialState::Failed);
    assert_eq!(failed.system_attrs["fail_reason"], "boom");

    // NaN fails the trial, a wrong count of values is an error (and fails it too).
    let t = s.ask().unwrap();
    assert_eq!(
        s.tell(t, TrialOutcome::Complete(vec![f64::NAN]))
            .unwrap()
            .state,
        TrialState::Failed
    );
    let t = s.ask().unwrap();
    assert!(matches!(
        s.tell(t, TrialOutcome::Complete(vec![1.0, 2.0])),
        Err(Error::BadValues { .. })
    ));
    let trials = s.trials().unwrap();
    let states: Vec<TrialState> = trials.iter().map(|t| t.state).collect();
    use TrialState::*;
    assert_eq!(states, [Complete, Pruned, Failed, Failed, Failed]);
    assert_eq!(trials[0].user_attrs["note"], "first");
}

#[test]
fn a_dropped_trial_is_failed_not_left_running() {
    let s = study();
    {
        let mut t = s.ask().unwrap();
        t.suggest_int("n", 1, 3).unwrap();
    }
    assert_eq!(s.trials().unwrap()[0].state, TrialState::Failed);
}

#[test]
fn optimize_records_failures_and_pruning_and_goes_on() {
    let s = study();
    let summary = s
        .optimize(
            |t| {
                let n = t.number();
                if n % 3 == 1 {
                    return Err(TrialError::failed("odd one out"));
                }
                if n % 3 == 2 {
                    return Err(TrialError::Pruned);
                }
                Ok(t.suggest_float("x", 0.0, 1.0)?)
            },
            Some(9),
            None,
        )
        .unwrap();
    assert_eq!(
        (summary.complete, summary.failed, summary.pruned),
        (3, 3, 3)
    );
}

#[test]
fn optimize_stops_at_the_timeout() {
    let s = study();
    let started = std::time::Instant::now();
    let summary = s
        .optimize(
            |t| {
                std::thread::sleep(Duration::from_millis(20));
                Ok::<_, TrialError>(t.suggest_float("x", 0.0, 1.0)?)
            },
            None,
            Some(Duration::from_millis(150)),
        )
        .unwrap();
    assert!(
        summary.complete >= 3 && summary.complete <= 12,
        "{summary:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
fn threads_share_a_study_and_the_count_is_exact() {
    let s = Study::builder()
        .sampler(TpeSampler::new(Some(5)))
        .create()
        .unwrap();
    let summary = s
        .optimize_parallel(
            |t| Ok::<_, TrialError>(t.suggest_float("x", -1.0, 1.0)?.powi(2)),
            Some(40),
            None,
            4,
        )
        .unwrap();
    assert_eq!(summary.complete, 40);
    let trials = s.trials().unwrap();
    assert_eq!(trials.len(), 40);
    let mut numbers: Vec<u64> = trials.iter().map(|t| t.number).collect();
    numbers.dedup();
    assert_eq!(numbers, (0..40).collect::<Vec<_>>());
}

#[test]
fn enqueued_trials_come_first_with_their_values() {
    let s = Study::builder()
        .sampler(TpeSampler::new(Some(0)))
        .create()
        .unwrap();
    s.enqueue_trial([("x", ParamValue::Float(0.25)), ("act", "tanh".into())])
        .unwrap();
    let mut t = s.ask().unwrap();
    assert_eq!(t.suggest_float("x", 0.0, 1.0).unwrap(), 0.25);
    assert_eq!(
        t.suggest_categorical("act", &["relu", "tanh"]).unwrap(),
        "tanh"
    );
    // A parameter the queue did not name is sampled as usual.
    let y = t.suggest_float("y", 5.0, 6.0).unwrap();
    assert!((5.0..=6.0).contains(&y));
    s.tell(t, TrialOutcome::Complete(vec![0.0])).unwrap();

    // A fixed value outside the suggested range is a clear error.
    s.enqueue_trial([("x", 7.0)]).unwrap();
    let mut t = s.ask().unwrap();
    assert!(matches!(
        t.suggest_float("x", 0.0, 1.0),
        Err(Error::ValueOutsideDistribution { .. })
    ));
}

#[test]
fn repeated_names_return_the_value_or_refuse_other_bounds() {
    let s = study();
    let mut t = s.ask().unwrap();
    let x = t.suggest_float("x", 0.0, 1.0).unwrap();
    assert_eq!(t.suggest_float("x", 0.0, 1.0).unwrap(), x);
    let e = t.suggest_float("x", 0.0, 2.0).unwrap_err();
    assert!(matches!(e, Error::ParamRedefined { .. }));
    assert!(e.to_string().contains("`x`"), "{e}");
    assert!(matches!(
        t.suggest_int("x", 0, 1),
        Err(Error::ParamRedefined { .. })
    ));
}

#[test]
fn bad_bounds_are_typed_errors_with_the_parameter_named() {
    let s = study();
    let mut t = s.ask().unwrap();
    let e = t.suggest_float("lr", 1.0, 0.5).unwrap_err();
    assert!(matches!(e, Error::LowAboveHigh { .. }));
    assert!(e.to_string().contains("lr"));
    assert!(matches!(
        t.suggest_float_log("lr", 0.0, 1.0),
        Err(Error::LogNeedsPositiveLow { .. })
    ));
    assert!(matches!(
        t.suggest_int_log("n", -1, 10),
        Err(Error::LogNeedsPositiveLow { .. })
    ));
    assert!(matches!(
        t.suggest_int("n", 5, 1),
        Err(Error::LowAboveHigh { .. })
    ));
    let none: [&str; 0] = [];
    assert!(matches!(
        t.suggest_categorical("c", &none),
        Err(Error::InvalidDistribution { .. })
    ));
    // The trial is still usable after refused suggestions.
    assert!(t.suggest_float("ok", 0.0, 1.0).is_ok());
}

#[test]
fn unknown_study_names_the_ones_there_are() {
    let storage: Arc<dyn vidflow_tune::Storage> = Arc::new(vidflow_tune::MemoryStorage::new());
    Study::builder()
        .name("alpha")
        .storage(storage.clone())
        .create()
        .unwrap();
    let e = Study::builder()
        .name("beta")
        .storage(storage.clone())
        .load()
        .unwrap_err();
    assert!(matches!(e, Error::UnknownStudy { .. }));
    assert!(e.to_string().contains("alpha"), "{e}");
    let e = Study::builder()
        .name("alpha")
        .storage(storage)
        .create()
        .unwrap_err();
    assert!(matches!(e, Error::StudyExists { .. }));
}

#[test]
fn best_trials_is_the_pareto_front() {
    let s = Study::builder()
        .directions([Direction::Minimize, Direction::Maximize])
        .create()
        .unwrap();
    for v in [[1.0, 1.0], [2.0, 3.0], [2.0, 0.5], [0.5, 0.2], [3.0, 3.0]] {
        let t = s.ask().unwrap();
        s.tell(t, TrialOutcome::Complete(v.to_vec())).unwrap();
    }
    let mut front: Vec<u64> = s.best_trials().unwrap().iter().map(|t| t.number).collect();
    front.sort();
    // (2, 0.5) is beaten by (1, 1); (3, 3) by (2, 3).
    assert_eq!(front, vec![0, 1, 3]);
    assert!(matches!(s.best_trial(), Err(Error::MultiObjective { .. })));
    let summary = s.summary().unwrap();
    assert_eq!(summary.pareto_front_size, 3);
    assert_eq!(summary.complete, 5);
}

#[test]
fn no_completed_trial_is_an_error_not_a_panic() {
    let s = study();
    assert!(matches!(
        s.best_trial(),
        Err(Error::NoCompletedTrial { .. })
    ));
}

#[test]
fn callbacks_see_every_finished_trial() {
    let s = study();
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    s.on_trial_finished(move |study, trial| {
        assert!(trial.state.is_finished());
        assert!(study.summary().is_ok());
        counter.fetch_add(1, Ordering::SeqCst);
    });
    s.optimize(
        |t| Ok::<_, TrialError>(t.suggest_float("x", 0.0, 1.0)?),
        Some(7),
        None,
    )
    .unwrap();
    assert_eq!(seen.load(Ordering::SeqCst), 7);
}

#[test]
fn grid_visits_each_point_once_and_stops() {
    let mut grid = BTreeMap::new();
    grid.insert(
        "a".to_string(),
        vec![ParamValue::Int(1), ParamValue::Int(2)],
    );
    grid.insert("b".to_string(), vec!["x".into(), "y".into(), "z".into()]);
    let s = Study::builder()
        .sampler(GridSampler::new(grid, Some(0)).unwrap())
        .create()
        .unwrap();
    let summary = s
        .optimize(
            |t| {
                let a = t.suggest_int("a", 0, 5)?;
                let b = t.suggest_categorical("b", &["x", "y", "z"])?;
                Ok::<_, TrialError>(a as f64 + b.len() as f64)
            },
            Some(100),
            None,
        )
        .unwrap();
    assert_eq!(summary.complete, 6);
    let mut points: Vec<String> = s
        .trials()
        .unwrap()
        .iter()
        .map(|t| format!("{}{}", t.param("a").unwrap(), t.param("b").unwrap()))
        .collect();
    points.sort();
    assert_eq!(points, ["1x", "1y", "1z", "2x", "2y", "2z"]);
}

#[test]
fn exports_hold_every_trial_and_column() {
    let s = study();
    s.enqueue_trial([("act", "tanh, soft")]).unwrap();
    s.optimize(
        |t| {
            let x = t.suggest_float("x", 0.0, 1.0)?;
            let act = t.suggest_categorical("act", &["relu", "tanh, soft"])?;
            t.set_user_attr("size", 3)?;
            Ok::<_, TrialError>(x + act.len() as f64)
        },
        Some(4),
        None,
    )
    .unwrap();
    let mut csv = Vec::new();
    s.write_csv(&mut csv).unwrap();
    let csv = String::from_utf8(csv).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "number,state,value,started_at,completed_at,duration_s,params_act,params_x,user_attrs_size"
    );
    assert_eq!(lines.len(), 5);
    assert!(lines[1].starts_with("0,complete,"));
    // A value with a comma is quoted.
    assert!(lines[1].contains(",\"tanh, soft\","), "{}", lines[1]);

    let mut json = Vec::new();
    s.write_json(&mut json).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
    let arr = v.as_array().unwrap();
    assert_eq!(arr.len(), 4);
    assert_eq!(arr[2]["number"], 2);
    assert_eq!(arr[2]["user_attrs"]["size"], 3);
    assert!(arr[2]["params"]["x"].is_f64());
    assert_eq!(arr[2]["distributions"]["x"]["type"], "float");
}
