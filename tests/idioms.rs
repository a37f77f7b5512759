//! Functions written the way Rust numeric code is usually written, each checked in every
//! mode against central finite differences and with the dot-product test (`common`), at
//! points that include zero and negative values. Grouped by construct; the first groups
//! hold code the macro once accepted and rustc then rejected in the generated code.

#![allow(clippy::needless_range_loop)]

mod common;

use autodiff::differentiable;
use autodiff::nalgebra::DVector;
use autodiff::Differentiable;
use common::objects::{check, Numbers};
use common::{check_at, PAIRS, PAIRS_APART, SLICES, SLICES_NONZERO};

/// `vec![0.0; k]`, then written: the fill's type comes from what is written into it (its
/// cotangent buffer was `zero_like(&0.0)`, E0282).
mod vec_filled_then_written {
    use super::*;
    #[differentiable]
    pub fn f(a: f64, b: f64) -> f64 {
        let k = 4;
        let mut terms = vec![0.0; k];
        for j in 0..k {
            terms[j] = a * (j as f64) - 0.5 * b * b;
        }
        let mut s = 0.0;
        for j in 0..k {
            s += terms[j] * terms[j];
        }
        s
    }
}

/// A folded constant with a negated typed literal as a method's receiver: it keeps its
/// type (E0689) and its parentheses (`-0.45.cos()` is `-(0.45.cos())`).
mod folded_negative_receiver {
    use super::*;
    #[differentiable]
    pub fn f(a: f64, b: f64) -> f64 {
        a * ((-1.5_f64) * 0.3).cos() + b + ((-1.5_f64) * 0.3).tanh() + (0.5 * -2.0_f64).exp()
    }
}

#[test]
fn code_rustc_rejected_before() {
    let pts = PAIRS;
    check_at(&case!(vec_filled_then_written(a, b | da, db)), pts);
    check_at(&case!(folded_negative_receiver(a, b | da, db)), pts);
    let want = 2.0 * (-0.45f64).cos() + 1.0 + (-0.45f64).tanh() + (-1.0f64).exp();
    assert_eq!(folded_negative_receiver::f(2.0, 1.0), want);
}

/// A layer with a differentiable `&self` method, and a model holding it and a float.
#[derive(Clone, Debug, Differentiable)]
pub struct Layer {
    pub w: DVector<f64>,
}

impl Layer {
    #[differentiable]
    pub fn apply(&self, x: &DVector<f64>) -> DVector<f64> {
        self.w.component_mul(x)
    }
}

#[derive(Clone, Debug, Differentiable)]
pub struct Model {
    pub layer: Layer,
    pub scale: f64,
}

/// A matrix times a float field of a borrowed struct (`&Matrix * &f64`, E0277).
#[differentiable]
pub fn scaled_output(m: &Model, x: &DVector<f64>) -> f64 {
    let h = m.layer.apply(x) * m.scale;
    h.dot(&h)
}

/// A free function calling a `&self` method of a parameter's field: its pullback holds
/// the field (E0700 on `_vjp`'s opaque type).
#[differentiable]
pub fn layer_sum(m: &Model, x: &DVector<f64>) -> f64 {
    let h = m.layer.apply(x);
    h.sum() * m.scale
}

#[test]
fn struct_code_rustc_rejected_before() {
    let mut n = Numbers(21);
    for len in [1, 3] {
        let model = Model {
            layer: Layer {
                w: DVector::from_fn(len, |_, _| n.next()),
            },
            scale: -0.7,
        };
        let x = DVector::from_fn(len, |_, _| n.next());
        check(
            "scaled_output",
            &(model.clone(), x.clone()),
            |(m, x)| scaled_output(m, x),
            |(m, x)| scaled_output_grad(m, x),
            |(m, x), (tm, tx)| scaled_output_jvp(m, x, tm, tx),
            &mut n,
        );
        check(
            "layer_sum",
            &(model, x),
            |(m, x)| layer_sum(m, x),
            |(m, x)| layer_sum_grad(m, x),
            |(m, x), (tm, tx)| layer_sum_jvp(m, x, tm, tx),
            &mut n,
        );
    }
}

// -------------------- iterator chains --------------------

