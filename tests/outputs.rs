//! Output parameters (`out: &mut [f64]`, `&mut [f64; N]`, `&mut Vec<f64>`,
//! `&mut DVector<f64>`), written C-style as ADBench's and many numeric codes' functions are.
//! The final content of each output is a result: the pullback takes its cotangent, and
//! `f_jvp` writes its tangent. Each function is seen through a fixed weighting of its
//! outputs (`common::Weighed`) and checked in every mode against central differences and
//! with the dot-product test.

#![allow(clippy::needless_range_loop)]
// `&mut Vec<f64>` outputs are what some users write; they are tested as such.
#![allow(clippy::ptr_arg)]

mod common;

use autodiff::differentiable;
use autodiff::nalgebra::DVector;
use common::{check_at, Weighed, SLICES, SLICES_NONZERO};

impl Weighed for [f64; 3] {
    fn weigh(&self, w: &Self) -> f64 {
        self.iter().zip(w).map(|(a, b)| a * b).sum()
    }
    fn weights(&self, next: &mut usize) -> Self {
        self.map(|x| x.weights(next))
    }
    fn scaled(&self, c: f64) -> Self {
        self.map(|x| x * c)
    }
}

impl Weighed for DVector<f64> {
    fn weigh(&self, w: &Self) -> f64 {
        self.dot(w)
    }
    fn weights(&self, next: &mut usize) -> Self {
        self.map(|x| x.weights(next))
    }
    fn scaled(&self, c: f64) -> Self {
        self * c
    }
}

/// A [`common::Case`] for `m::f(v: &[f64], out: &mut O)`, `O` made by `$init`, seen as
/// `⟨w, out⟩`; with `-> f64`, a function that also returns a value, seen as
/// `⟨w, (value, out)⟩`.
macro_rules! out_case {
    ($m:ident, $init:expr) => {
        common::Case {
            name: stringify!($m),
            f: |v: &[f64]| {
                let mut out = $init;
                $m::f(v, &mut out);
                out.weigh(&common::weights_of(&out))
            },
            grad: |v: &[f64]| {
                let mut out = $init;
                // The pullback does not hold `out`: it is read while the pullback lives.
                let pullback = $m::f_vjp(v, &mut out);
                let w = common::weights_of(&out);
                (out.weigh(&w), common::Flat::flat(pullback(w)))
            },
            vjp: |v: &[f64], ybar: f64| {
                let mut out = $init;
                let pullback = $m::f_vjp(v, &mut out);
                let w = common::weights_of(&out);
                (out.weigh(&w), common::Flat::flat(pullback(w.scaled(ybar))))
            },
            jvp: |v: &[f64], dv: &[f64]| {
                let (mut out, mut d_out) = ($init, $init);
                $m::f_jvp(v, &mut out, dv, &mut d_out);
                let w = common::weights_of(&out);
                (out.weigh(&w), d_out.weigh(&w))
            },
            tol: autodiff::gradcheck::Tolerance::F64,
        }
    };
    ($m:ident, $init:expr, -> f64) => {
        common::Case {
            name: stringify!($m),
            f: |v: &[f64]| {
                let mut out = $init;
                let y = $m::f(v, &mut out);
                let w = common::weights_of(&(y, out.clone()));
                (y, out).weigh(&w)
            },
            grad: |v: &[f64]| {
                let mut out = $init;
                let (y, pullback) = $m::f_vjp(v, &mut out);
                let w = common::weights_of(&(y, out.clone()));
                let value = (y, out).weigh(&w);
                (value, common::Flat::flat(pullback(w.0, w.1)))
            },
            vjp: |v: &[f64], ybar: f64| {
                let mut out = $init;
                let (y, pullback) = $m::f_vjp(v, &mut out);
                let w = common::weights_of(&(y, out.clone())).scaled(ybar);
                let value = (y, out).weigh(&w.scaled(1.0 / ybar));
                (value, common::Flat::flat(pullback(w.0, w.1)))
            },
            jvp: |v: &[f64], dv: &[f64]| {
                let (mut out, mut d_out) = ($init, $init);
                let (y, dy) = $m::f_jvp(v, &mut out, dv, &mut d_out);
                let w = common::weights_of(&(y, out.clone()));
                ((y, out).weigh(&w), (dy, d_out).weigh(&w))
            },
            tol: autodiff::gradcheck::Tolerance::F64,
        }
    };
}

// -------------------- one output, written by index --------------------

