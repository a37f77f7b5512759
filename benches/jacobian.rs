//! `f_jacobian` of a 24-input, 300-output function (a layer of 300 features of 24
//! inputs, with a loop and transcendental functions) against building the same Jacobian
//! from 24 separate `f_jvp` calls, one per column. The goal: at most half the time. Also
//! the same function with `jacobian(lanes = 24)`: all columns in one sweep. And the other
//! way round, 10,000 inputs and 4 outputs (reverse rows): `f_jacobian`, whose pullback
//! keeps a local array and may run again, so one primal sweep serves all rows, against a
//! primal sweep per row (what a pullback that runs once costs).
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

/// Four summaries of a signal smoothed into a local array: more inputs than outputs, so
/// `f_jacobian` runs reverse mode, one pullback call per row.
#[differentiable(jacobian)]
pub fn summaries(x: &[f64]) -> [f64; 4] {
    let n = x.len();
    let mut s = vec![0.0; n];
    for i in 1..n - 1 {
        s[i] = (0.25 * x[i - 1] + 0.5 * x[i] + 0.25 * x[i + 1]).tanh();
    }
    let (mut sum, mut energy, mut roughness) = (0.0, 0.0, 0.0);
    for i in 1..n {
        sum += s[i];
        energy += s[i] * s[i];
        roughness += (s[i] - s[i - 1]) * (s[i] - s[i - 1]);
    }
    let mean = sum / n as f64;
    [
        mean,
        energy / n as f64 - mean * mean,
        roughness.sqrt(),
        (s[n / 2] * x[0]).exp(),
    ]
}

/// `summaries`' Jacobian with a primal sweep per row.
fn rows_by_sweeps(x: &[f64]) -> DMatrix<f64> {
    let mut j = DMatrix::zeros(4, x.len());
    for r in 0..4 {
        let mut seed = [0.0; 4];
        seed[r] = 1.0;
        let (_, pullback) = summaries_vjp(x);
        j.set_row(r, &autodiff::nalgebra::RowDVector::from_vec(pullback(seed)));
    }
    j
}

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
    let s = numbers(10_000, 3);
    assert!((summaries_jacobian(&s).1 - rows_by_sweeps(&s)).amax() <= 1e-12);
    let f = time_us(|| summaries(black_box(&s)));
    let jac = time_us(|| summaries_jacobian(black_box(&s)));
    let sweeps = time_us(|| rows_by_sweeps(black_box(&s)));
    println!("10,000 inputs, 4 outputs; µs per call, best of 11 batches");
    println!("{:<36} {f:>10.2} {:>10.2}", "f", 1.0);
    let name = "f_jacobian (one sweep, 4 pullbacks)";
    println!("{name:<36} {jac:>10.2} {:>10.2}", jac / f);
    let name = "a sweep and a pullback per row";
    println!("{name:<36} {sweeps:>10.2} {:>10.2}", sweeps / f);
    println!("f_jacobian / sweeps: {:.2}\n", jac / sweeps);
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
    let mut group = c.benchmark_group("jacobian 10000x4");
    group.bench_function("f_jacobian", |b| {
        b.iter(|| summaries_jacobian(black_box(&s)))
    });
    group.bench_function("a sweep per row", |b| {
        b.iter(|| rows_by_sweeps(black_box(&s)))
    });
    group.finish();
    c.final_summary();
}
