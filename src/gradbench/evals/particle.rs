//! `particle`: a charged particle fired across two charges, one of which the control `w`
//! moves; the force is the gradient of the potential (the inner derivative), and `w` is
//! chosen by gradient descent on where the particle crosses the x-axis, whose derivative
//! goes through the whole simulation, inner derivatives included (nested).
//!
//! The variants name the outer and inner modes: `ff` (forward over forward), `fr`
//! (forward over reverse), `rf` and `rr`. The inner forward mode is `potential_dir`, the
//! inner reverse mode `potential_grad` (its partials written out as IR by `nested`); the
//! outer mode is `crossing_jvp` or `crossing_grad`.

use super::{computation, gd, parse, unknown, Job};
use autodiff::differentiable;
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize)]
struct Input {
    w: f64,
}

/// `p(x) = Σ 1/‖x − c‖` over the charges at (10, 10 − w) and (10, 0).
#[differentiable(nested)]
pub fn potential(x0: f64, x1: f64, w: f64) -> f64 {
    let (a0, a1) = (x0 - 10.0, x1 - (10.0 - w));
    let (b0, b1) = (x0 - 10.0, x1);
    1.0 / (a0 * a0 + a1 * a1).sqrt() + 1.0 / (b0 * b0 + b1 * b1).sqrt()
}

/// `Φ(w)`: from (0, 8) at velocity (0.75, 0), steps of 0.1 with the force `−∇p` (the
/// inner derivative: reverse mode if `reverse_inner`, else forward) until the next step
/// would cross the x-axis; then the square of where the straight line from the last
/// position crosses it.
#[differentiable]
pub fn crossing(w: f64, reverse_inner: bool) -> f64 {
    let dt = 0.1;
    let (mut x0, mut x1) = (0.0, 8.0);
    let (mut v0, mut v1) = (0.75, 0.0);
    let mut flying = true;
    while flying {
        // −∇p at x, by the inner mode.
        #[allow(unused_assignments)]
        let (mut g0, mut g1) = (0.0, 0.0);
        if reverse_inner {
            let (_, (p0, p1, _)) = potential_grad(x0, x1, w);
            g0 = p0;
            g1 = p1;
        } else {
            g0 = potential_dir(x0, x1, w, 1.0, 0.0, 0.0);
            g1 = potential_dir(x0, x1, w, 0.0, 1.0, 0.0);
        }
        let (n0, n1) = (x0 + dt * v0, x1 + dt * v1);
        if n1 > 0.0 {
            x0 = n0;
            x1 = n1;
            v0 -= dt * g0;
            v1 -= dt * g1;
        } else {
            flying = false;
        }
    }
    let t = -x1 / v1;
    let x = x0 + t * v0;
    x * x
}

pub fn job(function: &str, input: Value) -> Result<Box<dyn Job>, String> {
    let input: Input = parse(input)?;
    // The derivative of Φ in the outer mode, given the inner one.
    let (outer, reverse_inner): (fn(f64, bool) -> f64, bool) = match function {
        "ff" | "fr" => (|w, r| crossing_jvp(w, r, 1.0).1, function == "fr"),
        "rf" | "rr" => (|w, r| crossing_grad(w, r).1, function == "rr"),
        _ => return Err(unknown("particle", function)),
    };
    Ok(computation(
        input,
        move |i| {
            let phi = |w: &[f64]| crossing(w[0], reverse_inner);
            gd::minimize(phi, |w| vec![outer(w[0], reverse_inner)], &[i.w])[0]
        },
        |w| json!(w),
    ))
}
