//! One test per derivative rule, through generated code, in `f64` and `f32`: all three
//! modes against central finite differences at fixed points including zero and negative
//! values where the function is differentiable there; then the kink table, at the kinks.

// `erf` and `erfc` are unstable std methods: the lint says std's may be picked one day.
#![allow(unstable_name_collisions)]

mod common;

use autodiff::differentiable;
use autodiff::gradcheck::Tolerance;
use autodiff::Erf;
use common::check_at;

macro_rules! unary_rules {
    ($($name:ident, $name32:ident: |$a:ident| $body:expr, at [$($p:expr),*];)*) => {$(
        mod $name {
            use super::*;
            #[differentiable]
            pub fn f($a: f64) -> f64 { $body }
        }
        mod $name32 {
            use super::*;
            #[differentiable]
            pub fn f($a: f32) -> f32 { $body }
        }
        #[test]
        fn $name() {
            let points: &[&[f64]] = &[$(&[$p]),*];
            check_at(&case!($name(a | da)), points);
            check_at(&case!($name32(a | da); Tolerance::F32), points);
        }
    )*};
}

macro_rules! nary_rules {
    ($($name:ident: |$($a:ident),+ | $($da:ident),+| $body:expr, at [$($p:expr),*];)*) => {$(
        mod $name {
            use super::*;
            #[differentiable]
            pub fn f($($a: f64),+) -> f64 { $body }
        }
        #[test]
        fn $name() {
            let points: &[&[f64]] = &[$(&$p),*];
            check_at(&case!($name($($a),+ | $($da),+)), points);
        }
    )*};
}

unary_rules! {
    sin, sin32: |a| a.sin(), at [-2.0, -0.5, 0.0, 0.7, 1.3];
    cos, cos32: |a| a.cos(), at [-2.0, -0.5, 0.0, 0.7, 1.3];
    tan, tan32: |a| a.tan(), at [-1.2, -0.5, 0.0, 0.7, 1.3];
    asin, asin32: |a| a.asin(), at [-0.9, -0.3, 0.0, 0.5];
    acos, acos32: |a| a.acos(), at [-0.9, -0.3, 0.0, 0.5];
    atan, atan32: |a| a.atan(), at [-2.0, -0.5, 0.0, 1.5];
    sinh, sinh32: |a| a.sinh(), at [-2.0, -0.5, 0.0, 1.5];
    cosh, cosh32: |a| a.cosh(), at [-2.0, -0.5, 0.0, 1.5];
    tanh, tanh32: |a| a.tanh(), at [-2.0, -0.5, 0.0, 1.5];
    asinh, asinh32: |a| a.asinh(), at [-2.0, -0.5, 0.0, 1.5];
    acosh, acosh32: |a| a.acosh(), at [1.2, 2.0, 5.0];
    atanh, atanh32: |a| a.atanh(), at [-0.9, -0.3, 0.0, 0.5];
    exp, exp32: |a| a.exp(), at [-2.0, -0.5, 0.0, 1.5];
    erf, erf32: |a| a.erf(), at [-2.5, -0.5, 0.0, 0.7, 1.8];
    erfc, erfc32: |a| a.erfc(), at [-2.5, -0.5, 0.0, 0.7, 1.8];
    exp2, exp2_32: |a| a.exp2(), at [-2.0, -0.5, 0.0, 1.5];
    exp_m1, exp_m1_32: |a| a.exp_m1(), at [-2.0, -0.5, 0.0, 1.5];
    ln, ln32: |a| a.ln(), at [0.1, 0.7, 2.5];
    ln_1p, ln_1p32: |a| a.ln_1p(), at [-0.5, 0.0, 2.0];
    log2, log2_32: |a| a.log2(), at [0.1, 0.7, 2.5];
    log10, log10_32: |a| a.log10(), at [0.1, 0.7, 2.5];
    sqrt, sqrt32: |a| a.sqrt(), at [0.1, 0.7, 2.5];
    cbrt, cbrt32: |a| a.cbrt(), at [-2.0, -0.5, 0.5, 3.0];
    abs, abs32: |a| a.abs(), at [-2.0, -0.5, 0.5, 3.0];
    signum, signum32: |a| a.signum() * 3.0 + a, at [-2.0, -0.5, 0.5, 3.0];
    recip, recip32: |a| a.recip(), at [-2.0, -0.5, 0.5, 3.0];
    floor, floor32: |a| a.floor() + a, at [-1.7, -0.2, 0.3, 2.6];
    ceil, ceil32: |a| a.ceil() + a, at [-1.7, -0.2, 0.3, 2.6];
    round, round32: |a| a.round() + a, at [-1.7, -0.2, 0.0, 0.3, 2.6];
    trunc, trunc32: |a| a.trunc() + a, at [-1.7, -0.2, 0.0, 0.3, 2.6];
    fract, fract32: |a| a.fract(), at [-1.7, -0.2, 0.0, 0.3, 2.6];
    to_degrees, to_degrees32: |a| a.to_degrees(), at [-1.0, 0.0, 2.0];
    to_radians, to_radians32: |a| a.to_radians(), at [-100.0, 0.0, 45.0];
    powi_cube, powi_cube32: |a| a.powi(3), at [-1.5, 0.0, 0.5, 2.0];
    powi_inverse_square, powi_inverse_square32: |a| a.powi(-2), at [-1.5, -0.5, 0.5, 2.0];
    powi_zero, powi_zero32: |a| a.powi(0) + a, at [-1.5, 0.0, 2.0];
    negation, negation32: |a| -a, at [-1.5, 0.0, 2.0];
}

