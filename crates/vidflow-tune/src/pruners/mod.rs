//! Pruners: stop unpromising trials early from the values they `report`.
//!
//! A trial reports intermediate values (`Trial::report(step, value)`, e.g. the loss after
//! each epoch) and asks `Trial::should_prune()`; the study's [`Pruner`] compares it with the
//! other trials. The three here follow Optuna's (`optuna/pruners/`): [`MedianPruner`] (and
//! its general form [`PercentilePruner`]), [`SuccessiveHalvingPruner`] (asynchronous
//! successive halving), [`HyperbandPruner`], and [`ThresholdPruner`] (a bound on the
//! reported value itself).

mod hyperband;
mod percentile;
mod successive_halving;
mod threshold;

pub use hyperband::HyperbandPruner;
pub use percentile::{MedianPruner, PercentilePruner};
pub use successive_halving::SuccessiveHalvingPruner;
pub use threshold::ThresholdPruner;

use crate::error::{Error, Result};
use crate::frozen::FrozenTrial;
use crate::samplers::StudyView;
use crate::study::Direction;

/// Decides whether a running trial should stop.
pub trait Pruner: Send {
    /// Whether `trial` (running, with its intermediate values so far) should be pruned.
    /// The pruner may note things in `trial.system_attrs` (successive halving's rungs).
    fn prune(&mut self, study: &StudyView<'_>, trial: &mut FrozenTrial) -> Result<bool>;
}

/// A boxed pruner is a pruner, so one chosen at run time can be handed to the builder.
impl<P: Pruner + ?Sized> Pruner for Box<P> {
    fn prune(&mut self, study: &StudyView<'_>, trial: &mut FrozenTrial) -> Result<bool> {
        (**self).prune(study, trial)
    }
}

/// Never prunes.
#[derive(Clone, Copy, Debug, Default)]
pub struct NopPruner;

impl Pruner for NopPruner {
    fn prune(&mut self, _study: &StudyView<'_>, _trial: &mut FrozenTrial) -> Result<bool> {
        Ok(false)
    }
}

/// The one direction a pruner works with.
fn single_direction(study: &StudyView<'_>) -> Result<Direction> {
    match study.directions() {
        [d] => Ok(*d),
        ds => Err(Error::Config(format!(
            "pruning needs a study with one objective; `{}` has {}",
            study.name(),
            ds.len()
        ))),
    }
}
