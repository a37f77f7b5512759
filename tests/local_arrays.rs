//! Local arrays written in place (`vec![0.0; n]`, `[0.0; N]`, `buf[i] = ..`, `buf[i] += ..`),
//! checked in all three modes against finite differences and each other.

// The corpus spells constructs out on purpose.
#![allow(
    clippy::needless_range_loop,
    clippy::manual_memcpy,
    clippy::manual_swap,
    clippy::useless_vec
)]

mod common;

use autodiff::differentiable;
use common::check_at;

macro_rules! corpus {
    ($($m:ident { $($item:item)* })*) => {
        $(mod $m {
            #[allow(unused_imports)]
            use super::*;
            $($item)*
        })*
    };
}

corpus! {
    cumulative_sum {
        // Prefix sums in place, then a weighted sum of them.
        #[differentiable]
        pub fn f(x: f64, y: f64) -> f64 {
            let mut c = vec![0.0; 6];
            for i in 0..6 {
                c[i] = (x * i as f64 + y).sin();
            }
            for i in 1..6 {
                c[i] += c[i - 1];
            }
            let mut s = 0.0;
            for i in 0..6 {
                s += c[i] * c[i] * (i as f64 + 1.0);
            }
            s
        }
    }
    fixed_buffer {
        #[differentiable]
        pub fn f(x: f64, y: f64) -> f64 {
            let mut b = [0.0; 3];
            b[0] = x * y;
            b[1] = b[0].exp() - y;
            b[2] = b[1] * b[0];
            b[0] = b[2].tanh();
            b[0] + b[1] * b[2]
        }
    }
    bubble_sort {
        // Sorts the values x·sin(k + y) with data-dependent swaps, then weights them by rank.
        #[differentiable]
        pub fn f(x: f64, y: f64) -> f64 {
            let n = 6;
            let mut v = vec![0.0; n];
            for k in 0..n {
                v[k] = x * (k as f64 + y).sin();
            }
            for i in 0..n {
                for j in 0..n - 1 - i {
                    if v[j] > v[j + 1] {
                        let t = v[j];
                        v[j] = v[j + 1];
                        v[j + 1] = t;
                    }
                }
            }
            let mut s = 0.0;
            for k in 0..n {
                s += v[k] * (k as f64 + 1.0);
            }
            s
        }
    }
    recurrent_state {
        // A two-unit recurrent state updated from its old values over a sequence.
        #[differentiable]
        pub fn f(w: f64, u: f64) -> f64 {
            let mut h = vec![0.0; 2];
            for t in 0..8 {
                let xt = (t as f64 * 0.5).cos();
                let a = (w * h[0] + u * h[1] + xt).tanh();
                let b = (u * h[0] - w * h[1] + 0.5 * xt).tanh();
                h[0] = a;
                h[1] = b;
            }
            h[0] * h[1] + h[0]
        }
    }
    matrix_vector {
        // y = A·x with A from a slice, then ‖y‖²; a local output vector.
        #[differentiable(wrt(a, x))]
        pub fn f(a: &[f64], x: &[f64], m: usize) -> f64 {
            let n = x.len();
            let mut y = vec![0.0; m];
            for i in 0..m {
                for j in 0..n {
                    y[i] += a[i * n + j] * x[j];
                }
            }
            let mut s = 0.0;
            for i in 0..m {
                s += y[i] * y[i];
            }
            s
        }
    }
    write_in_branch {
        #[differentiable]
        pub fn f(x: f64, y: f64) -> f64 {
            let mut b = vec![1.0; 4];
            for i in 0..4 {
                if (x + i as f64) > 1.0 {
                    b[i] = x * b[i] + y;
                } else {
                    b[i] = y.exp() * x;
                }
            }
            b[0] * b[1] + b[2] * b[3]
        }
    }
}

#[test]
fn local_arrays() {
    let pts: &[&[f64]] = &[&[0.3, 0.7], &[1.1, -0.4], &[-0.6, 1.4]];
    for case in [
        case!(cumulative_sum(x, y | dx, dy)),
        case!(fixed_buffer(x, y | dx, dy)),
        case!(bubble_sort(x, y | dx, dy)),
        case!(recurrent_state(x, y | dx, dy)),
        case!(write_in_branch(x, y | dx, dy)),
    ] {
        check_at(&case, pts);
    }
}

#[test]
fn local_output_vector() {
    let (m, n) = (3, 4);
    let a: Vec<f64> = (0..m * n).map(|i| (i as f64 * 0.7).sin()).collect();
    let x: Vec<f64> = (0..n).map(|i| (i as f64 * 1.3).cos()).collect();
    let (value, (ga, gx)) = matrix_vector::f_grad(&a, &x, m);
    assert_eq!(value, matrix_vector::f(&a, &x, m));
    // ∂‖Ax‖²/∂x = 2Aᵀy, ∂/∂A = 2 y xᵀ.
    let y: Vec<f64> = (0..m)
        .map(|i| (0..n).map(|j| a[i * n + j] * x[j]).sum())
        .collect();
    for j in 0..n {
        let expected: f64 = (0..m).map(|i| 2.0 * a[i * n + j] * y[i]).sum();
        assert!((gx[j] - expected).abs() < 1e-12);
    }
    for i in 0..m {
        for j in 0..n {
            assert!((ga[i * n + j] - 2.0 * y[i] * x[j]).abs() < 1e-12);
        }
    }
    let dx = vec![1.0, 0.0, 0.0, 0.0];
    let (_, t) = matrix_vector::f_jvp(&a, &x, m, &vec![0.0; m * n], &dx);
    assert!((t - gx[0]).abs() < 1e-12);
}
