//! The test vectors of hpo-bench.md section 2 and the hypervolume checks of section 5.

use vidflow_tune::benchmarks::{
    ZDT1_HV_OPTIMUM, ZDT1_HV_REF, ackley, hypervolume_2d, mixed, rastrigin, rosenbrock, sphere,
    zdt1,
};

fn close(got: f64, want: f64) {
    let tol = 1e-12 * want.abs().max(1.0);
    assert!((got - want).abs() <= tol, "{got} vs {want}");
}

#[test]
fn single_objective_vectors() {
    close(sphere(&[1.0, 2.0, 3.0, 4.0, 5.0]), 55.0);
    close(sphere(&[0.0; 5]), 0.0);
    close(rosenbrock(&[0.0; 4]), 3.0);
    close(rosenbrock(&[1.0; 4]), 0.0);
    close(rosenbrock(&[-1.0, 2.0, 0.5, -0.5]), 1386.5);
    close(ackley(&[0.0; 5]), 4.440892098500626e-16);
    close(ackley(&[1.0; 5]), 3.6253849384403627);
    close(ackley(&[0.5, -1.5, 2.0, 3.0, -4.0]), 9.390454624512358);
    close(rastrigin(&[0.0; 3]), 0.0);
    close(rastrigin(&[1.0; 3]), 3.0);
    close(rastrigin(&[0.5, -0.5, 2.5]), 66.75);
    close(mixed(1.5, 7, 1e-3, "relu").unwrap(), 0.0);
    close(mixed(0.0, 1, 1e-5, "linear").unwrap(), 11.85);
    close(mixed(-2.0, 12, 0.05, "tanh").unwrap(), 18.13649907563353);
    assert_eq!(mixed(0.0, 1, 1e-3, "gelu"), None);
}

#[test]
fn zdt1_vectors() {
    let check = |x: [f64; 5], want: (f64, f64)| {
        let (a, b) = zdt1(&x);
        close(a, want.0);
        close(b, want.1);
    };
    check([0.25, 0.0, 0.0, 0.0, 0.0], (0.25, 0.5));
    check([0.5; 5], (0.5, 3.8416876048223));
    check([1.0; 5], (1.0, 6.83772233983162));
}

#[test]
fn hypervolume_checks() {
    close(
        hypervolume_2d(&[(0.0, 1.0), (0.25, 0.5), (1.0, 0.0)], ZDT1_HV_REF),
        11.475,
    );
    close(
        hypervolume_2d(&[(0.5, 0.5), (0.6, 0.6), (2.0, 0.0)], ZDT1_HV_REF),
        6.3,
    );
    // The true front, finely sampled, approaches 12.1 - 1/3 from below.
    let front: Vec<(f64, f64)> = (0..=10_000)
        .map(|i| {
            let f1 = i as f64 / 10_000.0;
            (f1, 1.0 - f1.sqrt())
        })
        .collect();
    let hv = hypervolume_2d(&front, ZDT1_HV_REF);
    assert!(hv < ZDT1_HV_OPTIMUM && ZDT1_HV_OPTIMUM - hv < 1e-3, "{hv}");
}
