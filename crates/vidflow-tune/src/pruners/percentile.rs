//! The percentile and median pruners: Optuna's `optuna/pruners/_percentile.py` and
//! `_median.py`.

use super::{Pruner, single_direction};
use crate::error::{Error, Result};
use crate::frozen::{FrozenTrial, TrialState};
use crate::samplers::StudyView;
use crate::study::Direction;

/// Prunes a trial whose best intermediate value so far is worse than the given percentile
/// of the completed trials' values at the same step.
#[derive(Clone, Debug)]
pub struct PercentilePruner {
    percentile: f64,
    n_startup_trials: usize,
    n_warmup_steps: u64,
    interval_steps: u64,
    n_min_trials: usize,
}

impl PercentilePruner {
    /// `percentile` in [0, 100] (50: the median); no pruning until `n_startup_trials`
    /// trials completed, nor before step `n_warmup_steps`; then at most once per
    /// `interval_steps`; and only with `n_min_trials` completed trials to compare with.
    pub fn new(
        percentile: f64,
        n_startup_trials: usize,
        n_warmup_steps: u64,
        interval_steps: u64,
        n_min_trials: usize,
    ) -> Result<Self> {
        if !(0.0..=100.0).contains(&percentile) {
            return Err(Error::Config(format!(
                "percentile must be in [0, 100], got {percentile}"
            )));
        }
        if interval_steps < 1 {
            return Err(Error::Config("interval_steps must be at least 1".into()));
        }
        if n_min_trials < 1 {
            return Err(Error::Config("n_min_trials must be at least 1".into()));
        }
        Ok(PercentilePruner {
            percentile,
            n_startup_trials,
            n_warmup_steps,
            interval_steps,
            n_min_trials,
        })
    }
}

/// The median pruner: the percentile pruner at 50.
#[derive(Clone, Debug)]
pub struct MedianPruner(PercentilePruner);

impl MedianPruner {
    /// Optuna's defaults: 5 start-up trials, no warm-up, every step, one trial to compare.
    pub fn new() -> Self {
        Self::with(5, 0, 1)
    }

    /// A median pruner with its start-up trials, warm-up steps and interval.
    pub fn with(n_startup_trials: usize, n_warmup_steps: u64, interval_steps: u64) -> Self {
        MedianPruner(PercentilePruner {
            percentile: 50.0,
            n_startup_trials,
            n_warmup_steps,
            interval_steps: interval_steps.max(1),
            n_min_trials: 1,
        })
    }
}

impl Default for MedianPruner {
    fn default() -> Self {
        Self::new()
    }
}

impl Pruner for MedianPruner {
    fn prune(&mut self, study: &StudyView<'_>, trial: &mut FrozenTrial) -> Result<bool> {
        self.0.prune(study, trial)
    }
}

/// Whether `step` is the first reported step of its pruning interval.
fn is_first_in_interval_step(trial: &FrozenTrial, step: u64, warmup: u64, interval: u64) -> bool {
    let nearest_lower = (step - warmup) / interval * interval + warmup;
    let second_last = trial
        .intermediate_values
        .keys()
        .copied()
        .filter(|&s| s != step)
        .map(|s| s as i64)
        .max()
        .unwrap_or(-1);
    second_last < nearest_lower as i64
}

/// numpy's `nanpercentile` with linear interpolation.
pub(crate) fn nan_percentile(values: &[f64], q: f64) -> f64 {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let pos = q / 100.0 * (v.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    v[lo] + (v[hi] - v[lo]) * (pos - lo as f64)
}

impl Pruner for PercentilePruner {
    fn prune(&mut self, study: &StudyView<'_>, trial: &mut FrozenTrial) -> Result<bool> {
        let direction = single_direction(study)?;
        let completed: Vec<&FrozenTrial> = study
            .trials_in(&[TrialState::Complete])
            .map(|t| &**t)
            .collect();
        if completed.is_empty() || completed.len() < self.n_startup_trials {
            return Ok(false);
        }
        let Some(step) = trial.last_step() else {
            return Ok(false);
        };
        if step < self.n_warmup_steps {
            return Ok(false);
        }
        if !is_first_in_interval_step(trial, step, self.n_warmup_steps, self.interval_steps) {
            return Ok(false);
        }
        let own = trial
            .intermediate_values
            .values()
            .copied()
            .filter(|v| !v.is_nan());
        let best = match direction {
            Direction::Minimize => own.fold(f64::NAN, f64::min),
            Direction::Maximize => own.fold(f64::NAN, f64::max),
        };
        if best.is_nan() {
            return Ok(true);
        }
        let at_step: Vec<f64> = completed
            .iter()
            .filter_map(|t| t.intermediate_values.get(&step).copied())
            .collect();
        if at_step.len() < self.n_min_trials {
            return Ok(false);
        }
        let q = match direction {
            Direction::Minimize => self.percentile,
            Direction::Maximize => 100.0 - self.percentile,
        };
        let p = nan_percentile(&at_step, q);
        if p.is_nan() {
            return Ok(false);
        }
        Ok(match direction {
            Direction::Minimize => best > p,
            Direction::Maximize => best < p,
        })
    }
}
