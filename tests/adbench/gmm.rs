//! ADBench's Gaussian mixture files, read into GradBench's layout, and ADBench's
//! references converted to GradBench's objective (the GradBench tool's, shared here).
//!
//! ADBench's objective rounds π to 3.14159265359 and gives the Wishart prior the other
//! sign: with `P = Σ_k (C(π) − ½γ²‖Q_k‖²_F + m Σⱼ q_kj)` GradBench adds `P(π)` where
//! ADBench subtracts `P(π_A)`, and the data terms are shared. So
//! `GradBench = ADBench + N·D/2·(ln 2π_A − ln 2π) + K·(C(π) + C(π_A)) + 2·Σ_k(m Σ q − ½γ²F)`
//! and the gradient differs by `2(m − γ² e^{2q})` in `q` and `−2γ² l` in `l`.
#![allow(dead_code)]

use super::{dir, ln_gamma, numbers};

#[allow(unused_imports)]
pub use autodiff::gradbench::objectives::gmm::*;

/// One GMM instance as read from an ADBench file, with ADBench's `icf` split into `q`
/// (each component's log-diagonal) and `l` (its strictly lower triangle, column by column
/// in both layouts).
pub struct Gmm {
    pub d: usize,
    pub k: usize,
    pub n: usize,
    pub alpha: Vec<f64>,
    pub mu: Vec<f64>,
    pub q: Vec<f64>,
    pub l: Vec<f64>,
    pub x: Vec<f64>,
    pub gamma: f64,
    pub m: f64,
}

impl Gmm {
    /// GradBench's objective and its gradient `[alpha, mu, q, l]`.
    pub fn evaluate(&self) -> (f64, Vec<f64>) {
        let c = constant(self.d, self.k, self.n, self.gamma, self.m);
        let (value, (a, mu, q, l)) = log_posterior_grad(
            &self.alpha,
            &self.mu,
            &self.q,
            &self.l,
            &self.x,
            self.d,
            self.k,
            self.n,
            self.gamma,
            self.m,
            c,
        );
        (value, [a, mu, q, l].concat())
    }

    /// ADBench's reference objective and gradient for this instance (file `name`), in
    /// GradBench's form.
    pub fn reference(&self, name: &str) -> (f64, Vec<f64>) {
        let folder = dir().join("gmm");
        let value = numbers(&folder.join(format!("{name}.ref_F.txt")))[0];
        let j = numbers(&folder.join(format!("{name}.ref_J.txt")));
        let (d, k, icf) = (self.d, self.k, self.d * (self.d + 1) / 2);
        let g2 = self.gamma * self.gamma;
        let (mut q, mut l) = (Vec::new(), Vec::new());
        let (mut sum_q, mut frobenius) = (0.0, 0.0);
        for (c, reference) in j[k + k * d..].chunks(icf).enumerate() {
            for (t, &r) in reference.iter().enumerate() {
                if t < d {
                    let qv = self.q[c * d + t];
                    q.push(r + 2.0 * (self.m - g2 * (2.0 * qv).exp()));
                    sum_q += qv;
                    frobenius += (2.0 * qv).exp();
                } else {
                    let lv = self.l[c * (icf - d) + t - d];
                    l.push(r - 2.0 * g2 * lv);
                    frobenius += lv * lv;
                }
            }
        }
        #[allow(clippy::approx_constant)]
        let adbench_pi: f64 = 3.14159265359;
        let pi = std::f64::consts::PI;
        let (df, kf, nf) = (d as f64, k as f64, self.n as f64);
        let c = |pi: f64| {
            let nu = df + self.m + 1.0;
            let log_gamma_d = 0.25 * df * (df - 1.0) * pi.ln()
                + (1..=d)
                    .map(|j| ln_gamma(0.5 * nu + 0.5 * (1.0 - j as f64)))
                    .sum::<f64>();
            nu * df * (self.gamma.ln() - 0.5 * 2.0_f64.ln()) - log_gamma_d
        };
        let value = value
            + 0.5 * nf * df * ((2.0 * adbench_pi).ln() - (2.0 * pi).ln())
            + kf * (c(pi) + c(adbench_pi))
            + 2.0 * (self.m * sum_q - 0.5 * g2 * frobenius);
        (value, [&j[..k + k * d], &q[..], &l[..]].concat())
    }
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
    let (alpha, mu, icf, x) = (take(k), take(k * d), take(k * icf_size), take(n * d));
    let wishart = take(2);
    let q = icf.chunks(icf_size).flat_map(|c| c[..d].to_vec()).collect();
    let l = icf.chunks(icf_size).flat_map(|c| c[d..].to_vec()).collect();
    Gmm {
        d,
        k,
        n,
        alpha,
        mu,
        q,
        l,
        x,
        gamma: wishart[0],
        m: wishart[1],
    }
}
