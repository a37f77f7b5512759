//! `hello`: `square` is x², `double` its derivative.

use super::{computation, parse, unknown, Job};
use autodiff::differentiable;
use serde_json::{json, Value};

#[differentiable]
pub fn square(x: f64) -> f64 {
    x * x
}

pub fn job(function: &str, input: Value) -> Result<Box<dyn Job>, String> {
    let x: f64 = parse(input)?;
    match function {
        "square" => Ok(computation(x, |&x| square(x), |y| json!(y))),
        "double" => Ok(computation(x, |&x| square_grad(x).1, |d| json!(d))),
        _ => Err(unknown("hello", function)),
    }
}
