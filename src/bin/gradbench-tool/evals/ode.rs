//! `ode`: `y′ = F(y)` with `F(y)₀ = x₀`, `F(y)ᵢ = xᵢ·yᵢ₋₁`, `y(0) = 0`, integrated to
//! `t = 2` by `s` classical Runge–Kutta steps; `primal` is `y(2)`, `gradient` the gradient
//! of its last component in `x`, through the integration.

use super::{computation, parse, unknown, Job};
use autodiff::differentiable;
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize)]
struct Input {
    x: Vec<f64>,
    s: usize,
}

/// `y(2)`.
pub fn solve(x: &[f64], s: usize) -> Vec<f64> {
    let n = x.len();
    let h = 2.0 / s as f64;
    let mut y = vec![0.0; n];
    // F at y + c·k (c = 0: at y).
    let f = |y: &[f64], k: &[f64], c: f64, out: &mut [f64]| {
        out[0] = x[0];
        for i in 1..n {
            out[i] = x[i] * (y[i - 1] + c * k[i - 1]);
        }
    };
    let (mut k1, mut k2, mut k3, mut k4) = (vec![0.0; n], vec![0.0; n], vec![0.0; n], vec![0.0; n]);
    for _ in 0..s {
        f(&y, &k4, 0.0, &mut k1);
        f(&y, &k1, 0.5 * h, &mut k2);
        f(&y, &k2, 0.5 * h, &mut k3);
        f(&y, &k3, h, &mut k4);
        for i in 0..n {
            y[i] += h / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]);
        }
    }
    y
}

/// `y(2)ₙ₋₁`, the same integration written for the macro (stage arrays written in place).
#[allow(clippy::needless_range_loop)]
#[differentiable(wrt(x))]
pub fn last_component(x: &[f64], s: usize) -> f64 {
    let n = x.len();
    let h = 2.0 / (s as f64);
    let mut y = vec![0.0; n];
    let mut k1 = vec![0.0; n];
    let mut k2 = vec![0.0; n];
    let mut k3 = vec![0.0; n];
    let mut k4 = vec![0.0; n];
    for _step in 0..s {
        k1[0] = x[0];
        k2[0] = x[0];
        k3[0] = x[0];
        k4[0] = x[0];
        for i in 1..n {
            k1[i] = x[i] * y[i - 1];
        }
        for i in 1..n {
            k2[i] = x[i] * (y[i - 1] + 0.5 * h * k1[i - 1]);
        }
        for i in 1..n {
            k3[i] = x[i] * (y[i - 1] + 0.5 * h * k2[i - 1]);
        }
        for i in 1..n {
            k4[i] = x[i] * (y[i - 1] + h * k3[i - 1]);
        }
        for i in 0..n {
            y[i] += h / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]);
        }
    }
    y[n - 1]
}

pub fn job(function: &str, input: Value) -> Result<Box<dyn Job>, String> {
    let input: Input = parse(input)?;
    if input.x.is_empty() || input.s == 0 {
        return Err("ode: x must not be empty and s must be at least 1".into());
    }
    match function {
        "primal" => Ok(computation(input, |i| solve(&i.x, i.s), |y| json!(y))),
        "gradient" => Ok(computation(
            input,
            |i| last_component_grad(&i.x, i.s).1,
            |g| json!(g),
        )),
        _ => Err(unknown("ode", function)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_integrations_agree_and_match_the_exact_solution_closely() {
        // With x = 1: y_i(t) = t^{i+1}/(i+1)!, so y(2) = (2, 2, 4/3, 2/3).
        let x = [1.0; 4];
        let y = solve(&x, 50);
        let exact = [2.0, 2.0, 4.0 / 3.0, 2.0 / 3.0];
        for (a, b) in y.iter().zip(exact) {
            assert!((a - b).abs() < 1e-6, "{a} vs {b}");
        }
        assert_eq!(last_component(&x, 50), y[3]);
    }
}
