//! NSGA-II, after Optuna's `NSGAIISampler` (`optuna/samplers/nsgaii/_sampler.py`,
//! `_child_generation_strategy.py`, `_crossover.py`, `_crossovers/_uniform.py`,
//! `_elite_population_selection_strategy.py` and `optuna/samplers/_ga/_base.py`).
//!
//! Trials are grouped into generations of `population_size` completed trials. The parents
//! of generation `g` are the elite of generation `g - 1` together with its own parents:
//! whole non-domination ranks while they fit, then the least crowded of the next rank. A
//! child takes uniform crossover of two tournament-selected parents (with probability
//! `crossover_prob`, else a copy of one parent); each parameter is then, with probability
//! `mutation_prob` (default `1 / n_params`), dropped and drawn uniformly at suggest time.

use std::collections::BTreeMap;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::random::sample_uniform;
use super::{IntersectionSearchSpace, Sampler, SearchSpace, StudyView, make_rng};
use crate::distribution::Distribution;
use crate::error::{Error, Result};
use crate::frozen::{FrozenTrial, TrialState};
use crate::pareto::{dominates, non_domination_ranks};
use crate::study::Direction;

const GENERATION_ATTR: &str = "nsga2:generation";
const PARENT_ATTR_PREFIX: &str = "nsga2:parent:";

/// NSGA-II settings; the defaults are Optuna 5.0.0's.
#[derive(Clone, Debug, PartialEq)]
pub struct Nsga2Options {
    /// Completed trials per generation (50).
    pub population_size: usize,
    /// Probability of crossover rather than copying one parent (0.9).
    pub crossover_prob: f64,
    /// Probability that uniform crossover takes a parameter from the second parent (0.5).
    pub swapping_prob: f64,
    /// Probability of redrawing each parameter; `None`: `1 / n_params`.
    pub mutation_prob: Option<f64>,
    /// RNG seed; `None` seeds from the clock.
    pub seed: Option<u64>,
}

impl Default for Nsga2Options {
    fn default() -> Self {
        Nsga2Options {
            population_size: 50,
            crossover_prob: 0.9,
            swapping_prob: 0.5,
            mutation_prob: None,
            seed: None,
        }
    }
}

/// The NSGA-II sampler for studies with several objectives (it works with one, too).
pub struct Nsga2Sampler {
    opts: Nsga2Options,
    rng: ChaCha8Rng,
    random_rng: ChaCha8Rng,
    search_space: IntersectionSearchSpace,
    /// Parent populations (trial numbers) by generation, once chosen they never change.
    parents: BTreeMap<u64, Vec<u64>>,
}

impl Nsga2Sampler {
    /// NSGA-II with Optuna's defaults and the given seed.
    pub fn new(seed: Option<u64>) -> Self {
        Self::with_options(Nsga2Options {
            seed,
            ..Nsga2Options::default()
        })
        .expect("the default options are valid")
    }

    /// NSGA-II with explicit options (population of at least 2, probabilities in [0, 1]).
    pub fn with_options(opts: Nsga2Options) -> Result<Self> {
        if opts.population_size < 2 {
            return Err(Error::Config(format!(
                "NSGA-II needs a population of at least 2, got {}",
                opts.population_size
            )));
        }
        let probs = [
            Some(opts.crossover_prob),
            Some(opts.swapping_prob),
            opts.mutation_prob,
        ];
        if probs.iter().flatten().any(|p| !(0.0..=1.0).contains(p)) {
            return Err(Error::Config(
                "NSGA-II probabilities must lie in [0, 1]".to_string(),
            ));
        }
        Ok(Nsga2Sampler {
            rng: make_rng(opts.seed.map(|s| s.wrapping_add(0x9e37_79b9_7f4a_7c15))),
            random_rng: make_rng(opts.seed),
            opts,
            search_space: IntersectionSearchSpace::new(false),
            parents: BTreeMap::new(),
        })
    }

    fn generation_of(t: &FrozenTrial) -> Option<u64> {
        t.system_attrs.get(GENERATION_ATTR).and_then(|v| v.as_u64())
    }

    /// The trial's generation: the newest one, or the next once it has a full population.
    fn trial_generation(&self, study: &StudyView<'_>, trial: &mut FrozenTrial) -> u64 {
        if let Some(g) = Self::generation_of(trial) {
            return g;
        }
        let mut max_generation = 0;
        let mut count = 0;
        for t in study.trials_in(&[TrialState::Complete]) {
            let g = Self::generation_of(t).map_or(-1, |g| g as i64);
            if g < max_generation as i64 {
                continue;
            }
            if g > max_generation as i64 {
                max_generation = g as u64;
                count = 1;
            } else {
                count += 1;
            }
        }
        let generation = if count < self.opts.population_size {
            max_generation
        } else {
            max_generation + 1
        };
        trial
            .system_attrs
            .insert(GENERATION_ATTR.to_string(), serde_json::json!(generation));
        generation
    }

