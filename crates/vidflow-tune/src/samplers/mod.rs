//! Samplers: where a trial's parameters come from.
//!
//! A [`Sampler`] sees the study through a [`StudyView`] (directions and a snapshot of the
//! trials). At `ask` it may sample a whole *relative* search space jointly
//! ([`Sampler::sample_relative`], e.g. multivariate TPE, NSGA-II); every parameter it did not
//! cover is then sampled on its own when the objective suggests it
//! ([`Sampler::sample_independent`]), which is what makes define-by-run search spaces work.
//! This is Optuna's split of the work (`optuna/samplers/_base.py`), kept so the algorithms
//! port line for line.

mod grid;
mod nsga2;
mod random;
pub(crate) mod tpe;

use std::collections::BTreeMap;
use std::sync::Arc;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

pub use grid::GridSampler;
pub use nsga2::{Nsga2Options, Nsga2Sampler};
pub use random::RandomSampler;
pub use tpe::{TpeOptions, TpeSampler};

use crate::distribution::Distribution;
use crate::error::Result;
use crate::frozen::{FrozenTrial, TrialState};
use crate::storage::{Storage, StudyId};
use crate::study::Direction;

/// A search space: distributions by parameter name, in name order.
pub type SearchSpace = BTreeMap<String, Distribution>;

/// What a sampler or pruner may see of a study: its directions and a snapshot of its trials.
pub struct StudyView<'a> {
    pub(crate) name: &'a str,
    pub(crate) id: StudyId,
    pub(crate) directions: &'a [Direction],
    pub(crate) trials: &'a [Arc<FrozenTrial>],
    pub(crate) storage: &'a dyn Storage,
}

impl<'a> StudyView<'a> {
    /// The study's name.
    pub fn name(&self) -> &str {
        self.name
    }

    /// One direction per objective.
    pub fn directions(&self) -> &[Direction] {
        self.directions
    }

    /// Whether the study has more than one objective.
    pub fn is_multi_objective(&self) -> bool {
        self.directions.len() > 1
    }

    /// All trials of the snapshot, by number.
    pub fn trials(&self) -> &[Arc<FrozenTrial>] {
        self.trials
    }

    /// The snapshot's trials in one of `states`.
    pub fn trials_in<'b>(
        &'b self,
        states: &'b [TrialState],
    ) -> impl Iterator<Item = &'b Arc<FrozenTrial>> + 'b {
        self.trials
            .iter()
            .filter(move |t| states.contains(&t.state))
    }

    /// The study's system attributes (read from storage, not the snapshot).
    pub fn system_attrs(&self) -> Result<BTreeMap<String, serde_json::Value>> {
        self.storage.study_system_attrs(self.id)
    }

    /// Sets a study system attribute.
    pub fn set_system_attr(&self, key: &str, value: serde_json::Value) -> Result<()> {
        self.storage.set_study_system_attr(self.id, key, value)
    }

    /// The same study seen through another set of trials (Hyperband's brackets).
    pub(crate) fn with_trials<'b>(&'b self, trials: &'b [Arc<FrozenTrial>]) -> StudyView<'b> {
        StudyView {
            name: self.name,
            id: self.id,
            directions: self.directions,
            trials,
            storage: self.storage,
        }
    }
}

/// Draws parameters for trials. See the module documentation for the protocol.
pub trait Sampler: Send {
    /// The space to sample jointly at `ask` for this trial; empty by default.
    fn infer_relative_search_space(
        &mut self,
        _study: &StudyView<'_>,
        _trial: &FrozenTrial,
    ) -> Result<SearchSpace> {
        Ok(SearchSpace::new())
    }

    /// Samples `space` jointly; returns internal values by name (any subset of `space`).
    /// The sampler may note things in `trial.system_attrs`.
    fn sample_relative(
        &mut self,
        _study: &StudyView<'_>,
        _trial: &mut FrozenTrial,
        _space: &SearchSpace,
    ) -> Result<BTreeMap<String, f64>> {
        Ok(BTreeMap::new())
    }

