//! `gmm`: the log posterior of a Gaussian mixture with a Wishart prior, and its gradient
//! in the weights, means and precision factors.

use super::{computation, flatten, parse, rows, unknown, Job};
use rayon::prelude::*;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::gradbench::objectives::gmm::{constant, log_posterior, log_posterior_grad};

#[derive(Deserialize)]
struct Input {
    d: usize,
    k: usize,
    n: usize,
    x: Vec<Vec<f64>>,
    alpha: Vec<f64>,
    mu: Vec<Vec<f64>>,
    q: Vec<Vec<f64>>,
    l: Vec<Vec<f64>>,
    m: usize,
    gamma: f64,
}

/// The problem with flat row-major arrays.
struct Gmm {
    d: usize,
    k: usize,
    pub n: usize,
    pub x: Vec<f64>,
    pub alpha: Vec<f64>,
    pub mu: Vec<f64>,
    pub q: Vec<f64>,
    pub l: Vec<f64>,
    pub m: f64,
    pub gamma: f64,
}

impl Gmm {
    fn from_input(i: Input) -> Result<Gmm, String> {
        let (d, k, n) = (i.d, i.k, i.n);
        let lower = d * d.saturating_sub(1) / 2;
        if d == 0 || k == 0 || n == 0 || i.x.len() != n || i.alpha.len() != k {
            return Err(format!(
                "gmm: {} points and {} weights for n = {n}, k = {k}, d = {d}",
                i.x.len(),
                i.alpha.len()
            ));
        }
        Ok(Gmm {
            d,
            k,
            n,
            x: flatten(&i.x, d, "x")?,
            alpha: i.alpha,
            mu: flatten(&i.mu, d, "mu")?,
            q: flatten(&i.q, d, "q")?,
            l: flatten(&i.l, lower, "l")?,
            m: i.m as f64,
            gamma: i.gamma,
        })
    }

    /// The objective is a sum over points, plus `−N·LSE(α)` (a sum of `−nᵦ·LSE(α)` over
    /// blocks of points), plus the prior and the constant, which only the first block
    /// carries (γ = m = 0 and no constant make them zero in the others). So `f` runs on
    /// blocks of points in parallel — one block per thread — with the arguments
    /// `(x, n, γ, m, constant)` of its block.
    fn blocks<R: Send>(&self, f: impl Fn(&[f64], usize, f64, f64, f64) -> R + Sync) -> Vec<R> {
        let d = self.d;
        let blocks = rayon::current_num_threads().clamp(1, self.n);
        let per = self.n.div_ceil(blocks);
        (0..blocks)
            .into_par_iter()
            .map(|b| {
                let (first, count) = (b * per, per.min(self.n - b * per));
                let x = &self.x[first * d..(first + count) * d];
                if b == 0 {
                    let c = constant(d, self.k, self.n, self.gamma, self.m);
                    f(x, count, self.gamma, self.m, c)
                } else {
                    f(x, count, 0.0, 0.0, 0.0)
                }
            })
            .collect()
    }

    fn objective(&self) -> f64 {
        let (a, mu, q, l, d, k) = (&self.alpha, &self.mu, &self.q, &self.l, self.d, self.k);
        self.blocks(|x, n, gamma, m, c| log_posterior(a, mu, q, l, x, d, k, n, gamma, m, c))
            .iter()
            .sum()
    }

    /// The gradient in `alpha`, `mu`, `q` and `l`.
    fn gradient(&self) -> (Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>) {
        let (a, mu, q, l, d, k) = (&self.alpha, &self.mu, &self.q, &self.l, self.d, self.k);
        let parts = self
            .blocks(|x, n, gamma, m, c| log_posterior_grad(a, mu, q, l, x, d, k, n, gamma, m, c).1);
        let mut parts = parts.into_iter();
        let mut total = parts.next().expect("at least one block");
        for (a, mu, q, l) in parts {
            add(&mut total.0, &a);
            add(&mut total.1, &mu);
            add(&mut total.2, &q);
            add(&mut total.3, &l);
        }
        total
    }
}

fn add(into: &mut [f64], from: &[f64]) {
    into.iter_mut().zip(from).for_each(|(a, b)| *a += b);
}

pub fn job(function: &str, input: Value) -> Result<Box<dyn Job>, String> {
    let gmm = Gmm::from_input(parse(input)?)?;
    let (d, lower) = (gmm.d, gmm.d * (gmm.d - 1) / 2);
    match function {
        "objective" => Ok(computation(gmm, Gmm::objective, |y| json!(y))),
        "jacobian" => Ok(computation(
            gmm,
            Gmm::gradient,
            move |(a, mu, q, l)| json!({"alpha": a, "mu": rows(mu, d), "q": rows(q, d), "l": rows(l, lower)}),
        )),
        _ => Err(unknown("gmm", function)),
    }
}
