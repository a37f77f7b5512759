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

corpus! {
    settled_then_read_in_loops {
        // Filled once, then only read: the adjoint reads it again instead of a tape.
        #[differentiable]
        pub fn f(x: f64, y: f64) -> f64 {
            let mut w = vec![0.0; 4];
            for j in 0..4 {
                w[j] = (x * j as f64 - y).exp();
            }
            let mut total = 0.0;
            for i in 0..3 {
                let t = y + i as f64 * x;
                for j in 0..w.len() {
                    total += w[j] * (t - w[j]).sin();
                }
            }
            total + w.iter().sum::<f64>()
        }
    }
    read_then_overwritten {
        // Read between two fillings: the first reads must come from the tape.
        #[differentiable]
        pub fn f(x: f64, y: f64) -> f64 {
            let mut w = vec![0.0; 3];
            for j in 0..3 {
                w[j] = x * j as f64 + y;
            }
            let mut total = 0.0;
            for j in 0..3 {
                total += w[j] * w[j] * x;
            }
            for j in 0..3 {
                w[j] = (w[j] * y).sin();
            }
            for j in 0..3 {
                total += w[j] * x;
            }
            total
        }
    }
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
    while_loop_over_an_array {
        // A `while` loop that carries an array it writes (the array moves out of the loop
        // when the condition fails).
        #[differentiable]
        pub fn f(x: f64, y: f64) -> f64 {
            let mut p = vec![0.0; 5];
            let mut k = 0;
            let mut more = true;
            while more {
                p[k] = (x * k as f64 + y).sin();
                if k > 0 {
                    p[k] += 0.5 * p[k - 1];
                }
                k += 1;
                more = k < 5;
            }
            p[4] * p[2] + p[0]
        }
    }
    written_in_a_branch {
        // An array written in one branch only, outside any loop: the other branch's
        // tangent of it is a zero of its shape.
        #[differentiable]
        pub fn f(x: f64, y: f64) -> f64 {
            let mut g = vec![0.0; 2];
            g[0] = y;
            if x > 0.5 {
                g[0] = x * y;
                g[1] = x.sin();
            }
            g[0] * g[0] + g[1]
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
    // The next four decide whether a loop's adjoint may run forwards (`reverse::order`):
    // only when no iteration takes an element's cotangent another iteration touches.
    last_write_wins {
        // Every iteration overwrites element 0: only the last write reaches the result.
        #[differentiable]
        pub fn f(x: f64, y: f64) -> f64 {
            let mut buf = vec![0.0; 2];
            for i in 0..4 {
                buf[0] = x * i as f64 + y * y;
            }
            buf[0] * x + buf[1]
        }
    }
    halves_overwritten {
        // Two iterations write each element; the second one's value stays.
        #[differentiable]
        pub fn f(x: f64, y: f64) -> f64 {
            let mut buf = vec![0.0; 3];
            for i in 0..6 {
                buf[i / 2] = (x + i as f64).sin() * y;
            }
            buf[0] + 2.0 * buf[1] + 3.0 * buf[2]
        }
    }
    cycled_updates {
        // Each element updated in place every third iteration: a recurrence per element.
        #[differentiable]
        pub fn f(x: f64, y: f64) -> f64 {
            let mut buf = vec![1.0; 3];
            for i in 0..7 {
                buf[i % 3] = buf[i % 3] * (x + 0.1 * i as f64) + y;
            }
            buf[0] * buf[1] - buf[2]
        }
    }
    own_element_in_place {
        // Each iteration reads and writes its own element: the adjoint runs forwards.
        #[differentiable]
        pub fn f(x: f64, y: f64) -> f64 {
            let mut u = vec![x, y, x * y, x - y];
            for i in 0..4 {
                u[i] = u[i] * (x + i as f64) - y;
            }
            u.iter().map(|v| v * v).sum()
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
        case!(while_loop_over_an_array(x, y | dx, dy)),
        case!(written_in_a_branch(x, y | dx, dy)),
        case!(settled_then_read_in_loops(x, y | dx, dy)),
        case!(read_then_overwritten(x, y | dx, dy)),
        case!(last_write_wins(x, y | dx, dy)),
        case!(halves_overwritten(x, y | dx, dy)),
        case!(cycled_updates(x, y | dx, dy)),
        case!(own_element_in_place(x, y | dx, dy)),
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

mod returns_vec {
    use super::*;

    /// The state of a damped oscillator after `steps` explicit Euler steps: a vector result.
    #[differentiable]
    pub fn f(x0: f64, v0: f64, k: f64, steps: usize) -> Vec<f64> {
        let mut s = vec![0.0; 2];
        s[0] = x0;
        s[1] = v0;
        let h = 0.01;
        for _ in 0..steps {
            let x = s[0];
            let v = s[1];
            s[0] = x + h * v;
            s[1] = v - h * (k * x + 0.1 * v);
        }
        s
    }
}

mod returns_array {
    use super::*;

    /// Spherical to Cartesian coordinates: an array result.
    #[differentiable]
    pub fn f(r: f64, theta: f64, phi: f64) -> [f64; 3] {
        let mut p = [0.0; 3];
        p[0] = r * theta.sin() * phi.cos();
        p[1] = r * theta.sin() * phi.sin();
        p[2] = r * theta.cos();
        p
    }
}

#[test]
fn vector_results_pullback_and_tangent() {
    use autodiff::gradcheck::{dot_product_test, finite_difference, Tolerance};
    // Each Jacobian row from the pullback matches finite differences of that component.
    let x = [0.8, -0.3, 2.0];
    let jac_rows: Vec<(f64, f64, f64)> = (0..2)
        .map(|i| {
            let mut seed = vec![0.0; 2];
            seed[i] = 1.0;
            let (_, pullback) = returns_vec::f_vjp(x[0], x[1], x[2], 50);
            pullback(seed)
        })
        .collect();
    for (i, row) in jac_rows.iter().enumerate() {
        let fd = finite_difference(|v| returns_vec::f(v[0], v[1], v[2], 50)[i], &x, 1e-5);
        let row = [row.0, row.1, row.2];
        for j in 0..3 {
            assert!(
                Tolerance::F64.agrees(row[j], fd[j]),
                "J[{i}][{j}] = {} vs {}",
                row[j],
                fd[j]
            );
        }
    }
    // Forward and reverse agree (dot-product test), and the value is the function's.
    let dx = [0.3, -1.1, 0.7];
    let ybar = [1.5, -0.4];
    let (value, tangent) = returns_vec::f_jvp(x[0], x[1], x[2], 50, dx[0], dx[1], dx[2]);
    assert_eq!(value, returns_vec::f(x[0], x[1], x[2], 50));
    dot_product_test(
        |_| tangent.clone(),
        |d| {
            let (_, pullback) = returns_vec::f_vjp(x[0], x[1], x[2], 50);
            let (a, b, c) = pullback(d.to_vec());
            vec![a, b, c]
        },
        &dx,
        &ybar,
        Tolerance::F64,
    )
    .unwrap();
    // A fixed-size array result: its cotangent is an array too.
    let (p, pullback) = returns_array::f_vjp(2.0, 0.5, 1.0);
    assert_eq!(p, returns_array::f(2.0, 0.5, 1.0));
    let (dr, _, _) = pullback([0.0, 0.0, 1.0]);
    assert!((dr - 0.5_f64.cos()).abs() < 1e-15);
    let (_, t) = returns_array::f_jvp(2.0, 0.5, 1.0, 1.0, 0.0, 0.0);
    assert!((t[2] - 0.5_f64.cos()).abs() < 1e-15);
}

mod pushed {
    use super::*;

    /// Builds a `Vec` with `push` (the pullback's cotangent grows with it), then reads it.
    #[differentiable]
    pub fn f(x: f64, y: f64) -> f64 {
        let mut v = Vec::with_capacity(5);
        for i in 0..5 {
            v.push((x * i as f64).sin() + y);
        }
        let mut w = Vec::new();
        for i in 0..5 {
            w.push(v[4 - i] * v[i]);
        }
        let mut s = 0.0;
        for i in 0..w.len() {
            s += w[i] * (i as f64 + 1.0);
        }
        s
    }
}

#[test]
fn vectors_built_by_push() {
    check_at(
        &case!(pushed(x, y | dx, dy)),
        &[&[0.3, 0.7], &[1.1, -0.4], &[-0.6, 1.4]],
    );
}
