//! Asynchronous successive halving: Optuna's `optuna/pruners/_successive_halving.py`.

use super::{Pruner, single_direction};
use crate::error::{Error, Result};
use crate::frozen::{FrozenTrial, TrialState};
use crate::samplers::StudyView;
use crate::study::Direction;

/// Asynchronous successive halving (ASHA).
///
/// Rung `k` is reached at step `min_resource * reduction_factor^(min_early_stopping_rate +
/// k)`. A trial reaching a rung records its value there and goes on only if it is in the top
/// `1 / reduction_factor` of all values recorded at that rung so far (at least the best one
/// always goes on).
#[derive(Clone, Debug)]
pub struct SuccessiveHalvingPruner {
    min_resource: Option<u64>,
    reduction_factor: u64,
    min_early_stopping_rate: u32,
    bootstrap_count: usize,
}

impl SuccessiveHalvingPruner {
    /// `min_resource` `None` estimates it ("auto": a hundredth of the longest completed
    /// trial's last step, at least 1) once a trial has completed.
    pub fn new(
        min_resource: Option<u64>,
        reduction_factor: u64,
        min_early_stopping_rate: u32,
        bootstrap_count: usize,
    ) -> Result<Self> {
        if min_resource == Some(0) {
            return Err(Error::Config("min_resource must be at least 1".into()));
        }
        if reduction_factor < 2 {
            return Err(Error::Config("reduction_factor must be at least 2".into()));
        }
        if bootstrap_count > 0 && min_resource.is_none() {
            return Err(Error::Config(
                "bootstrap_count > 0 needs an explicit min_resource".into(),
            ));
        }
        Ok(SuccessiveHalvingPruner {
            min_resource,
            reduction_factor,
            min_early_stopping_rate,
            bootstrap_count,
        })
    }
}

impl Default for SuccessiveHalvingPruner {
    /// Optuna's defaults: auto min resource, reduction factor 4, rate 0, no bootstrap.
    fn default() -> Self {
        SuccessiveHalvingPruner {
            min_resource: None,
            reduction_factor: 4,
            min_early_stopping_rate: 0,
            bootstrap_count: 0,
        }
    }
}

pub(crate) fn rung_key(rung: u32) -> String {
    format!("completed_rung_{rung}")
}

impl Pruner for SuccessiveHalvingPruner {
    fn prune(&mut self, study: &StudyView<'_>, trial: &mut FrozenTrial) -> Result<bool> {
        let direction = single_direction(study)?;
        let Some(step) = trial.last_step() else {
            return Ok(false);
        };
        let mut rung = 0u32;
        while trial.system_attrs.contains_key(&rung_key(rung)) {
            rung += 1;
        }
        let value = trial.intermediate_values[&step];
        loop {
            let min_resource = match self.min_resource {
                Some(m) => m,
                None => {
                    let last = study
                        .trials_in(&[TrialState::Complete])
                        .filter_map(|t| t.last_step())
                        .max();
                    match last {
                        Some(l) => {
                            let m = (l / 100).max(1);
                            self.min_resource = Some(m);
                            m
                        }
                        None => return Ok(false),
                    }
                }
            };
            let exponent = self.min_early_stopping_rate + rung;
            let promotion_step = self
                .reduction_factor
                .checked_pow(exponent)
                .and_then(|p| p.checked_mul(min_resource))
                .unwrap_or(u64::MAX);
            if step < promotion_step {
                return Ok(false);
            }
            if value.is_nan() {
                return Ok(true);
            }
            let key = rung_key(rung);
            trial
                .system_attrs
                .insert(key.clone(), serde_json::json!(value));
            let mut competing: Vec<f64> = study
                .trials()
                .iter()
                .filter(|t| t.id != trial.id)
                .filter_map(|t| t.system_attrs.get(&key).and_then(|v| v.as_f64()))
                .collect();
            competing.push(value);
            if competing.len() <= self.bootstrap_count {
                return Ok(true);
            }
            if !promotable(value, &mut competing, self.reduction_factor, direction) {
                return Ok(true);
            }
            rung += 1;
        }
    }
}

/// Whether `value` is among the top `1 / reduction_factor` of `competing` (which holds it).
fn promotable(value: f64, competing: &mut [f64], reduction_factor: u64, d: Direction) -> bool {
    let mut idx = (competing.len() as u64 / reduction_factor) as usize;
    idx = idx.saturating_sub(1);
    competing.sort_by(f64::total_cmp);
    match d {
        Direction::Maximize => value >= competing[competing.len() - 1 - idx],
        Direction::Minimize => value <= competing[idx],
    }
}
