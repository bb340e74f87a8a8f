//! Uniform random search: Optuna's `RandomSampler` (`optuna/samplers/_random.py` with the
//! bounds of `optuna/_transform.py`).

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::{Sampler, StudyView, make_rng};
use crate::distribution::Distribution;
use crate::error::Result;
use crate::frozen::FrozenTrial;

/// Samples every parameter uniformly: floats on their scale (log-uniform with `log`), grid
/// values (a step, or integers) each with equal probability, categorical choices uniformly.
pub struct RandomSampler {
    rng: ChaCha8Rng,
}

impl RandomSampler {
    /// A sampler seeded with `seed` (`None`: from the clock).
    pub fn new(seed: Option<u64>) -> Self {
        RandomSampler {
            rng: make_rng(seed),
        }
    }
}

impl Sampler for RandomSampler {
    fn sample_independent(
        &mut self,
        _study: &StudyView<'_>,
        _trial: &FrozenTrial,
        _name: &str,
        distribution: &Distribution,
    ) -> Result<f64> {
        Ok(sample_uniform(&mut self.rng, distribution))
    }
}

/// One uniform draw from `d`, as an internal value.
///
/// Grid distributions draw on `[low - step/2, high + step/2]` and round to the grid, so the
/// end points get a full step's share (Optuna's `transform_step`).
pub(crate) fn sample_uniform(rng: &mut ChaCha8Rng, d: &Distribution) -> f64 {
    if d.single() {
        return match d {
            Distribution::Float { low, .. } => *low,
            Distribution::Int { low, .. } => *low as f64,
            Distribution::Categorical { .. } => 0.0,
        };
    }
    match d {
        Distribution::Float {
            low,
            high,
            log,
            step,
        } => match step {
            Some(step) => {
                let x = rng.random_range(low - step / 2.0..high + step / 2.0);
                (low + ((x - low) / step).round() * step).clamp(*low, *high)
            }
            None if *log => {
                let x = rng.random_range(low.ln()..high.ln()).exp();
                x.clamp(*low, *high)
            }
            None => rng.random_range(*low..*high),
        },
        Distribution::Int {
            low,
            high,
            log,
            step,
        } => {
            let (lo, hi, st) = (*low as f64, *high as f64, *step as f64);
            if *log {
                let x = rng.random_range((lo - 0.5).ln()..(hi + 0.5).ln()).exp();
                x.round().clamp(lo, hi)
            } else {
                let x = rng.random_range(lo - st / 2.0..hi + st / 2.0);
                (((x - lo) / st + 0.5).floor() * st + lo).clamp(lo, hi)
            }
        }
        Distribution::Categorical { choices } => rng.random_range(0..choices.len()) as f64,
    }
}
