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
    // Ties in observation order: which of two equal observations gets the wider kernel
    // then does not depend on the sort algorithm.
    order.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
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

    #[test]
    fn log_pdf_matches_optunas_estimator() {
        // Observations and densities from optuna 5.0.0's _ParzenEstimator (30 observations,
        // so the older ones are ramped down) over a float, a log float, an int and a
        // categorical parameter. The ints are distinct: with equal observations, which copy
        // gets which width depends on the sort's order of ties (numpy's argsort is not
        // stable either), and ramped weights make that visible.
        let x = Distribution::Float {
            low: -5.0,
            high: 5.0,
            log: false,
            step: None,
        };
        let lr = Distribution::Float {
            low: 1e-5,
            high: 1e-1,
            log: true,
            step: None,
        };
        let n = Distribution::Int {
            low: 1,
            high: 1000,
            log: false,
            step: 1,
        };
        let c = Distribution::Categorical {
            choices: vec!["a".into(), "b".into(), "c".into()],
        };
        let obs = vec![
            vec![
                -0.8297799529742598,
                2.2032449344215808,
                -4.998856251826551,
                -1.9766742736816023,
                -3.5324410918288693,
                -4.0766140523120225,
                -3.137397886223291,
                -1.5443927295695223,
                -1.0323252576933006,
                0.38816734003356945,
                -0.8080548559670522,
                1.8521950039675952,
                -2.9554775026848255,
                3.7811743639094537,
                -4.726124068020738,
                1.704675101784022,
                -0.8269519763287301,
                0.5868982844575168,
                -3.596130614047662,
                -3.0189851091512123,
                3.007445686755366,
                4.682615757193975,
                -1.8657582184075716,
                1.9232261566931408,
                3.7638915229603835,
                3.9460666350384734,
                -4.149557886302221,
                -4.609452167671177,
                -3.3016958043543108,
                3.7814250342941307,
            ],
            vec![
                2.473929591304018e-05,
                0.00048353787772855095,
                0.06785129181994787,
                0.0013572540301313666,
                0.005854751355295724,
                0.00018283634209844532,
                0.005571905096939265,
                0.021802318892988535,
                1.183458707441061e-05,
                0.010013300735281479,
                0.0902494067192741,
                0.009832469717408681,
                0.00013236585469415487,
                0.014358772473434613,
                2.5876410154210496e-05,
                0.0006188339116517525,
                0.04309054751874313,
                0.0001494364677378836,
                0.00014161242322273667,
                3.31218273062551e-05,
                1.1952749874776882e-05,
                0.0051920890413743835,
                7.022834985764343e-05,
                0.00011539490593862673,
                0.0009253214657642581,
                1.634745612637677e-05,
                0.001979112227357909,
                3.862907418494322e-05,
                0.0022762614721505586,
                0.00629554655842228,
            ],
            vec![
                375.0, 182.0, 827.0, 176.0, 28.0, 940.0, 330.0, 305.0, 747.0, 50.0, 95.0, 245.0,
                835.0, 603.0, 260.0, 587.0, 205.0, 922.0, 608.0, 86.0, 539.0, 736.0, 321.0, 102.0,
                419.0, 155.0, 120.0, 517.0, 405.0, 346.0,
            ],
            vec![
                0.0, 0.0, 2.0, 2.0, 2.0, 0.0, 1.0, 2.0, 0.0, 2.0, 2.0, 1.0, 2.0, 1.0, 0.0, 2.0,
                1.0, 2.0, 0.0, 2.0, 0.0, 2.0, 1.0, 0.0, 1.0, 0.0, 0.0, 2.0, 2.0, 2.0,
            ],
        ];
        let p = ParzenParams {
            prior_weight: 1.0,
            consider_magic_clip: true,
            consider_endpoints: false,
        };
        let pe = ParzenEstimator::new(&obs, &[&x, &lr, &n, &c], p, None);
        let samples = vec![
            vec![0.0, -4.9, 3.3],
            vec![1e-3, 2e-5, 0.09],
            vec![7.0, 1.0, 1000.0],
            vec![0.0, 2.0, 1.0],
        ];
        let want = vec![-15.880939063395827, -16.093757124981575, -16.05709190482977];
        for (got, want) in pe.log_pdf(&samples).iter().zip(want) {
            assert!((got - want).abs() < 1e-9, "{got} vs {want}");
        }
    }
}
