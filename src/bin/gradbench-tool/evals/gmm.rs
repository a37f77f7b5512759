//! `gmm`: the log posterior of a Gaussian mixture with a Wishart prior, and its gradient
//! in the weights, means and precision factors.

use super::{computation, flatten, parse, rows, unknown, Job};
use serde::Deserialize;
use serde_json::{json, Value};

#[path = "../objectives/gmm.rs"]
mod objective;
use objective::{constant, log_posterior, log_posterior_grad};

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
        if d == 0 || k == 0 || i.x.len() != n || i.alpha.len() != k {
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

    fn objective(&self) -> f64 {
        let c = constant(self.d, self.k, self.n, self.gamma, self.m);
        let (d, k, n) = (self.d, self.k, self.n);
        log_posterior(
            &self.alpha,
            &self.mu,
            &self.q,
            &self.l,
            &self.x,
            d,
            k,
            n,
            self.gamma,
            self.m,
            c,
        )
    }

    /// The gradient in `alpha`, `mu`, `q` and `l`.
    fn gradient(&self) -> (Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>) {
        let c = constant(self.d, self.k, self.n, self.gamma, self.m);
        let (d, k, n) = (self.d, self.k, self.n);
        log_posterior_grad(
            &self.alpha,
            &self.mu,
            &self.q,
            &self.l,
            &self.x,
            d,
            k,
            n,
            self.gamma,
            self.m,
            c,
        )
        .1
    }
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
