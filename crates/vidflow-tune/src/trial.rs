//! A running trial: define-by-run suggestions, intermediate reports, pruning, attributes.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;

use crate::distribution::{Choice, Distribution, ParamValue};
use crate::error::{Error, Result};
use crate::frozen::{FrozenTrial, Param, TrialState};
use crate::samplers::SearchSpace;
use crate::storage::now_s;
use crate::study::Study;

/// A trial being evaluated. The objective asks it for parameters (`suggest_*`), may report
/// intermediate values and ask whether to stop; the study then records how it ended
/// ([`Study::tell`], or `optimize` does it).
///
/// A trial dropped without being told (a panicking objective) is recorded as failed.
pub struct Trial {
    study: Study,
    /// `None` once handed to `tell`.
    record: Option<FrozenTrial>,
    relative_space: SearchSpace,
    relative: BTreeMap<String, f64>,
    fixed: BTreeMap<String, ParamValue>,
    snapshot: Arc<Vec<Arc<FrozenTrial>>>,
}

impl Trial {
    pub(crate) fn new(
        study: Study,
        record: FrozenTrial,
        relative_space: SearchSpace,
        relative: BTreeMap<String, f64>,
        fixed: BTreeMap<String, ParamValue>,
        snapshot: Arc<Vec<Arc<FrozenTrial>>>,
    ) -> Self {
        Trial {
            study,
            record: Some(record),
            relative_space,
            relative,
            fixed,
            snapshot,
        }
    }

    fn rec(&self) -> &FrozenTrial {
        self.record.as_ref().expect("a trial is live until told")
    }

    fn rec_mut(&mut self) -> &mut FrozenTrial {
        self.record.as_mut().expect("a trial is live until told")
    }

    /// Hands the record over for `tell`.
    pub(crate) fn finish(mut self) -> FrozenTrial {
        self.record.take().expect("a trial is told once")
    }

    /// The trial's number in its study, from 0.
    pub fn number(&self) -> u64 {
        self.rec().number
    }

    /// The trial's record so far.
    pub fn record(&self) -> &FrozenTrial {
        self.rec()
    }

    /// The study the trial belongs to.
    pub fn study(&self) -> &Study {
        &self.study
    }

    /// The parameters suggested so far.
    pub fn params(&self) -> BTreeMap<String, ParamValue> {
        self.rec()
            .params
            .iter()
            .map(|(k, p)| (k.clone(), p.value()))
            .collect()
    }

    /// Suggests a parameter from any distribution; returns its value. Suggesting the same
    /// name again with the same distribution returns the same value; with another one it
    /// is an error.
    pub fn suggest(&mut self, name: &str, distribution: Distribution) -> Result<ParamValue> {
        let internal = self.suggest_internal(name, distribution)?;
        Ok(self.rec().params[name].distribution.to_external(internal))
    }

    fn suggest_internal(&mut self, name: &str, distribution: Distribution) -> Result<f64> {
        if let Some(p) = self.rec().params.get(name) {
            if p.distribution == distribution {
                return Ok(p.internal);
            }
            return Err(Error::ParamRedefined {
                name: name.to_string(),
                trial: self.rec().number,
                previous: p.distribution.to_string(),
                requested: distribution.to_string(),
            });
        }
        let internal = if let Some(v) = self.fixed.get(name) {
            distribution
                .to_internal(v)
                .filter(|x| distribution.contains(*x))
                .ok_or_else(|| Error::ValueOutsideDistribution {
                    name: name.to_string(),
                    value: v.to_string(),
                    distribution: distribution.to_string(),
                })?
        } else if let Some(&v) = self
            .relative
            .get(name)
            .filter(|_| self.relative_space.get(name) == Some(&distribution))
        {
            v
        } else {
            let view = self.study.view(&self.snapshot);
            let record = self.record.as_ref().expect("a trial is live until told");
            self.study
                .sampler()
                .sample_independent(&view, record, name, &distribution)?
        };
        self.rec_mut().params.insert(
            name.to_string(),
            Param {
                distribution,
                internal,
            },
        );
        self.study
            .inner
            .storage
            .update_trial(self.record.as_ref().expect("live"), false)?;
        Ok(internal)
    }

