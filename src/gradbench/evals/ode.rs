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

/// `y(2)`: the stage arrays are written in place every step.
#[allow(clippy::needless_range_loop)]
#[differentiable(wrt(x))]
pub fn solve(x: &[f64], s: usize) -> Vec<f64> {
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
    y
}

/// The gradient of `y(2)ₙ₋₁`: the pullback of `y(2)` applied to the last unit vector.
pub fn last_gradient(x: &[f64], s: usize) -> Vec<f64> {
    let (y, pullback) = solve_vjp(x, s);
    let mut last = vec![0.0; y.len()];
    last[y.len() - 1] = 1.0;
    pullback(last)
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
            |i| last_gradient(&i.x, i.s),
            |g| json!(g),
        )),
        _ => Err(unknown("ode", function)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_exact_solution_closely() {
        // With x = 1: yᵢ(t) = t^{i+1}/(i+1)!, so y(2) = (2, 2, 4/3, 2/3), and
        // ∂y₃/∂xᵢ = y₃ for each i (y₃ = x₀x₁x₂x₃ t⁴/4!).
        let x = [1.0; 4];
        let y = solve(&x, 50);
        let exact = [2.0, 2.0, 4.0 / 3.0, 2.0 / 3.0];
        for (a, b) in y.iter().zip(exact) {
            assert!((a - b).abs() < 1e-6, "{a} vs {b}");
        }
        for g in last_gradient(&x, 50) {
            assert!((g - 2.0 / 3.0).abs() < 1e-6, "{g}");
        }
    }
}
