//! Loops and arrays: objective time, gradient time and their ratio for ADBench's GMM (the
//! sizes of the issue; written as loops, as iterator chains, and as loops shaped as the
//! chains are), LSTM (all four sizes) and BA (one 2×15 Jacobian block), a
//! 1,000-step explicit Euler integration and Horner's rule with 1,000 coefficients.
//!
//! `cargo bench --bench loops` prints the table (best of repeated batches), then runs the
//! criterion benchmarks of the small cases. Needs `../shared/adbench` (the ADBench data).

use autodiff::differentiable;
use autodiff::gradbench::adbench::{self, Gmm, Lstm};
use autodiff::gradbench::objectives::ba;
use autodiff::gradbench::objectives::gmm::{
    constant, log_posterior, log_posterior_chains, log_posterior_chains_grad, log_posterior_grad,
};
use autodiff::gradbench::objectives::lstm::{lstm_objective, lstm_objective_grad};
use criterion::Criterion;
use std::hint::black_box;
use std::time::{Duration, Instant};

/// `../shared/adbench`, beside the project root.
fn adbench_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/adbench")
}

fn read_gmm(name: &str) -> Gmm {
    adbench::read_gmm(&adbench_dir(), name).unwrap_or_else(|e| panic!("{e}"))
}

fn read_lstm(name: &str) -> Lstm {
    adbench::read_lstm(&adbench_dir(), name).unwrap_or_else(|e| panic!("{e}"))
}

#[path = "common/counting.rs"]
mod counting;
#[path = "common/laplacian.rs"]
mod laplacian;

use counting::peak_bytes;
use laplacian::{laplacian_energy, laplacian_energy_grad};

#[differentiable(wrt(y0, k))]
pub fn euler(y0: f64, k: f64, h: f64, steps: usize) -> f64 {
    let mut y = y0;
    let mut t: f64 = 0.0;
    for _ in 0..steps {
        y += h * (-k * y + t.sin());
        t += h;
    }
    y
}

/// `Σ u(T)²` for the heat equation with a cubic reaction, `u′ᵢ = κ(uᵢ₋₁ − 2uᵢ + uᵢ₊₁) − uᵢ³`
/// (the ends held at zero), by classical Runge–Kutta steps over arrays written in place:
/// the loop shape of an ODE or PDE integrator.
#[allow(clippy::needless_range_loop)]
#[differentiable(wrt(u0, kappa))]
pub fn rk4_heat(u0: &[f64], kappa: f64, h: f64, steps: usize) -> f64 {
    let n = u0.len();
    let mut u = u0.to_vec();
    let mut v = vec![0.0; n];
    let mut k1 = vec![0.0; n];
    let mut k2 = vec![0.0; n];
    let mut k3 = vec![0.0; n];
    let mut k4 = vec![0.0; n];
    for _ in 0..steps {
        for i in 1..n - 1 {
            k1[i] = kappa * (u[i - 1] - 2.0 * u[i] + u[i + 1]) - u[i] * u[i] * u[i];
        }
        for i in 0..n {
            v[i] = u[i] + 0.5 * h * k1[i];
        }
        for i in 1..n - 1 {
            k2[i] = kappa * (v[i - 1] - 2.0 * v[i] + v[i + 1]) - v[i] * v[i] * v[i];
        }
        for i in 0..n {
            v[i] = u[i] + 0.5 * h * k2[i];
        }
        for i in 1..n - 1 {
            k3[i] = kappa * (v[i - 1] - 2.0 * v[i] + v[i + 1]) - v[i] * v[i] * v[i];
        }
        for i in 0..n {
            v[i] = u[i] + h * k3[i];
        }
        for i in 1..n - 1 {
            k4[i] = kappa * (v[i - 1] - 2.0 * v[i] + v[i + 1]) - v[i] * v[i] * v[i];
        }
        for i in 0..n {
            u[i] += h / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]);
        }
    }
    u.iter().map(|x| x * x).sum()
}

