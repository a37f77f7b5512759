//! Expansion snapshots: the code `#[differentiable]` generates, formatted, for review.

use super::expand_pretty;
use quote::quote;

#[test]
fn straight_line() {
    insta::assert_snapshot!(expand_pretty(
        quote!(),
        quote! {
            pub fn rosenbrock(x: f64, y: f64) -> f64 {
                let a = 1.0 - x;
                let b = y - x * x;
                a * a + 100.0 * b * b
            }
        }
    ));
}

#[test]
fn branches_and_early_return() {
    insta::assert_snapshot!(expand_pretty(
        quote!(),
        quote! {
            fn huber(r: f64, delta: f64) -> f64 {
                let a = r.abs();
                if a <= delta {
                    return 0.5 * r * r;
                }
                delta * (a - 0.5 * delta)
            }
        }
    ));
}

#[test]
fn calls_and_inactive_parameters() {
    insta::assert_snapshot!(expand_pretty(
        quote!(wrt(x)),
        quote! {
            pub(crate) fn model(x: f32, w: f64, n: i32) -> f64 {
                let z = x as f64 * w;
                softplus(z).powi(n) + w
            }
        }
    ));
}

#[test]
fn error_keeps_the_function_and_adds_stubs() {
    insta::assert_snapshot!(expand_pretty(
        quote!(),
        quote! {
            fn f(x: f64) -> f64 {
                let v = vec![x; 3];
                v[0] + v[2]
            }
        }
    ));
}

#[test]
fn loop_with_carried_values() {
    insta::assert_snapshot!(expand_pretty(
        quote!(),
        quote! {
            fn horner(x: f64, n: usize) -> f64 {
                let mut s = 0.0;
                for i in 0..n {
                    s = s * x + (i as f64 + 1.0).sin();
                }
                s
            }
        }
    ));
}

/// An inner loop's result feeds a branch condition: the pullback reads the recorded result
/// and the inner tape, and never runs the inner loop again.
#[test]
fn inner_loop_result_recorded_not_recomputed() {
    insta::assert_snapshot!(expand_pretty(
        quote!(),
        quote! {
            fn running_max(x: &[f64], n: usize, d: usize) -> f64 {
                let mut best = f64::NEG_INFINITY;
                let mut total = 0.0;
                for i in 0..n {
                    let mut s = 0.0;
                    for j in 0..d {
                        s += (x[i * d + j] * x[i * d + j]).sin();
                    }
                    if s > best {
                        best = s;
                    }
                    total += best * s;
                }
                total
            }
        }
    ));
}

/// Loop nests: the inner loop records on one stack for the whole nest, its tape is the
/// segment it pushed, and the outer loop's tape carries the stack (`emit::nests`).
#[test]
fn inner_loop_records_on_the_nest_stack() {
    insta::assert_snapshot!(expand_pretty(
        quote!(),
        quote! {
            fn rows(x: &[f64], n: usize, d: usize) -> f64 {
                let mut total = 0.0;
                for i in 0..n {
                    let mut s = 0.0;
                    for j in 0..d {
                        s += (x[i * d + j] * s).sin();
                    }
                    total += s.exp();
                }
                total
            }
        }
    ));
}

/// A function that writes an array: the tape keeps what was read from the written buffer
/// (it changes later) and recomputes what was read from the parameter (it never changes).
#[test]
fn written_array_reads_recorded_parameter_reads_recomputed() {
    insta::assert_snapshot!(expand_pretty(
        quote!(),
        quote! {
            fn decay(x: &[f64], n: usize) -> f64 {
                let mut buf = vec![0.0; n];
                for i in 1..n {
                    buf[i] = (buf[i - 1] * x[i]).sin() + x[i - 1] * x[i];
                }
                buf[n - 1]
            }
        }
    ));
}

/// A stencil's adjoint adds into three neighbouring elements of `d_x` per iteration: it
/// records the three values and adds each run after the loop (`add_run`), while `d_k`,
/// read in the loop, and the recurrence of `decay` above stay in their loops.
#[test]
fn stencil_additions_run_after_the_loop() {
    insta::assert_snapshot!(expand_pretty(
        quote!(),
        quote! {
            fn smooth(x: &[f64], kappa: f64) -> f64 {
                let n = x.len();
                let mut k = vec![0.0; n];
                for i in 1..n - 1 {
                    k[i] = kappa * (x[i - 1] - 2.0 * x[i] + x[i + 1]) - x[i] * x[i] * x[i];
                }
                k.iter().map(|v| v.sin()).sum()
            }
        }
    ));
}

