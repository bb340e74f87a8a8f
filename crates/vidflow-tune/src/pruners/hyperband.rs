//! Hyperband: Optuna's `optuna/pruners/_hyperband.py`.

use std::sync::Arc;

use super::{Pruner, SuccessiveHalvingPruner};
use crate::error::{Error, Result};
use crate::frozen::{FrozenTrial, TrialState};
use crate::samplers::StudyView;

/// Hyperband: several successive-halving brackets with different early-stopping rates;
/// each trial is assigned to one bracket by a hash of the study name and its number, in
/// proportion to the brackets' budgets, and competes only with trials of its bracket.
#[derive(Clone, Debug)]
pub struct HyperbandPruner {
    min_resource: u64,
    max_resource: Option<u64>,
    reduction_factor: u64,
    bootstrap_count: usize,
    brackets: Vec<SuccessiveHalvingPruner>,
    budgets: Vec<u64>,
}

impl HyperbandPruner {
    /// `max_resource` `None` ("auto") takes the longest completed trial's last step + 1.
    pub fn new(
        min_resource: u64,
        max_resource: Option<u64>,
        reduction_factor: u64,
        bootstrap_count: usize,
    ) -> Result<Self> {
        if min_resource == 0 || reduction_factor < 2 {
            return Err(Error::Config(
                "Hyperband needs min_resource >= 1 and reduction_factor >= 2".into(),
            ));
        }
        if bootstrap_count > 0 && max_resource.is_none() {
            return Err(Error::Config(
                "bootstrap_count > 0 needs an explicit max_resource".into(),
            ));
        }
        let mut pruner = HyperbandPruner {
            min_resource,
            max_resource,
            reduction_factor,
            bootstrap_count,
            brackets: Vec::new(),
            budgets: Vec::new(),
        };
        // With the maximum known the brackets are too; "auto" waits for a completed trial.
        if let Some(max) = max_resource {
            pruner.build_brackets(max)?;
        }
        Ok(pruner)
    }

    fn build_brackets(&mut self, max_resource: u64) -> Result<()> {
        self.max_resource = Some(max_resource);
        let ratio = max_resource as f64 / self.min_resource as f64;
        let n = (ratio.ln() / (self.reduction_factor as f64).ln()).floor() as i64 + 1;
        let n = n.max(1) as u32;
        for bracket in 0..n {
            let s = n - 1 - bracket;
            let budget =
                (n as f64 * (self.reduction_factor as f64).powi(s as i32) / (s + 1) as f64).ceil();
            self.budgets.push(budget as u64);
            self.brackets.push(SuccessiveHalvingPruner::new(
                Some(self.min_resource),
                self.reduction_factor,
                bracket,
                self.bootstrap_count,
            )?);
        }
        Ok(())
    }

    /// How many brackets there are (0 until the maximum resource is known).
    pub fn n_brackets(&self) -> usize {
        self.brackets.len()
    }

    fn try_init(&mut self, study: &StudyView<'_>) -> Result<()> {
        let last = study
            .trials_in(&[TrialState::Complete])
            .filter_map(|t| t.last_step())
            .max();
        match last {
            Some(l) => self.build_brackets(l + 1),
            None => Ok(()),
        }
    }

    /// The bracket of trial `number` in study `study_name`.
    pub fn bracket_of(&self, study_name: &str, number: u64) -> usize {
        let total: u64 = self.budgets.iter().sum();
        if total == 0 {
            return 0;
        }
        let hash = crc32fast::hash(format!("{study_name}_{number}").as_bytes()) as u64;
        let mut n = (hash % total) as i64;
        for (i, b) in self.budgets.iter().enumerate() {
            n -= *b as i64;
            if n < 0 {
                return i;
            }
        }
        self.budgets.len() - 1
    }
}

impl Default for HyperbandPruner {
    /// Optuna's defaults: min resource 1, auto max resource, reduction factor 3.
    fn default() -> Self {
        HyperbandPruner::new(1, None, 3, 0).expect("the defaults are valid")
    }
}

impl Pruner for HyperbandPruner {
    fn prune(&mut self, study: &StudyView<'_>, trial: &mut FrozenTrial) -> Result<bool> {
        if self.brackets.is_empty() {
            self.try_init(study)?;
            if self.brackets.is_empty() {
                return Ok(false);
            }
        }
        let bracket = self.bracket_of(study.name(), trial.number);
        let in_bracket: Vec<Arc<FrozenTrial>> = study
            .trials()
            .iter()
            .filter(|t| self.bracket_of(study.name(), t.number) == bracket)
            .cloned()
            .collect();
        let view = study.with_trials(&in_bracket);
        self.brackets[bracket].prune(&view, trial)
    }
}