nary_rules! {
    add: |a, b | da, db| a + b, at [[0.0, 0.0], [-1.5, 2.0]];
    sub: |a, b | da, db| a - b, at [[0.0, 0.0], [-1.5, 2.0]];
    mul: |a, b | da, db| a * b, at [[0.0, 0.0], [-1.5, 2.0]];
    div: |a, b | da, db| a / b, at [[0.0, 1.0], [-1.5, -2.0], [2.5, 0.5]];
    rem: |a, b | da, db| a % b, at [[0.0, 0.7], [5.3, 2.0], [-3.7, 1.5]];
    powf: |a, b | da, db| a.powf(b), at [[0.5, -1.3], [2.0, 0.0], [1.5, 2.5]];
    log: |a, b | da, db| a.log(b), at [[0.5, 3.0], [2.0, 0.5]];
    atan2: |a, b | da, db| a.atan2(b), at [[0.0, 1.0], [-1.2, -0.5], [0.7, -2.0]];
    hypot: |a, b | da, db| a.hypot(b), at [[0.0, 1.0], [-1.2, 0.5]];
    max: |a, b | da, db| a.max(b), at [[0.0, 1.0], [-1.2, -2.5], [0.7, 0.2]];
    min: |a, b | da, db| a.min(b), at [[0.0, 1.0], [-1.2, -2.5], [0.7, 0.2]];
    clamp: |a, lo, hi | da, dlo, dhi| a.clamp(lo, hi), at [[0.3, -1.0, 1.0], [-2.0, -1.0, 1.0], [2.0, -1.0, 1.0], [0.0, -0.5, 0.5]];
    mul_add: |a, b, c | da, db, dc| a.mul_add(b, c), at [[0.0, 1.0, 2.0], [-1.5, 0.5, -2.0]];
}

// -------------------- the kink table --------------------

mod kinks {
    use super::*;

