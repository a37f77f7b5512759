//! The corpus: functions covering every supported construct, each checked in all three
//! modes against central finite differences and against each other (see
//! `common::check_case`), at fixed points that include zero and negative values.

// The corpus spells constructs out on purpose (`s = s * b`, `let x = ..; x`).
#![allow(
    clippy::let_and_return,
    clippy::assign_op_pattern,
    clippy::neg_cmp_op_on_partial_ord,
    clippy::manual_is_multiple_of
)]

mod common;

use autodiff::differentiable;
use autodiff::gradcheck::Tolerance;
use common::check_at;

// Helpers called from corpus functions: generated rules and a hand-written one.

#[differentiable]
pub fn helper(a: f64, b: f64) -> f64 {
    a * b.sin() + b * b
}

#[differentiable]
pub fn helper_n(a: f64, n: i32) -> f64 {
    a.powi(n) - a
}

#[differentiable]
pub fn inner(a: f64) -> f64 {
    a.exp() - 1.0
}

#[differentiable]
pub fn middle(a: f64, b: f64) -> f64 {
    inner(a * b) + inner(b)
}

/// A custom rule: `softplus` with a hand-written, numerically stable derivative.
pub fn softplus(x: f64) -> f64 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

pub fn softplus_vjp(x: f64) -> (f64, impl FnOnce(f64) -> f64) {
    let sigmoid = 1.0 / (1.0 + (-x).exp());
    (softplus(x), move |d: f64| d * sigmoid)
}

pub fn softplus_jvp(x: f64, dx: f64) -> (f64, f64) {
    (softplus(x), dx / (1.0 + (-x).exp()))
}

