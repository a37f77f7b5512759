//! Stencils: loops that read neighbours `x[i − 1]`, `x[i]`, `x[i + 1]` (finite
//! differences, smoothing, autocorrelation, explicit time steps). Their adjoints add into
//! neighbouring elements; the reverse mode records those additions and makes them after
//! the loop (`reverse::scatter`). Each function is checked against central finite
//! differences and forward mode (the dot-product test), at points with zeros and
//! negative values.

// The corpus spells loops out with indices, as stencil code is written. (`diffuse` copies
// by a loop: `copy_from_slice` on an active slice has no rule yet.)
#![allow(clippy::needless_range_loop, clippy::manual_memcpy)]

mod common;
#[path = "../benches/common/laplacian.rs"]
mod laplacian;

use autodiff::differentiable;
use autodiff::gradcheck::Tolerance;
use common::check_flat;
use laplacian::{laplacian_energy, laplacian_energy_grad, laplacian_energy_jvp};

/// One explicit Euler step of the heat equation with a cubic reaction, then the energy.
#[differentiable(wrt(u, kappa))]
fn heat_step(u: &[f64], kappa: f64, h: f64) -> f64 {
    let n = u.len();
    let mut k = vec![0.0; n];
    for i in 1..n - 1 {
        k[i] = kappa * (u[i - 1] - 2.0 * u[i] + u[i + 1]) - u[i] * u[i] * u[i];
    }
    let mut next = vec![0.0; n];
    for i in 0..n {
        next[i] = u[i] + h * k[i];
    }
    next.iter().map(|x| x * x).sum()
}

/// Smoothed total variation: a sum carried through the loop.
#[differentiable]
fn total_variation(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 1..x.len() {
        let d = x[i] - x[i - 1];
        s += (d * d + 1e-3).sqrt();
    }
    s
}

/// Walked from the end.
#[differentiable]
fn backwards_pairs(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in (1..x.len()).rev() {
        s += x[i] * x[i - 1].sin();
    }
    s
}

/// Autocorrelation at a lag given at run time, over an inclusive range.
#[differentiable]
fn autocorrelation(x: &[f64], lag: usize) -> f64 {
    let mut s = 0.0;
    for i in 0..=x.len() - 1 - lag {
        s += x[i] * x[i + lag];
    }
    s
}

/// A five-point smoother into a local array, then a nonlinear read of it.
#[differentiable]
fn five_point(x: &[f64]) -> f64 {
    let n = x.len();
    let mut y = vec![0.0; n];
    for i in 2..n - 2 {
        y[i] = (-x[i - 2] + 4.0 * x[i - 1] + 10.0 * x[i] + 4.0 * x[i + 1] - x[i + 2]) / 16.0;
    }
    y.iter().map(|v| v.tanh()).sum()
}

/// A 3×3 blur into a local image, the rows above and below addressed from the row's start.
#[differentiable]
fn blur_2d(x: &[f64], m: usize) -> f64 {
    let n = x.len() / m;
    let mut y = vec![0.0; n * m];
    for i in 1..n - 1 {
        let (above, row, below) = ((i - 1) * m, i * m, (i + 1) * m);
        for j in 1..m - 1 {
            let mut t = 0.0;
            for d in 0..3 {
                t += x[above + j + d - 1] + 2.0 * x[row + j + d - 1] + x[below + j + d - 1];
            }
            y[row + j] = t / 12.0;
        }
    }
    y.iter().map(|v| (v * 3.0).sin()).sum()
}

/// Explicit time steps over arrays written in place: the stencil inside an outer loop.
#[differentiable(wrt(u0, kappa))]
fn diffuse(u0: &[f64], kappa: f64, steps: usize) -> f64 {
    let n = u0.len();
    let mut u = u0.to_vec();
    let mut v = vec![0.0; n];
    for _ in 0..steps {
        for i in 1..n - 1 {
            v[i] = u[i] + 0.1 * kappa * (u[i - 1] - 2.0 * u[i] + u[i + 1]).sin();
        }
        for i in 1..n - 1 {
            u[i] = v[i];
        }
    }
    u.iter().map(|x| x * x).sum()
}

