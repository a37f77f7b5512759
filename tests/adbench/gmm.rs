//! ADBench's Gaussian mixture model objective as plain loops over flat parameter arrays,
//! differentiated by `#[differentiable]`, and a reader for ADBench's GMM files. Shared by
//! the tests and the benchmarks.
#![allow(dead_code)]

use super::{dir, ln_gamma, numbers};
use autodiff::differentiable;

/// ADBench's literal π (not `std::f64::consts::PI`), kept for identical objectives.
#[allow(clippy::approx_constant)]
const PI: f64 = 3.14159265359;

/// The negative log-likelihood-like GMM objective of ADBench (`gmm.h`), with the Wishart
/// prior term. `alphas` (k), `means` (k·d) and `icf` (k·d(d+1)/2: per component the d
/// log-diagonal entries of Q, then its strictly lower triangle column-major) are
/// differentiated; the points `x` (n·d) are data. `constant` is the part that does not
/// depend on the parameters (see `constant_terms`).
#[allow(clippy::too_many_arguments)]
#[differentiable(wrt(alphas, means, icf))]
pub fn gmm_objective(
    alphas: &[f64],
    means: &[f64],
    icf: &[f64],
    x: &[f64],
    d: usize,
    k: usize,
    n: usize,
    gamma: f64,
    m: f64,
    constant: f64,
) -> f64 {
    let icf_size = d * (d + 1) / 2;
    let mut total = 0.0;
    for ix in 0..n {
        // logsumexp over components, one pass with a running maximum.
        let mut mx = f64::NEG_INFINITY;
        let mut sum = 0.0;
        for ik in 0..k {
            let q = ik * icf_size;
            let mut sum_q = 0.0;
            let mut sqnorm = 0.0;
            for j in 0..d {
                sum_q += icf[q + j];
                // Row j of Q·(x − μ): exp(q_j)·(x_j − μ_j) + Σ_{c<j} L[j, c]·(x_c − μ_c).
                let mut row = icf[q + j].exp() * (x[ix * d + j] - means[ik * d + j]);
                for c in 0..j {
                    let l = q + d + c * d - c * (c + 1) / 2 + (j - c - 1);
                    row += icf[l] * (x[ix * d + c] - means[ik * d + c]);
                }
                sqnorm += row * row;
            }
            let term = alphas[ik] + sum_q - 0.5 * sqnorm;
            if term > mx {
                sum = sum * (mx - term).exp() + 1.0;
                mx = term;
            } else {
                sum += (term - mx).exp();
            }
        }
        total += sum.ln() + mx;
    }
    // − n · logsumexp(α)
    let mut amax = alphas[0];
    for &a in alphas.iter() {
        amax = amax.max(a);
    }
    let mut asum = 0.0;
    for &a in alphas.iter() {
        asum += (a - amax).exp();
    }
    let lse_alphas = asum.ln() + amax;
    // Wishart prior: Σ_k ½γ²(‖exp(q_k)‖² + ‖l_k‖²) − m Σ_j q_kj
    let mut prior = 0.0;
    for ik in 0..k {
        let q = ik * icf_size;
        let mut frobenius = 0.0;
        let mut sum_q = 0.0;
        for j in 0..d {
            let e = icf[q + j].exp();
            frobenius += e * e;
            sum_q += icf[q + j];
        }
        for j in d..icf_size {
            frobenius += icf[q + j] * icf[q + j];
        }
        prior += 0.5 * gamma * gamma * frobenius - m * sum_q;
    }
    constant + total - n as f64 * lse_alphas + prior
}

/// The terms that do not depend on the parameters: −(n d/2) log(2 PI) − K·C(d, m, γ).
pub fn constant_terms(d: usize, k: usize, n: usize, gamma: f64, m: f64) -> f64 {
    let df = d as f64;
    let nw = df + m + 1.0;
    let mut log_gamma_d = 0.25 * df * (df - 1.0) * PI.ln();
    for j in 1..=d {
        log_gamma_d += ln_gamma(0.5 * nw + 0.5 * (1.0 - j as f64));
    }
    let c = nw * df * (gamma.ln() - 0.5 * 2.0_f64.ln()) - log_gamma_d;
    -(n as f64) * df * 0.5 * (2.0 * PI).ln() - k as f64 * c
}

/// One GMM instance as read from an ADBench file.
pub struct Gmm {
    pub d: usize,
    pub k: usize,
    pub n: usize,
    pub alphas: Vec<f64>,
    pub means: Vec<f64>,
    pub icf: Vec<f64>,
    pub x: Vec<f64>,
    pub gamma: f64,
    pub m: f64,
}

pub fn read_gmm(name: &str) -> Gmm {
    let v = numbers(&dir().join(format!("gmm/{name}.txt")));
    let (d, k, n) = (v[0] as usize, v[1] as usize, v[2] as usize);
    let icf_size = d * (d + 1) / 2;
    let mut at = 3;
    let mut take = |len: usize| {
        let part = v[at..at + len].to_vec();
        at += len;
        part
    };
    let (alphas, means, icf, x) = (take(k), take(k * d), take(k * icf_size), take(n * d));
    let wishart = take(2);
    Gmm {
        d,
        k,
        n,
        alphas,
        means,
        icf,
        x,
        gamma: wishart[0],
        m: wishart[1],
    }
}
