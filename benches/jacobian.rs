//! `f_jacobian` of a 24-input, 300-output function (a layer of 300 features of 24
//! inputs, with a loop and transcendental functions) against building the same Jacobian
//! from 24 separate `f_jvp` calls, one per column. The goal: at most half the time. Also
//! the same function with `jacobian(lanes = 24)`: all columns in one sweep.
//!
//! `cargo bench --bench jacobian` prints the comparison (best of 11 batches; the two
//! Jacobians are checked to agree first), then runs the criterion benchmarks.

use autodiff::differentiable;
use autodiff::nalgebra::DMatrix;
use criterion::Criterion;
use std::hint::black_box;
use std::time::Instant;

#[path = "common/numbers.rs"]
mod numbers;

use numbers::numbers;

/// `outₖ = tanh(sₖ) + sin(x_{k mod n}·sₖ)` with `sₖ = Σᵢ wₖᵢ xᵢ`, with the default eight
/// columns a sweep and with all 24 in one (`lanes = 24`).
macro_rules! features {
    ($name:ident, $($args:tt)*) => {
        #[differentiable($($args)*)]
        pub fn $name(x: &[f64], w: &[f64]) -> Vec<f64> {
            let n = x.len();
            let m = w.len() / n;
            let mut out = vec![0.0; m];
            for k in 0..m {
                let mut s = 0.0;
                for i in 0..n {
                    s += w[k * n + i] * x[i];
                }
                out[k] = s.tanh() + (x[k % n] * s).sin();
            }
            out
        }
    };
}
features!(features, jacobian, wrt(x));
features!(features_wide, jacobian(lanes = 24), wrt(x));

/// The Jacobian from one `f_jvp` per column.
fn by_columns(x: &[f64], w: &[f64]) -> DMatrix<f64> {
    let m = w.len() / x.len();
    let mut j = DMatrix::zeros(m, x.len());
    let mut d = vec![0.0; x.len()];
    for c in 0..x.len() {
        d.fill(0.0);
        d[c] = 1.0;
        let (_, col) = features_jvp(x, w, &d);
        j.set_column(c, &autodiff::nalgebra::DVector::from_vec(col));
    }
    j
}

/// Microseconds per call: the best of 11 batches of about 20 ms.
fn time_us<T>(f: impl Fn() -> T) -> f64 {
    let start = Instant::now();
    black_box(f());
    let iters = ((0.02 / start.elapsed().as_secs_f64().max(1e-9)) as usize).clamp(1, 100_000);
    (0..11)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..iters {
                black_box(f());
            }
            start.elapsed().as_secs_f64() * 1e6 / iters as f64
        })
        .fold(f64::INFINITY, f64::min)
}

fn main() {
    let (x, w) = (numbers(24, 1), numbers(24 * 300, 2));
    let (_, j) = features_jacobian(&x, &w);
    let columns = by_columns(&x, &w);
    assert!((&j - &columns).amax() <= 1e-12, "the Jacobians differ");
    let f = time_us(|| features(black_box(&x), &w));
    assert_eq!(features_wide_jacobian(&x, &w).1, j, "the widths disagree");
    let jac = time_us(|| features_jacobian(black_box(&x), &w));
    let wide = time_us(|| features_wide_jacobian(black_box(&x), &w));
    let cols = time_us(|| by_columns(black_box(&x), &w));
    println!("\n24 inputs, 300 outputs; µs per call, best of 11 batches");
    println!("{:<36} {:>10} {:>10}", "", "µs", "× f");
    println!("{:<36} {f:>10.2} {:>10.2}", "f", 1.0);
    println!(
        "{:<36} {jac:>10.2} {:>10.2}",
        "f_jacobian (vector forward, K = 8)",
        jac / f
    );
    println!(
        "{:<36} {wide:>10.2} {:>10.2}",
        "f_jacobian (lanes = 24, one sweep)",
        wide / f
    );
    println!("{:<36} {cols:>10.2} {:>10.2}", "24 × f_jvp", cols / f);
    println!("f_jacobian / 24 f_jvp: {:.2}\n", jac / cols);
    let mut c = Criterion::default().configure_from_args();
    let mut group = c.benchmark_group("jacobian 24x300");
    group.bench_function("f_jacobian", |b| {
        b.iter(|| features_jacobian(black_box(&x), &w))
    });
    group.bench_function("f_jacobian, lanes = 24", |b| {
        b.iter(|| features_wide_jacobian(black_box(&x), &w))
    });
    group.bench_function("24 f_jvp", |b| b.iter(|| by_columns(black_box(&x), &w)));
    group.finish();
    c.final_summary();
}