corpus! {
    map_sum {
        #[differentiable]
        pub fn f(xs: &[f64], ys: &[f64]) -> f64 {
            xs.iter().map(|x| x * x).sum::<f64>() + ys.iter().map(|&y| y.sin()).sum::<f64>()
        }
    }
    zip_dot {
        #[differentiable]
        pub fn f(w: &[f64], x: &[f64]) -> f64 {
            w.iter().zip(x).map(|(a, b)| a * b).sum()
        }
    }
    zip_three_ways {
        #[differentiable]
        pub fn f(w: &[f64], x: &[f64]) -> f64 {
            let mut s = 0.0;
            for (a, b) in w.iter().zip(x.iter()) {
                s += (a - b).powi(2);
            }
            s + w.iter().copied().zip(x.iter().rev()).fold(0.0, |acc, (a, b)| acc + a * b.exp())
        }
    }
    fold_product {
        #[differentiable]
        pub fn f(xs: &[f64], ys: &[f64]) -> f64 {
            xs.iter().fold(1.0, |acc, &x| acc * (1.0 + x * x)) + ys.iter().product::<f64>()
        }
    }
    fold_max {
        #[differentiable]
        pub fn f(xs: &[f64], ys: &[f64]) -> f64 {
            xs.iter().cloned().fold(f64::NEG_INFINITY, f64::max)
                + ys.iter().map(|y| y * 3.0).fold(f64::INFINITY, f64::min)
        }
    }
    filter_and_count {
        #[differentiable]
        pub fn f(xs: &[f64], ys: &[f64]) -> f64 {
            let positive = xs.iter().filter(|x| **x > 0.05).count() as f64;
            let s: f64 = ys.iter().filter(|&&y| y < 0.5).map(|y| y * y).sum();
            positive * s + xs.iter().filter(|x| x.abs() < 1.5).sum::<f64>()
        }
    }
    enumerate_rev_skip {
        #[differentiable]
        pub fn f(c: &[f64], t: &[f64]) -> f64 {
            let mut s = 0.0;
            for (i, x) in c.iter().enumerate().rev() {
                s += x * (i as f64 + 1.0) * t[0];
            }
            s + c.iter().skip(1).step_by(2).copied().sum::<f64>()
                + t.iter().take(2).map(|v| v.cos()).sum::<f64>()
        }
    }
    ranges {
        #[differentiable]
        pub fn f(c: &[f64], t: &[f64]) -> f64 {
            let horner = (0..c.len()).rev().fold(0.0, |acc, k| acc * t[0] + c[k]);
            let tail: f64 = (1..=2).map(|k| t[k] / k as f64).sum();
            horner + tail
        }
    }
    collect_vec {
        #[differentiable]
        pub fn f(xs: &[f64], ys: &[f64]) -> f64 {
            let squares: Vec<f64> = xs.iter().zip(ys).map(|(a, b)| (a * b).powi(2) + 1.0).collect();
            let mut s = 0.0;
            for v in &squares {
                s += v.ln();
            }
            s
        }
    }
    chain_in_loop {
        #[differentiable]
        pub fn f(xs: &[f64], ys: &[f64]) -> f64 {
            let mut total = 0.0;
            for k in 0..2 {
                let shift = k as f64;
                total += xs.iter().zip(ys).map(|(a, b)| (a - b - shift).tanh()).sum::<f64>();
            }
            total
        }
    }
}

#[test]
fn iterator_chains_in_every_mode() {
    let pts = SLICES;
    for case in [
        slices!(map_sum),
        slices!(zip_dot),
        slices!(zip_three_ways),
        slices!(fold_product),
        slices!(fold_max),
        slices!(filter_and_count),
        slices!(enumerate_rev_skip),
        slices!(ranges),
        slices!(collect_vec),
        slices!(chain_in_loop),
    ] {
        check_at(&case, pts);
    }
}

/// Loops written out, for the property test below.
mod written_out {
    use super::*;
    #[differentiable]
    pub fn f(w: &[f64], x: &[f64]) -> f64 {
        let n = if w.len() < x.len() { w.len() } else { x.len() };
        let mut s = 0.0;
        for i in 0..n {
            if x[i] > -0.5 {
                s += (w[i] * x[i]).sin();
            }
        }
        s
    }
}

mod as_chain {
    use super::*;
    #[differentiable]
    pub fn f(w: &[f64], x: &[f64]) -> f64 {
        w.iter()
            .zip(x)
            .filter(|(_, b)| **b > -0.5)
            .map(|(a, b)| (a * b).sin())
            .sum()
    }
}

proptest::proptest! {
    /// An iterator chain and the loop a person would write agree in value and gradient.
    #[test]
    fn chains_agree_with_loops(v in proptest::collection::vec(-2.0f64..2.0, 2..12)) {
        let (w, x) = v.split_at(v.len() / 2);
        let (a, ga) = written_out::f_grad(w, x);
        let (b, gb) = as_chain::f_grad(w, x);
        proptest::prop_assert_eq!(a, b);
        proptest::prop_assert_eq!(ga, gb);
    }
}

// -------------------- local closures --------------------

