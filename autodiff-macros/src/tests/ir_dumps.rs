//! Golden IR dumps of each stage on small functions.

use crate::args::Args;
use crate::ast::DiffFn;
use crate::ctxt::Ctxt;
use crate::expand::differentiate;
use crate::ir::Func;
use crate::lower;
use proc_macro2::TokenStream;
use quote::quote;

/// The IR of `item` after lowering, after optimisation, and its jvp and vjp.
struct Stages {
    lowered: Func,
    optimized: Func,
    jvp: Func,
    vjp: Func,
}

fn stages(item: TokenStream) -> Stages {
    let item: syn::ItemFn = syn::parse2(item).expect("test input is a function");
    let cx = Ctxt::new();
    let f = DiffFn::from_syn(&cx, &Args::default(), &item).expect("valid signature");
    let lowered = lower::lower(&cx, &f, false);
    assert!(cx.check().is_ok(), "lowering reported an error");
    let mut optimized = lowered.clone();
    let d = differentiate(&f, &mut optimized);
    Stages {
        lowered,
        optimized,
        jvp: d.jvp,
        vjp: d.vjp,
    }
}

#[test]
fn straight_line() {
    let s = stages(quote! {
        fn f(x: f64, y: f64) -> f64 {
            let a = x * y;
            a.sin() + a * 1.0
        }
    });
    insta::assert_snapshot!("straight_line_optimized", s.optimized.to_string());
    insta::assert_snapshot!("straight_line_jvp", s.jvp.to_string());
    insta::assert_snapshot!("straight_line_vjp", s.vjp.to_string());
}

#[test]
fn constant_folding_respects_width() {
    let s = stages(quote! {
        fn f(x: f32) -> f32 {
            let k = 0.1 * 3.0;
            let u = 2.0_f64 * 0.5;
            x * k - (-x) * 1.0 + u as f32
        }
    });
    insta::assert_snapshot!("folding_lowered", s.lowered.to_string());
    insta::assert_snapshot!("folding_optimized", s.optimized.to_string());
}

#[test]
fn early_return_is_one_branch() {
    let s = stages(quote! {
        fn f(x: f64) -> f64 {
            if x < 0.0 {
                return -x;
            }
            x.sqrt()
        }
    });
    insta::assert_snapshot!("early_return_lowered", s.lowered.to_string());
    insta::assert_snapshot!("early_return_optimized", s.optimized.to_string());
    insta::assert_snapshot!("early_return_vjp", s.vjp.to_string());
}

#[test]
fn inactive_values_get_no_derivative_work() {
    let s = stages(quote! {
        fn f(x: f64, n: i32, scale: f64) -> f64 {
            let m = n * 2;
            let unused = x.exp();
            if m > 3 { x * (m as f64) } else { x }
        }
    });
    insta::assert_snapshot!("activity_jvp", s.jvp.to_string());
}

#[test]
fn common_subexpressions_are_shared() {
    let s = stages(quote! {
        fn f(x: f64, y: f64) -> f64 {
            let a = (x * y).sin();
            let b = (x * y).sin();
            if x > y { a * b + (x * y) } else { a }
        }
    });
    insta::assert_snapshot!("cse_optimized", s.optimized.to_string());
}

#[test]
fn loop_records_only_what_its_adjoint_reads() {
    let s = stages(quote! {
        fn f(x: f64, c: &[f64]) -> f64 {
            let mut s = 0.0;
            let mut d = 0.0;
            for i in 0..c.len() {
                s = s * x + c[i];
                d += c[i] * x;
            }
            s + d
        }
    });
    insta::assert_snapshot!("loop_optimized", s.optimized.to_string());
    insta::assert_snapshot!("loop_vjp", s.vjp.to_string());
}

