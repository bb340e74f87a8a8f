//! The threshold pruner: Optuna's `optuna/pruners/_threshold.py`.

use super::Pruner;
use crate::error::{Error, Result};
use crate::frozen::FrozenTrial;
use crate::samplers::StudyView;

/// Prunes a trial whose latest intermediate value is below `lower`, above `upper`, or NaN:
/// for a measure that must reach a bound whatever the objective is (a quality target while
/// the objective is the file size). Works with any number of objectives.
#[derive(Clone, Debug)]
pub struct ThresholdPruner {
    lower: Option<f64>,
    upper: Option<f64>,
    n_warmup_steps: u64,
    interval_steps: u64,
}

impl ThresholdPruner {
    /// Bounds (at least one), no pruning before step `n_warmup_steps`, then every
    /// `interval_steps` steps.
    pub fn new(
        lower: Option<f64>,
        upper: Option<f64>,
        n_warmup_steps: u64,
        interval_steps: u64,
    ) -> Result<Self> {
        if lower.is_none() && upper.is_none() {
            return Err(Error::Config(
                "a threshold pruner needs a lower or an upper bound".into(),
            ));
        }
        if let (Some(l), Some(u)) = (lower, upper)
            && l > u
        {
            return Err(Error::Config(format!(
                "the lower bound {l} is above the upper bound {u}"
            )));
        }
        if interval_steps < 1 {
            return Err(Error::Config("interval_steps must be at least 1".into()));
        }
        Ok(ThresholdPruner {
            lower,
            upper,
            n_warmup_steps,
            interval_steps,
        })
    }

    /// Prunes below `lower`, from the first step.
    pub fn below(lower: f64) -> Self {
        ThresholdPruner {
            lower: Some(lower),
            upper: None,
            n_warmup_steps: 0,
            interval_steps: 1,
        }
    }
}

impl Pruner for ThresholdPruner {
    fn prune(&mut self, _study: &StudyView<'_>, trial: &mut FrozenTrial) -> Result<bool> {
        let Some(step) = trial.last_step() else {
            return Ok(false);
        };
        if step < self.n_warmup_steps
            || !(step - self.n_warmup_steps).is_multiple_of(self.interval_steps)
        {
            return Ok(false);
        }
        let value = trial.intermediate_values[&step];
        Ok(value.is_nan()
            || self.lower.is_some_and(|l| value < l)
            || self.upper.is_some_and(|u| value > u))
    }
}