corpus! {
    polynomial {
        #[differentiable]
        pub fn f(a: f64, b: f64) -> f64 { a * a * b + 3.0 * a - b / 2.0 }
    }
    trig {
        #[differentiable]
        pub fn f(a: f64, b: f64) -> f64 { a.sin() * b.cos() + (a * 0.5).tan() }
    }
    exp_log {
        #[differentiable]
        pub fn f(a: f64, b: f64) -> f64 { (a * b).exp().ln_1p() + (a * a + 1.0).ln() }
    }
    shadowing {
        #[differentiable]
        pub fn f(a: f64, b: f64) -> f64 {
            let x = a * 2.0;
            let x = x.sin() + b;
            let x = x * x;
            x
        }
    }
    reassignment {
        #[differentiable]
        pub fn f(a: f64, b: f64) -> f64 {
            let mut s = a;
            s = s * b;
            s = s + a.exp();
            s
        }
    }
    compound_assignment {
        #[differentiable]
        pub fn f(a: f64, b: f64) -> f64 {
            let mut s = a;
            s += b;
            s *= a;
            s -= 1.0;
            s /= b * b + 1.0;
            s
        }
    }
    nested_blocks {
        #[differentiable]
        pub fn f(a: f64, b: f64) -> f64 {
            let y = {
                let t = a * b;
                t.sin()
            };
            y + { a - b } * { let u = { b * b }; u }
        }
    }
    if_expression {
        #[differentiable]
        pub fn f(a: f64, b: f64) -> f64 {
            let y = if a > b { a * a } else { (b * b + 1.0).sqrt() };
            y * a
        }
    }
    else_if_chain {
        #[differentiable]
        pub fn f(a: f64, b: f64) -> f64 {
            if a < -1.0 {
                a * b
            } else if a < 1.0 {
                a.sin() * b
            } else {
                a.ln() + b
            }
        }
    }
    if_statement_mutation {
        #[differentiable]
        pub fn f(a: f64, b: f64) -> f64 {
            let mut y = a;
            if b > 0.0 {
                y = y * b;
            } else {
                y -= b * a;
            }
            if a < 0.0 {
                y *= 2.0;
            }
            y
        }
    }
    early_return {
        #[differentiable]
        pub fn f(a: f64, b: f64) -> f64 {
            if a < 0.0 {
                return -a * b;
            }
            a.sqrt() * b
        }
    }
    nested_early_return {
        #[differentiable]
        pub fn f(a: f64, b: f64) -> f64 {
            let t = a * b;
            if a > 0.0 {
                if b > 0.0 {
                    return t * t;
                }
                let u = t + 1.0;
                return u * a;
            }
            t + a
        }
    }
    sequential_returns {
        #[differentiable]
        pub fn f(a: f64, b: f64) -> f64 {
            let mut s = a + b;
            if a > 1.0 {
                return s * 2.0;
            }
            s *= a;
            if b > 1.0 {
                return s.exp();
            }
            s = s + b;
            if s > 0.5 {
                return s.sin();
            }
            s * b
        }
    }
    return_in_expression {
        #[differentiable]
        pub fn f(a: f64, b: f64) -> f64 {
            let y = 2.0 * if a > 0.0 { return a * b } else { b };
            y + a
        }
    }
    boolean_conditions {
        #[differentiable]
        pub fn f(a: f64, b: f64) -> f64 {
            if a > 0.0 && b > 0.0 || !(a < b) {
                a * b
            } else {
                a - b
            }
        }
    }
    inactive_int {
        #[differentiable]
        pub fn f(a: f64, n: i32) -> f64 { a.powi(n) + f64::from(n) * a }
    }
    int_condition {
        #[differentiable]
        pub fn f(a: f64, n: usize) -> f64 {
            let m = n * 2 + 1;
            if m > 5 { a * a * m as f64 } else { a }
        }
    }
    bool_param {
        #[differentiable]
        pub fn f(a: f64, flag: bool) -> f64 { if flag && a > -5.0 { a.sin() } else { a.cos() } }
    }
    int_casts {
        #[differentiable]
        pub fn f(a: f64, n: i64) -> f64 {
            let k = (n * n) as f64;
            a * n as f64 + k + (a as i64) as f64
        }
    }
    mixed_precision {
        #[differentiable]
        pub fn f(a: f32, b: f64) -> f64 {
            let x = a as f64 * b;
            x + (a * a) as f64
        }
    }
    single_precision {
        #[differentiable]
        pub fn f(a: f32, b: f32) -> f32 { (a * 0.5).exp() * b + b.powi(2) }
    }
    narrowing_result {
        #[differentiable]
        pub fn f(a: f64) -> f32 { (a * a + a) as f32 }
    }
    constants {
        #[differentiable]
        pub fn f(a: f64, b: f64) -> f64 {
            std::f64::consts::PI * a + core::f64::consts::E.ln() * b + f64::EPSILON
        }
    }
    path_form {
        #[differentiable]
        pub fn f(a: f64, b: f64) -> f64 {
            f64::sin(a) + f64::max(a, b) + f64::powf(a.abs() + 1.0, b) + f64::hypot(a, 2.0)
        }
    }
    call_chain {
        #[differentiable]
        pub fn f(a: f64, b: f64) -> f64 { helper(a, b) * helper(b, a) }
    }
    call_inactive_int {
        #[differentiable]
        pub fn f(a: f64) -> f64 { helper_n(a, 3) + helper_n(a * 2.0, 2) }
    }
    call_constant_float {
        #[differentiable]
        pub fn f(a: f64) -> f64 { helper(a, 2.0) + helper(0.5, a) }
    }
    custom_rule {
        #[differentiable]
        pub fn f(a: f64, b: f64) -> f64 { softplus(a * b) + softplus(-a) }
    }
    nested_calls {
        #[differentiable]
        pub fn f(a: f64, b: f64) -> f64 { middle(a, b) * inner(b) }
    }
    call_in_branch {
        #[differentiable]
        pub fn f(a: f64, b: f64) -> f64 {
            if a > 0.0 { helper(a, b) } else { inner(b) * a }
        }
    }
    hyperbolic {
        #[differentiable]
        pub fn f(a: f64, b: f64) -> f64 {
            a.sinh() + b.cosh() + (a * b).tanh() + a.asinh() + (a * a + 1.5).acosh() + (b.tanh() * 0.5).atanh()
        }
    }
    inverse_trig {
        #[differentiable]
        pub fn f(a: f64, b: f64) -> f64 {
            let s = a / (1.0 + a * a);
            s.asin() + s.acos() * b + b.atan() + b.atan2(a)
        }
    }
    exp_family {
        #[differentiable]
        pub fn f(a: f64, b: f64) -> f64 {
            let p = a * a + 1.0;
            a.exp2() + b.exp_m1() + p.log2() + p.log10() + p.log(b * b + 2.0) + (a + 3.0).cbrt()
        }
    }
    assorted_methods {
        #[differentiable]
        pub fn f(a: f64, b: f64) -> f64 {
            a.hypot(b) + (a * a + 1.0).recip() + a.mul_add(b, a) + a.to_degrees() + b.to_radians()
        }
    }
    selections {
        #[differentiable]
        pub fn f(a: f64, b: f64) -> f64 { a.max(b) + a.min(b) * a.clamp(-1.0, 1.0) + b.clamp(a, a + 1.0) }
    }
    sign_and_abs {
        #[differentiable]
        pub fn f(a: f64, b: f64) -> f64 { a.abs() * b + a.signum() * b }
    }
    rounding {
        #[differentiable]
        pub fn f(a: f64, b: f64) -> f64 { a.floor() + a.fract() * b + (a * 3.0).round() + b.ceil() + b.trunc() }
    }
    remainder {
        #[differentiable]
        pub fn f(a: f64, b: f64) -> f64 { a % b + (a * b) % 1.5 }
    }
    unused_parameter {
        #[differentiable]
        #[allow(unused_variables)]
        pub fn f(a: f64, b: f64) -> f64 { a * a }
    }
    comparison_only {
        #[differentiable]
        pub fn f(a: f64, b: f64) -> f64 { if b > 0.0 { a } else { -a } }
    }
    branch_locals {
        #[differentiable]
        pub fn f(a: f64, b: f64) -> f64 {
            let y = if a > 0.0 {
                let t = a * b;
                t * t
            } else {
                let t = a - b;
                t.exp()
            };
            y * a
        }
    }
    scoped_shadowing {
        #[differentiable]
        #[allow(unused_variables)]
        pub fn f(a: f64, b: f64) -> f64 {
            let y = a;
            if b > 0.0 {
                let y = 5.0 * b;
                let z = y;
            }
            {
                let y = b;
            }
            y * b
        }
    }
    block_mutation {
        #[differentiable]
        pub fn f(a: f64, b: f64) -> f64 {
            let mut s = a;
            let t = {
                s *= b;
                s + 1.0
            };
            s + t * t
        }
    }
    logistic {
        #[differentiable]
        pub fn f(a: f64, b: f64) -> f64 {
            let z = a * b - 0.5;
            1.0 / (1.0 + (-z).exp())
        }
    }
    unary_minus {
        #[differentiable]
        pub fn f(a: f64, b: f64) -> f64 { -(-a) * -b + -a.sin() }
    }
    newton_unrolled {
        // Two Newton steps for sqrt(a): x ← (x + a/x) / 2, from x₀ = a.
        #[differentiable]
        pub fn f(a: f64) -> f64 {
            let x = a;
            let x = 0.5 * (x + a / x);
            let x = 0.5 * (x + a / x);
            x
        }
    }
    three_params {
        #[differentiable]
        pub fn f(a: f64, b: f64, c: f64) -> f64 {
            let r = (a * a + b * b + c * c).sqrt();
            if r > 1.0 { a * b / r } else { c * r }
        }
    }
    inactive_middle {
        #[differentiable]
        pub fn f(a: f64, k: u32, b: f64) -> f64 {
            if k % 2 == 0 { a * b } else { a + b * f64::from(k) }
        }
    }
}

