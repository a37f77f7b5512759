//! `lse`: `log Σ exp(xᵢ)` from a maximum and a sum, and its gradient (the softmax).

use super::{computation, parse, unknown, Job};
use autodiff::{differentiable, stop_gradient};
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize)]
struct Input {
    x: Vec<f64>,
}

/// `a + log Σ exp(xᵢ − a)` with `a = max x` (the stable form). Its value does not depend
/// on `a`, so neither does its derivative: `a` is stopped, and the gradient is the softmax
/// without a pass back through the running maximum.
#[differentiable]
pub fn logsumexp(x: &[f64]) -> f64 {
    let mut a = x[0];
    for &v in x.iter() {
        a = a.max(v);
    }
    let a = stop_gradient(a);
    let mut sum = 0.0;
    for &v in x.iter() {
        sum += (v - a).exp();
    }
    a + sum.ln()
}

pub fn job(function: &str, input: Value) -> Result<Box<dyn Job>, String> {
    let input: Input = parse(input)?;
    if input.x.is_empty() {
        return Err("lse: x is empty".into());
    }
    match function {
        "primal" => Ok(computation(input, |i| logsumexp(&i.x), |y| json!(y))),
        "gradient" => Ok(computation(input, |i| logsumexp_grad(&i.x).1, |g| json!(g))),
        _ => Err(unknown("lse", function)),
    }
}
