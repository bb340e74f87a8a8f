//! The test problems of the hpo-bench/1 protocol (`shared/bench/hpo-bench.md`): sphere,
//! Rosenbrock, Ackley, Rastrigin, the mixed problem and ZDT1, with the protocol's bounds,
//! and the 2-D hypervolume it scores ZDT1 with.

use std::f64::consts::{E, PI};

pub use crate::pareto::hypervolume_2d;

/// `sum x_i^2`.
pub fn sphere(x: &[f64]) -> f64 {
    x.iter().map(|v| v * v).sum()
}

/// `sum_{i<d-1} 100 (x_{i+1} - x_i^2)^2 + (1 - x_i)^2`.
pub fn rosenbrock(x: &[f64]) -> f64 {
    x.windows(2)
        .map(|w| 100.0 * (w[1] - w[0] * w[0]).powi(2) + (1.0 - w[0]).powi(2))
        .sum()
}

/// `-20 exp(-0.2 sqrt(mean x_i^2)) - exp(mean cos(2 pi x_i)) + 20 + e`.
pub fn ackley(x: &[f64]) -> f64 {
    let d = x.len() as f64;
    let sq = x.iter().map(|v| v * v).sum::<f64>() / d;
    let cs = x.iter().map(|v| (2.0 * PI * v).cos()).sum::<f64>() / d;
    -20.0 * (-0.2 * sq.sqrt()).exp() - cs.exp() + 20.0 + E
}

/// `10 d + sum x_i^2 - 10 cos(2 pi x_i)`.
pub fn rastrigin(x: &[f64]) -> f64 {
    10.0 * x.len() as f64
        + x.iter()
            .map(|v| v * v - 10.0 * (2.0 * PI * v).cos())
            .sum::<f64>()
}

/// The categorical choices of `mixed4`, in protocol order.
pub const MIXED_ACTIVATIONS: [&str; 4] = ["relu", "tanh", "sigmoid", "linear"];

/// `(x - 1.5)^2 + 0.1 (n - 7)^2 + (log10(lr) + 3)^2 + pen(act)`; `None` for an unknown
/// activation.
pub fn mixed(x: f64, n: i64, lr: f64, act: &str) -> Option<f64> {
    let pen = match act {
        "relu" => 0.0,
        "tanh" => 0.5,
        "sigmoid" => 1.0,
        "linear" => 2.0,
        _ => return None,
    };
    Some((x - 1.5).powi(2) + 0.1 * ((n - 7) as f64).powi(2) + (lr.log10() + 3.0).powi(2) + pen)
}

/// ZDT1 on 5 variables: `(f1, f2)`.
pub fn zdt1(x: &[f64]) -> (f64, f64) {
    let f1 = x[0];
    let g = 1.0 + 9.0 * x[1..].iter().sum::<f64>() / (x.len() - 1) as f64;
    (f1, g * (1.0 - (f1 / g).sqrt()))
}

/// The reference point the protocol scores ZDT1 hypervolume against.
pub const ZDT1_HV_REF: (f64, f64) = (1.1, 11.0);

/// The hypervolume of ZDT1's true front against [`ZDT1_HV_REF`]: `12.1 - 1/3`.
pub const ZDT1_HV_OPTIMUM: f64 = 12.1 - 1.0 / 3.0;