corpus! {
    closure_called_twice {
        #[differentiable]
        pub fn f(x: f64, y: f64) -> f64 {
            let sq = |t: f64| t * t;
            sq(x) + sq(x - y)
        }
    }
    closure_capturing_locals {
        #[differentiable]
        pub fn f(x: f64, y: f64) -> f64 {
            let scale = y.exp();
            let damp = |t: f64, k: f64| (t * scale).sin() / (1.0 + k * k);
            let mut s = 0.0;
            for k in 0..3 {
                s += damp(x, k as f64);
            }
            s
        }
    }
    closure_passed_to_a_chain {
        #[differentiable]
        pub fn f(x: f64, y: f64) -> f64 {
            let g = |k: usize| (x * k as f64 + y).tanh();
            (0..4).map(g).sum::<f64>()
        }
    }
}

#[test]
fn local_closures_in_every_mode() {
    let pts = PAIRS;
    check_at(&case!(closure_called_twice(a, b | da, db)), pts);
    check_at(&case!(closure_capturing_locals(a, b | da, db)), pts);
    check_at(&case!(closure_passed_to_a_chain(a, b | da, db)), pts);
}

// -------------------- match --------------------

corpus! {
    match_on_a_mode {
        #[differentiable(wrt(x, y))]
        pub fn f(x: f64, y: f64, mode: u8) -> f64 {
            let scale = match mode {
                0 => x * y,
                1 | 2 => (x - y).sin(),
                3..=5 => x.exp() * y,
                m if m % 2 == 0 => x / (1.0 + y * y),
                _ => {
                    let t = x + y;
                    t * t
                }
            };
            match x > y {
                true => scale + x,
                false => scale - y,
            }
        }
    }
}

#[test]
fn match_in_every_mode() {
    let pts = PAIRS_APART;
    // One case per mode: the case's functions are plain `fn`s, so the mode is a literal.
    macro_rules! modes {
        ($($mode:literal)*) => {$(
            check_at(&case!(match_on_a_mode(a, b | da, db) + $mode), pts);
        )*};
    }
    modes!(0 1 2 3 4 5 6 7 8);
}

// -------------------- float methods --------------------

corpus! {
    sin_cos_both_ways {
        #[differentiable]
        pub fn f(x: f64, y: f64) -> f64 {
            let (s, c) = (x * y).sin_cos();
            s * c + y.sin_cos().0 - (x - y).sin_cos().1
        }
    }
}

// The piecewise ones: `copysign` is `|x|·sign(s)` (slope `±1` in `x`, `0` in `s`);
// `rem_euclid` has slope `1` in `a` and `-div_euclid(a, b)` in `b`; `div_euclid` and
// `round_ties_even` are piecewise constant (slope `0` between their jumps).
corpus! {
    piecewise_methods {
        #[differentiable]
        pub fn f(x: f64, y: f64) -> f64 {
            x.copysign(y) * 0.5
                + x.rem_euclid(0.7)
                + (2.0 * y).rem_euclid(x.abs() + 0.3)
                + x.div_euclid(0.7) * y
                + (3.0 * x).round_ties_even() * y
                + x.midpoint(y * y)
        }
    }
}

#[test]
fn float_methods_in_every_mode() {
    let pts = PAIRS;
    check_at(&case!(sin_cos_both_ways(a, b | da, db)), pts);
    // Away from the jumps, where central differences see the slope.
    let pts: &[&[f64]] = &[&[0.1, 0.3], &[0.9, -1.3], &[-2.0, 0.4]];
    check_at(&case!(piecewise_methods(a, b | da, db)), pts);
}

// -------------------- windows and chunks --------------------

corpus! {
    total_variation {
        #[differentiable]
        pub fn f(xs: &[f64], ys: &[f64]) -> f64 {
            let tv: f64 = xs.windows(2).map(|w| (w[1] - w[0]).powi(2)).sum();
            tv + ys.windows(2).map(|w| (w[0] * w[1]).sin()).sum::<f64>()
        }
    }
    second_differences {
        #[differentiable]
        pub fn f(xs: &[f64], ys: &[f64]) -> f64 {
            let mut s = 0.0;
            for w in xs.windows(3) {
                s += (w[0] - 2.0 * w[1] + w[2]).powi(2) * w.len() as f64;
            }
            s + ys.windows(3).map(|w| w.iter().sum::<f64>().tanh()).sum::<f64>()
        }
    }
    points_in_chunks {
        #[differentiable]
        pub fn f(xs: &[f64], ys: &[f64]) -> f64 {
            let norms: Vec<f64> = xs
                .chunks_exact(3)
                .map(|p| (p[0] * p[0] + p[1] * p[1] + p[2] * p[2]).sqrt())
                .collect();
            let mut s = 0.0;
            for (k, [a, b, c]) in ys.chunks_exact(3).map(|p| [p[0], p[1], p[2]]).enumerate() {
                s += (k as f64 + 1.0) * (a * b - c);
            }
            norms.iter().sum::<f64>() + s
        }
    }
    trapezoid_rule {
        #[differentiable]
        pub fn f(xs: &[f64], ys: &[f64]) -> f64 {
            // ∫ y dx over points sorted by x: the trapezoids between neighbours.
            let mut area = 0.0;
            for i in 0..xs.len() - 1 {
                let (x0, x1) = (i as f64, i as f64 + 1.0 + xs[i + 1].abs());
                area += 0.5 * (x1 - x0) * (ys[i] + ys[i + 1]);
            }
            area + xs.windows(2).map(|w| 0.5 * (w[0] + w[1])).sum::<f64>()
        }
    }
}

