//! `saddle`: the saddle point of `f(x, y) = |x|² − |y|²` by two nested gradient descents:
//! `x*` minimises `V(x) = f(x, argmax_y f(x, y))`, the inner maximisation using `∇_y f`
//! (the inner derivative) and `∇V` going through it (the outer); then `y*` maximises
//! `f(x*, ·)`.
//!
//! The variants name the outer and inner modes: `ff`, `fr` (forward over reverse), `rf`
//! and `rr`. The inner forward mode is `objective_dir`, the inner reverse mode
//! `objective_grad` (its partials written out as IR by `nested`).

use super::{computation, gd, parse, unknown, Job};
use autodiff::differentiable;
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize)]
struct Input {
    start: [f64; 2],
}

#[differentiable(nested)]
pub fn objective(x0: f64, x1: f64, y0: f64, y1: f64) -> f64 {
    (x0 * x0 + x1 * x1) - (y0 * y0 + y1 * y1)
}

/// `V(x) = f(x, y)` with `y` found by GradBench's gradient descent on `−f(x, ·)` from `s`,
/// its gradient `∇_y f` by the inner derivative: reverse mode (`objective_grad`) if
/// `reverse_inner`, else forward (`objective_dir`). The same procedure as `gd::maximize`,
/// written out where the macro can differentiate through it.
#[differentiable]
pub fn inner_value(x0: f64, x1: f64, s0: f64, s1: f64, reverse_inner: bool) -> f64 {
    let (mut y0, mut y1) = (s0, s1);
    let mut fy = -objective(x0, x1, y0, y1);
    let (mut g0, mut g1) = (0.0, 0.0);
    // The gradient is due at a new `y`.
    let mut stale = true;
    let mut eta = 1e-5;
    let mut i = 0;
    let mut going = true;
    while going {
        if stale {
            if reverse_inner {
                let (_, (_, _, d0, d1)) = objective_grad(x0, x1, y0, y1);
                g0 = -d0;
                g1 = -d1;
            } else {
                g0 = -objective_dir(x0, x1, y0, y1, 0.0, 0.0, 1.0, 0.0);
                g1 = -objective_dir(x0, x1, y0, y1, 0.0, 0.0, 0.0, 1.0);
            }
            stale = false;
        }
        if (g0 * g0 + g1 * g1).sqrt() <= 1e-5 {
            going = false;
        } else if i == 10 {
            eta *= 2.0;
            i = 0;
        } else {
            let (n0, n1) = (y0 - eta * g0, y1 - eta * g1);
            if ((y0 - n0) * (y0 - n0) + (y1 - n1) * (y1 - n1)).sqrt() <= 1e-5 {
                going = false;
            } else {
                let f_next = -objective(x0, x1, n0, n1);
                if f_next < fy {
                    y0 = n0;
                    y1 = n1;
                    fy = f_next;
                    stale = true;
                    i += 1;
                } else {
                    eta /= 2.0;
                    i = 0;
                }
            }
        }
    }
    objective(x0, x1, y0, y1)
}

pub fn job(function: &str, input: Value) -> Result<Box<dyn Job>, String> {
    let input: Input = parse(input)?;
    // ∇V (given the inner mode) and ∇_y f, in the outer mode.
    type GradV = fn(&[f64], &[f64; 2], bool) -> Vec<f64>;
    type GradY = fn(&[f64], &[f64; 2]) -> Vec<f64>;
    let (grad_v, grad_y): (GradV, GradY) = match function {
        "ff" | "fr" => (
            |x, s, r| {
                (0..2)
                    .map(|k| {
                        let d = [f64::from(u8::from(k == 0)), f64::from(u8::from(k == 1))];
                        inner_value_jvp(x[0], x[1], s[0], s[1], r, d[0], d[1], 0.0, 0.0).1
                    })
                    .collect()
            },
            |y, x| {
                vec![
                    objective_jvp(x[0], x[1], y[0], y[1], 0.0, 0.0, 1.0, 0.0).1,
                    objective_jvp(x[0], x[1], y[0], y[1], 0.0, 0.0, 0.0, 1.0).1,
                ]
            },
        ),
        "rf" | "rr" => (
            |x, s, r| {
                let (_, (g0, g1, _, _)) = inner_value_grad(x[0], x[1], s[0], s[1], r);
                vec![g0, g1]
            },
            |y, x| {
                let (_, (_, _, g0, g1)) = objective_grad(x[0], x[1], y[0], y[1]);
                vec![g0, g1]
            },
        ),
        _ => return Err(unknown("saddle", function)),
    };
    let reverse_inner = matches!(function, "fr" | "rr");
    Ok(computation(
        input,
        move |i| {
            let s = i.start;
            let x = gd::minimize(
                |x| inner_value(x[0], x[1], s[0], s[1], reverse_inner),
                |x| grad_v(x, &s, reverse_inner),
                &s,
            );
            let xs = [x[0], x[1]];
            let y = gd::maximize(
                |y| objective(xs[0], xs[1], y[0], y[1]),
                |y| grad_y(y, &xs),
                &s,
            );
            vec![x[0], x[1], y[0], y[1]]
        },
        |out| json!(out),
    ))
}