/// `k = F(v)`: the right-hand side of `rk4_heat`.
fn heat_rhs(v: &[f64], kappa: f64, k: &mut [f64]) {
    for i in 1..v.len() - 1 {
        k[i] = kappa * (v[i - 1] - 2.0 * v[i] + v[i + 1]) - v[i] * v[i] * v[i];
    }
}

/// `dv += Fᵀ(v)·g` and `dκ += ∂F/∂κ·g`: the adjoint of `heat_rhs`.
fn heat_rhs_adjoint(v: &[f64], kappa: f64, g: &[f64], dv: &mut [f64], dkappa: &mut f64) {
    for i in 1..v.len() - 1 {
        let lap = v[i - 1] - 2.0 * v[i] + v[i + 1];
        *dkappa += g[i] * lap;
        dv[i - 1] += kappa * g[i];
        dv[i] += (-2.0 * kappa - 3.0 * v[i] * v[i]) * g[i];
        dv[i + 1] += kappa * g[i];
    }
}

/// `rk4_heat`'s gradient written by hand, as a careful programmer would: the state saved
/// once a step, each step's stages computed again in the reverse sweep.
fn rk4_heat_manual(u0: &[f64], kappa: f64, h: f64, steps: usize) -> (Vec<f64>, f64) {
    let n = u0.len();
    let mut u = u0.to_vec();
    let mut saved = Vec::with_capacity(n * steps);
    let mut k = [vec![0.0; n], vec![0.0; n], vec![0.0; n], vec![0.0; n]];
    let mut v = [vec![0.0; n], vec![0.0; n], vec![0.0; n]];
    let stages = |u: &[f64], k: &mut [Vec<f64>; 4], v: &mut [Vec<f64>; 3]| {
        heat_rhs(u, kappa, &mut k[0]);
        for (c, s) in [0.5 * h, 0.5 * h, h].into_iter().enumerate() {
            for i in 0..n {
                v[c][i] = u[i] + s * k[c][i];
            }
            heat_rhs(&v[c], kappa, &mut k[c + 1]);
        }
    };
    for _ in 0..steps {
        saved.extend_from_slice(&u);
        stages(&u, &mut k, &mut v);
        for i in 0..n {
            u[i] += h / 6.0 * (k[0][i] + 2.0 * k[1][i] + 2.0 * k[2][i] + k[3][i]);
        }
    }
    let mut du: Vec<f64> = u.iter().map(|x| 2.0 * x).collect();
    let mut dkappa = 0.0;
    let mut g = [vec![0.0; n], vec![0.0; n], vec![0.0; n], vec![0.0; n]];
    let mut dv = vec![0.0; n];
    for step in (0..steps).rev() {
        let u = &saved[step * n..(step + 1) * n];
        stages(u, &mut k, &mut v);
        for i in 0..n {
            let w = h / 6.0 * du[i];
            (g[0][i], g[1][i], g[2][i], g[3][i]) = (w, 2.0 * w, 2.0 * w, w);
        }
        // Stage c + 1 read v_c = u + s·k_c: its cotangent goes to u and to k_c.
        for (c, s) in [(2, h), (1, 0.5 * h), (0, 0.5 * h)] {
            dv.iter_mut().for_each(|x| *x = 0.0);
            heat_rhs_adjoint(&v[c], kappa, &g[c + 1], &mut dv, &mut dkappa);
            for i in 0..n {
                du[i] += dv[i];
                g[c][i] += s * dv[i];
            }
        }
        dv.iter_mut().for_each(|x| *x = 0.0);
        heat_rhs_adjoint(u, kappa, &g[0], &mut dv, &mut dkappa);
        for i in 0..n {
            du[i] += dv[i];
        }
    }
    (du, dkappa)
}

