//! The Parzen estimator of TPE: a weighted mixture of product kernels, one kernel per
//! observation plus a prior kernel. A port of Optuna's
//! `optuna/samplers/_tpe/parzen_estimator.py` and `probability_distributions.py`:
//! truncated-normal kernels on numerical parameters (on the log scale with `log`, as
//! interval masses on grids), Aitchison-Aitken-style weights on categorical ones,
//! bandwidths from the neighbour distances with Optuna's "magic clip".

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::truncnorm::{log_gauss_mass, norm_logpdf, ppf};
use crate::distribution::Distribution;

/// Parameters shared by the estimators of one sampler.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ParzenParams {
    pub prior_weight: f64,
    pub consider_magic_clip: bool,
    pub consider_endpoints: bool,
}

const EPS: f64 = 1e-12;

enum Dim {
    /// A numerical parameter. `low`/`high` are on the kernel's scale (log, half a step
    /// wider on grids); `grid_*` are the original bounds for rounding.
    Numerical {
        mus: Vec<f64>,
        sigmas: Vec<f64>,
        inv_sigmas: Vec<f64>,
        /// Per kernel: `-ln(mass in [low, high]) - ln(sigma)`, the continuous density's
        /// normaliser, or `-ln(mass)` alone on grids.
        log_norm: Vec<f64>,
        low: f64,
        high: f64,
        log: bool,
        step: Option<f64>,
        grid_low: f64,
        grid_high: f64,
    },
    /// A categorical parameter: per kernel, log-probabilities of the choices
    /// (`n_kernels * n_choices`, row-major), and the cumulative probabilities for sampling.
    Categorical {
        n_choices: usize,
        log_probs: Vec<f64>,
        cum_probs: Vec<f64>,
    },
}

/// A mixture over the parameters of one search space, in a fixed parameter order.
pub(crate) struct ParzenEstimator {
    log_weights: Vec<f64>,
    cum_weights: Vec<f64>,
    dims: Vec<Dim>,
}

/// Optuna's default observation weights: 1 for the newest 25, a linear ramp from `1/n` for
/// older ones (observations are ordered oldest first).
pub(crate) fn default_weights(n: usize) -> Vec<f64> {
    if n < 25 {
        return vec![1.0; n];
    }
    let ramp_n = n - 25;
    let start = 1.0 / n as f64;
    let mut w: Vec<f64> = (0..ramp_n)
        .map(|i| {
            if ramp_n == 1 {
                start
            } else {
                start + (1.0 - start) * i as f64 / (ramp_n - 1) as f64
            }
        })
        .collect();
    w.extend(std::iter::repeat_n(1.0, 25));
    w
}

impl ParzenEstimator {
    /// Builds the estimator. `observations[i]` holds the internal values of parameter `i`
    /// (in `space` order), one per observed trial; `weights`, if given, replaces the default
    /// observation weights.
    pub(crate) fn new(
        observations: &[Vec<f64>],
        space: &[&Distribution],
        params: ParzenParams,
        weights: Option<Vec<f64>>,
    ) -> Self {
        let n = observations.first().map_or(0, Vec::len);
        let mut w = if n == 0 {
            vec![1.0]
        } else {
            let mut w = weights.unwrap_or_else(|| default_weights(n));
            w.push(params.prior_weight);
            w
        };
        let total: f64 = w.iter().sum();
        w.iter_mut().for_each(|x| *x /= total);
        let log_weights = w.iter().map(|x| x.ln()).collect();
        let cum_weights = cumulative(&w);
        let dims = space
            .iter()
            .zip(observations)
            .map(|(d, obs)| build_dim(obs, d, params))
            .collect();
        ParzenEstimator {
            log_weights,
            cum_weights,
            dims,
        }
    }

    /// Draws `size` points; returns one column of internal values per parameter.
    pub(crate) fn sample(&self, rng: &mut ChaCha8Rng, size: usize) -> Vec<Vec<f64>> {
        let active: Vec<usize> = (0..size)
            .map(|_| pick(&self.cum_weights, rng.random::<f64>()))
            .collect();
        self.dims
            .iter()
            .map(|dim| match dim {
                Dim::Categorical {
                    n_choices,
                    cum_probs,
                    ..
                } => active
                    .iter()
                    .map(|&k| {
                        let row = &cum_probs[k * n_choices..(k + 1) * n_choices];
                        pick(row, rng.random::<f64>()) as f64
                    })
                    .collect(),
                Dim::Numerical {
                    mus,
                    sigmas,
                    low,
                    high,
                    log,
                    step,
                    grid_low,
                    grid_high,
                    ..
                } => active
                    .iter()
                    .map(|&k| {
                        let (mu, sigma) = (mus[k], sigmas[k]);
                        let q = rng.random::<f64>();
                        let mut x = ppf(q, (low - mu) / sigma, (high - mu) / sigma) * sigma + mu;
                        if *log {
                            x = x.exp();
                        }
                        if let Some(step) = step {
                            x = (grid_low + ((x - grid_low) / step).round() * step)
                                .clamp(*grid_low, *grid_high);
                        }
                        x
                    })
                    .collect(),
            })
            .collect()
    }