/// Residuals of an exponential model `a·exp(b·t)` at fixed times: the C-style form of
/// least squares (`r: &mut [f64]`).
mod residuals {
    use super::*;
    const T: [f64; 6] = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0];
    const Y: [f64; 6] = [1.0, 1.3, 1.6, 2.1, 2.7, 3.5];

    #[differentiable]
    pub fn f(p: &[f64], r: &mut [f64]) {
        for i in 0..r.len() {
            r[i] = p[0] * (p[1] * T[i]).exp() - Y[i] + p[2] * T[i] * p[3];
        }
    }
}

/// A rotation about z by `q[0]` applied to `(q[1], q[2], 1)`, written out, reading
/// elements back (`out[2]` from `out[0]` and `out[1]`).
mod rotate {
    use super::*;

    #[differentiable]
    pub fn f(q: &[f64], out: &mut [f64; 3]) {
        let (s, c) = q[0].sin_cos();
        out[0] = c * q[1] - s * q[2];
        out[1] = s * q[1] + c * q[2];
        out[2] = out[0] * out[1] + q[3] * q[4] - q[5];
    }
}

/// Softmax into a `Vec`: written, then divided in place.
mod softmax_into {
    use super::*;

    #[differentiable]
    pub fn f(x: &[f64], out: &mut Vec<f64>) {
        let m = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let mut total = 0.0;
        for i in 0..x.len() {
            out[i] = (x[i] - m).exp();
            total += out[i];
        }
        for i in 0..x.len() {
            out[i] /= total;
        }
    }
}

/// Running sums of squares into a nalgebra vector: each element from the one before.
mod cumulative {
    use super::*;

    #[differentiable]
    pub fn f(x: &[f64], out: &mut DVector<f64>) {
        out[0] = x[0] * x[0];
        for i in 1..x.len() {
            out[i] = out[i - 1] + x[i] * x[i];
        }
    }
}

/// A matrix–vector product accumulated in place, as in C: `y[i] = 0; y[i] += a·x`.
mod mat_vec {
    use super::*;

    #[differentiable]
    pub fn f(x: &[f64], y: &mut [f64; 3]) {
        let n = x.len() / 2;
        for i in 0..3 {
            y[i] = 0.0;
            for j in 0..n {
                y[i] += x[j] * x[n + (i + j) % n];
            }
        }
    }
}

/// Adds to the output's initial content, which is a constant: only `x` has a gradient.
mod accumulate {
    use super::*;

    #[differentiable]
    pub fn f(x: &[f64], out: &mut Vec<f64>) {
        for i in 0..x.len() {
            out[i] += x[i].sin() * out[i];
        }
    }
}

/// A branch writes one element or another; the other keeps its initial content.
mod branch_writes {
    use super::*;

    #[differentiable]
    pub fn f(x: &[f64], out: &mut [f64; 3]) {
        if x[0] > 0.1 {
            out[0] = x[0] * x[1];
        } else {
            out[1] = x[1] - x[2];
        }
        out[2] = x[3].tanh();
    }
}

/// Stops writing early: `return;` out of a loop.
mod early_return {
    use super::*;

    #[differentiable]
    pub fn f(x: &[f64], out: &mut [f64]) {
        for i in 0..x.len() {
            if x[i] > 1.5 {
                return;
            }
            out[i] = x[i] * x[i];
        }
    }
}

// -------------------- elements written through `iter_mut` and `fill` --------------------

/// `for (o, &x) in out.iter_mut().zip(xs) { *o = .. }`.
mod iter_mut_zip {
    use super::*;

    #[differentiable]
    pub fn f(x: &[f64], out: &mut [f64]) {
        for (o, &xi) in out.iter_mut().zip(x) {
            *o = xi * xi.cos();
        }
    }
}

/// `fill`, then each element updated from itself, in reverse order, with its index.
mod fill_then_update {
    use super::*;

    #[differentiable]
    pub fn f(x: &[f64], out: &mut Vec<f64>) {
        out.fill(x[0] * 0.5);
        for (i, o) in out.iter_mut().enumerate().rev() {
            *o += x[i].exp() * *o;
            *o = o.sin();
        }
    }
}

/// A local copy updated through `iter_mut`, then summed into the output.
mod local_iter_mut {
    use super::*;

    #[differentiable]
    pub fn f(x: &[f64], out: &mut [f64; 3]) {
        let mut scaled = x.to_vec();
        for s in scaled.iter_mut().skip(1) {
            *s *= 2.0 * x[0];
        }
        out.fill(0.0);
        for (i, s) in scaled.iter().enumerate() {
            out[i % 3] += s * s;
        }
    }
}

// -------------------- a result and an output --------------------

/// The energy of a chain of springs, and the forces on its nodes: a value returned and
/// an array written, as simulation codes do.
mod energy_and_forces {
    use super::*;

