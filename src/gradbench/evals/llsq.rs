//! `llsq`: `½ Σᵢ (sᵢ − Σ_{j<m} xⱼ tᵢʲ)²` with `tᵢ = −1 + 2i/(n−1)` and `sᵢ = sign(tᵢ)`,
//! and its gradient in `x`.

use super::{computation, parse, unknown, Job};
use autodiff::differentiable;
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize)]
struct Input {
    x: Vec<f64>,
    n: usize,
}

#[differentiable(wrt(x))]
pub fn least_squares(x: &[f64], n: usize) -> f64 {
    let mut total = 0.0;
    for i in 0..n {
        let t = -1.0 + 2.0 * (i as f64) / ((n - 1) as f64);
        let mut r = 0.0;
        if t > 0.0 {
            r = 1.0;
        }
        if t < 0.0 {
            r = -1.0;
        }
        // r = s − Σ xⱼ tʲ, the powers built up as j grows.
        let mut power = 1.0;
        for &xj in x.iter() {
            r -= xj * power;
            power *= t;
        }
        total += r * r;
    }
    0.5 * total
}

pub fn job(function: &str, input: Value) -> Result<Box<dyn Job>, String> {
    let input: Input = parse(input)?;
    if input.n < 2 {
        return Err(format!("llsq: n = {} (at least 2 sample points)", input.n));
    }
    match function {
        "primal" => Ok(computation(
            input,
            |i| least_squares(&i.x, i.n),
            |y| json!(y),
        )),
        "gradient" => Ok(computation(
            input,
            |i| least_squares_grad(&i.x, i.n).1,
            |g| json!(g),
        )),
        _ => Err(unknown("llsq", function)),
    }
}