    /// Log-density (log-mass on grids and categories) of each point in `samples`.
    pub(crate) fn log_pdf(&self, samples: &[Vec<f64>]) -> Vec<f64> {
        let n_samples = samples.first().map_or(0, Vec::len);
        let k = self.log_weights.len();
        // Grid points repeat among the candidates: each distinct value's kernel masses are
        // computed once, as a row of k.
        let grids: Vec<Option<(Vec<f64>, Vec<f64>)>> = self
            .dims
            .iter()
            .zip(samples)
            .map(|(dim, column)| match dim {
                Dim::Numerical {
                    mus,
                    inv_sigmas,
                    log_norm,
                    log,
                    step: Some(step),
                    ..
                } => {
                    let mut uniq: Vec<f64> = column.clone();
                    uniq.sort_by(f64::total_cmp);
                    uniq.dedup();
                    let mut rows = Vec::with_capacity(uniq.len() * k);
                    for &x in &uniq {
                        let (mut left, mut right) = (x - step / 2.0, x + step / 2.0);
                        if *log {
                            left = left.ln();
                            right = right.ln();
                        }
                        rows.extend((0..k).map(|j| {
                            log_gauss_mass(
                                (left - mus[j]) * inv_sigmas[j],
                                (right - mus[j]) * inv_sigmas[j],
                            ) + log_norm[j]
                        }));
                    }
                    Some((uniq, rows))
                }
                _ => None,
            })
            .collect();
        // One row of k reused for every sample: no n_samples x k matrix to allocate.
        let mut row = vec![0.0; k];
        (0..n_samples)
            .map(|s| {
                row.copy_from_slice(&self.log_weights);
                for ((dim, column), grid) in self.dims.iter().zip(samples).zip(&grids) {
                    let x = column[s];
                    match (dim, grid) {
                        (
                            Dim::Categorical {
                                n_choices,
                                log_probs,
                                ..
                            },
                            _,
                        ) => {
                            let c = x as usize;
                            for (j, a) in row.iter_mut().enumerate() {
                                *a += log_probs[j * n_choices + c];
                            }
                        }
                        (_, Some((uniq, rows))) => {
                            let u = uniq
                                .binary_search_by(|v| v.total_cmp(&x))
                                .expect("value is among the unique values");
                            for (a, v) in row.iter_mut().zip(&rows[u * k..(u + 1) * k]) {
                                *a += v;
                            }
                        }
                        (
                            Dim::Numerical {
                                mus,
                                inv_sigmas,
                                log_norm,
                                log,
                                ..
                            },
                            None,
                        ) => {
                            let x = if *log { x.ln() } else { x };
                            for (((a, mu), inv), c) in
                                row.iter_mut().zip(mus).zip(inv_sigmas).zip(log_norm)
                            {
                                let z = (x - mu) * inv;
                                *a += -0.5 * z * z + c;
                            }
                        }
                    }
                }
                log_sum_exp(&row)
            })
            .collect()
    }
}

/// `ln(sum(exp(row)))`. Terms more than 60 below the largest are skipped: even a thousand
/// of them add less than the last bit of the sum (e^-60 * 1000 < 2^-53 * 1e-9).
fn log_sum_exp(row: &[f64]) -> f64 {
    let mut m = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if m == f64::NEG_INFINITY {
        m = 0.0;
    }
    let cut = m - 60.0;
    let s: f64 = row
        .iter()
        .filter(|&&v| v > cut)
        .map(|&v| (v - m).exp())
        .sum();
    s.ln() + m
}

fn cumulative(w: &[f64]) -> Vec<f64> {
    let mut acc = 0.0;
    let mut c: Vec<f64> = w
        .iter()
        .map(|x| {
            acc += x;
            acc
        })
        .collect();
    // Rounding must not leave the last bucket unreachable.
    if let Some(last) = c.last_mut() {
        *last = 1.0;
    }
    c
}

/// The first index whose cumulative probability reaches `u` (numpy's `choice` with `p`).
fn pick(cum: &[f64], u: f64) -> usize {
    cum.partition_point(|&c| c <= u).min(cum.len() - 1)
}

