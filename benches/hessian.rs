//! Second derivatives from `#[differentiable(hessian)]`:
//!
//! 1. `f_hvp` against `f_grad` (the goal is HVP / gradient ≤ 3; JAX's `jvp(grad(f))` is
//!    typically 2–4×) on a Rosenbrock loop over a slice, a logistic regression loss over
//!    `chunks` and a matrix function (products, `transpose`, `dot`, `component_mul`);
//! 2. `f_hessian` against num-dual's hyper-dual Hessian (`num_dual::hessian` with
//!    `Dual2SVec64<N>`, its fastest, fixed-size form) for the Rosenbrock function with
//!    n = 2, 5, 10, 20.
//!
//! `cargo bench --bench hessian` prints both tables (best of repeated timing batches; the
//! results are checked to agree before timing), then runs the criterion benchmarks.

use autodiff::differentiable;
use autodiff::nalgebra::{DMatrix, DVector, SVector};
use criterion::Criterion;
use num_dual::{Dual2SVec64, DualNum};
use std::hint::black_box;
use std::time::Instant;

#[path = "common/numbers.rs"]
mod numbers;

use numbers::numbers;

#[differentiable(hessian)]
pub fn rosenbrock(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() - 1 {
        let a = x[i + 1] - x[i] * x[i];
        let b = 1.0 - x[i];
        s += 100.0 * a * a + b * b;
    }
    s
}

/// The same function over num-dual's numbers.
fn rosenbrock_dual<D: DualNum<Primitive = f64> + Copy>(x: &[D]) -> D {
    let mut s = D::zero();
    for i in 0..x.len() - 1 {
        let a = x[i + 1] - x[i] * x[i];
        let b = -x[i] + 1.0;
        s += a * a * 100.0 + b * b;
    }
    s
}

/// Mean logistic loss of weights `w` on rows of `xs` with labels ±1, plus `λ/2·‖w‖²`.
#[differentiable(hessian, wrt(w))]
pub fn logistic(w: &[f64], xs: &[f64], ys: &[f64], lambda: f64) -> f64 {
    let mut total = 0.0;
    for (row, y) in xs.chunks(w.len()).zip(ys) {
        let margin: f64 = row.iter().zip(w).map(|(a, b)| a * b).sum::<f64>() * y;
        total += (-margin).exp().ln_1p();
    }
    let penalty: f64 = w.iter().map(|v| v * v).sum();
    total / ys.len() as f64 + 0.5 * lambda * penalty
}

/// `s·‖Mx‖² + ⟨Mᵀx, x ∘ x⟩ + ln(1 + ‖x‖)`.
#[differentiable(hessian)]
pub fn matrix_form(m: &DMatrix<f64>, x: &DVector<f64>, s: f64) -> f64 {
    let y = m * x;
    let t = m.transpose() * x;
    y.dot(&y) * s + t.dot(&x.component_mul(x)) + (x.norm() + 1.0).ln()
}

/// Nanoseconds per call of `f`: the best of 11 batches of about 20 ms.
fn time_ns(mut f: impl FnMut()) -> f64 {
    let start = Instant::now();
    f();
    let once = start.elapsed().as_secs_f64().max(1e-9);
    let iters = ((0.02 / once) as usize).clamp(1, 1_000_000);
    (0..11)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..iters {
                f();
            }
            start.elapsed().as_secs_f64() * 1e9 / iters as f64
        })
        .fold(f64::INFINITY, f64::min)
}

fn hvp_row(name: &str, f: impl Fn(), grad: impl Fn(), hvp: impl Fn()) {
    let (f, grad, hvp) = (time_ns(f), time_ns(grad), time_ns(hvp));
    println!(
        "{name:<34} {:>10.2} {:>10.2} {:>10.2} {:>9.2} {:>10.2}",
        f / 1e3,
        grad / 1e3,
        hvp / 1e3,
        grad / f,
        hvp / grad
    );
}

