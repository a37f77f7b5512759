//! GradBench's Gaussian mixture model objective (PROTOCOL.md §2.2: the true π, and the
//! Wishart prior with GradBench's sign) as plain loops over flat parameter arrays,
//! differentiated by `#[differentiable]`. Shared by the GradBench tool and the ADBench
//! tests and benchmarks (which convert ADBench's form of the objective).

use super::lse::*;
use autodiff::special::ln_gamma;
use autodiff::{differentiable, stop_gradient};
use std::f64::consts::PI;

/// The terms that depend on no parameter: `−N·D/2·ln 2π + K·C` with
/// `C = ν·D·(ln γ − ½ ln 2) − ln Γ_D(ν/2)`, `ν = D + m + 1`.
pub fn constant(d: usize, k: usize, n: usize, gamma: f64, m: f64) -> f64 {
    let df = d as f64;
    let nu = df + m + 1.0;
    let mut log_gamma_d = 0.25 * df * (df - 1.0) * PI.ln();
    for j in 1..=d {
        log_gamma_d += ln_gamma(0.5 * nu + 0.5 * (1.0 - j as f64));
    }
    let c = nu * df * (gamma.ln() - 0.5 * 2.0_f64.ln()) - log_gamma_d;
    -(n as f64) * df * 0.5 * (2.0 * PI).ln() + k as f64 * c
}

/// `Σᵢ LSE_k βᵢₖ − N·LSE(α) + Σ_k (m Σⱼ q_kj − ½γ² ‖Q_k‖²_F) + constant`, with
/// `βᵢₖ = α_k + Σⱼ q_kj − ½‖Q_k (xᵢ − μ_k)‖²`; `Q_k` has diagonal `exp(q_k)` and its
/// strictly lower triangle filled from `l_k` column by column.
#[allow(clippy::too_many_arguments)]
#[differentiable(wrt(alpha, mu, q, l))]
pub fn log_posterior(
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
    // Once per component, not once per point: exp(q_kj), Σⱼ q_kj, and Q's strictly lower
    // triangle row by row (`l` holds it column by column; column t's entries start at
    // Σ_{u<t} (d − 1 − u) = t(2d − t − 3)/2), so that a row's entries are contiguous.
    let mut diagonal = vec![0.0; k * d];
    let mut sum_q = vec![0.0; k];
    let mut rows = vec![0.0; k * lower];
    for c in 0..k {
        for j in 0..d {
            diagonal[c * d + j] = q[c * d + j].exp();
            sum_q[c] += q[c * d + j];
            for t in 0..j {
                rows[c * lower + (j * j - j) / 2 + t] =
                    l[c * lower + t * (2 * d - t - 3) / 2 + j - 1];
            }
        }
    }
    let mut total = 0.0;
    let mut beta = vec![0.0; k];
    for i in 0..n {
        let xi = &x[i * d..(i + 1) * d];
        for c in 0..k {
            let mut sqnorm = 0.0;
            for j in 0..d {
                // Row j of Q(x − μ): exp(q_j)(x_j − μ_j) + Σ_{t<j} Q[j][t](x_t − μ_t).
                let start = c * lower + (j * j - j) / 2;
                let mut row = diagonal[c * d + j] * (xi[j] - mu[c * d + j]);
                for t in 0..j {
                    row += rows[start + t] * (xi[t] - mu[c * d + t]);
                }
                sqnorm += row * row;
            }
            beta[c] = alpha[c] + sum_q[c] - 0.5 * sqnorm;
        }
        // LSE_k βᵢₖ shifted by the maximum, which the value does not depend on: stopped,
        // so the derivative does not go back through it. (`logsumexp(&beta)` is the same
        // sum, but a call per point costs its gradient 9 % here.)
        let mut mx = beta[0];
        for &b in beta.iter() {
            mx = mx.max(b);
        }
        let mx = stop_gradient(mx);
        let mut sum = 0.0;
        for &b in beta.iter() {
            sum += (b - mx).exp();
        }
        total += sum.ln() + mx;
    }
    let lse_alpha = logsumexp(alpha);
    let mut prior = 0.0;
    for c in 0..k {
        let mut frobenius = 0.0;
        for j in 0..d {
            frobenius += diagonal[c * d + j] * diagonal[c * d + j];
        }
        for t in 0..lower {
            frobenius += l[c * lower + t] * l[c * lower + t];
        }
        prior += m * sum_q[c] - 0.5 * gamma * gamma * frobenius;
    }
    constant + total - n as f64 * lse_alpha + prior
}

/// The objective of [`log_posterior`] written with iterator chains and closures, as much
/// numerical Rust is, in the plainest form: `exp(q)` computed where it is used and the
/// LSE over the components in one pass with a running maximum. The same value and
/// gradient to rounding; `cargo bench --bench loops` compares the forms'
/// gradient/objective ratios (`log_posterior` precomputes `exp(q)` per component and
/// stops the LSE's shift, which makes both its objective and its gradient faster).
#[allow(clippy::too_many_arguments)]
#[differentiable(wrt(alpha, mu, q, l))]
pub fn log_posterior_chains(
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
        let mut mx = f64::NEG_INFINITY;
        let mut sum = 0.0;
        for c in 0..k {
            let sum_q: f64 = (0..d).map(|j| q[c * d + j]).sum();
            let sqnorm: f64 = (0..d)
                .map(|j| {
                    let diagonal = q[c * d + j].exp() * (x[i * d + j] - mu[c * d + j]);
                    let below: f64 = (0..j)
                        .map(|t| {
                            let at = c * lower + t * (2 * d - t - 3) / 2 + j - 1;
                            l[at] * (x[i * d + t] - mu[c * d + t])
                        })
                        .sum();
                    let row = diagonal + below;
                    row * row
                })
                .sum();
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
    let amax = alpha.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let lse_alpha = alpha.iter().map(|a| (a - amax).exp()).sum::<f64>().ln() + amax;
    let prior: f64 = (0..k)
        .map(|c| {
            let diagonal: f64 = (0..d).map(|j| (2.0 * q[c * d + j]).exp()).sum();
            let below: f64 = l[c * lower..(c + 1) * lower].iter().map(|v| v * v).sum();
            let sum_q: f64 = (0..d).map(|j| q[c * d + j]).sum();
            m * sum_q - 0.5 * gamma * gamma * (diagonal + below)
        })
        .sum();
    constant + total - n as f64 * lse_alpha + prior
}
