//! The Tree-structured Parzen Estimator, after Optuna 5's `TPESampler`
//! (`optuna/samplers/_tpe/sampler.py`).
//!
//! Each sampling splits the trials seen so far into the best `gamma(n)` ("below") and the
//! rest ("above"), fits a [`parzen::ParzenEstimator`] to each, draws `n_ei_candidates` points
//! from the "below" one and keeps the point with the largest `log l(x) - log g(x)`.
//! Multivariate TPE does this jointly for the parameters all finished trials share; the
//! independent variant per parameter. With the constant liar, trials still running count
//! as "above", so parallel workers spread out instead of sampling the same spot.

mod parzen;
pub(crate) mod truncnorm;

use std::collections::{BTreeMap, HashMap};

use rand_chacha::ChaCha8Rng;

use self::parzen::{ParzenEstimator, ParzenParams};
use super::random::sample_uniform;
use super::{IntersectionSearchSpace, Sampler, SearchSpace, StudyView, make_rng};
use crate::distribution::Distribution;
use crate::error::{Error, Result};
use crate::frozen::{FrozenTrial, TrialState};
use crate::pareto::{non_domination_ranks, select_by_hypervolume};
use crate::study::Direction;

/// The system attribute where `ask` keeps a running trial's jointly sampled parameters, so
/// the constant liar can see them before the objective suggests them.
pub(crate) const RELATIVE_PARAMS_ATTR: &str = "relative_params";

/// TPE settings; the defaults are Optuna 5.0.0's (see hpo-bench.md section 3).
#[derive(Clone, Debug, PartialEq)]
pub struct TpeOptions {
    /// Trials sampled at random before TPE starts (10).
    pub n_startup_trials: usize,
    /// Candidates drawn from the "below" density per sampling (24).
    pub n_ei_candidates: usize,
    /// Weight of the prior kernel (1.0).
    pub prior_weight: f64,
    /// Lower-bound the kernel widths by the range over `min(100, 1 + n_kernels)` (true).
    pub consider_magic_clip: bool,
    /// Let the outermost kernels reach the bounds (false).
    pub consider_endpoints: bool,
    /// Joint (true) or per-parameter (false) densities; `None`: joint for one objective,
    /// per parameter for several (Optuna 5's default).
    pub multivariate: Option<bool>,
    /// Count running trials as bad ones while sampling (true).
    pub constant_liar: bool,
    /// RNG seed; `None` seeds from the clock.
    pub seed: Option<u64>,
}

impl Default for TpeOptions {
    fn default() -> Self {
        TpeOptions {
            n_startup_trials: 10,
            n_ei_candidates: 24,
            prior_weight: 1.0,
            consider_magic_clip: true,
            consider_endpoints: false,
            multivariate: None,
            constant_liar: true,
            seed: None,
        }
    }
}

/// The TPE sampler.
pub struct TpeSampler {
    opts: TpeOptions,
    rng: ChaCha8Rng,
    startup_rng: ChaCha8Rng,
    search_space: IntersectionSearchSpace,
    /// The last split, reused by the per-parameter samplings of one trial.
    split_cache: Option<SplitCache>,
    /// Per parameter, the internal value of each finished trial (by snapshot position):
    /// finished trials never change, so each is looked up by name once.
    columns: HashMap<String, Vec<Option<Option<f64>>>>,
}

struct SplitCache {
    trial_number: u64,
    n_trials: usize,
    below: Vec<usize>,
    above: Vec<usize>,
}

impl TpeSampler {
    /// TPE with Optuna's defaults and the given seed.
    pub fn new(seed: Option<u64>) -> Self {
        Self::with_options(TpeOptions {
            seed,
            ..TpeOptions::default()
        })
    }

    /// TPE with explicit options.
    pub fn with_options(opts: TpeOptions) -> Self {
        // Separate streams for the start-up draws and TPE's own, as Optuna keeps a
        // RandomSampler beside its RandomState.
        let rng = make_rng(opts.seed.map(|s| s.wrapping_add(0x9e37_79b9_7f4a_7c15)));
        let startup_rng = make_rng(opts.seed);
        TpeSampler {
            opts,
            rng,
            startup_rng,
            search_space: IntersectionSearchSpace::new(true),
            split_cache: None,
            columns: HashMap::new(),
        }
    }

    fn is_multivariate(&self, study: &StudyView<'_>) -> bool {
        self.opts
            .multivariate
            .unwrap_or(!study.is_multi_objective())
    }