fn build_dim(obs: &[f64], d: &Distribution, params: ParzenParams) -> Dim {
    let n_kernels = obs.len() + 1;
    match d {
        Distribution::Categorical { choices } => {
            let n_choices = choices.len();
            let mut probs = if obs.is_empty() {
                vec![1.0 / n_choices as f64; n_choices]
            } else {
                let mut p = vec![params.prior_weight / n_kernels as f64; n_kernels * n_choices];
                for (i, &o) in obs.iter().enumerate() {
                    p[i * n_choices + o as usize] += 1.0;
                }
                p
            };
            for row in probs.chunks_exact_mut(n_choices) {
                let s: f64 = row.iter().sum();
                let s = if s == 0.0 { 1.0 } else { s };
                row.iter_mut().for_each(|x| *x /= s);
            }
            let log_probs = probs.iter().map(|p| p.ln()).collect();
            let cum_probs = probs.chunks_exact(n_choices).flat_map(cumulative).collect();
            Dim::Categorical {
                n_choices,
                log_probs,
                cum_probs,
            }
        }
        Distribution::Float { .. } | Distribution::Int { .. } => {
            let (grid_low, grid_high, log, step) = match d {
                Distribution::Float {
                    low,
                    high,
                    log,
                    step,
                } => (*low, *high, *log, *step),
                Distribution::Int {
                    low,
                    high,
                    log,
                    step,
                } => (*low as f64, *high as f64, *log, Some(*step as f64)),
                Distribution::Categorical { .. } => unreachable!("handled above"),
            };
            let (mut low, mut high) = (grid_low, grid_high);
            if let Some(s) = step {
                low -= s / 2.0;
                high += s / 2.0;
            }
            let mut mus: Vec<f64> = obs.to_vec();
            if log {
                low = low.ln();
                high = high.ln();
                mus.iter_mut().for_each(|m| *m = m.ln());
            }
            let mut sigmas = bandwidths(&mus, low, high, obs.len() + 1, params);
            mus.push(0.5 * (low + high));
            sigmas.push(high - low);
            let inv_sigmas = sigmas.iter().map(|s| 1.0 / s).collect();
            let log_norm = mus
                .iter()
                .zip(&sigmas)
                .map(|(&mu, &sigma)| {
                    let mass = log_gauss_mass((low - mu) / sigma, (high - mu) / sigma);
                    if step.is_some() {
                        -mass
                    } else {
                        norm_logpdf(0.0) - mass - sigma.ln()
                    }
                })
                .collect();
            Dim::Numerical {
                mus,
                sigmas,
                inv_sigmas,
                log_norm,
                low,
                high,
                log,
                step,
                grid_low,
                grid_high,
            }
        }
    }
}

/// Kernel widths: the larger distance to a neighbour (the bounds count as neighbours),
/// clipped to `[(high - low) / min(100, 1 + n_kernels), high - low]`.
fn bandwidths(mus: &[f64], low: f64, high: f64, n_kernels: usize, p: ParzenParams) -> Vec<f64> {
    let n = mus.len();
    if n == 0 {
        return Vec::new();
    }
    let mut order: Vec<(f64, usize)> = mus.iter().copied().zip(0..n).collect();
    // Equal values get equal widths whichever way round they sort.
    order.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
    let mut ends = Vec::with_capacity(n + 2);
    ends.push(low);
    ends.extend(order.iter().map(|&(m, _)| m));
    ends.push(high);
    let mut sorted_sigmas: Vec<f64> = (1..=n)
        .map(|i| (ends[i] - ends[i - 1]).max(ends[i + 1] - ends[i]))
        .collect();
    if !p.consider_endpoints && ends.len() >= 4 {
        sorted_sigmas[0] = ends[2] - ends[1];
        sorted_sigmas[n - 1] = ends[n] - ends[n - 1];
    }
    let maxsigma = high - low;
    let minsigma = if p.consider_magic_clip {
        (high - low) / (100.0f64).min(1.0 + n_kernels as f64)
    } else {
        EPS
    };
    let mut sigmas = vec![0.0; n];
    for (rank, &(_, i)) in order.iter().enumerate() {
        sigmas[i] = sorted_sigmas[rank].clamp(minsigma, maxsigma);
    }
    sigmas
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_weights_ramp_the_old_observations() {
        assert_eq!(default_weights(3), vec![1.0; 3]);
        let w = default_weights(30);
        assert_eq!(w.len(), 30);
        assert!((w[0] - 1.0 / 30.0).abs() < 1e-15);
        assert!((w[4] - 1.0).abs() < 1e-15);
        assert!(w[5..].iter().all(|&x| x == 1.0));
    }

    #[test]
    fn bandwidths_follow_optunas_rule() {
        // low 0, high 10, observations 2, 3, 7: neighbours (0,2,3,7,10).
        let p = ParzenParams {
            prior_weight: 1.0,
            consider_magic_clip: true,
            consider_endpoints: false,
        };
        let s = bandwidths(&[7.0, 2.0, 3.0], 0.0, 10.0, 4, p);
        // Without endpoints: first = 3-2, last = 7-3; middle = max(1, 4) = 4.
        // Magic clip: min sigma = 10 / min(100, 5) = 2.
        assert_eq!(s, vec![4.0, 2.0, 4.0]);
    }

    #[test]
    fn a_lone_prior_is_the_wide_truncated_normal() {
        let d = Distribution::Float {
            low: -5.0,
            high: 5.0,
            log: false,
            step: None,
        };
        let p = ParzenParams {
            prior_weight: 1.0,
            consider_magic_clip: true,
            consider_endpoints: false,
        };
        let pe = ParzenEstimator::new(&[vec![]], &[&d], p, None);
        // N(0, 10) truncated to [-5, 5], at 0.
        let mass = log_gauss_mass(-0.5, 0.5);
        let want = norm_logpdf(0.0) - mass - 10f64.ln();
        let got = pe.log_pdf(&[vec![0.0]])[0];
        assert!((got - want).abs() < 1e-12, "{got} vs {want}");
    }
}