const F64: Tolerance = Tolerance::F64;

#[test]
fn straight_line() {
    let pts: &[&[f64]] = &[
        &[0.0, 0.7],
        &[0.0, -0.4],
        &[0.3, -1.2],
        &[-0.7, 2.5],
        &[1.1, 0.4],
    ];
    for case in [
        case!(polynomial(a, b | da, db)),
        case!(trig(a, b | da, db)),
        case!(exp_log(a, b | da, db)),
        case!(shadowing(a, b | da, db)),
        case!(reassignment(a, b | da, db)),
        case!(compound_assignment(a, b | da, db)),
        case!(nested_blocks(a, b | da, db)),
        case!(logistic(a, b | da, db)),
        case!(unary_minus(a, b | da, db)),
        case!(constants(a, b | da, db)),
        case!(unused_parameter(a, b | da, db)),
        case!(block_mutation(a, b | da, db)),
        case!(hyperbolic(a, b | da, db)),
        case!(inverse_trig(a, b | da, db)),
        case!(exp_family(a, b | da, db)),
        case!(assorted_methods(a, b | da, db)),
    ] {
        check_at(&case, pts);
    }
}

#[test]
fn branches_and_returns() {
    // Points away from each function's branch thresholds, on both sides of them.
    let pts: &[&[f64]] = &[
        &[0.1, 0.5],
        &[0.3, -1.2],
        &[-0.7, 2.5],
        &[1.6, 0.4],
        &[-1.4, -0.3],
        &[2.0, 1.5],
    ];
    for case in [
        case!(if_expression(a, b | da, db)),
        case!(else_if_chain(a, b | da, db)),
        case!(if_statement_mutation(a, b | da, db)),
        case!(nested_early_return(a, b | da, db)),
        case!(sequential_returns(a, b | da, db)),
        case!(return_in_expression(a, b | da, db)),
        case!(boolean_conditions(a, b | da, db)),
        case!(comparison_only(a, b | da, db)),
        case!(branch_locals(a, b | da, db)),
        case!(scoped_shadowing(a, b | da, db)),
        case!(call_in_branch(a, b | da, db)),
    ] {
        check_at(&case, pts);
    }
    // sqrt needs a > 0 on its branch; 0 itself is a kink of this function.
    check_at(
        &case!(early_return(a, b | da, db)),
        &[&[0.2, 0.5], &[-0.7, 2.5], &[1.6, -0.4]],
    );
}