/// `laplacian_energy`'s gradient by hand: the Laplacian once, then each element gathers
/// `2·Δᵀ(Δx)` from its neighbours (no additions into neighbours).
fn laplacian_energy_manual(x: &[f64], m: usize) -> Vec<f64> {
    let n = x.len() / m;
    let mut g = vec![0.0; x.len()];
    for i in 1..n - 1 {
        for j in 1..m - 1 {
            let c = i * m + j;
            g[c] = 2.0 * (x[c - 1] + x[c + 1] + x[c - m] + x[c + m] - 4.0 * x[c]);
        }
    }
    let mut d = vec![0.0; x.len()];
    for c in 0..x.len() {
        let at = |k: Option<usize>| k.and_then(|k| g.get(k)).copied().unwrap_or(0.0);
        d[c] = at(c.checked_sub(1)) + at(Some(c + 1)) + at(c.checked_sub(m)) + at(Some(c + m))
            - 4.0 * g[c];
    }
    d
}

#[differentiable]
pub fn horner(coeffs: &[f64], x: f64) -> f64 {
    let mut s = 0.0;
    for i in (0..coeffs.len()).rev() {
        s = s * x + coeffs[i];
    }
    s
}

/// Seconds per call: the best of batches, each at least 20 ms, over about `budget`.
fn time(budget: Duration, mut f: impl FnMut()) -> f64 {
    let mut iters = 1u32;
    loop {
        let start = Instant::now();
        for _ in 0..iters {
            f();
        }
        if start.elapsed() > Duration::from_millis(20) {
            break;
        }
        iters *= 2;
    }
    let deadline = Instant::now() + budget;
    let mut best = f64::INFINITY;
    while Instant::now() < deadline || best.is_infinite() {
        let start = Instant::now();
        for _ in 0..iters {
            f();
        }
        best = best.min(start.elapsed().as_secs_f64() / f64::from(iters));
    }
    best
}

fn row(name: &str, f: f64, grad: f64, bytes: usize) {
    println!(
        "{name:<48} {:>12.3} {:>12.3} {:>8.2} {:>14}",
        f * 1e3,
        grad * 1e3,
        grad / f,
        bytes
    );
}

/// [`log_posterior`] with the loops shaped as [`log_posterior_chains`]' chains are: `Σ q`
/// in a loop of its own, each row's sum below the diagonal accumulated from zero. The
/// control for the chains' cost: the same computation written as loops.
#[allow(clippy::too_many_arguments)]
#[differentiable(wrt(alpha, mu, q, l))]
pub fn log_posterior_chain_shaped(
    alpha: &[f64],
    mu: &[f64],
    q: &[f64],
    l: &[f64],
    x: &[f64],
    d: usize,
    k: usize,
    n: usize,
    gamma: f64,
    m: f64,
    constant: f64,
) -> f64 {
    let lower = d * (d - 1) / 2;
    let mut total = 0.0;
    for i in 0..n {
        // LSE over the components in one pass, with a running maximum.
        let mut mx = f64::NEG_INFINITY;
        let mut sum = 0.0;
        for c in 0..k {
            let mut sum_q = 0.0;
            for j in 0..d {
                sum_q += q[c * d + j];
            }
            let mut sqnorm = 0.0;
            for j in 0..d {
                let diagonal = q[c * d + j].exp() * (x[i * d + j] - mu[c * d + j]);
                let mut below = 0.0;
                for t in 0..j {
                    let at = c * lower + t * (2 * d - t - 3) / 2 + j - 1;
                    below += l[at] * (x[i * d + t] - mu[c * d + t]);
                }
                let row = diagonal + below;
                sqnorm += row * row;
            }
            let beta = alpha[c] + sum_q - 0.5 * sqnorm;
            if beta > mx {
                sum = sum * (mx - beta).exp() + 1.0;
                mx = beta;
            } else {
                sum += (beta - mx).exp();
            }
        }
        total += sum.ln() + mx;
    }
    let mut amax = alpha[0];
    for &a in alpha.iter() {
        amax = amax.max(a);
    }
    let mut asum = 0.0;
    for &a in alpha.iter() {
        asum += (a - amax).exp();
    }
    let lse_alpha = asum.ln() + amax;
    let mut prior = 0.0;
    for c in 0..k {
        let mut frobenius = 0.0;
        let mut sum_q = 0.0;
        for j in 0..d {
            let e = q[c * d + j].exp();
            frobenius += e * e;
            sum_q += q[c * d + j];
        }
        for t in 0..lower {
            frobenius += l[c * lower + t] * l[c * lower + t];
        }
        prior += m * sum_q - 0.5 * gamma * gamma * frobenius;
    }
    constant + total - n as f64 * lse_alpha + prior
}