    fn n_finished(study: &StudyView<'_>) -> usize {
        study
            .trials_in(&[TrialState::Complete, TrialState::Pruned])
            .count()
    }

    /// Samples `space` jointly for `trial`; returns internal values.
    fn sample(
        &mut self,
        study: &StudyView<'_>,
        trial: &FrozenTrial,
        space: &[(&str, &Distribution)],
    ) -> Result<Vec<f64>> {
        let states: &[TrialState] = if self.opts.constant_liar {
            &[
                TrialState::Complete,
                TrialState::Pruned,
                TrialState::Running,
            ]
        } else {
            &[TrialState::Complete, TrialState::Pruned]
        };
        let cached = self
            .split_cache
            .as_ref()
            .is_some_and(|c| c.trial_number == trial.number && c.n_trials == study.trials().len());
        if !cached {
            let trials: Vec<&FrozenTrial> = study
                .trials_in(states)
                .filter(|t| t.number != trial.number)
                .map(|t| &**t)
                .collect();
            let n = trials
                .iter()
                .filter(|t| t.state != TrialState::Running)
                .count();
            let n_below = gamma(n, study.is_multi_objective());
            let (below, above) = split_trials(study.directions(), &trials, n_below);
            // Positions in the snapshot (ordered by number), so the cache holds no borrows.
            let all = study.trials();
            let position = |t: &&FrozenTrial| {
                all.binary_search_by_key(&t.number, |x| x.number)
                    .expect("split trials come from the snapshot")
            };
            self.split_cache = Some(SplitCache {
                trial_number: trial.number,
                n_trials: all.len(),
                below: below.iter().map(position).collect(),
                above: above.iter().map(position).collect(),
            });
        }
        let multivariate = self.is_multivariate(study);
        let all = study.trials();
        for (name, _) in space {
            let col = self.columns.entry(name.to_string()).or_default();
            if col.len() < all.len() {
                col.resize(all.len(), None);
            }
        }
        let cache = self.split_cache.as_ref().expect("split computed above");
        let obs_below = observations(all, &cache.below, space, multivariate, &mut self.columns);
        let obs_above = observations(all, &cache.above, space, multivariate, &mut self.columns);
        let params = ParzenParams {
            prior_weight: self.opts.prior_weight,
            consider_magic_clip: self.opts.consider_magic_clip,
            consider_endpoints: self.opts.consider_endpoints,
        };
        let dists: Vec<&Distribution> = space.iter().map(|(_, d)| *d).collect();
        // Several objectives: the "below" trials are a Pareto-ranked set, weighted equally.
        let below_weights = study
            .is_multi_objective()
            .then(|| vec![1.0; obs_below.first().map_or(0, Vec::len)]);
        let below = ParzenEstimator::new(&obs_below, &dists, params, below_weights);
        let above = ParzenEstimator::new(&obs_above, &dists, params, None);
        let samples = below.sample(&mut self.rng, self.opts.n_ei_candidates);
        let ll_below = below.log_pdf(&samples);
        let ll_above = above.log_pdf(&samples);
        let mut best = 0;
        let mut best_acq = f64::NEG_INFINITY;
        for (i, (b, a)) in ll_below.iter().zip(&ll_above).enumerate() {
            let acq = b - a;
            // NaN never wins; the first of equal maxima does (numpy's argmax).
            if acq > best_acq {
                best_acq = acq;
                best = i;
            }
        }
        Ok(samples.iter().map(|col| col[best]).collect())
    }
}

/// Optuna's `default_gamma` (capped at 25) and `default_gamma_multiobjective`.
fn gamma(n: usize, multi_objective: bool) -> usize {
    let g = (0.1 * n as f64).ceil() as usize;
    if multi_objective { g } else { g.min(25) }
}

/// Loss vector: maximised objectives flipped.
fn loss(values: &[f64], directions: &[Direction]) -> Vec<f64> {
    values
        .iter()
        .zip(directions)
        .map(|(v, d)| match d {
            Direction::Minimize => *v,
            Direction::Maximize => -*v,
        })
        .collect()
}

