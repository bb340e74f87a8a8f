//! The truncated standard normal: log-mass, log-density and quantile function, accurate in
//! the tails. A port of Optuna's `optuna/samplers/_tpe/_truncnorm.py` (itself after SciPy):
//! the same case split for the mass, the same asymptotic series for `log_ndtr` below -20,
//! and the same Newton iteration for the inverse of `log_ndtr`.

use std::f64::consts::{FRAC_1_SQRT_2, PI};

/// `ln(sqrt(2 pi))`.
const LN_SQRT_2PI: f64 = 0.918_938_533_204_672_8;

/// Standard normal CDF.
fn ndtr(a: f64) -> f64 {
    let x = a * FRAC_1_SQRT_2;
    if x < -FRAC_1_SQRT_2 {
        0.5 * libm::erfc(-x)
    } else if x < FRAC_1_SQRT_2 {
        0.5 + 0.5 * libm::erf(x)
    } else {
        1.0 - 0.5 * libm::erfc(x)
    }
}

/// `ln(ndtr(a))`, with the asymptotic series where `ndtr` underflows.
pub(crate) fn log_ndtr(a: f64) -> f64 {
    if a > 6.0 {
        return -ndtr(-a);
    }
    if a > -20.0 {
        return ndtr(a).ln();
    }
    let log_lhs = -0.5 * a * a - (-a).ln() - 0.5 * (2.0 * PI).ln();
    let mut last_total: f64 = 0.0;
    let mut rhs: f64 = 1.0;
    let mut numerator = 1.0;
    let mut denom_factor = 1.0;
    let denom_cons = 1.0 / (a * a);
    let mut sign = 1.0;
    let mut i = 0.0;
    while (last_total - rhs).abs() > f64::EPSILON {
        i += 1.0;
        last_total = rhs;
        sign = -sign;
        denom_factor *= denom_cons;
        numerator *= 2.0 * i - 1.0;
        rhs += sign * numerator * denom_factor;
    }
    log_lhs + rhs.ln()
}

/// `ln(exp(p) - exp(q))` for `p >= q`.
fn log_diff(log_p: f64, log_q: f64) -> f64 {
    log_p + (-(log_q - log_p).exp()).ln_1p()
}

/// `ln(exp(p) + exp(q))`.
fn log_sum(log_p: f64, log_q: f64) -> f64 {
    let m = log_p.max(log_q);
    if m == f64::NEG_INFINITY {
        return m;
    }
    m + ((log_p - m).exp() + (log_q - m).exp()).ln()
}

/// `ln(P(a <= Z <= b))` for a standard normal `Z`.
pub(crate) fn log_gauss_mass(a: f64, b: f64) -> f64 {
    if b <= 0.0 {
        log_diff(log_ndtr(b), log_ndtr(a))
    } else if a > 0.0 {
        log_diff(log_ndtr(-a), log_ndtr(-b))
    } else {
        (-ndtr(a) - ndtr(-b)).ln_1p()
    }
}

/// The `x` with `log_ndtr(x) = y`, by Newton's method from Optuna's starting guesses.
fn ndtri_exp(y: f64) -> f64 {
    let flipped = y > -1e-2;
    let z = if flipped { (-y.exp_m1()).ln() } else { y };
    let mut x = if z < -5.0 {
        -(-2.0 * (z + LN_SQRT_2PI)).sqrt()
    } else {
        -(3.0f64.sqrt() / PI) * (-z).exp_m1().ln()
    };
    for _ in 0..100 {
        let log_ndtr_x = log_ndtr(x);
        let log_norm_pdf_x = -0.5 * x * x - LN_SQRT_2PI;
        let dx = (log_ndtr_x - z) * (log_ndtr_x - log_norm_pdf_x).exp();
        x -= dx;
        if dx.abs() < 1e-8 * x.abs() {
            break;
        }
    }
    if flipped { -x } else { x }
}

