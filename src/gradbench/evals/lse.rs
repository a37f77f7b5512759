//! `lse`: `log Σ exp(xᵢ)` from a maximum and a sum, and its gradient (the softmax).

use super::{computation, parse, unknown, Job};
use crate::gradbench::objectives::lse::{logsumexp, logsumexp_grad};
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize)]
struct Input {
    x: Vec<f64>,
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
