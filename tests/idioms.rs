//! Functions written the way Rust numeric code is usually written, each checked in every
//! mode against central finite differences and with the dot-product test (`common`), at
//! points that include zero and negative values. Grouped by construct; the first groups
//! hold code the macro once accepted and rustc then rejected in the generated code.

#![allow(clippy::needless_range_loop)]

mod common;

use autodiff::differentiable;
use autodiff::nalgebra::DVector;
use autodiff::Differentiable;
use common::check_at;
use common::objects::{check, Numbers};

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
    let pts: &[&[f64]] = &[&[0.0, 0.0], &[0.7, -1.3], &[-2.0, 0.4]];
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