/// Quantile `q` of the standard normal truncated to `[a, b]`.
pub(crate) fn ppf(q: f64, a: f64, b: f64) -> f64 {
    if a == b {
        return f64::NAN;
    }
    if q == 0.0 {
        return a;
    }
    if q == 1.0 {
        return b;
    }
    let log_mass = log_gauss_mass(a, b);
    if a < 0.0 {
        let log_phi_x = log_sum(log_ndtr(a), q.ln() + log_mass);
        ndtri_exp(log_phi_x)
    } else {
        let log_phi_x = log_sum(log_ndtr(-b), (-q).ln_1p() + log_mass);
        -ndtri_exp(log_phi_x)
    }
}

/// Log-density of the standard normal at `z` (no truncation).
#[inline]
pub(crate) fn norm_logpdf(z: f64) -> f64 {
    -0.5 * z * z - LN_SQRT_2PI
}

#[cfg(test)]
const SQ2: f64 = std::f64::consts::SQRT_2;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_ndtr_matches_known_values() {
        // Values of ln(erfc(-a / sqrt 2) / 2) from Python's math.erfc.
        assert!((log_ndtr(0.0) - 0.5f64.ln()).abs() < 1e-15);
        assert!((log_ndtr(-30.0) - -454.321_243_956_343_1).abs() < 1e-9);
        assert!((log_ndtr(10.0) - -7.619_853_024_160_593e-24).abs() < 1e-35);
        assert!((log_ndtr(-5.0) - -15.064_998_393_988_725).abs() < 1e-10);
    }

    #[test]
    fn ppf_inverts_the_truncated_cdf() {
        for &(a, b) in &[(-1.0, 1.0), (-30.0, -25.0), (2.0, 9.0), (-0.2, 40.0)] {
            let mass = log_gauss_mass(a, b).exp();
            for &q in &[1e-6, 0.1, 0.5, 0.9, 1.0 - 1e-6] {
                let x = ppf(q, a, b);
                assert!(x >= a && x <= b, "ppf({q}, {a}, {b}) = {x}");
                if mass > 1e-12 {
                    let cdf = (0.5 * libm::erfc(-x / SQ2) - 0.5 * libm::erfc(-a / SQ2)) / mass;
                    assert!((cdf - q).abs() < 1e-6, "cdf {cdf} vs {q} on [{a}, {b}]");
                }
            }
        }
    }

    #[test]
    fn ppf_and_mass_match_optunas() {
        // (q, a, b, ppf, log mass) from optuna 5.0.0's _truncnorm.ppf / _log_gauss_mass.
        let cases = [
            (
                0.3,
                -1.0,
                1.0,
                -0.349_219_932_456_882_26,
                -0.381_715_146_302_126_16,
            ),
            (
                0.9,
                -30.0,
                -25.0,
                -25.004_207_356_750_868,
                -316.639_408_008_020_2,
            ),
            (0.2, 2.0, 9.0, 2.092_428_392_979_464, -3.783_184_333_682_031),
            (
                0.7,
                -0.2,
                40.0,
                0.939_340_744_524_912,
                -0.546_004_353_722_774_2,
            ),
            (
                1e-6,
                -3.0,
                3.0,
                -2.999_775_045_615_970_6,
                -0.002_703_447_085_475_981,
            ),
            (
                0.5,
                0.5,
                0.6,
                0.549_313_015_964_432_8,
                -3.373_064_226_942_797_3,
            ),
        ];
        for (q, a, b, want_ppf, want_mass) in cases {
            let got = ppf(q, a, b);
            assert!(
                (got - want_ppf).abs() < 1e-9 * want_ppf.abs().max(1.0),
                "ppf({q}, {a}, {b}) = {got}"
            );
            let mass = log_gauss_mass(a, b);
            assert!(
                (mass - want_mass).abs() < 1e-12 * want_mass.abs().max(1.0),
                "mass({a}, {b}) = {mass}"
            );
        }
    }

    #[test]
    fn gauss_mass_of_the_whole_line_is_one() {
        assert!(log_gauss_mass(-40.0, 40.0).abs() < 1e-15);
        assert!((log_gauss_mass(0.0, 40.0) - 0.5f64.ln()).abs() < 1e-15);
    }
}
