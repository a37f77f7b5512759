//! Newton's method with exact Hessians from `#[differentiable(hessian)]`: the Rosenbrock
//! function in 2 and 10 dimensions, and an L2-regularised logistic regression.
//!
//! `f_hessian` gives the value, the gradient and the Hessian over the active parameters
//! flattened in order; each step solves `H·p = −∇f` (shifted by a multiple of the identity
//! where `H` is not positive definite) and backtracks until the value falls enough. Near
//! the minimum the full step is taken, and the gradient's norm is about squared at each
//! iteration: quadratic convergence, which the program checks. The regression's
//! Hessian-vector product, `loss_hvp`, is checked against its Hessian too.
//!
//! Needs no data; runs in well under a second. Run with
//! `cargo run --release --example newton`.

use autodiff::differentiable;
use autodiff::nalgebra::{DMatrix, DVector};

/// `Σᵢ 100·(xᵢ₊₁ − xᵢ²)² + (1 − xᵢ)²`, minimal at `(1, .., 1)`.
#[differentiable(hessian)]
fn rosenbrock(x: &[f64]) -> f64 {
    x.windows(2)
        .map(|w| 100.0 * (w[1] - w[0] * w[0]).powi(2) + (1.0 - w[0]).powi(2))
        .sum()
}

/// The mean logistic loss of weights `w` on samples `xs` (rows of `features` numbers)
/// with labels `ys` in {−1, 1}, plus `λ/2·‖w‖²`.
#[differentiable(hessian, wrt(w))]
fn loss(w: &[f64], xs: &[f64], ys: &[f64], features: usize, lambda: f64) -> f64 {
    let mut total = 0.0;
    for (row, y) in xs.chunks(features).zip(ys) {
        let margin: f64 = row.iter().zip(w).map(|(a, b)| a * b).sum::<f64>() * y;
        // log(1 + e^(−m)), written to stay finite for large |m|
        total += if margin > 0.0 {
            (-margin).exp().ln_1p()
        } else {
            -margin + margin.exp().ln_1p()
        };
    }
    let penalty: f64 = w.iter().map(|v| v * v).sum();
    total / ys.len() as f64 + 0.5 * lambda * penalty
}

/// One run of Newton's method: the gradient's norm at each iterate.
fn newton(
    name: &str,
    mut x: Vec<f64>,
    f: impl Fn(&[f64]) -> f64,
    hessian: impl Fn(&[f64]) -> (f64, Vec<f64>, DMatrix<f64>),
) -> (Vec<f64>, Vec<f64>) {
    println!("{name}");
    println!("{:>5} {:>14} {:>12} {:>8}", "iter", "f", "‖∇f‖", "step");
    let mut norms = Vec::new();
    for iter in 0..100 {
        let (value, gradient, h) = hessian(&x);
        let g = DVector::from_vec(gradient);
        norms.push(g.norm());
        // At rounding level (the gradient of a mean of 400 terms stops near 1e-11).
        if g.norm() < 1e-10 {
            println!("{iter:>5} {value:>14.6e} {:>12.3e}", g.norm());
            break;
        }
        let p = descent_direction(&h, &g);
        // Backtracking (Armijo): the full step first.
        let mut t = 1.0;
        let slope = g.dot(&p);
        let trial =
            |t: f64| -> Vec<f64> { x.iter().zip(p.iter()).map(|(a, b)| a + t * b).collect() };
        while f(&trial(t)) > value + 1e-4 * t * slope && t > 1e-10 {
            t *= 0.5;
        }
        println!("{iter:>5} {value:>14.6e} {:>12.3e} {t:>8.4}", g.norm());
        x = trial(t);
    }
    (x, norms)
}

/// The Newton direction `−H⁻¹∇f`, with `H + μI` for the smallest `μ` of 0, 10⁻³, 10⁻²,
/// .. that makes it positive definite (away from the minimum, Rosenbrock's is not).
fn descent_direction(h: &DMatrix<f64>, g: &DVector<f64>) -> DVector<f64> {
    let n = g.len();
    let mut mu = 0.0;
    loop {
        let shifted = h + DMatrix::identity(n, n) * mu;
        if let Some(c) = shifted.cholesky() {
            return c.solve(&-g);
        }
        mu = if mu == 0.0 { 1e-3 } else { mu * 10.0 };
    }
}

/// Checks that the last iterations converge quadratically: from a gradient norm below
/// 10⁻², the next is at most `C·‖∇f‖²` (the run stops at 10⁻¹⁰, above rounding level).
fn check_quadratic(name: &str, norms: &[f64]) {
    let tail: Vec<(f64, f64)> = norms
        .windows(2)
        .map(|w| (w[0], w[1]))
        .filter(|&(a, _)| a < 1e-2)
        .collect();
    assert!(!tail.is_empty(), "{name}: no iterations near the minimum");
    for (a, b) in &tail {
        let ratio = b / (a * a);
        println!("  ‖∇f‖ {a:.3e} → {b:.3e}: ratio to the square {ratio:.2}");
        assert!(ratio < 1e3, "{name}: not quadratic ({a:e} → {b:e})");
    }
}

/// Deterministic samples: features in [−1, 1), labels from a known weight vector with
/// a few flipped.
fn samples(n: usize, features: usize) -> (Vec<f64>, Vec<f64>) {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
    };
    let truth: Vec<f64> = (0..features).map(|k| 1.5 - k as f64 * 0.7).collect();
    let xs: Vec<f64> = (0..n * features).map(|_| next()).collect();
    let ys = xs
        .chunks(features)
        .map(|row| {
            let score: f64 = row.iter().zip(&truth).map(|(a, b)| a * b).sum();
            if score + 0.3 * next() > 0.0 {
                1.0
            } else {
                -1.0
            }
        })
        .collect();
    (xs, ys)
}

fn main() {
    // From n = 4 on, (−1, 1, .., 1) is a local minimum too; the start at 0 leads to the
    // global one.
    for (n, start) in [(2, vec![-1.2, 1.0]), (10, vec![0.0; 10])] {
        let name = format!("Rosenbrock, n = {n}, from {start:?}");
        let (x, norms) = newton(&name, start, rosenbrock, rosenbrock_hessian);
        assert!(
            x.iter().all(|v| (v - 1.0).abs() < 1e-8),
            "{name}: ended at {x:?}"
        );
        check_quadratic(&name, &norms);
        println!();
    }

    let (features, lambda) = (5, 1e-2);
    let (xs, ys) = samples(400, features);
    let f = |w: &[f64]| loss(w, &xs, &ys, features, lambda);
    let hessian = |w: &[f64]| loss_hessian(w, &xs, &ys, features, lambda);
    let name = "logistic regression, 400 samples, 5 features";
    let (w, norms) = newton(name, vec![0.0; features], f, hessian);
    check_quadratic(name, &norms);
    println!("  weights {w:.4?}");

    // The Hessian-vector product is the Hessian times the vector.
    let d: Vec<f64> = (0..features).map(|k| 0.5 - k as f64 * 0.2).collect();
    let (_, _, hv) = loss_hvp(&w, &xs, &ys, features, lambda, &d);
    let (_, _, h) = hessian(&w);
    let by_h = &h * DVector::from_column_slice(&d);
    let err = (DVector::from_vec(hv) - &by_h).amax();
    println!("  loss_hvp against the Hessian times d: largest difference {err:.2e}");
    assert!(err < 1e-12 * (1.0 + by_h.amax()));
}
