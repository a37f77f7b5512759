//! Curve fitting by Levenberg–Marquardt: a sum of two decaying exponentials,
//! `y(t) = a₁·e^(−k₁t) + a₂·e^(−k₂t)`, fitted to 60 noisy samples.
//!
//! The residuals are written C-style into an output parameter, `r: &mut [f64]`, and
//! `#[differentiable]` gives their Jacobian column by column: `residuals_jvp` with a unit
//! tangent along parameter `j` writes `∂r/∂pⱼ` into its `d_r`. Needs no data and no
//! download; runs in well under a second.
//!
//! Run with `cargo run --release --example curve_fit`.

use autodiff::differentiable;
use autodiff::nalgebra::{DMatrix, DVector};

/// `rᵢ = a₁·e^(−k₁tᵢ) + a₂·e^(−k₂tᵢ) − yᵢ` for `p = (a₁, k₁, a₂, k₂)`.
#[differentiable(wrt(p))]
fn residuals(p: &[f64], t: &[f64], y: &[f64], r: &mut [f64]) {
    for (i, ri) in r.iter_mut().enumerate() {
        let model = p[0] * (-p[1] * t[i]).exp() + p[2] * (-p[3] * t[i]).exp();
        *ri = model - y[i];
    }
}

/// `½‖r‖²` and the Jacobian `∂r/∂p`, one forward-mode pass per parameter.
fn cost_and_jacobian(p: &[f64], t: &[f64], y: &[f64]) -> (f64, DVector<f64>, DMatrix<f64>) {
    let n = t.len();
    let mut r = vec![0.0; n];
    let mut jacobian = DMatrix::zeros(n, p.len());
    let mut column = vec![0.0; n];
    for j in 0..p.len() {
        let mut direction = vec![0.0; p.len()];
        direction[j] = 1.0;
        residuals_jvp(p, t, y, &mut r, &direction, &mut column);
        jacobian.set_column(j, &DVector::from_column_slice(&column));
    }
    let r = DVector::from_vec(r);
    (0.5 * r.norm_squared(), r, jacobian)
}

fn cost(p: &[f64], t: &[f64], y: &[f64]) -> f64 {
    let mut r = vec![0.0; t.len()];
    residuals(p, t, y, &mut r);
    0.5 * r.iter().map(|v| v * v).sum::<f64>()
}

/// Levenberg–Marquardt: solve `(JᵀJ + λ·diag(JᵀJ))·δ = −Jᵀr`; accept the step and
/// lower `λ` if the cost falls, else raise `λ` and try again.
fn fit(mut p: Vec<f64>, t: &[f64], y: &[f64]) -> (Vec<f64>, f64, usize) {
    let mut lambda = 1e-3;
    let (mut value, mut r, mut jac) = cost_and_jacobian(&p, t, y);
    println!("{:>5} {:>12} {:>10}   parameters", "iter", "cost", "λ");
    for iter in 1..=200 {
        let jtj = jac.transpose() * &jac;
        let gradient = jac.transpose() * &r;
        if gradient.amax() < 1e-10 {
            return (p, value, iter);
        }
        let mut damped = jtj.clone();
        for k in 0..p.len() {
            damped[(k, k)] += lambda * jtj[(k, k)].max(1e-12);
        }
        let Some(step) = damped.cholesky().map(|c| c.solve(&-&gradient)) else {
            lambda *= 10.0;
            continue;
        };
        let trial: Vec<f64> = p.iter().zip(step.iter()).map(|(a, b)| a + b).collect();
        if cost(&trial, t, y) < value {
            p = trial;
            (value, r, jac) = cost_and_jacobian(&p, t, y);
            lambda = (lambda / 3.0).max(1e-12);
        } else {
            lambda *= 4.0;
        }
        if iter % 5 == 0 || iter < 5 {
            println!("{iter:>5} {value:>12.6e} {lambda:>10.2e}   {:.4?}", p);
        }
        if step.norm() < 1e-12 * (1.0 + p.iter().map(|v| v * v).sum::<f64>().sqrt()) {
            return (p, value, iter);
        }
    }
    (p, value, 200)
}

/// Samples of the true curve with deterministic noise (a linear congruential generator
/// mapped to ±`scale`), so that every run fits the same data.
fn samples(truth: &[f64], n: usize, scale: f64) -> (Vec<f64>, Vec<f64>) {
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut noise = || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((state >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * 2.0 * scale
    };
    let t: Vec<f64> = (0..n).map(|i| i as f64 * 0.1).collect();
    let y = t
        .iter()
        .map(|&ti| truth[0] * (-truth[1] * ti).exp() + truth[2] * (-truth[3] * ti).exp() + noise())
        .collect();
    (t, y)
}

fn main() {
    let truth = [3.0, 1.5, 1.0, 0.2];
    let (t, y) = samples(&truth, 60, 0.01);
    let start = vec![1.0, 1.0, 1.0, 0.5];
    println!(
        "fitting y = a1·exp(-k1·t) + a2·exp(-k2·t) to {} noisy samples",
        t.len()
    );
    println!("start {start:?}, truth {truth:?}\n");
    let (p, value, iterations) = fit(start, &t, &y);
    println!("\nconverged in {iterations} iterations: cost {value:.3e}");
    println!("fitted (a1, k1, a2, k2) = {:.4?}", p);
    let error = p
        .iter()
        .zip(truth)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    println!("largest parameter error {error:.4} (noise ±0.01)");
    if error > 0.05 || !value.is_finite() {
        eprintln!("the fit did not recover the parameters");
        std::process::exit(1);
    }
}