    #[differentiable]
    pub fn f(x: &[f64], force: &mut Vec<f64>) -> f64 {
        let mut energy = 0.0;
        for i in 0..x.len() {
            force[i] = 0.0;
        }
        for i in 1..x.len() {
            let stretch = x[i] - x[i - 1] - 0.5;
            energy += 0.5 * stretch * stretch;
            force[i] -= stretch;
            force[i - 1] += stretch;
        }
        energy
    }
}

/// A result returned early, with the output written before.
mod returns_early {
    use super::*;

    #[differentiable]
    pub fn f(x: &[f64], out: &mut [f64; 3]) -> f64 {
        out[0] = x[0].exp();
        out[1] = x[1] * x[2];
        if x[3] > 0.0 {
            return out[0] + x[4];
        }
        out[2] = out[1].sin();
        out[0] * x[5]
    }
}

#[test]
fn outputs_match_finite_differences() {
    for case in [
        out_case!(residuals, vec![0.0; 6]),
        out_case!(rotate, [0.0; 3]),
        out_case!(softmax_into, vec![0.0; 6]),
        out_case!(cumulative, DVector::zeros(6)),
        out_case!(mat_vec, [0.0; 3]),
        out_case!(accumulate, vec![0.3, -1.2, 0.0, 2.0, 0.5, -0.4]),
        out_case!(branch_writes, [0.5, -0.5, 2.0]),
        out_case!(early_return, vec![0.25; 6]),
        out_case!(iter_mut_zip, vec![0.0; 6]),
        out_case!(fill_then_update, vec![0.0; 6]),
        out_case!(local_iter_mut, [0.0; 3]),
        out_case!(energy_and_forces, vec![0.0; 6], -> f64),
        out_case!(returns_early, [0.0; 3], -> f64),
    ] {
        check_at(&case, SLICES);
    }
}

/// Two outputs and an `f32` one: the pullback takes a cotangent for each, in order.
#[differentiable]
fn split(x: &[f64], lo: &mut [f64], hi: &mut [f64]) {
    for i in 0..x.len() {
        lo[i] = x[i].min(0.0) * x[i];
        hi[i] = (x[i].max(0.0) + 1.0).sqrt();
    }
}

#[differentiable]
fn halve32(x: &[f32], out: &mut [f32]) {
    for i in 0..x.len() {
        out[i] = 0.5 * x[i] * x[i];
    }
}

#[test]
fn several_outputs_take_a_cotangent_each() {
    for x in SLICES_NONZERO {
        let (mut lo, mut hi) = (vec![0.0; 6], vec![0.0; 6]);
        let pullback = split_vjp(x, &mut lo, &mut hi);
        let (w_lo, w_hi) = (vec![1.0; 6], vec![0.5; 6]);
        let grad = pullback(w_lo, w_hi);
        let (mut d_lo, mut d_hi) = (vec![0.0; 6], vec![0.0; 6]);
        for i in 0..6 {
            let mut dx = vec![0.0; 6];
            dx[i] = 1.0;
            split_jvp(x, &mut lo, &mut hi, &dx, &mut d_lo, &mut d_hi);
            let expected = d_lo.iter().sum::<f64>() + 0.5 * d_hi.iter().sum::<f64>();
            assert!((grad[i] - expected).abs() < 1e-12, "{i}: {grad:?}");
        }
        let expected_lo = if x[0] < 0.0 { 2.0 * x[0] } else { 0.0 };
        assert!((grad[0] - expected_lo - 0.5 * hi_slope(x[0])).abs() < 1e-12);
    }
    let mut out = vec![0.0f32; 2];
    let pullback = halve32_vjp(&[1.5, -2.0], &mut out);
    assert_eq!(out, [1.125, 2.0]);
    assert_eq!(pullback(vec![1.0, 2.0]), [1.5, -4.0]);
}

/// `d/dx sqrt(max(x, 0) + 1)`.
fn hi_slope(x: f64) -> f64 {
    if x > 0.0 {
        0.5 / (x + 1.0).sqrt()
    } else {
        0.0
    }
}

/// The tangent of an output is written where the function writes the output, and zero
/// elsewhere, whatever `d_out` held.
#[test]
fn an_output_tangent_is_zero_where_not_written() {
    let x = [0.0, 2.0, -1.0, 0.3];
    let (mut out, mut d_out) = ([7.0; 3], [9.0; 3]);
    branch_writes::f_jvp(&x, &mut out, &[1.0, 1.0, 1.0, 1.0], &mut d_out);
    assert_eq!(out[0], 7.0);
    assert_eq!(d_out[0], 0.0);
    assert_eq!(d_out[1], 0.0);
    assert!((d_out[2] - (1.0 - 0.3f64.tanh().powi(2))).abs() < 1e-15);
}