/// Optuna's `_split_trials`: the best `n_below` complete trials (Pareto ranks with a
/// hypervolume tie-break for several objectives), then pruned ones by how far they got, go
/// below; everything else, running trials included, goes above. Both sides by number.
fn split_trials<'t>(
    directions: &[Direction],
    trials: &[&'t FrozenTrial],
    n_below: usize,
) -> (Vec<&'t FrozenTrial>, Vec<&'t FrozenTrial>) {
    let mut complete = Vec::new();
    let mut pruned = Vec::new();
    let mut running = Vec::new();
    for &t in trials {
        match t.state {
            TrialState::Running => running.push(t),
            TrialState::Complete => complete.push(t),
            TrialState::Pruned => pruned.push(t),
            _ => {}
        }
    }
    let (mut below, mut above) = split_complete(directions, &complete, n_below);
    let n_below = n_below.saturating_sub(below.len());
    // Pruned trials: further is better, then the last intermediate value.
    let sign = match directions[0] {
        Direction::Minimize => 1.0,
        Direction::Maximize => -1.0,
    };
    let score = |t: &FrozenTrial| -> (f64, f64) {
        match t.intermediate_values.iter().next_back() {
            Some((&step, &v)) if v.is_nan() => (-(step as f64), f64::INFINITY),
            Some((&step, &v)) => (-(step as f64), sign * v),
            None => (1.0, 0.0),
        }
    };
    pruned.sort_by(|a, b| {
        let (sa, sb) = (score(a), score(b));
        sa.0.total_cmp(&sb.0).then(sa.1.total_cmp(&sb.1))
    });
    let k = n_below.min(pruned.len());
    below.extend_from_slice(&pruned[..k]);
    above.extend_from_slice(&pruned[k..]);
    above.extend(running);
    below.sort_by_key(|t| t.number);
    above.sort_by_key(|t| t.number);
    (below, above)
}

fn split_complete<'t>(
    directions: &[Direction],
    trials: &[&'t FrozenTrial],
    n_below: usize,
) -> (Vec<&'t FrozenTrial>, Vec<&'t FrozenTrial>) {
    let n_below = n_below.min(trials.len());
    let lvals: Vec<Vec<f64>> = trials
        .iter()
        .map(|t| loss(t.values.as_deref().unwrap_or(&[]), directions))
        .collect();
    if directions.len() <= 1 {
        // The n_below smallest, ties going to the earlier trial: what a stable sort gives,
        // found in linear time from the n_below-th smallest value.
        if n_below == 0 {
            return (Vec::new(), trials.to_vec());
        }
        let mut keys: Vec<f64> = lvals.iter().map(|v| v[0]).collect();
        let (_, kth, _) = keys.select_nth_unstable_by(n_below - 1, f64::total_cmp);
        let kth = *kth;
        let mut n_less = lvals
            .iter()
            .filter(|v| v[0].total_cmp(&kth).is_lt())
            .count();
        let mut below = Vec::with_capacity(n_below);
        let mut above = Vec::with_capacity(trials.len() - n_below);
        for (t, v) in trials.iter().zip(&lvals) {
            let take = match v[0].total_cmp(&kth) {
                std::cmp::Ordering::Less => true,
                std::cmp::Ordering::Equal if n_less < n_below => {
                    n_less += 1;
                    true
                }
                _ => false,
            };
            if take { below.push(*t) } else { above.push(*t) }
        }
        return (below, above);
    }
    if n_below == 0 {
        return (Vec::new(), trials.to_vec());
    }
    if n_below == trials.len() {
        return (trials.to_vec(), Vec::new());
    }
    let ranks = non_domination_ranks(&lvals, Some(n_below));
    let max_rank = ranks.iter().copied().max().unwrap_or(0);
    let mut counts = vec![0usize; max_rank + 1];
    for &r in &ranks {
        counts[r] += 1;
    }
    // The last rank that fits entirely below.
    let mut cum = 0;
    let mut last_full: Option<usize> = None;
    for (r, &c) in counts.iter().enumerate() {
        cum += c;
        if cum <= n_below {
            last_full = Some(r);
        } else {
            break;
        }
    }
    let mut is_below: Vec<bool> = ranks
        .iter()
        .map(|&r| last_full.is_some_and(|l| r <= l))
        .collect();
    let n_in = is_below.iter().filter(|&&b| b).count();
    if n_in < n_below {
        let tie_rank = last_full.map_or(0, |l| l + 1);
        let tied: Vec<usize> = (0..trials.len())
            .filter(|&i| ranks[i] == tie_rank)
            .collect();
        let tied_lvals: Vec<Vec<f64>> = tied.iter().map(|&i| lvals[i].clone()).collect();
        let reference = reference_point(&tied_lvals);
        for i in select_by_hypervolume(&tied_lvals, &tied, n_below - n_in, &reference) {
            is_below[i] = true;
        }
    }
    let below = (0..trials.len())
        .filter(|&i| is_below[i])
        .map(|i| trials[i])
        .collect();
    let above = (0..trials.len())
        .filter(|&i| !is_below[i])
        .map(|i| trials[i])
        .collect();
    (below, above)
}