/// Time steps over an array written in place: each step's stencil reads `u` around its
/// index, so the step copies that window of `u` once (`window`, recorded on the steps'
/// tape) and the stencil's adjoint computes `u[i]` and the Laplacian again from it, where
/// it would record both every iteration. The copy loop reads `v` at its index only and
/// records nothing.
#[test]
fn stencil_in_a_time_loop_reads_a_window() {
    insta::assert_snapshot!(expand_pretty(
        quote!(),
        quote! {
            fn heat(u0: &[f64], kappa: f64, steps: usize) -> f64 {
                let n = u0.len();
                let mut u = u0.to_vec();
                let mut v = vec![0.0; n];
                for _ in 0..steps {
                    for i in 1..n - 1 {
                        v[i] = u[i] + 0.1 * (kappa * (u[i - 1] - 2.0 * u[i] + u[i + 1]) - u[i] * u[i] * u[i]);
                    }
                    for i in 1..n - 1 {
                        u[i] = v[i];
                    }
                }
                u.iter().map(|x| x * x).sum()
            }
        }
    ));
}

/// An array filled once at the top level and only read afterwards is settled: the loop
/// over the points reads it again in the adjoint (the pullback captures it) instead of
/// recording each read; the filling loop records its `exp`s.
#[test]
fn settled_array_reads_recomputed() {
    insta::assert_snapshot!(expand_pretty(
        quote!(),
        quote! {
            fn weighted(q: &[f64], x: &[f64]) -> f64 {
                let mut w = vec![0.0; q.len()];
                for j in 0..q.len() {
                    w[j] = q[j].exp();
                }
                let mut total = 0.0;
                for i in 0..x.len() {
                    for j in 0..w.len() {
                        total += w[j] * x[i] * x[i];
                    }
                }
                total
            }
        }
    ));
}

/// Matrices: objects are borrowed by the arithmetic and the rules (`&a * &b`,
/// `obj::mul_vjp_lhs(..)`); the pullback owns a clone of the borrowed `x` it needs.
#[test]
fn matrix_function() {
    insta::assert_snapshot!(expand_pretty(
        quote!(),
        quote! {
            pub fn quadratic(a: &DMatrix<f64>, x: &DVector<f64>) -> f64 {
                let y = a * x;
                y.dot(&y) + 0.5 * x.norm_squared()
            }
        }
    ));
}

/// A method: `self`'s cotangent is a value of `Self` filled field by field; the call of a
/// layer's method goes through its `_vjp`, asking only for the cotangents needed.
#[test]
fn method_of_a_parameter_struct() {
    insta::assert_snapshot!(expand_pretty(
        quote!(wrt(self)),
        quote! {
            pub fn loss(&self, x: &DMatrix<f32>, labels: &[usize]) -> f32 {
                let h = relu(&self.hidden.apply(x));
                let logits = &self.out.w * &h;
                cross_entropy(&logits, labels) + self.decay * self.out.w.norm_squared()
            }
        }
    ));
}

/// An iterator chain is the loop a person would write: no closure, no iterator object;
/// the pullback records nothing (both arrays are read again).
#[test]
fn iterator_chain_is_a_loop() {
    insta::assert_snapshot!(expand_pretty(
        quote!(),
        quote! {
            fn dot(w: &[f64], x: &[f64]) -> f64 {
                w.iter().zip(x).map(|(a, b)| a * b).sum::<f64>()
            }
        }
    ));
}

#[test]
fn output_parameter_written_in_place() {
    insta::assert_snapshot!(expand_pretty(
        quote!(),
        quote! {
            fn scaled(x: &[f64], k: f64, out: &mut [f64]) {
                for (o, &xi) in out.iter_mut().zip(x) {
                    *o = k * xi.sin();
                }
            }
        }
    ));
}

/// `jacobian(lanes = K)`: `f_jacobian` seeds and sweeps K columns at a time.
#[test]
fn jacobian_lanes_set_the_sweep_width() {
    let item = quote! {
        pub fn scale(x: &[f64], s: f64) -> Vec<f64> {
            x.iter().map(|v| v * s).collect()
        }
    };
    let bare = |code: String| code.split_whitespace().collect::<String>();
    let code = bare(expand_pretty(quote!(jacobian(lanes = 5)), item.clone()));
    assert!(code.contains("scale_jvp_lanes::<5"), "{code}");
    assert!(code.contains("5columnsasweep"), "{code}");
    let code = bare(expand_pretty(quote!(jacobian), item));
    assert!(code.contains("scale_jvp_lanes::<8"), "{code}");
}