/// Times `f` and `grad`, measures `grad`'s peak heap, and prints the row.
fn measure<A, B>(name: &str, f: impl Fn() -> A, grad: impl Fn() -> B) {
    let budget = Duration::from_millis(1500);
    let tf = time(budget, || {
        black_box(f());
    });
    let tg = time(budget, || {
        black_box(grad());
    });
    row(name, tf, tg, peak_bytes(&grad));
}

fn print_ratios() {
    println!("\nbest of repeated batches, single thread");
    println!(
        "{:<48} {:>12} {:>12} {:>8} {:>14}",
        "case", "f (ms)", "grad (ms)", "grad/f", "grad heap (B)"
    );
    for name in [
        "1k/gmm_d2_K5",
        "1k/gmm_d10_K5",
        "1k/gmm_d10_K25",
        "1k/gmm_d20_K5",
        "1k/gmm_d64_K5",
        "10k/gmm_d10_K25",
    ] {
        let g = read_gmm(name);
        let c = constant(g.d, g.k, g.n, g.gamma, g.m);
        // One row per form of the objective: `f` and its gradient on this instance.
        macro_rules! row {
            ($label:expr, $f:ident, $grad:ident) => {
                measure(
                    &format!("GMM {name}{}", $label),
                    || {
                        $f(
                            black_box(&g.alpha),
                            &g.mu,
                            &g.q,
                            &g.l,
                            &g.x,
                            g.d,
                            g.k,
                            g.n,
                            g.gamma,
                            g.m,
                            c,
                        )
                    },
                    || {
                        $grad(
                            black_box(&g.alpha),
                            &g.mu,
                            &g.q,
                            &g.l,
                            &g.x,
                            g.d,
                            g.k,
                            g.n,
                            g.gamma,
                            g.m,
                            c,
                        )
                    },
                )
            };
        }
        row!("", log_posterior, log_posterior_grad);
        // The same objective written with loops shaped as the chains are.
        row!(
            " (chain-shaped loops)",
            log_posterior_chain_shaped,
            log_posterior_chain_shaped_grad
        );
        // The same objective written with iterator chains and closures.
        row!(" (chains)", log_posterior_chains, log_posterior_chains_grad);
    }
    for name in [
        "lstm_l2_c1024",
        "lstm_l2_c4096",
        "lstm_l4_c1024",
        "lstm_l4_c4096",
    ] {
        let m = read_lstm(name);
        let x = || black_box(&m.main);
        measure(
            &format!("LSTM {name}"),
            || lstm_objective(x(), &m.extra, &m.state, &m.seq, m.l, m.c, m.b),
            || lstm_objective_grad(x(), &m.extra, &m.state, &m.seq, m.l, m.c, m.b),
        );
    }
    let (cam, point, feature) = (
        [
            1.8, 0.59, -0.64, 90.9, 29.4, 28.8, 211.6, -0.28, -14.8, 0.059, 0.07,
        ],
        [4.17, 5.59, 1.4],
        [-525.7, 161.8],
    );
    measure(
        "BA 2x15 block",
        || ba::reprojection(black_box(&cam), &point, 0.417, &feature),
        // The whole block is returned, so none of it can be optimised away.
        || ba::reprojection_block(black_box(&cam), &point, 0.417, &feature),
    );
    measure(
        "Euler, 1,000 steps",
        || euler(black_box(1.0), 0.5, 0.001, 1000),
        || euler_grad(black_box(1.0), 0.5, 0.001, 1000),
    );
    for steps in [10, 1000] {
        let u0: Vec<f64> = (0..1000).map(|i| (f64::from(i) * 0.01).sin()).collect();
        let (generated, manual) = (
            rk4_heat_grad(&u0, 0.3, 0.01, steps).1,
            rk4_heat_manual(&u0, 0.3, 0.01, steps),
        );
        let gap = generated
            .0
            .iter()
            .zip(&manual.0)
            .map(|(a, b)| (a - b).abs());
        let gap = gap.fold((generated.1 - manual.1).abs(), f64::max);
        assert!(
            gap < 1e-9,
            "rk4_heat: generated and manual gradients differ by {gap}"
        );
        measure(
            &format!("RK4 heat, n = 1,000, {steps} steps"),
            || rk4_heat(black_box(&u0), 0.3, 0.01, steps),
            || rk4_heat_grad(black_box(&u0), 0.3, 0.01, steps),
        );
        measure(
            &format!("RK4 heat, {steps} steps, by hand"),
            || rk4_heat(black_box(&u0), 0.3, 0.01, steps),
            || rk4_heat_manual(black_box(&u0), 0.3, 0.01, steps),
        );
    }
    let grid: Vec<f64> = (0..200 * 200)
        .map(|i| (f64::from(i) * 0.01).sin())
        .collect();
    let gap = laplacian_energy_grad(&grid, 200)
        .1
        .iter()
        .zip(laplacian_energy_manual(&grid, 200))
        .fold(0.0, |gap: f64, (a, b)| gap.max((a - b).abs()));
    assert!(gap < 1e-9, "laplacian_energy: gradients differ by {gap}");
    measure(
        "2-D Laplacian energy, 200 × 200",
        || laplacian_energy(black_box(&grid), 200),
        || laplacian_energy_grad(black_box(&grid), 200),
    );
    measure(
        "2-D Laplacian energy, by hand",
        || laplacian_energy(black_box(&grid), 200),
        || laplacian_energy_manual(black_box(&grid), 200),
    );
    let coeffs: Vec<f64> = (0..1000).map(|i| (f64::from(i) * 0.3).sin()).collect();
    measure(
        "Horner, n = 1,000",
        || horner(black_box(&coeffs), 0.99),
        || horner_grad(black_box(&coeffs), 0.99),
    );
    println!();
}