/// Optuna's `_get_reference_point`: 10% beyond the worst point, `1e-12` for zeros.
fn reference_point(lvals: &[Vec<f64>]) -> Vec<f64> {
    let d = lvals[0].len();
    (0..d)
        .map(|j| {
            let worst = lvals.iter().map(|v| v[j]).fold(f64::NEG_INFINITY, f64::max);
            let r = (1.1 * worst).max(0.9 * worst);
            if r == 0.0 { 1e-12 } else { r }
        })
        .collect()
}

/// Internal values of `space`'s parameters for every trial (at the given snapshot
/// positions) that has all of them, one column per parameter. Running trials count through
/// their jointly sampled parameters too (the constant liar needs them); finished trials'
/// values come from `columns` after the first lookup.
fn observations(
    all: &[std::sync::Arc<FrozenTrial>],
    positions: &[usize],
    space: &[(&str, &Distribution)],
    multivariate: bool,
    columns: &mut HashMap<String, Vec<Option<Option<f64>>>>,
) -> Vec<Vec<f64>> {
    let mut cols: Vec<Vec<f64>> = vec![Vec::with_capacity(positions.len()); space.len()];
    let mut caches: Vec<&mut Vec<Option<Option<f64>>>> = Vec::with_capacity(space.len());
    // Distinct names (a search space has no repeats), so the borrows do not overlap.
    let mut rest: Vec<(&String, &mut Vec<Option<Option<f64>>>)> = columns
        .iter_mut()
        .filter(|(k, _)| space.iter().any(|(n, _)| *n == k.as_str()))
        .collect();
    for (name, _) in space {
        let at = rest
            .iter()
            .position(|(k, _)| k.as_str() == *name)
            .expect("columns were made for the space");
        caches.push(rest.swap_remove(at).1);
    }
    let mut row = Vec::with_capacity(space.len());
    for &i in positions {
        let t = &all[i];
        row.clear();
        let finished = t.state.is_finished();
        let relative = (multivariate && t.state == TrialState::Running)
            .then(|| t.system_attrs.get(RELATIVE_PARAMS_ATTR))
            .flatten();
        for ((name, _), cache) in space.iter().zip(caches.iter_mut()) {
            let v = match cache[i] {
                Some(v) if finished => v,
                _ => {
                    let v = t.params.get(*name).map(|p| p.internal).or_else(|| {
                        relative
                            .and_then(|r| r.get(*name))
                            .and_then(serde_json::Value::as_f64)
                    });
                    if finished {
                        cache[i] = Some(v);
                    }
                    v
                }
            };
            match v {
                Some(v) => row.push(v),
                None => break,
            }
        }
        if row.len() == space.len() {
            for (c, v) in cols.iter_mut().zip(&row) {
                c.push(*v);
            }
        }
    }
    cols
}

impl Sampler for TpeSampler {
    fn infer_relative_search_space(
        &mut self,
        study: &StudyView<'_>,
        _trial: &FrozenTrial,
    ) -> Result<SearchSpace> {
        if !self.is_multivariate(study) {
            return Ok(SearchSpace::new());
        }
        Ok(self.search_space.calculate(study))
    }

    fn sample_relative(
        &mut self,
        study: &StudyView<'_>,
        trial: &mut FrozenTrial,
        space: &SearchSpace,
    ) -> Result<BTreeMap<String, f64>> {
        if space.is_empty() || Self::n_finished(study) < self.opts.n_startup_trials {
            return Ok(BTreeMap::new());
        }
        let items: Vec<(&str, &Distribution)> =
            space.iter().map(|(k, d)| (k.as_str(), d)).collect();
        let values = self.sample(study, trial, &items)?;
        Ok(items
            .iter()
            .zip(values)
            .map(|((k, _), v)| (k.to_string(), v))
            .collect())
    }