/// The reverse sweep written out for `nested` (`reverse::written`): one function per partial, each
/// the primal followed by the adjoint arithmetic, seeded with `d_y = 1`.
#[test]
fn reverse_sweep_as_primal_code() {
    let s = stages(quote! {
        fn f(x: f64, y: f64) -> f64 {
            let a = x * y;
            a.sin() + a / y
        }
    });
    let active = s.optimized.params.clone();
    let activity = crate::activity::analyze(&s.optimized, &active);
    let Ok(partials) = crate::reverse::partials(&s.optimized, &activity, &active) else {
        panic!("straight-line code has a sweep");
    };
    assert_eq!(partials.len(), 2);
    insta::assert_snapshot!("adjoint_partial_x", partials[0].to_string());
    insta::assert_snapshot!("adjoint_partial_y", partials[1].to_string());
}

/// Reads of an active array have no written-out sweep yet: no partials. Reads of an
/// inactive one are primal code like any other.
#[test]
fn reverse_sweep_and_arrays() {
    let s = stages(quote! {
        fn f(x: f64, v: &[f64]) -> f64 {
            let mut s = x;
            for i in 0..v.len() {
                s = s * x + v[i] * x;
            }
            s
        }
    });
    let both = s.optimized.params.clone();
    let activity = crate::activity::analyze(&s.optimized, &both);
    assert!(crate::reverse::partials(&s.optimized, &activity, &both).is_err());
    let x = vec![both[0]];
    let activity = crate::activity::analyze(&s.optimized, &x);
    assert!(crate::reverse::partials(&s.optimized, &activity, &x).is_ok());
}

/// Two sums over the same range become one loop with two accumulators; a loop that reads
/// the first one's result, or writes an array, stays apart.
#[test]
fn sums_over_one_range_are_one_loop() {
    let s = stages(quote! {
        fn f(q: &[f64], d: usize) -> f64 {
            let a: f64 = (0..d).map(|j| q[j]).sum();
            let b: f64 = (0..d).map(|j| q[j].exp() * q[j]).sum();
            let mut c = 0.0;
            for j in 0..d {
                c += a * q[j];
            }
            let mut w = vec![0.0; d];
            for j in 0..d {
                w[j] = q[j] * b;
            }
            a * b + c + w[0]
        }
    });
    let loops = |f: &Func| f.to_string().matches(" = for ").count();
    assert_eq!(loops(&s.lowered), 4);
    assert_eq!(loops(&s.optimized), 3);
    insta::assert_snapshot!("fused_loops_optimized", s.optimized.to_string());
}

/// A product whose result reaches a square root may get an infinite cotangent (√ at 0)
/// and keeps the `0 · ∞` test in its adjoint (`mul_vjp`), through a loop's carried sum, an
/// array and a branch; the products that do not reach it are plain multiplications.
#[test]
fn only_products_that_reach_a_vertical_tangent_keep_the_zero_test() {
    let s = stages(quote! {
        fn f(a: &[f64], b: &[f64], c: f64) -> f64 {
            let mut p = vec![0.0; a.len()];
            for i in 0..a.len() {
                p[i] = a[i] * b[i];
            }
            let mut s = 0.0;
            for i in 0..p.len() {
                s += p[i] * p[i];
            }
            let t = if c > 0.0 { c * s } else { s };
            t.sqrt() + c * a[0]
        }
    });
    insta::assert_snapshot!("vertical_tangent_products_vjp", s.vjp.to_string());
}

/// In forward mode the tangent of a value computed from a square root may be infinite
/// (√ at 0): the products of such values keep the `0 · ∞` test (`mul_jvp`), through an
/// array and a loop; the others are plain (`plain_mul_jvp`).
#[test]
fn only_products_after_a_vertical_tangent_keep_the_zero_test() {
    let s = stages(quote! {
        fn f(a: f64, b: &[f64]) -> f64 {
            let r = a.sqrt();
            let mut v = vec![0.0; b.len()];
            for i in 0..b.len() {
                v[i] = r;
            }
            let mut s = 0.0;
            for i in 0..b.len() {
                s += v[i] * b[i] + a * b[i];
            }
            s
        }
    });
    insta::assert_snapshot!("vertical_tangent_products_jvp", s.jvp.to_string());
}