/// Explicit Euler steps of the cubic heat equation: the stencil reads `u` around its
/// index, two values an element that its adjoint would record; it reads a copy of the
/// window of `u` it read instead (`reverse::windows`). With `#[checkpoint]` on the time
/// loop, each segment runs again in the adjoint, its windows too.
macro_rules! cubic_heat {
    ($name:ident $(, #[$segments:meta])?) => {
        #[differentiable(wrt(u0, kappa))]
        fn $name(u0: &[f64], kappa: f64, steps: usize) -> f64 {
            let n = u0.len();
            let mut u = u0.to_vec();
            let mut v = vec![0.0; n];
            $(#[$segments])?
            for _ in 0..steps {
                for i in 1..n - 1 {
                    v[i] = u[i]
                        + 0.1 * (kappa * (u[i - 1] - 2.0 * u[i] + u[i + 1]) - u[i] * u[i] * u[i]);
                }
                for i in 1..n - 1 {
                    u[i] = v[i];
                }
            }
            u.iter().map(|x| x * x).sum()
        }
    };
}
cubic_heat!(cubic_heat);
cubic_heat!(cubic_heat_segments, #[checkpoint(every = 2)]);

/// The stencil in one branch of each step: a loop in a branch makes no window (the branch
/// exports what its loops record before the adjoint is built).
#[differentiable(wrt(u0, kappa))]
fn heat_in_branches(u0: &[f64], kappa: f64, steps: usize) -> f64 {
    let n = u0.len();
    let mut u = u0.to_vec();
    let mut v = vec![0.0; n];
    for s in 0..steps {
        if s % 2 == 0 {
            for i in 1..n - 1 {
                v[i] =
                    u[i] + 0.1 * (kappa * (u[i - 1] - 2.0 * u[i] + u[i + 1]) - u[i] * u[i] * u[i]);
            }
        } else {
            for i in 1..n - 1 {
                v[i] = u[i] * (0.9 - 0.1 * u[i]);
            }
        }
        for i in 1..n - 1 {
            u[i] = v[i];
        }
    }
    u.iter().map(|x| x * x).sum()
}

/// A stencil over an output parameter that is written again afterwards: its window is
/// taken of the parameter.
#[differentiable(wrt(x))]
fn stencil_into(x: &[f64], y: &mut [f64]) {
    let n = x.len();
    for i in 0..n {
        y[i] = x[i];
    }
    let mut s = vec![0.0; n];
    for i in 1..n - 1 {
        s[i] = y[i - 1] * y[i + 1] * y[i];
    }
    for i in 0..n {
        y[i] = 2.0 * s[i];
    }
}

/// Products two apart over an inclusive range, and a stencil from the array's start that
/// reads ahead only: windows wider on both sides, and reaching the array's ends.
#[differentiable]
fn wide_products(u0: &[f64], steps: usize) -> f64 {
    let n = u0.len();
    let mut u = u0.to_vec();
    let mut v = vec![0.0; n];
    for _ in 0..steps {
        for i in 2..=n - 3 {
            v[i] = u[i] + 0.1 * u[i - 2] * u[i + 2] - 0.05 * u[i] * u[i];
        }
        for i in 0..n - 1 {
            u[i] = v[i] * (1.0 + 0.1 * v[i + 1]) - 0.1 * v[i + 1] * v[i + 1];
        }
    }
    u.iter().sum()
}

/// The same shape in single precision.
#[differentiable]
fn differences_f32(x: &[f32], w: f32) -> f32 {
    let mut s = 0.0;
    for i in 1..x.len() - 1 {
        let c = x[i - 1] - 2.0 * x[i] + x[i + 1];
        s += w * c * c;
    }
    s
}

/// Points with zeros, negative values and a constant stretch.
fn points(n: usize) -> Vec<Vec<f64>> {
    vec![
        (0..n)
            .map(|i| ((i as f64 + 1.0) * 0.7).sin() * 1.5)
            .collect(),
        (0..n)
            .map(|i| if i % 3 == 0 { 0.0 } else { -0.4 * i as f64 })
            .collect(),
        (0..n)
            .map(|i| if i < n / 2 { 0.5 } else { -1.25 })
            .collect(),
    ]
}

#[test]
fn heat_step_matches_differences() {
    for u in points(9) {
        let mut x = u.clone();
        x.push(-0.3);
        let parts = |x: &[f64]| (x[..x.len() - 1].to_vec(), x[x.len() - 1]);
        check_flat(
            "heat_step",
            |x| heat_step(&parts(x).0, parts(x).1, 0.05),
            |x| {
                let (v, (du, dk)) = heat_step_grad(&parts(x).0, parts(x).1, 0.05);
                (v, du.into_iter().chain([dk]).collect())
            },
            |x, t| heat_step_jvp(&parts(x).0, parts(x).1, 0.05, &parts(t).0, parts(t).1),
            &x,
            Tolerance::F64,
        );
    }
}

#[test]
fn neighbour_sums_match_differences() {
    for x in points(8) {
        check_flat(
            "total_variation",
            total_variation,
            total_variation_grad,
            total_variation_jvp,
            &x,
            Tolerance::F64,
        );
        check_flat(
            "backwards_pairs",
            backwards_pairs,
            backwards_pairs_grad,
            backwards_pairs_jvp,
            &x,
            Tolerance::F64,
        );
        check_flat(
            "five_point",
            five_point,
            five_point_grad,
            five_point_jvp,
            &x,
            Tolerance::F64,
        );
        for lag in [0, 1, 3, 7] {
            check_flat(
                "autocorrelation",
                |x| autocorrelation(x, lag),
                |x| autocorrelation_grad(x, lag),
                |x, t| autocorrelation_jvp(x, lag, t),
                &x,
                Tolerance::F64,
            );
        }
    }
}

#[test]
fn grids_match_differences() {
    for x in points(20) {
        for (name, f, g, t) in [
            (
                "laplacian_energy",
                laplacian_energy as fn(&[f64], usize) -> f64,
                laplacian_energy_grad as fn(&[f64], usize) -> (f64, Vec<f64>),
                laplacian_energy_jvp as fn(&[f64], usize, &[f64]) -> (f64, f64),
            ),
            ("blur_2d", blur_2d, blur_2d_grad, blur_2d_jvp),
        ] {
            check_flat(
                name,
                |x| f(x, 5),
                |x| g(x, 5),
                |x, dx| t(x, 5, dx),
                &x,
                Tolerance::F64,
            );
        }
    }
}

/// A function of an array, a float and a step count, its gradient and its jvp.
type Steps = (
    fn(&[f64], f64, usize) -> f64,
    fn(&[f64], f64, usize) -> (f64, (Vec<f64>, f64)),
    fn(&[f64], f64, usize, &[f64], f64) -> (f64, f64),
);

/// `check_flat` over the array and the float together.
fn check_steps(name: &str, (f, g, t): Steps, u: &[f64], kappa: f64, steps: usize) {
    let mut x = u.to_vec();
    x.push(kappa);
    let parts = |x: &[f64]| (x[..x.len() - 1].to_vec(), x[x.len() - 1]);
    check_flat(
        name,
        |x| f(&parts(x).0, parts(x).1, steps),
        |x| {
            let (v, (du, dk)) = g(&parts(x).0, parts(x).1, steps);
            (v, du.into_iter().chain([dk]).collect())
        },
        |x, dx| t(&parts(x).0, parts(x).1, steps, &parts(dx).0, parts(dx).1),
        &x,
        Tolerance::F64,
    );
}

#[test]
fn time_steps_match_differences() {
    for u in points(7) {
        for steps in [0, 1, 5] {
            check_steps(
                "diffuse",
                (diffuse, diffuse_grad, diffuse_jvp),
                &u,
                0.8,
                steps,
            );
        }
    }
}

#[test]
fn windows_of_arrays_written_in_place_match_differences() {
    for u in points(8) {
        for steps in [0, 1, 4] {
            let cubic: Steps = (cubic_heat, cubic_heat_grad, cubic_heat_jvp);
            check_steps("cubic_heat", cubic, &u, -0.6, steps);
            let (value, (du, dk)) = cubic_heat_grad(&u, -0.6, steps);
            let (segmented, (su, sk)) = cubic_heat_segments_grad(&u, -0.6, steps);
            assert_eq!(value, segmented);
            let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * (1.0 + a.abs());
            assert!(du.iter().zip(&su).all(|(&a, &b)| close(a, b)) && close(dk, sk));
            let branches: Steps = (
                heat_in_branches,
                heat_in_branches_grad,
                heat_in_branches_jvp,
            );
            check_steps("heat_in_branches", branches, &u, 0.4, steps);
            check_flat(
                "wide_products",
                |x| wide_products(x, steps),
                |x| wide_products_grad(x, steps),
                |x, t| wide_products_jvp(x, steps, t),
                &u,
                Tolerance::F64,
            );
        }
    }
}

/// `y = 2·(x[i−1]·x[i]·x[i+1])ᵢ`: the pullback of the written output against the formula.
#[test]
fn stencil_over_an_output_parameter() {
    for x in points(6) {
        let mut y = vec![0.0; x.len()];
        let pullback = stencil_into_vjp(&x, &mut y);
        let d_y: Vec<f64> = (0..x.len()).map(|i| 0.5 - 0.3 * i as f64).collect();
        let d_x = pullback(d_y.clone());
        let mut expected = vec![0.0; x.len()];
        for i in 1..x.len() - 1 {
            let g = 2.0 * d_y[i];
            expected[i - 1] += g * x[i] * x[i + 1];
            expected[i] += g * x[i - 1] * x[i + 1];
            expected[i + 1] += g * x[i - 1] * x[i];
        }
        for (a, b) in d_x.iter().zip(&expected) {
            assert!(
                (a - b).abs() <= 1e-12 * (1.0 + b.abs()),
                "{d_x:?} != {expected:?}"
            );
        }
    }
}

/// The smallest arrays: a stencil whose range is empty leaves its cotangents alone.
#[test]
fn empty_ranges() {
    assert_eq!(heat_step_grad(&[0.5, -0.5], 1.0, 0.1).1 .0, vec![1.0, -1.0]);
    assert_eq!(five_point_grad(&[0.0; 4]).1, vec![0.0; 4]);
    assert_eq!(total_variation_grad(&[2.0]).1, vec![0.0]);
}

#[test]
fn single_precision_matches_double() {
    let x: Vec<f32> = vec![0.0, -1.5, 0.25, 2.0, 0.0, -0.75];
    let (_, (g, dw)) = differences_f32_grad(&x, 0.5);
    for i in 0..x.len() {
        // ∂/∂x_i of Σ w·c_j², c_j = x_{j−1} − 2x_j + x_{j+1}.
        let c = |j: usize| f64::from(x[j - 1] - 2.0 * x[j] + x[j + 1]);
        let mut expected = 0.0;
        for j in 1..x.len() - 1 {
            let weight = match (i + 1).checked_sub(j) {
                Some(0) => 1.0,
                Some(1) => -2.0,
                Some(2) => 1.0,
                _ => 0.0,
            };
            expected += 2.0 * 0.5 * c(j) * weight;
        }
        assert!(
            (f64::from(g[i]) - expected).abs() < 1e-5,
            "x[{i}]: {} vs {expected}",
            g[i]
        );
    }
    let sum: f64 = (1..x.len() - 1)
        .map(|j| f64::from(x[j - 1] - 2.0 * x[j] + x[j + 1]).powi(2))
        .sum();
    assert!((f64::from(dw) - sum).abs() < 1e-5);
}