    fn sample_independent(
        &mut self,
        study: &StudyView<'_>,
        trial: &FrozenTrial,
        name: &str,
        distribution: &Distribution,
    ) -> Result<f64> {
        if Self::n_finished(study) < self.opts.n_startup_trials {
            return Ok(sample_uniform(&mut self.startup_rng, distribution));
        }
        let v = self.sample(study, trial, &[(name, distribution)])?;
        v.first()
            .copied()
            .ok_or_else(|| Error::Config("TPE sampled no value".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::frozen::completed as complete;

    #[test]
    fn gamma_is_optunas() {
        assert_eq!(gamma(0, false), 0);
        assert_eq!(gamma(10, false), 1);
        assert_eq!(gamma(11, false), 2);
        assert_eq!(gamma(1000, false), 25);
        assert_eq!(gamma(1000, true), 100);
    }

    #[test]
    fn single_objective_split_takes_the_best_and_keeps_number_order() {
        let ts: Vec<FrozenTrial> = [5.0, 1.0, 3.0, 0.5, 4.0]
            .iter()
            .enumerate()
            .map(|(i, v)| complete(i as u64, vec![*v]))
            .collect();
        let refs: Vec<&FrozenTrial> = ts.iter().collect();
        let (below, above) = split_trials(&[Direction::Minimize], &refs, 2);
        assert_eq!(below.iter().map(|t| t.number).collect::<Vec<_>>(), [1, 3]);
        assert_eq!(
            above.iter().map(|t| t.number).collect::<Vec<_>>(),
            [0, 2, 4]
        );
        let (below, _) = split_trials(&[Direction::Maximize], &refs, 2);
        assert_eq!(below.iter().map(|t| t.number).collect::<Vec<_>>(), [0, 4]);
    }

    #[test]
    fn running_trials_go_above_and_pruned_fill_up_below() {
        let mut ts = vec![complete(0, vec![1.0]), complete(1, vec![2.0])];
        let mut p = complete(2, vec![]);
        p.state = TrialState::Pruned;
        p.values = None;
        p.intermediate_values.insert(7, 0.1);
        ts.push(p);
        let mut r = complete(3, vec![]);
        r.state = TrialState::Running;
        ts.push(r);
        let refs: Vec<&FrozenTrial> = ts.iter().collect();
        let (below, above) = split_trials(&[Direction::Minimize], &refs, 3);
        assert_eq!(
            below.iter().map(|t| t.number).collect::<Vec<_>>(),
            [0, 1, 2]
        );
        assert_eq!(above.iter().map(|t| t.number).collect::<Vec<_>>(), [3]);
    }

    #[test]
    fn multi_objective_split_breaks_ties_by_hypervolume() {
        // Front: (0,1), (0.1,0.9), (0.5,0.5), (1,0); one dominated point (1,1).
        let pts = [[0.0, 1.0], [0.1, 0.9], [0.5, 0.5], [1.0, 0.0], [1.0, 1.0]];
        let ts: Vec<FrozenTrial> = pts
            .iter()
            .enumerate()
            .map(|(i, v)| complete(i as u64, v.to_vec()))
            .collect();
        let refs: Vec<&FrozenTrial> = ts.iter().collect();
        let dirs = [Direction::Minimize, Direction::Minimize];
        let (below, above) = split_trials(&dirs, &refs, 2);
        assert_eq!(below.len(), 2);
        assert!(above.iter().any(|t| t.number == 4));
        assert!(
            below.iter().any(|t| t.number == 2),
            "the knee point is kept"
        );
    }

    #[test]
    fn running_trials_count_through_their_jointly_sampled_values() {
        // The constant liar needs a running trial's point before the objective suggested it:
        // multivariate TPE reads it from the relative parameters `ask` stored.
        let d = Distribution::Float {
            low: 0.0,
            high: 1.0,
            log: false,
            step: None,
        };
        let mut done = complete(0, vec![1.0]);
        done.params.insert(
            "x".into(),
            crate::frozen::Param {
                distribution: d.clone(),
                internal: 0.25,
            },
        );
        let mut running = complete(1, vec![]);
        running.state = TrialState::Running;
        running.values = None;
        running
            .system_attrs
            .insert(RELATIVE_PARAMS_ATTR.into(), serde_json::json!({"x": 0.75}));
        let all = vec![std::sync::Arc::new(done), std::sync::Arc::new(running)];
        let space = [("x", &d)];
        let mut cache = HashMap::new();
        cache.insert("x".to_string(), vec![None; 2]);
        let cols = observations(&all, &[0, 1], &space, true, &mut cache);
        assert_eq!(cols, vec![vec![0.25, 0.75]]);
        // Independent TPE only knows what was suggested.
        let cols = observations(&all, &[0, 1], &space, false, &mut cache);
        assert_eq!(cols, vec![vec![0.25]]);
    }
}
