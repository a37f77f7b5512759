//! `stop_gradient(x)`: the value of `x`, a constant to every derivative. Each function is
//! checked against central differences of the same function with the stopped values
//! frozen at the point (what the derivative must equal), in reverse and forward mode and
//! to second order, at points including zero and negative values.

use autodiff::{differentiable, stop_gradient};

/// `x·[x] + sin(y)·[y²]`, `[·]` stopped.
#[differentiable(hessian)]
fn frozen_products(x: f64, y: f64) -> f64 {
    x * stop_gradient(x) + y.sin() * stop_gradient(y * y)
}

/// The same function with the stopped values as the constants `cx`, `cy`.
fn with_constants(x: f64, y: f64, cx: f64, cy: f64) -> f64 {
    x * cx + y.sin() * cy
}

/// The stable log-sum-exp, its shift stopped (the loop form users write).
#[differentiable]
fn log_sum_exp(x: &[f64]) -> f64 {
    let mut m = f64::NEG_INFINITY;
    for &v in x {
        m = m.max(v);
    }
    let m = autodiff::stop_gradient(m);
    let mut total = 0.0;
    for &v in x {
        total += (v - m).exp();
    }
    m + total.ln()
}

/// A fixed-point style update: the target is held fixed while the residual is squared.
#[differentiable]
fn held_target(w: &[f32], target_scale: f32) -> f32 {
    let mut loss = 0.0;
    for (i, &wi) in w.iter().enumerate() {
        let target = stop_gradient(target_scale * wi * wi) + i as f32;
        loss += (wi - target) * (wi - target);
    }
    loss
}

fn central(f: impl Fn(f64) -> f64, x: f64) -> f64 {
    let h = 1e-6 * x.abs().max(1.0);
    (f(x + h) - f(x - h)) / (2.0 * h)
}

const POINTS: [(f64, f64); 4] = [(0.0, 0.0), (1.3, -0.7), (-2.1, 0.4), (0.5, 2.5)];

#[test]
fn reverse_and_forward_treat_the_stopped_value_as_a_constant() {
    for (x, y) in POINTS {
        let (cx, cy) = (x, y * y);
        let fx = central(|x| with_constants(x, y, cx, cy), x);
        let fy = central(|y| with_constants(x, y, cx, cy), y);
        let (value, (gx, gy)) = frozen_products_grad(x, y);
        assert_eq!(value, frozen_products(x, y));
        assert!((gx - fx).abs() < 1e-7 && (gy - fy).abs() < 1e-7, "{x} {y}");
        // Forward mode along (1, 2): the same derivative.
        let (_, dir) = frozen_products_jvp(x, y, 1.0, 2.0);
        assert!((dir - (gx + 2.0 * gy)).abs() < 1e-12);
    }
}

#[test]
fn second_derivatives_treat_it_as_a_constant_too() {
    for (x, y) in POINTS {
        let (_, _, h) = frozen_products_hessian(x, y);
        // ∂²/∂x² (x·cx) = 0; ∂²/∂y² (sin y · cy) = −sin(y)·y².
        let expected = [[0.0, 0.0], [0.0, -y.sin() * y * y]];
        for (i, row) in expected.iter().enumerate() {
            for (j, e) in row.iter().enumerate() {
                assert!((h[(i, j)] - e).abs() < 1e-12, "{x} {y}: H[{i}][{j}]");
            }
        }
    }
}

#[test]
fn log_sum_exp_with_a_stopped_shift_has_the_softmax_as_gradient() {
    for x in [
        vec![0.0, 0.0, 0.0],
        vec![-3.0, 1.5, 0.2, 700.0],
        vec![-1e3, -1e3 + 1.0],
    ] {
        let (value, g) = log_sum_exp_grad(&x);
        let top = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let total: f64 = x.iter().map(|v| (v - top).exp()).sum();
        assert!((value - (top + total.ln())).abs() < 1e-12);
        for (gi, xi) in g.iter().zip(&x) {
            assert!((gi - (xi - top).exp() / total).abs() < 1e-15);
        }
    }
}

#[test]
fn f32_and_loops_with_iterators() {
    let w = [0.5f32, -1.25, 0.0, 2.0];
    let scale = 0.3f32;
    let (_, (dw, dscale)) = held_target_grad(&w, scale);
    // With the target constant: d/dwᵢ (wᵢ − tᵢ)² = 2(wᵢ − tᵢ); the scale reaches nothing.
    for (i, (&wi, d)) in w.iter().zip(&dw).enumerate() {
        let target = scale * wi * wi + i as f32;
        assert!((d - 2.0 * (wi - target)).abs() < 1e-5, "{i}");
    }
    assert_eq!(dscale, 0.0);
}