#[test]
fn inactive_parameters() {
    let pts: &[&[f64]] = &[&[0.0], &[-0.8], &[1.3]];
    for n in [0, 1, 3, -2] {
        let case = match n {
            0 => case!(inactive_int(a | da) + 0),
            1 => case!(inactive_int(a | da) + 1),
            3 => case!(inactive_int(a | da) + 3),
            _ => case!(inactive_int(a | da) + -2),
        };
        let pts: &[&[f64]] = if n < 0 { &[&[-0.8], &[1.3]] } else { pts };
        check_at(&case, pts);
    }
    check_at(&case!(int_condition(a | da) + 1), pts);
    check_at(&case!(int_condition(a | da) + 4), pts);
    check_at(&case!(bool_param(a | da) + true), pts);
    check_at(&case!(bool_param(a | da) + false), pts);
    check_at(&case!(int_casts(a | da) + -3), &[&[0.5], &[-0.8], &[1.3]]);
    for k in [2_u32, 3] {
        let case = common::Case {
            name: "inactive_middle",
            f: if k == 2 {
                |v| inactive_middle::f(v[0], 2, v[1])
            } else {
                |v| inactive_middle::f(v[0], 3, v[1])
            },
            grad: if k == 2 {
                |v| {
                    let (y, (a, b)) = inactive_middle::f_grad(v[0], 2, v[1]);
                    (y, vec![a, b])
                }
            } else {
                |v| {
                    let (y, (a, b)) = inactive_middle::f_grad(v[0], 3, v[1]);
                    (y, vec![a, b])
                }
            },
            vjp: if k == 2 {
                |v, d| {
                    let (y, pb) = inactive_middle::f_vjp(v[0], 2, v[1]);
                    let (a, b) = pb(d);
                    (y, vec![a, b])
                }
            } else {
                |v, d| {
                    let (y, pb) = inactive_middle::f_vjp(v[0], 3, v[1]);
                    let (a, b) = pb(d);
                    (y, vec![a, b])
                }
            },
            jvp: if k == 2 {
                |v, t| inactive_middle::f_jvp(v[0], 2, v[1], t[0], t[1])
            } else {
                |v, t| inactive_middle::f_jvp(v[0], 3, v[1], t[0], t[1])
            },
            tol: F64,
        };
        check_at(&case, &[&[0.5, -1.0], &[-2.0, 0.0]]);
    }
}