    /// Samples one parameter on its own; returns its internal value.
    fn sample_independent(
        &mut self,
        study: &StudyView<'_>,
        trial: &FrozenTrial,
        name: &str,
        distribution: &Distribution,
    ) -> Result<f64>;

    /// Whether the sampler can run out of points at all (so `optimize` asks
    /// [`Sampler::is_exhausted`] before each trial).
    fn can_exhaust(&self) -> bool {
        false
    }

    /// Whether the sampler has nothing left to propose (a finished grid); `optimize` stops.
    fn is_exhausted(&self, _study: &StudyView<'_>) -> bool {
        false
    }
}

/// A boxed sampler is a sampler, so one chosen at run time can be handed to the builder.
impl<S: Sampler + ?Sized> Sampler for Box<S> {
    fn infer_relative_search_space(
        &mut self,
        study: &StudyView<'_>,
        trial: &FrozenTrial,
    ) -> Result<SearchSpace> {
        (**self).infer_relative_search_space(study, trial)
    }

    fn sample_relative(
        &mut self,
        study: &StudyView<'_>,
        trial: &mut FrozenTrial,
        space: &SearchSpace,
    ) -> Result<BTreeMap<String, f64>> {
        (**self).sample_relative(study, trial, space)
    }

    fn sample_independent(
        &mut self,
        study: &StudyView<'_>,
        trial: &FrozenTrial,
        name: &str,
        distribution: &Distribution,
    ) -> Result<f64> {
        (**self).sample_independent(study, trial, name, distribution)
    }

    fn can_exhaust(&self) -> bool {
        (**self).can_exhaust()
    }

    fn is_exhausted(&self, study: &StudyView<'_>) -> bool {
        (**self).is_exhausted(study)
    }
}

/// A seeded RNG, or one seeded from the clock and process id when no seed is given.
pub(crate) fn make_rng(seed: Option<u64>) -> ChaCha8Rng {
    match seed {
        Some(s) => ChaCha8Rng::seed_from_u64(s),
        None => {
            let t = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(0);
            ChaCha8Rng::seed_from_u64(t ^ ((std::process::id() as u64) << 32))
        }
    }
}

/// The parameters every finished trial (in `states`) shares with the same distribution:
/// Optuna's `IntersectionSearchSpace`, folded in incrementally since finished trials do not
/// change.
#[derive(Default)]
pub(crate) struct IntersectionSearchSpace {
    include_pruned: bool,
    seen: Vec<bool>,
    space: Option<SearchSpace>,
}

impl IntersectionSearchSpace {
    pub(crate) fn new(include_pruned: bool) -> Self {
        IntersectionSearchSpace {
            include_pruned,
            ..Default::default()
        }
    }

    /// The intersection so far, without parameters that can take one value only.
    pub(crate) fn calculate(&mut self, study: &StudyView<'_>) -> SearchSpace {
        for t in study.trials() {
            let counted = t.state == TrialState::Complete
                || (self.include_pruned && t.state == TrialState::Pruned);
            if !counted {
                continue;
            }
            let n = t.number as usize;
            if self.seen.len() <= n {
                self.seen.resize(n + 1, false);
            }
            if self.seen[n] {
                continue;
            }
            self.seen[n] = true;
            match &mut self.space {
                None => {
                    self.space = Some(
                        t.params
                            .iter()
                            .map(|(k, p)| (k.clone(), p.distribution.clone()))
                            .collect(),
                    )
                }
                Some(space) => {
                    space.retain(|k, d| t.params.get(k).is_some_and(|p| p.distribution == *d))
                }
            }
        }
        self.space
            .iter()
            .flatten()
            .filter(|(_, d)| !d.single())
            .map(|(k, d)| (k.clone(), d.clone()))
            .collect()
    }
}