    #[differentiable]
    pub fn abs(a: f64) -> f64 {
        a.abs()
    }
    #[differentiable]
    pub fn max(a: f64, b: f64) -> f64 {
        a.max(b)
    }
    #[differentiable]
    pub fn min(a: f64, b: f64) -> f64 {
        a.min(b)
    }
    #[differentiable]
    pub fn clamp(a: f64, lo: f64, hi: f64) -> f64 {
        a.clamp(lo, hi)
    }
    #[differentiable]
    pub fn sqrt(a: f64) -> f64 {
        a.sqrt()
    }
    #[differentiable]
    pub fn scaled_sqrt(a: f64, b: f64) -> f64 {
        b * a.sqrt()
    }
    /// At `b = 0` the cotangent of `a·b` is infinite (√ at 0), and `b`'s zero wins in `a`'s.
    #[differentiable]
    pub fn sqrt_of_product(a: f64, b: f64) -> f64 {
        (a * b).sqrt()
    }
    /// The same with the infinite cotangent coming back from a call's pullback.
    #[differentiable]
    pub fn sqrt_of_product_by_call(a: f64, b: f64) -> f64 {
        sqrt(a * b)
    }
    /// `√(c·Σ(aᵢbᵢ)²) + c·a₀` (`√(Σ(aᵢbᵢ)²)` for `c ≤ 0`): at `b = 0` the root's
    /// infinite cotangent reaches the products through a branch, a loop's carried sum and
    /// an array, and their zero factors win; `c·a₀` does not reach it (a plain product).
    #[allow(clippy::needless_range_loop)]
    #[differentiable]
    pub fn root_of_products(a: &[f64], b: &[f64], c: f64) -> f64 {
        let mut p = vec![0.0; a.len()];
        for i in 0..a.len() {
            p[i] = a[i] * b[i];
        }
        let s: f64 = p.iter().map(|x| x * x).sum();
        let t = if c > 0.0 { c * s } else { s };
        t.sqrt() + c * a[0]
    }
    /// `Σ (√a·bᵢ + a·bᵢ)` with `√a` stored in an array first: at `a = 0` the root's
    /// infinite tangent reaches the products `vᵢ·bᵢ` through the array and a loop, and
    /// `b = 0` wins; `a·bᵢ` does not depend on the root (a plain product in forward mode).
    #[allow(clippy::needless_range_loop)]
    #[differentiable]
    pub fn products_after_root(a: f64, b: &[f64]) -> f64 {
        let r = a.sqrt();
        let mut v = vec![0.0; b.len()];
        for x in v.iter_mut() {
            *x = r;
        }
        let mut s = 0.0;
        for i in 0..b.len() {
            s += v[i] * b[i] + a * b[i];
        }
        s
    }
    #[differentiable]
    pub fn powf(a: f64, b: f64) -> f64 {
        a.powf(b)
    }
    #[differentiable]
    pub fn signum(a: f64) -> f64 {
        a.signum()
    }
    #[differentiable]
    pub fn hypot(a: f64, b: f64) -> f64 {
        a.hypot(b)
    }
    #[differentiable]
    pub fn atan2(a: f64, b: f64) -> f64 {
        a.atan2(b)
    }
    #[differentiable]
    pub fn floor(a: f64) -> f64 {
        a.floor()
    }
}

#[test]
fn abs_at_zero_has_zero_derivative() {
    assert_eq!(kinks::abs_grad(0.0), (0.0, 0.0));
    assert_eq!(kinks::abs_jvp(0.0, 1.0), (0.0, 0.0));
    assert_eq!(kinks::abs_grad(-0.0).1, 0.0);
}

#[test]
fn max_and_min_ties_go_to_the_first_argument() {
    assert_eq!(kinks::max_grad(1.5, 1.5).1, (1.0, 0.0));
    assert_eq!(kinks::min_grad(1.5, 1.5).1, (1.0, 0.0));
    assert_eq!(kinks::max_jvp(1.5, 1.5, 0.0, 1.0).1, 0.0);
    // NaN: max returns the other argument, which gets the derivative.
    assert_eq!(kinks::max_grad(f64::NAN, 2.0).1, (0.0, 1.0));
    assert_eq!(kinks::min_grad(2.0, f64::NAN).1, (1.0, 0.0));
}

#[test]
fn clamp_at_its_bounds_passes_the_derivative_to_x() {
    assert_eq!(kinks::clamp_grad(-1.0, -1.0, 1.0).1, (1.0, 0.0, 0.0));
    assert_eq!(kinks::clamp_grad(1.0, -1.0, 1.0).1, (1.0, 0.0, 0.0));
    assert_eq!(kinks::clamp_grad(3.0, -1.0, 1.0).1, (0.0, 0.0, 1.0));
    assert_eq!(kinks::clamp_grad(-3.0, -1.0, 1.0).1, (0.0, 1.0, 0.0));
}

