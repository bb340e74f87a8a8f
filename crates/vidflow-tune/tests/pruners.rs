//! The pruners against cases worked out by hand from Optuna's rules.

use vidflow_tune::{
    Direction, HyperbandPruner, MedianPruner, PercentilePruner, Pruner, RandomSampler, Study,
    SuccessiveHalvingPruner, ThresholdPruner, TrialOutcome,
};

fn study_with(pruner: impl Pruner + 'static, direction: Direction, name: &str) -> Study {
    Study::builder()
        .name(name)
        .direction(direction)
        .sampler(RandomSampler::new(Some(0)))
        .pruner(pruner)
        .create()
        .unwrap()
}

/// Runs a trial that reports `values` at steps 0, 1, ... and completes with the last one.
fn complete(study: &Study, values: &[f64]) {
    let mut t = study.ask().unwrap();
    for (step, v) in values.iter().enumerate() {
        t.report(step as u64, *v).unwrap();
    }
    let last = *values.last().unwrap();
    study.tell(t, TrialOutcome::Complete(vec![last])).unwrap();
}

/// Reports `values` at the given steps one by one; returns `should_prune` after each.
fn decisions(study: &Study, steps: &[(u64, f64)]) -> Vec<bool> {
    let mut t = study.ask().unwrap();
    let out = steps
        .iter()
        .map(|&(step, v)| {
            t.report(step, v).unwrap();
            t.should_prune().unwrap()
        })
        .collect();
    study.tell(t, TrialOutcome::Pruned).unwrap();
    out
}

#[test]
fn median_prunes_above_the_median_of_completed_trials_at_that_step() {
    let s = study_with(MedianPruner::with(2, 0, 1), Direction::Minimize, "median");
    // Before two trials completed nothing is pruned, however bad.
    assert_eq!(decisions(&s, &[(0, 100.0)]), [false]);
    complete(&s, &[1.0, 2.0]);
    assert_eq!(decisions(&s, &[(0, 100.0)]), [false]);
    complete(&s, &[3.0, 4.0]);
    // Step 1: median of {2, 4} = 3. The trial's best so far counts (min over its steps).
    assert_eq!(decisions(&s, &[(0, 5.0), (1, 3.5)]), [true, true]);
    assert_eq!(decisions(&s, &[(0, 1.5), (1, 2.9)]), [false, false]);
    // Best so far 1.5 (step 0) is under the step-1 median though step 1 itself is not.
    assert_eq!(decisions(&s, &[(0, 1.5), (1, 9.0)]), [false, false]);
    // Step 0: median of {1, 3} = 2.
    assert_eq!(decisions(&s, &[(0, 2.5)]), [true]);
    // No completed trial reported step 7: nothing to compare with.
    assert_eq!(decisions(&s, &[(7, 50.0)]), [false]);
}

#[test]
fn median_flips_for_maximisation_and_honours_warmup_and_interval() {
    let s = study_with(
        MedianPruner::with(1, 2, 2),
        Direction::Maximize,
        "median-max",
    );
    complete(&s, &[1.0, 1.0, 1.0, 1.0, 1.0]);
    complete(&s, &[3.0, 3.0, 3.0, 3.0, 3.0]);
    // Median 2 at every step. Steps 0 and 1 are warm-up; then only steps 2, 4 are checked.
    let d = decisions(&s, &[(0, 0.1), (1, 0.1), (2, 0.1), (3, 0.1), (4, 0.1)]);
    assert_eq!(d, [false, false, true, false, true]);
    let d = decisions(&s, &[(0, 2.5), (1, 2.5), (2, 2.5)]);
    assert_eq!(d, [false, false, false]);
}

#[test]
fn percentile_uses_linear_interpolation() {
    // 25th percentile of {1, 2, 3, 4} at step 0 is 1.75.
    let s = study_with(
        PercentilePruner::new(25.0, 1, 0, 1, 1).unwrap(),
        Direction::Minimize,
        "p25",
    );
    for v in [1.0, 2.0, 3.0, 4.0] {
        complete(&s, &[v]);
    }
    assert_eq!(decisions(&s, &[(0, 1.8)]), [true]);
    assert_eq!(decisions(&s, &[(0, 1.7)]), [false]);
}