    fn population<'s>(study: &'s StudyView<'_>, generation: u64) -> Vec<&'s FrozenTrial> {
        study
            .trials_in(&[TrialState::Complete])
            .filter(|t| Self::generation_of(t) == Some(generation))
            .map(|t| &**t)
            .collect()
    }

    /// The parents of `generation` (none for generation 0), chosen once and kept in the
    /// study's system attributes so every worker uses the same ones.
    fn parent_population(&mut self, study: &StudyView<'_>, generation: u64) -> Result<Vec<u64>> {
        if generation == 0 {
            return Ok(Vec::new());
        }
        if let Some(p) = self.parents.get(&generation) {
            return Ok(p.clone());
        }
        let key = format!("{PARENT_ATTR_PREFIX}{generation}");
        if let Some(ids) = study.system_attrs()?.get(&key) {
            let ids: Vec<u64> = serde_json::from_value(ids.clone()).unwrap_or_default();
            self.parents.insert(generation, ids.clone());
            return Ok(ids);
        }
        let mut pool: Vec<&FrozenTrial> = Self::population(study, generation - 1);
        for n in self.parent_population(study, generation - 1)? {
            if let Some(t) = find(study, n) {
                pool.push(t);
            }
        }
        let elite = self.select_elite(study.directions(), pool);
        let ids: Vec<u64> = elite.iter().map(|t| t.number).collect();
        study.set_system_attr(&key, serde_json::json!(ids))?;
        self.parents.insert(generation, ids.clone());
        Ok(ids)
    }

    fn select_elite<'t>(
        &self,
        directions: &[Direction],
        pool: Vec<&'t FrozenTrial>,
    ) -> Vec<&'t FrozenTrial> {
        if pool.is_empty() {
            return pool;
        }
        let lvals: Vec<Vec<f64>> = pool.iter().map(|t| loss(t, directions)).collect();
        let ranks = non_domination_ranks(&lvals, None);
        let max_rank = ranks.iter().copied().max().unwrap_or(0);
        let mut per_rank: Vec<Vec<&FrozenTrial>> = vec![Vec::new(); max_rank + 1];
        for (t, r) in pool.iter().zip(&ranks) {
            per_rank[*r].push(t);
        }
        let mut elite = Vec::with_capacity(self.opts.population_size);
        for mut individuals in per_rank {
            if elite.len() + individuals.len() < self.opts.population_size {
                elite.extend(individuals);
            } else {
                let n = self.opts.population_size - elite.len();
                crowding_distance_sort(&mut individuals);
                elite.extend(individuals.into_iter().take(n));
                break;
            }
        }
        elite
    }

    /// Binary tournament among `pool`: the first of two random picks if it dominates the
    /// second, else the second.
    fn tournament<'t>(
        &mut self,
        directions: &[Direction],
        pool: &[&'t FrozenTrial],
    ) -> &'t FrozenTrial {
        let a = pool[self.rng.random_range(0..pool.len())];
        let b = pool[self.rng.random_range(0..pool.len())];
        if dominates(&loss(a, directions), &loss(b, directions)) {
            a
        } else {
            b
        }
    }
}

fn find<'s>(study: &'s StudyView<'_>, number: u64) -> Option<&'s FrozenTrial> {
    let all = study.trials();
    all.binary_search_by_key(&number, |t| t.number)
        .ok()
        .map(|i| &*all[i])
}

fn loss(t: &FrozenTrial, directions: &[Direction]) -> Vec<f64> {
    let values = t.values.as_deref().unwrap_or(&[]);
    values
        .iter()
        .zip(directions)
        .map(|(v, d)| match d {
            Direction::Minimize => *v,
            Direction::Maximize => -*v,
        })
        .collect()
}

/// Sorts by crowding distance, largest first, exactly as Optuna does (stable sorts per
/// objective on the running order, then a stable sort by distance, reversed).
fn crowding_distance_sort(pop: &mut Vec<&FrozenTrial>) {
    let n_obj = pop
        .first()
        .and_then(|t| t.values.as_ref())
        .map_or(0, Vec::len);
    let mut dist: BTreeMap<u64, f64> = pop.iter().map(|t| (t.number, 0.0)).collect();
    let value = |t: &FrozenTrial, i: usize| t.values.as_ref().map_or(f64::NAN, |v| v[i]);
    for i in 0..n_obj {
        pop.sort_by(|a, b| value(a, i).total_cmp(&value(b, i)));
        let first = value(pop[0], i);
        let last = value(pop[pop.len() - 1], i);
        if first == last {
            continue;
        }
        let mut vs = Vec::with_capacity(pop.len() + 2);
        vs.push(f64::NEG_INFINITY);
        vs.extend(pop.iter().map(|t| value(t, i)));
        vs.push(f64::INFINITY);
        let v_min = vs
            .iter()
            .copied()
            .find(|x| *x != f64::NEG_INFINITY)
            .unwrap_or(0.0);
        let v_max = vs
            .iter()
            .rev()
            .copied()
            .find(|x| *x != f64::INFINITY)
            .unwrap_or(0.0);
        let mut width = v_max - v_min;
        if width <= 0.0 {
            width = 1.0;
        }
        for j in 0..pop.len() {
            let gap = if vs[j] == vs[j + 2] {
                0.0
            } else {
                vs[j + 2] - vs[j]
            };
            *dist
                .get_mut(&pop[j].number)
                .expect("every member has a distance") += gap / width;
        }
    }
    pop.sort_by(|a, b| dist[&a.number].total_cmp(&dist[&b.number]));
    pop.reverse();
}