fn print_hvp_table() {
    println!("\nf_hvp against f_grad: µs per call, best of 11 batches");
    println!(
        "{:<34} {:>10} {:>10} {:>10} {:>9} {:>10}",
        "function", "f", "f_grad", "f_hvp", "grad/f", "hvp/grad"
    );
    for n in [100, 10_000] {
        let x = numbers(n, 1);
        let d = numbers(n, 2);
        hvp_row(
            &format!("Rosenbrock, n = {n}"),
            || {
                black_box(rosenbrock(black_box(&x)));
            },
            || {
                black_box(rosenbrock_grad(black_box(&x)));
            },
            || {
                black_box(rosenbrock_hvp(black_box(&x), &d));
            },
        );
    }
    let (features, samples) = (20, 1_000);
    let (w, d) = (numbers(features, 3), numbers(features, 4));
    let xs = numbers(features * samples, 5);
    let ys: Vec<f64> = numbers(samples, 6).iter().map(|v| v.signum()).collect();
    hvp_row(
        "logistic, 1,000 × 20",
        || {
            black_box(logistic(black_box(&w), &xs, &ys, 0.01));
        },
        || {
            black_box(logistic_grad(black_box(&w), &xs, &ys, 0.01));
        },
        || {
            black_box(logistic_hvp(black_box(&w), &xs, &ys, 0.01, &d));
        },
    );
    let n = 50;
    let m = DMatrix::from_vec(n, n, numbers(n * n, 7));
    let x = DVector::from_vec(numbers(n, 8));
    let (dm, dx) = (
        DMatrix::from_vec(n, n, numbers(n * n, 9)),
        DVector::from_vec(numbers(n, 10)),
    );
    hvp_row(
        "matrix form, 50 × 50",
        || {
            black_box(matrix_form(black_box(&m), &x, 0.5));
        },
        || {
            black_box(matrix_form_grad(black_box(&m), &x, 0.5));
        },
        || {
            black_box(matrix_form_hvp(black_box(&m), &x, 0.5, &dm, &dx, 1.0));
        },
    );
}

/// num-dual's Hessian of the Rosenbrock function at a point of `N` numbers.
fn num_dual_hessian<const N: usize>(x: &[f64]) -> DMatrix<f64> {
    let x = SVector::<f64, N>::from_column_slice(x);
    let (_, _, h) = num_dual::hessian(
        |v: SVector<Dual2SVec64<N>, N>| rosenbrock_dual(v.as_slice()),
        &x,
    );
    DMatrix::from_column_slice(N, N, h.as_slice())
}

fn hessian_row<const N: usize>() {
    let x = numbers(N, 11);
    let (_, _, ours) = rosenbrock_hessian(&x);
    let theirs = num_dual_hessian::<N>(&x);
    let scale = theirs.amax().max(1.0);
    assert!(
        (&ours - &theirs).amax() <= 1e-10 * scale,
        "n = {N}: the Hessians differ"
    );
    let ours = time_ns(|| {
        black_box(rosenbrock_hessian(black_box(&x)));
    });
    let theirs = time_ns(|| {
        black_box(num_dual_hessian::<N>(black_box(&x)));
    });
    let hvp = time_ns(|| {
        black_box(rosenbrock_hvp(black_box(&x), &x));
    });
    println!(
        "{N:>4} {:>14.3} {:>12.3} {:>16.3} {:>12.2}",
        ours / 1e3,
        hvp / 1e3,
        theirs / 1e3,
        ours / theirs
    );
}

fn print_hessian_table() {
    println!("\nRosenbrock Hessians: f_hessian against num-dual (Dual2SVec64<n>), µs per call");
    println!(
        "{:>4} {:>14} {:>12} {:>16} {:>12}",
        "n", "f_hessian", "(f_hvp)", "num-dual", "ours/theirs"
    );
    hessian_row::<2>();
    hessian_row::<5>();
    hessian_row::<10>();
    hessian_row::<20>();
    println!();
}

fn benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("rosenbrock n=10");
    let x = numbers(10, 11);
    group.bench_function("f_grad", |b| b.iter(|| rosenbrock_grad(black_box(&x))));
    group.bench_function("f_hvp", |b| b.iter(|| rosenbrock_hvp(black_box(&x), &x)));
    group.bench_function("f_hessian", |b| {
        b.iter(|| rosenbrock_hessian(black_box(&x)))
    });
    group.bench_function("num-dual hessian", |b| {
        b.iter(|| num_dual_hessian::<10>(black_box(&x)))
    });
    group.finish();
}

fn main() {
    print_hvp_table();
    print_hessian_table();
    let mut c = Criterion::default().configure_from_args();
    benches(&mut c);
    c.final_summary();
}