#[test]
fn sqrt_at_zero_is_infinite_and_zero_cotangents_stay_zero() {
    assert_eq!(kinks::sqrt_grad(0.0).1, f64::INFINITY);
    assert_eq!(kinks::sqrt_jvp(0.0, 0.0).1, 0.0);
    // b = 0 masks sqrt(a): no NaN from 0 · ∞.
    assert_eq!(kinks::scaled_sqrt_grad(0.0, 0.0).1, (0.0, 0.0));
    assert_eq!(kinks::scaled_sqrt_jvp(0.0, 0.0, 1.0, 1.0).1, 0.0);
}

#[test]
fn a_zero_factor_wins_over_an_infinite_cotangent() {
    let (a, b) = (2.0, 0.0);
    assert_eq!(kinks::sqrt_of_product_grad(a, b).1, (0.0, f64::INFINITY));
    assert_eq!(
        kinks::sqrt_of_product_by_call_grad(a, b).1,
        (0.0, f64::INFINITY)
    );
}

#[test]
fn a_zero_factor_wins_through_loops_arrays_and_branches() {
    let (a, b) = ([2.0, -1.0], [0.0, 0.0]);
    let (_, (da, db, dc)) = kinks::root_of_products_grad(&a, &b, 3.0);
    assert_eq!((da, db, dc), (vec![3.0, 0.0], vec![0.0, 0.0], 2.0));
    let (_, (da, db, dc)) = kinks::root_of_products_grad(&a, &b, -1.0);
    assert_eq!((da, db, dc), (vec![-1.0, 0.0], vec![0.0, 0.0], 2.0));
    // Away from the kink: the gradient is the formula's.
    let (b, c) = ([0.5, -2.0], 3.0);
    let (_, (da, db, dc)) = kinks::root_of_products_grad(&a, &b, c);
    let s: f64 = a.iter().zip(&b).map(|(x, y)| (x * y) * (x * y)).sum();
    let r = (c * s).sqrt();
    let close = |x: f64, y: f64| (x - y).abs() < 1e-12 * (1.0 + y.abs());
    for i in 0..2 {
        let da_i = c * a[i] * b[i] * b[i] / r + if i == 0 { c } else { 0.0 };
        assert!(close(da[i], da_i), "{} vs {da_i}", da[i]);
        assert!(close(db[i], c * b[i] * a[i] * a[i] / r), "{}", db[i]);
    }
    assert!(close(dc, s / (2.0 * r) + a[0]), "{dc}");
}

#[test]
fn a_zero_factor_wins_over_an_infinite_tangent() {
    let b = [0.0, 0.0];
    let (_, t) = kinks::products_after_root_jvp(0.0, &b, 1.0, &[1.0, -2.0]);
    assert_eq!(t, 0.0);
    // Away from the kink: the tangent is the formula's.
    let (a, b, da, db) = (0.25, [1.5, -2.0], 0.5, [1.0, 3.0]);
    let (_, t) = kinks::products_after_root_jvp(a, &b, da, &db);
    let sum_b: f64 = b.iter().sum();
    let sum_db: f64 = db.iter().sum();
    let expected = sum_b * (0.5 / a.sqrt() + 1.0) * da + (a.sqrt() + a) * sum_db;
    assert!((t - expected).abs() < 1e-12, "{t} vs {expected}");
}

#[test]
fn powf_at_zero_base() {
    assert_eq!(kinks::powf_grad(0.0, 2.0).1, (0.0, 0.0));
    assert_eq!(kinks::powf_grad(0.0, 1.0).1, (1.0, 0.0));
    assert_eq!(kinks::powf_grad(0.0, 0.0).1, (0.0, 0.0));
    assert_eq!(kinks::powf_grad(0.0, 0.5).1 .0, f64::INFINITY);
}

#[test]
fn piecewise_constant_functions_have_zero_derivative() {
    for x in [-1.0, -0.0, 0.0, 2.0] {
        assert_eq!(kinks::signum_grad(x).1, 0.0);
        assert_eq!(kinks::floor_grad(x).1, 0.0);
    }
}

#[test]
fn hypot_and_atan2_at_the_origin_have_zero_derivative() {
    assert_eq!(kinks::hypot_grad(0.0, 0.0).1, (0.0, 0.0));
    assert_eq!(kinks::atan2_grad(0.0, 0.0).1, (0.0, 0.0));
    assert_eq!(kinks::hypot_jvp(0.0, 0.0, 1.0, 1.0).1, 0.0);
}