impl Sampler for Nsga2Sampler {
    fn infer_relative_search_space(
        &mut self,
        study: &StudyView<'_>,
        _trial: &FrozenTrial,
    ) -> Result<SearchSpace> {
        Ok(self.search_space.calculate(study))
    }

    fn sample_relative(
        &mut self,
        study: &StudyView<'_>,
        trial: &mut FrozenTrial,
        space: &SearchSpace,
    ) -> Result<BTreeMap<String, f64>> {
        let generation = self.trial_generation(study, trial);
        let parent_ids = self.parent_population(study, generation)?;
        if parent_ids.is_empty() || space.is_empty() {
            return Ok(BTreeMap::new());
        }
        let parents: Vec<&FrozenTrial> =
            parent_ids.iter().filter_map(|&n| find(study, n)).collect();
        if parents.is_empty() {
            return Ok(BTreeMap::new());
        }
        let directions = study.directions();
        // Categorical parameters first, then numerical ones: the order Optuna builds the
        // child in, which is also the order mutation visits them.
        let (cats, nums): (Vec<(&String, &Distribution)>, Vec<_>) = space
            .iter()
            .partition(|(_, d)| matches!(d, Distribution::Categorical { .. }));
        let child: Vec<(&String, f64)> = if self.rng.random::<f64>() < self.opts.crossover_prob {
            let p0 = self.tournament(directions, &parents);
            let rest: Vec<&FrozenTrial> = parents
                .iter()
                .copied()
                .filter(|t| t.number != p0.number)
                .collect();
            let p1 = if rest.is_empty() {
                p0
            } else {
                self.tournament(directions, &rest)
            };
            let mut child = Vec::with_capacity(space.len());
            for group in [&cats, &nums] {
                for (name, _) in group.iter() {
                    let from = if self.rng.random::<f64>() >= self.opts.swapping_prob {
                        p1
                    } else {
                        p0
                    };
                    if let Some(p) = from.params.get(*name) {
                        child.push((*name, p.internal));
                    }
                }
            }
            child
        } else {
            let p = parents[self.rng.random_range(0..parents.len())];
            cats.iter()
                .chain(nums.iter())
                .filter_map(|(name, _)| p.params.get(*name).map(|v| (*name, v.internal)))
                .collect()
        };
        let mutation_prob = self
            .opts
            .mutation_prob
            .unwrap_or(1.0 / (child.len().max(1) as f64));
        let mut out = BTreeMap::new();
        for (name, v) in child {
            if self.rng.random::<f64>() >= mutation_prob {
                out.insert(name.clone(), v);
            }
        }
        Ok(out)
    }

    fn sample_independent(
        &mut self,
        _study: &StudyView<'_>,
        _trial: &FrozenTrial,
        _name: &str,
        distribution: &Distribution,
    ) -> Result<f64> {
        Ok(sample_uniform(&mut self.random_rng, distribution))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::frozen::completed as complete;

    #[test]
    fn crowding_keeps_the_extremes_first() {
        let ts: Vec<FrozenTrial> = [[0.0, 1.0], [0.4, 0.6], [0.5, 0.5], [1.0, 0.0]]
            .iter()
            .enumerate()
            .map(|(i, v)| complete(i as u64, v.to_vec()))
            .collect();
        let mut pop: Vec<&FrozenTrial> = ts.iter().collect();
        crowding_distance_sort(&mut pop);
        let order: Vec<u64> = pop.iter().map(|t| t.number).collect();
        // The extremes have infinite distance; (0.5, 0.5) has 0.6 + 0.6 (gaps of its
        // neighbours per objective, over a width of 1), (0.4, 0.6) 0.5 + 0.5.
        assert_eq!(&order[2..], &[2, 1]);
        assert!(order[..2].contains(&0) && order[..2].contains(&3));
    }

    #[test]
    fn elite_fills_whole_ranks_then_the_least_crowded() {
        let s = Nsga2Sampler::with_options(Nsga2Options {
            population_size: 3,
            ..Default::default()
        })
        .unwrap();
        let ts: Vec<FrozenTrial> = [[0.0, 1.0], [1.0, 0.0], [0.6, 0.6], [0.7, 0.7], [2.0, 2.0]]
            .iter()
            .enumerate()
            .map(|(i, v)| complete(i as u64, v.to_vec()))
            .collect();
        let dirs = [Direction::Minimize, Direction::Minimize];
        let elite = s.select_elite(&dirs, ts.iter().collect());
        let mut n: Vec<u64> = elite.iter().map(|t| t.number).collect();
        n.sort();
        assert_eq!(n, vec![0, 1, 2]);
    }
}
