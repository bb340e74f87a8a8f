//! Property tests of the samplers: every suggestion lies inside its distribution (bounds,
//! log scale, grid), and a seeded run repeats itself exactly.

use proptest::prelude::*;
use vidflow_tune::{
    Direction, Distribution, Nsga2Sampler, ParamValue, RandomSampler, Sampler, Study, TpeOptions,
    TpeSampler, TrialError,
};

/// A distribution from the strategy's raw numbers (always a valid one).
fn distribution(kind: u8, a: f64, span: f64, step_frac: f64, n_choices: usize) -> Distribution {
    let low = a;
    let high = a + span;
    match kind % 6 {
        0 => Distribution::float("p", low, high, false, None).unwrap(),
        1 => {
            Distribution::float("p", low.abs() + 1e-6, low.abs() + 1e-6 + span, true, None).unwrap()
        }
        2 => {
            Distribution::float("p", low, high, false, Some((span * step_frac).max(1e-3))).unwrap()
        }
        3 => Distribution::int("p", low as i64, high as i64, false, 1).unwrap(),
        4 => {
            let lo = low.abs() as i64 + 1;
            Distribution::int("p", lo, lo + span as i64, true, 1).unwrap()
        }
        _ => {
            if n_choices == 0 {
                let step = ((span * step_frac) as i64).max(1);
                Distribution::int("p", low as i64, high as i64, false, step).unwrap()
            } else {
                Distribution::categorical(
                    "p",
                    (0..n_choices).map(|i| format!("c{i}").into()).collect(),
                )
                .unwrap()
            }
        }
    }
}

fn sampler(which: u8, seed: u64) -> Box<dyn Sampler> {
    match which % 4 {
        0 => Box::new(RandomSampler::new(Some(seed))),
        1 => Box::new(TpeSampler::new(Some(seed))),
        2 => Box::new(TpeSampler::with_options(TpeOptions {
            seed: Some(seed),
            multivariate: Some(false),
            ..TpeOptions::default()
        })),
        _ => Box::new(
            Nsga2Sampler::with_options(vidflow_tune::Nsga2Options {
                population_size: 4,
                seed: Some(seed),
                ..Default::default()
            })
            .unwrap(),
        ),
    }
}

/// Runs 16 trials (past TPE's 10 start-up trials and several NSGA-II generations) over
/// three parameters of the given distributions; returns every suggested value.
fn run(which: u8, seed: u64, dists: &[Distribution]) -> Vec<Vec<ParamValue>> {
    let study = Study::builder()
        .directions([Direction::Minimize])
        .sampler(sampler(which, seed))
        .create()
        .unwrap();
    let mut seen = Vec::new();
    for _ in 0..16 {
        let mut t = study.ask().unwrap();
        let values: Vec<ParamValue> = dists
            .iter()
            .enumerate()
            .map(|(i, d)| t.suggest(&format!("p{i}"), d.clone()).unwrap())
            .collect();
        let loss: f64 = values
            .iter()
            .map(|v| v.as_f64().unwrap_or(1.0).abs().ln_1p())
            .sum();
        study
            .tell(t, vidflow_tune::TrialOutcome::Complete(vec![loss]))
            .unwrap();
        seen.push(values);
    }
    seen
}

fn inside(d: &Distribution, v: &ParamValue) -> bool {
    match d.to_internal(v) {
        Some(x) => d.contains(x),
        None => false,
    }
}

fn dists_strategy() -> impl Strategy<Value = Vec<Distribution>> {
    prop::collection::vec(
        (
            any::<u8>(),
            -50.0f64..50.0,
            0.0f64..100.0,
            0.01f64..0.5,
            0usize..5,
        ),
        3,
    )
    .prop_map(|v| {
        v.into_iter()
            .map(|(k, a, s, f, c)| distribution(k, a, s, f, c))
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn suggestions_stay_inside_their_distribution(
        which in any::<u8>(),
        seed in any::<u64>(),
        dists in dists_strategy(),
    ) {
        for values in run(which, seed, &dists) {
            for (d, v) in dists.iter().zip(&values) {
                prop_assert!(inside(d, v), "{v} outside {d}");
                if let (Distribution::Float { low, high, log: true, .. }, Some(x)) = (d, v.as_f64()) {
                    prop_assert!(x > 0.0 && x >= *low && x <= *high);
                }
            }
        }
    }

    #[test]
    fn a_seed_repeats_the_run(
        which in any::<u8>(),
        seed in any::<u64>(),
        dists in dists_strategy(),
    ) {
        prop_assert_eq!(run(which, seed, &dists), run(which, seed, &dists));
    }
}

#[test]
fn different_seeds_give_different_runs() {
    let d = vec![Distribution::float("p", 0.0, 1.0, false, None).unwrap(); 3];
    for which in 0..4 {
        assert_ne!(run(which, 1, &d), run(which, 2, &d), "sampler {which}");
    }
}

#[test]
fn log_scale_spreads_over_decades() {
    // Log-uniform on [1e-5, 1e-1]: about a quarter of draws in each decade; uniform would put
    // nearly all of them in the last one.
    let study = Study::builder()
        .sampler(RandomSampler::new(Some(9)))
        .create()
        .unwrap();
    let mut below_1e3 = 0;
    study
        .optimize(
            |t| {
                let x = t.suggest_float_log("lr", 1e-5, 1e-1)?;
                if x < 1e-3 {
                    below_1e3 += 1;
                }
                Ok::<_, TrialError>(x)
            },
            Some(400),
            None,
        )
        .unwrap();
    assert!(
        (150..250).contains(&below_1e3),
        "{below_1e3} of 400 under 1e-3"
    );
}