#[test]
fn successive_halving_keeps_the_top_half_at_each_rung() {
    // min resource 1, reduction 2: rung 0 at step 1, rung 1 at step 2, rung 2 at step 4.
    let s = study_with(
        SuccessiveHalvingPruner::new(Some(1), 2, 0, 0).unwrap(),
        Direction::Minimize,
        "asha",
    );
    // Step 0 is below the first rung: never pruned.
    // A: rung 0 alone: promoted (the best always goes on).
    assert_eq!(decisions(&s, &[(0, 9.0), (1, 1.0)]), [false, false]);
    // B: rung 0 values {1, 2}: top 2 // 2 = 1 -> only 1.0 goes on.
    assert_eq!(decisions(&s, &[(1, 2.0)]), [true]);
    // C: {1, 2, 0.5}: 3 // 2 = 1 -> the best, 0.5, goes on.
    assert_eq!(decisions(&s, &[(1, 0.5)]), [false]);
    // D: {1, 2, 0.5, 1.5}: top 2 are 0.5 and 1 -> 1.5 is pruned.
    assert_eq!(decisions(&s, &[(1, 1.5)]), [true]);
    // E: {1, 2, 0.5, 1.5, 0.9}: 5 // 2 = 2 -> 0.5 and 0.9 go on. At rung 1 (step 2) no
    // other trial has a value (A and C stopped at step 1), so E goes on.
    assert_eq!(decisions(&s, &[(1, 0.9), (2, 0.9)]), [false, false]);
    // F: rung 0 with 0.1 (best), rung 1 at step 2 with 5.0 against E's 0.9: pruned.
    assert_eq!(decisions(&s, &[(1, 0.1), (2, 5.0)]), [false, true]);
}

#[test]
fn successive_halving_prunes_nan_at_a_rung() {
    let s = study_with(
        SuccessiveHalvingPruner::new(Some(1), 2, 0, 0).unwrap(),
        Direction::Minimize,
        "asha-nan",
    );
    assert_eq!(
        decisions(&s, &[(0, f64::NAN), (1, f64::NAN)]),
        [false, true]
    );
}

#[test]
fn hyperband_assigns_brackets_by_crc32_and_budget() {
    // max 9, min 1, factor 3: 3 brackets with budgets 9, 5, 3 (total 17); trial n of study
    // "hb" goes to crc32("hb_n") % 17 -> bracket 0 below 9, 1 below 14, else 2 (the hashes
    // from Python's binascii.crc32: 7, 0, 16, 16, 9, 11, 11, 14).
    let hb = HyperbandPruner::new(1, Some(9), 3, 0).unwrap();
    assert_eq!(hb.n_brackets(), 3);
    let expected = [0usize, 0, 2, 2, 1, 1, 1, 2];
    for (n, want) in expected.iter().enumerate() {
        assert_eq!(hb.bracket_of("hb", n as u64), *want, "trial {n}");
    }
}

#[test]
fn hyperband_brackets_stop_early_at_different_steps() {
    // Bracket b promotes at steps 3^(b + rung): bracket 0 first checks at step 1, bracket 1
    // at step 3, bracket 2 at step 9. Trials 4 and 5 of study "hb" are in bracket 1: the
    // first reaches rung 0 (step 3) alone, the second is worse there and is pruned at step
    // 3, not before.
    let s = study_with(
        HyperbandPruner::new(1, Some(9), 3, 0).unwrap(),
        Direction::Minimize,
        "hb",
    );
    for _ in 0..4 {
        let t = s.ask().unwrap();
        s.tell(t, TrialOutcome::Pruned).unwrap();
    }
    assert_eq!(decisions(&s, &[(1, 1.0), (3, 1.0)]), [false, false]); // trial 4
    assert_eq!(
        decisions(&s, &[(1, 5.0), (2, 5.0), (3, 5.0)]),
        [false, false, true]
    ); // 5
}

#[test]
fn threshold_prunes_outside_its_bounds_from_its_first_step_on() {
    // A quality floor while the objective is something else: no completed trials needed.
    let s = study_with(ThresholdPruner::below(0.98), Direction::Minimize, "floor");
    assert_eq!(
        decisions(&s, &[(0, 0.99), (1, 0.975), (2, f64::NAN)]),
        [false, true, true]
    );
    let s = study_with(
        ThresholdPruner::new(Some(0.0), Some(1.0), 2, 2).unwrap(),
        Direction::Maximize,
        "band",
    );
    // Steps 0 and 1 are warm-up; 3 is between checks; 2 and 4 are checked.
    assert_eq!(
        decisions(&s, &[(0, 5.0), (1, -1.0), (2, 0.5), (3, 7.0), (4, 1.5)]),
        [false, false, false, false, true]
    );
    assert!(ThresholdPruner::new(None, None, 0, 1).is_err());
    assert!(ThresholdPruner::new(Some(2.0), Some(1.0), 0, 1).is_err());
}