    /// A float, uniform in `[low, high]`.
    pub fn suggest_float(&mut self, name: &str, low: f64, high: f64) -> Result<f64> {
        let d = Distribution::float(name, low, high, false, None)?;
        self.suggest_internal(name, d)
    }

    /// A float, log-uniform in `[low, high]` (`low > 0`).
    pub fn suggest_float_log(&mut self, name: &str, low: f64, high: f64) -> Result<f64> {
        let d = Distribution::float(name, low, high, true, None)?;
        self.suggest_internal(name, d)
    }

    /// A float on the grid `low, low + step, ...` up to `high`.
    pub fn suggest_float_step(
        &mut self,
        name: &str,
        low: f64,
        high: f64,
        step: f64,
    ) -> Result<f64> {
        let d = Distribution::float(name, low, high, false, Some(step))?;
        self.suggest_internal(name, d)
    }

    /// An integer, uniform in `[low, high]`.
    pub fn suggest_int(&mut self, name: &str, low: i64, high: i64) -> Result<i64> {
        self.suggest_int_with(name, low, high, false, 1)
    }

    /// An integer, log-uniform in `[low, high]` (`low > 0`).
    pub fn suggest_int_log(&mut self, name: &str, low: i64, high: i64) -> Result<i64> {
        self.suggest_int_with(name, low, high, true, 1)
    }

    /// An integer on the grid `low, low + step, ...` up to `high`.
    pub fn suggest_int_step(&mut self, name: &str, low: i64, high: i64, step: i64) -> Result<i64> {
        self.suggest_int_with(name, low, high, false, step)
    }

    fn suggest_int_with(
        &mut self,
        name: &str,
        low: i64,
        high: i64,
        log: bool,
        step: i64,
    ) -> Result<i64> {
        let d = Distribution::int(name, low, high, log, step)?;
        Ok(self.suggest_internal(name, d)?.round() as i64)
    }

    /// One of `choices` (uniform prior; TPE learns which pay).
    pub fn suggest_categorical<T>(&mut self, name: &str, choices: &[T]) -> Result<T>
    where
        T: Clone + Into<Choice>,
    {
        let d = Distribution::categorical(name, choices.iter().cloned().map(Into::into).collect())?;
        let i = self.suggest_internal(name, d)? as usize;
        Ok(choices[i.min(choices.len() - 1)].clone())
    }

    /// Reports an intermediate value at `step` (e.g. the loss after an epoch), for the
    /// pruner. A second report for the same step is ignored, as in Optuna.
    pub fn report(&mut self, step: u64, value: f64) -> Result<()> {
        let rec = self.rec_mut();
        if rec.intermediate_values.contains_key(&step) {
            return Ok(());
        }
        rec.intermediate_values.insert(step, value);
        self.study
            .inner
            .storage
            .update_trial(self.record.as_ref().expect("live"), true)
    }

    /// Whether the pruner says to stop now, judged on the values reported so far.
    pub fn should_prune(&mut self) -> Result<bool> {
        let trials = self.study.trials()?;
        let before = self.rec().system_attrs.clone();
        let prune = {
            let view = self.study.view(&trials);
            let mut pruner = self.study.pruner();
            pruner.prune(&view, self.record.as_mut().expect("live"))?
        };
        if self.rec().system_attrs != before {
            // Rung values are what other workers compete against: write them now.
            self.study
                .inner
                .storage
                .update_trial(self.record.as_ref().expect("live"), true)?;
        }
        Ok(prune)
    }

    /// Attaches a user attribute (any serialisable value).
    pub fn set_user_attr(&mut self, key: &str, value: impl Serialize) -> Result<()> {
        let v = serde_json::to_value(value)
            .map_err(|e| Error::Config(format!("user attribute `{key}`: {e}")))?;
        self.rec_mut().user_attrs.insert(key.to_string(), v);
        self.study
            .inner
            .storage
            .update_trial(self.record.as_ref().expect("live"), false)
    }
}

impl Drop for Trial {
    fn drop(&mut self) {
        if let Some(mut rec) = self.record.take() {
            rec.state = TrialState::Failed;
            rec.completed_at = Some(now_s());
            rec.system_attrs.insert(
                "fail_reason".into(),
                serde_json::json!("the trial was dropped without being told (a panic?)"),
            );
            // Best effort: if even this fails, the heartbeat timeout catches the trial.
            let _ = self.study.inner.storage.finish_trial(&rec);
        }
    }
}
