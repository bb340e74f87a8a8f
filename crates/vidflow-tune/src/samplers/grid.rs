//! Exhaustive search over a grid, after Optuna's `GridSampler` (`optuna/samplers/_grid.py`):
//! the first trials take the grid points in order, later ones (after restarts, or with
//! several workers) a random point not yet started, so workers rarely collide.

use std::collections::BTreeMap;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::{Sampler, SearchSpace, StudyView, make_rng};
use crate::distribution::{Distribution, ParamValue};
use crate::error::{Error, Result};
use crate::frozen::{FrozenTrial, TrialState};
use crate::storage::FIXED_PARAMS_ATTR;

const GRID_ID_ATTR: &str = "grid_id";

/// Visits every combination of the given values once; `optimize` stops when all are done.
pub struct GridSampler {
    names: Vec<String>,
    values: Vec<Vec<ParamValue>>,
    n_points: usize,
    rng: ChaCha8Rng,
}

impl GridSampler {
    /// A grid over `values` (each parameter's list in the order to visit). Every list must
    /// be non-empty.
    pub fn new(values: BTreeMap<String, Vec<ParamValue>>, seed: Option<u64>) -> Result<Self> {
        if let Some((name, _)) = values.iter().find(|(_, v)| v.is_empty()) {
            return Err(Error::Config(format!(
                "grid sampler: parameter `{name}` has no values"
            )));
        }
        let n_points = values.values().map(Vec::len).product();
        let (names, values) = values.into_iter().unzip();
        Ok(GridSampler {
            names,
            values,
            n_points,
            rng: make_rng(seed),
        })
    }

    /// How many points the grid has.
    pub fn len(&self) -> usize {
        self.n_points
    }

    /// Whether the grid has no points (never: every list is non-empty).
    pub fn is_empty(&self) -> bool {
        self.n_points == 0
    }

    /// The value of parameter `name` at grid point `id` (last name varies fastest).
    fn value_at(&self, id: usize, name: &str) -> Option<&ParamValue> {
        let mut rest = id;
        let mut found = None;
        for (i, vals) in self.values.iter().enumerate().rev() {
            let v = &vals[rest % vals.len()];
            rest /= vals.len();
            if self.names[i] == name {
                found = Some(v);
            }
        }
        found
    }

    /// Grid points not finished yet, and among them those not even started.
    fn open_points(&self, study: &StudyView<'_>) -> (Vec<usize>, Vec<usize>) {
        let mut finished = vec![false; self.n_points];
        let mut running = vec![false; self.n_points];
        for t in study.trials() {
            let Some(id) = t.system_attrs.get(GRID_ID_ATTR).and_then(|v| v.as_u64()) else {
                continue;
            };
            let id = id as usize;
            if id >= self.n_points {
                continue;
            }
            if t.state.is_finished() {
                finished[id] = true;
            } else if t.state == TrialState::Running {
                running[id] = true;
            }
        }
        let unfinished: Vec<usize> = (0..self.n_points).filter(|&i| !finished[i]).collect();
        let unstarted = unfinished
            .iter()
            .copied()
            .filter(|&i| !running[i])
            .collect();
        (unfinished, unstarted)
    }
}

impl Sampler for GridSampler {
    fn sample_relative(
        &mut self,
        study: &StudyView<'_>,
        trial: &mut FrozenTrial,
        _space: &SearchSpace,
    ) -> Result<BTreeMap<String, f64>> {
        // A retried or enqueued trial keeps its point.
        if trial.system_attrs.contains_key(GRID_ID_ATTR)
            || trial.system_attrs.contains_key(FIXED_PARAMS_ATTR)
        {
            return Ok(BTreeMap::new());
        }
        let id = if (trial.number as usize) < self.n_points
            && !study.trials().iter().any(|t| {
                t.number != trial.number
                    && t.system_attrs.get(GRID_ID_ATTR).and_then(|v| v.as_u64())
                        == Some(trial.number)
            }) {
            trial.number as usize
        } else {
            let (unfinished, unstarted) = self.open_points(study);
            let pool = if !unstarted.is_empty() {
                unstarted
            } else if !unfinished.is_empty() {
                unfinished
            } else {
                (0..self.n_points).collect()
            };
            pool[self.rng.random_range(0..pool.len())]
        };
        trial
            .system_attrs
            .insert(GRID_ID_ATTR.to_string(), serde_json::json!(id));
        Ok(BTreeMap::new())
    }

    fn sample_independent(
        &mut self,
        _study: &StudyView<'_>,
        trial: &FrozenTrial,
        name: &str,
        distribution: &Distribution,
    ) -> Result<f64> {
        let id = trial
            .system_attrs
            .get(GRID_ID_ATTR)
            .and_then(|v| v.as_u64())
            .unwrap_or(0) as usize;
        let value = self.value_at(id, name).ok_or_else(|| {
            Error::Config(format!(
                "grid sampler: parameter `{name}` is suggested but not in the grid ({})",
                self.names.join(", ")
            ))
        })?;
        distribution
            .to_internal(value)
            .filter(|v| distribution.contains(*v))
            .ok_or_else(|| Error::ValueOutsideDistribution {
                name: name.to_string(),
                value: value.to_string(),
                distribution: distribution.to_string(),
            })
    }

    fn can_exhaust(&self) -> bool {
        true
    }

    fn is_exhausted(&self, study: &StudyView<'_>) -> bool {
        self.open_points(study).0.is_empty()
    }
}