#[test]
fn mixed_and_single_precision() {
    let pts: &[&[f64]] = &[&[0.0, 0.0], &[0.25, -1.5], &[-0.75, 2.0]];
    check_at(&case!(mixed_precision(a, b | da, db); Tolerance::F32), pts);
    check_at(&case!(single_precision(a, b | da, db); Tolerance::F32), pts);
    check_at(
        &case!(narrowing_result(a | da); Tolerance::F32),
        &[&[0.0], &[-1.25], &[0.5]],
    );
}

#[test]
fn calls_and_custom_rules() {
    let pts: &[&[f64]] = &[&[0.0, 0.0], &[0.3, -1.2], &[-0.7, 2.5]];
    for case in [
        case!(call_chain(a, b | da, db)),
        case!(custom_rule(a, b | da, db)),
        case!(nested_calls(a, b | da, db)),
    ] {
        check_at(&case, pts);
    }
    for case in [
        case!(call_inactive_int(a | da)),
        case!(call_constant_float(a | da)),
        case!(newton_unrolled(a | da)),
    ] {
        check_at(&case, &[&[0.5], &[1.7], &[3.0]]);
    }
    check_at(&case!(newton_unrolled(a | da)), &[&[-0.5]]);
}

#[test]
fn methods_away_from_kinks() {
    let pts: &[&[f64]] = &[&[0.3, -1.2], &[-0.7, 2.5], &[1.6, 0.45], &[-2.2, -0.3]];
    for case in [
        case!(path_form(a, b | da, db)),
        case!(selections(a, b | da, db)),
        case!(sign_and_abs(a, b | da, db)),
        case!(rounding(a, b | da, db)),
        case!(remainder(a, b | da, db)),
    ] {
        check_at(&case, pts);
    }
    check_at(
        &case!(three_params(a, b, c | da, db, dc)),
        &[&[0.0, 0.0, 0.5], &[0.3, -1.2, 0.4], &[-0.1, 0.2, -0.3]],
    );
}

pub struct Config {
    pub scale: f64,
    pub threshold: f64,
}

mod borrowed_constant {
    use super::*;

    /// A borrowed, inactive parameter that the pullback has to capture (it recomputes
    /// `cfg.scale` inside the branch).
    #[differentiable(wrt(x, y))]
    pub fn f(x: f64, cfg: &Config, y: f64) -> f64 {
        if x > cfg.threshold {
            let s = cfg.scale;
            return x * s * y;
        }
        x + y
    }
}

#[test]
fn borrowed_inactive_parameters() {
    let cfg = Config {
        scale: 2.0,
        threshold: 0.0,
    };
    for (x, y) in [(1.5, -0.5), (-1.0, 2.0)] {
        let (value, (dx, dy)) = borrowed_constant::f_grad(x, &cfg, y);
        assert_eq!(value, borrowed_constant::f(x, &cfg, y));
        let (_, pullback) = borrowed_constant::f_vjp(x, &cfg, y);
        assert_eq!(pullback(1.0), (dx, dy));
        let expected = if x > 0.0 {
            (2.0 * y, 2.0 * x)
        } else {
            (1.0, 1.0)
        };
        assert_eq!((dx, dy), expected);
        assert_eq!(borrowed_constant::f_jvp(x, &cfg, y, 1.0, 0.0).1, dx);
    }
}