corpus! {
    chunks_of_any_length {
        #[differentiable]
        pub fn f(xs: &[f64], ys: &[f64]) -> f64 {
            // A length that is not a literal, and `chunks` with a shorter last chunk.
            let k = ys.len() / 2;
            let means: f64 = xs.chunks(2).map(|c| c.iter().sum::<f64>() / c.len() as f64).sum();
            let mut peaks = 0.0;
            for w in ys.windows(k) {
                peaks += w.iter().copied().fold(f64::NEG_INFINITY, f64::max) * w[k - 1];
            }
            means * peaks + xs.chunks_exact(k).map(|c| c[0] * c[k - 1]).sum::<f64>()
        }
    }
}

#[test]
fn windows_and_chunks_in_every_mode() {
    let pts = SLICES_NONZERO;
    for case in [
        slices!(total_variation),
        slices!(second_differences),
        slices!(points_in_chunks),
        slices!(trapezoid_rule),
        slices!(chunks_of_any_length),
    ] {
        check_at(&case, pts);
    }
}

// -------------------- numerical recipes as people write them --------------------

corpus! {
    horner_by_fold {
        #[differentiable]
        pub fn f(c: &[f64], t: &[f64]) -> f64 {
            let x = t[0];
            c.iter().rev().fold(0.0, |acc, &ck| acc * x + ck) + t.iter().skip(1).map(|v| v * v).sum::<f64>()
        }
    }
    softmax_cross_entropy {
        #[differentiable]
        pub fn f(logits: &[f64], targets: &[f64]) -> f64 {
            let m = logits.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let exps: Vec<f64> = logits.iter().map(|z| (z - m).exp()).collect();
            let total: f64 = exps.iter().sum();
            let probs: Vec<f64> = exps.iter().map(|e| e / total).collect();
            -targets.iter().zip(&probs).map(|(t, p)| t.abs() * p.ln()).sum::<f64>()
        }
    }
    running_mean_and_variance {
        #[differentiable]
        pub fn f(xs: &[f64], ys: &[f64]) -> f64 {
            // Welford's update, as numerical code writes it.
            let (mut mean, mut m2) = (0.0, 0.0);
            for (k, &x) in xs.iter().enumerate() {
                let delta = x - mean;
                mean += delta / (k as f64 + 1.0);
                m2 += delta * (x - mean);
            }
            mean + m2 / xs.len() as f64 + ys.iter().map(|y| y.abs().sqrt()).sum::<f64>()
        }
    }
    linear_interpolation {
        #[differentiable]
        pub fn f(knots: &[f64], values: &[f64]) -> f64 {
            // The piecewise-linear interpolant through (k, values[k]) at three points.
            let mut s = 0.0;
            for q in [0.4, 1.5, 2.25] {
                let i = (q as usize).min(values.len() - 2);
                let t = q - i as f64;
                s += (1.0 - t) * values[i] + t * values[i + 1];
            }
            s * knots.iter().map(|k| k.cos()).sum::<f64>()
        }
    }
    sub_slices {
        #[differentiable]
        pub fn f(xs: &[f64], ys: &[f64]) -> f64 {
            let head: f64 = xs[..2].iter().map(|x| x * x).sum();
            let mut tail = 0.0;
            for y in &ys[1..] {
                tail += y.sin();
            }
            head * tail + xs[1..=2].iter().zip(&ys[..2]).map(|(a, b)| a * b).sum::<f64>()
        }
    }
    gaussian_log_likelihood {
        #[differentiable]
        pub fn f(mu: &[f64], log_sigma: &[f64]) -> f64 {
            let data = [0.3, -1.2, 2.0];
            let mut ll = 0.0;
            for (x, (m, ls)) in data.iter().zip(mu.iter().zip(log_sigma)) {
                let z = (x - m) / ls.exp();
                ll -= 0.5 * z * z + ls + 0.5 * (2.0 * std::f64::consts::PI).ln();
            }
            ll
        }
    }
}

#[test]
fn numerical_recipes_in_every_mode() {
    let pts = SLICES_NONZERO;
    for case in [
        slices!(horner_by_fold),
        slices!(softmax_cross_entropy),
        slices!(running_mean_and_variance),
        slices!(linear_interpolation),
        slices!(sub_slices),
        slices!(gaussian_log_likelihood),
    ] {
        check_at(&case, pts);
    }
}