fn benches(c: &mut Criterion) {
    let g = read_gmm("1k/gmm_d10_K5");
    let k = constant(g.d, g.k, g.n, g.gamma, g.m);
    let mut group = c.benchmark_group("gmm 1k d10 K5");
    group.bench_function("objective", |b| {
        b.iter(|| {
            log_posterior(
                black_box(&g.alpha),
                &g.mu,
                &g.q,
                &g.l,
                &g.x,
                g.d,
                g.k,
                g.n,
                g.gamma,
                g.m,
                k,
            )
        })
    });
    group.bench_function("gradient", |b| {
        b.iter(|| {
            log_posterior_grad(
                black_box(&g.alpha),
                &g.mu,
                &g.q,
                &g.l,
                &g.x,
                g.d,
                g.k,
                g.n,
                g.gamma,
                g.m,
                k,
            )
        })
    });
    group.finish();
    let mut group = c.benchmark_group("euler 1000 steps");
    group.bench_function("objective", |b| {
        b.iter(|| euler(black_box(1.0), 0.5, 0.001, 1000))
    });
    group.bench_function("gradient", |b| {
        b.iter(|| euler_grad(black_box(1.0), 0.5, 0.001, 1000))
    });
    group.finish();
}

fn main() {
    print_ratios();
    let mut c = Criterion::default().configure_from_args();
    benches(&mut c);
    c.final_summary();
}
