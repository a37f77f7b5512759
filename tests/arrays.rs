//! Active slices, arrays and `Vec`s, read in loops: gradients are owned arrays of the same
//! length. Each function is checked against central finite differences, and forward mode
//! against reverse mode (`check_flat`).

// The corpus spells constructs out on purpose.
#![allow(clippy::ptr_arg, clippy::needless_range_loop)]

mod common;

use autodiff::differentiable;
use autodiff::gradcheck::Tolerance;
use common::check_flat;

fn sample(n: usize, seed: f64) -> Vec<f64> {
    (0..n)
        .map(|i| ((i as f64 + 1.0) * seed).sin() * 1.5)
        .collect()
}

#[differentiable]
fn dot(x: &[f64], y: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        s += x[i] * y[i];
    }
    s
}

#[test]
fn dot_product() {
    let n = 6;
    let split = |v: &[f64]| (v[..n].to_vec(), v[n..].to_vec());
    check_flat(
        "dot",
        |v| {
            let (x, y) = split(v);
            dot(&x, &y)
        },
        |v| {
            let (x, y) = split(v);
            let (value, (gx, gy)) = dot_grad(&x, &y);
            (value, [gx, gy].concat())
        },
        |v, t| {
            let ((x, y), (dx, dy)) = (split(v), split(t));
            dot_jvp(&x, &y, &dx, &dy)
        },
        &[sample(n, 0.7), sample(n, 1.3)].concat(),
        Tolerance::F64,
    );
    // The gradient of x·y is (y, x), exactly.
    let (x, y) = (sample(4, 0.3), sample(4, 2.1));
    assert_eq!(dot_grad(&x, &y).1, (y.clone(), x.clone()));
}

#[differentiable]
fn horner(coeffs: &[f64], x: f64) -> f64 {
    let mut s = 0.0;
    for i in (0..coeffs.len()).rev() {
        s = s * x + coeffs[i];
    }
    s
}

#[differentiable]
fn squares(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for v in x.iter() {
        s += *v * *v;
    }
    s
}

#[differentiable]
fn weighted_by_position(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for (i, &v) in x.iter().enumerate() {
        s += (v * (i as f64 + 1.0)).sin();
    }
    s
}

#[differentiable]
fn norm3(p: &[f64; 3]) -> f64 {
    (p[0] * p[0] + p[1] * p[1] + p[2] * p[2]).sqrt()
}

#[differentiable]
fn mean_of_vec(v: Vec<f64>) -> f64 {
    let mut s = 0.0;
    for i in 0..v.len() {
        s += v[i].exp();
    }
    s / v.len() as f64
}

#[differentiable]
fn energy(v: &Vec<f64>) -> f64 {
    let mut e = 0.0;
    for i in 1..v.len() {
        let d = v[i] - v[i - 1];
        e += d * d;
    }
    e
}

#[differentiable]
fn gather(x: &[f64], idx: &[usize]) -> f64 {
    let mut s = 0.0;
    for k in 0..idx.len() {
        s += x[idx[k]].sin() * (k as f64 + 1.0);
    }
    s
}

#[differentiable]
fn logsumexp(x: &[f64]) -> f64 {
    let mut m = f64::NEG_INFINITY;
    for i in 0..x.len() {
        m = m.max(x[i]);
    }
    let mut s = 0.0;
    for i in 0..x.len() {
        s += (x[i] - m).exp();
    }
    m + s.ln()
}

/// A dense layer `y = tanh(W·x + b)` written with loops, and the loss `Σ y²`; `W` is
/// row-major `m × n`. The input `x` is data: not differentiated.
#[differentiable(wrt(w, b))]
fn layer_loss(w: &[f64], b: &[f64], x: &[f64], m: usize) -> f64 {
    let n = x.len();
    let mut loss = 0.0;
    for j in 0..m {
        let mut z = b[j];
        for i in 0..n {
            z += w[j * n + i] * x[i];
        }
        let y = z.tanh();
        loss += y * y;
    }
    loss
}

#[differentiable]
fn trace_of_product(a: &[f64], b: &[f64], n: usize) -> f64 {
    let mut t = 0.0;
    for i in 0..n {
        for k in 0..n {
            t += a[i * n + k] * b[k * n + i];
        }
    }
    t
}

#[differentiable]
fn until_threshold(x: &[f64], limit: f64) -> f64 {
    let mut s = 0.0;
    let mut i = 0;
    while i < x.len() && s < limit {
        s += x[i] * x[i];
        i += 1;
    }
    s * limit
}

#[differentiable]
fn single_precision(x: &[f32], a: f32) -> f32 {
    let mut s = 0.0;
    for i in 0..x.len() {
        s += (x[i] * a).sin();
    }
    s
}

/// Splits a flat vector into a slice and a trailing scalar.
fn with_scalar(v: &[f64]) -> (Vec<f64>, f64) {
    (v[..v.len() - 1].to_vec(), v[v.len() - 1])
}

#[test]
fn slice_and_scalar() {
    let x = [sample(5, 0.9), vec![0.7]].concat();
    check_flat(
        "horner",
        |v| {
            let (c, x) = with_scalar(v);
            horner(&c, x)
        },
        |v| {
            let (c, x) = with_scalar(v);
            let (value, (gc, gx)) = horner_grad(&c, x);
            (value, [gc, vec![gx]].concat())
        },
        |v, t| {
            let ((c, x), (dc, dx)) = (with_scalar(v), with_scalar(t));
            horner_jvp(&c, x, &dc, dx)
        },
        &x,
        Tolerance::F64,
    );
    let x = [sample(7, 0.4), vec![2.0]].concat();
    check_flat(
        "until_threshold",
        |v| {
            let (c, l) = with_scalar(v);
            until_threshold(&c, l)
        },
        |v| {
            let (c, l) = with_scalar(v);
            let (value, (gc, gl)) = until_threshold_grad(&c, l);
            (value, [gc, vec![gl]].concat())
        },
        |v, t| {
            let ((c, l), (dc, dl)) = (with_scalar(v), with_scalar(t));
            until_threshold_jvp(&c, l, &dc, dl)
        },
        &x,
        Tolerance::F64,
    );
}

#[test]
fn one_slice() {
    type Fns = (
        fn(&[f64]) -> f64,
        fn(&[f64]) -> (f64, Vec<f64>),
        fn(&[f64], &[f64]) -> (f64, f64),
    );
    let cases: [(&str, Fns); 4] = [
        ("squares", (squares, squares_grad, squares_jvp)),
        (
            "weighted_by_position",
            (
                weighted_by_position,
                weighted_by_position_grad,
                weighted_by_position_jvp,
            ),
        ),
        ("logsumexp", (logsumexp, logsumexp_grad, logsumexp_jvp)),
        (
            "gather",
            (
                |x| gather(x, &[0, 3, 3, 1, 4]),
                |x| gather_grad(x, &[0, 3, 3, 1, 4]),
                |x, t| gather_jvp(x, &[0, 3, 3, 1, 4], t),
            ),
        ),
    ];
    for (name, (f, grad, jvp)) in cases {
        for seed in [0.3, 1.7] {
            check_flat(name, f, grad, jvp, &sample(5, seed), Tolerance::F64);
        }
        check_flat(
            name,
            f,
            grad,
            jvp,
            &[0.0, -1.0, 2.0, -0.5, 0.25],
            Tolerance::F64,
        );
    }
    // An empty slice: zero-length gradient.
    assert_eq!(squares_grad(&[]), (0.0, vec![]));
}

#[test]
fn arrays_and_vecs() {
    let p = [1.0, -2.0, 0.5];
    let (value, g) = norm3_grad(&p);
    assert_eq!(value, norm3(&p));
    let r = value;
    let expected: [f64; 3] = [p[0] / r, p[1] / r, p[2] / r];
    for i in 0..3 {
        assert!((g[i] - expected[i]).abs() < 1e-15);
    }
    let v = sample(6, 0.8);
    check_flat(
        "mean_of_vec",
        |x| mean_of_vec(x.to_vec()),
        |x| mean_of_vec_grad(x.to_vec()),
        |x, t| mean_of_vec_jvp(x.to_vec(), t.to_vec()),
        &v,
        Tolerance::F64,
    );
    check_flat(
        "energy",
        |x| energy(&x.to_vec()),
        |x| energy_grad(&x.to_vec()),
        |x, t| energy_jvp(&x.to_vec(), &t.to_vec()),
        &v,
        Tolerance::F64,
    );
}

#[test]
fn dense_layer_and_matrix_loops() {
    let (m, n) = (3, 4);
    let x = sample(n, 2.3);
    let split = |v: &[f64]| (v[..m * n].to_vec(), v[m * n..].to_vec());
    let params = [sample(m * n, 0.45), sample(m, 1.1)].concat();
    check_flat(
        "layer_loss",
        |v| {
            let (w, b) = split(v);
            layer_loss(&w, &b, &x, m)
        },
        |v| {
            let (w, b) = split(v);
            let (value, (gw, gb)) = layer_loss_grad(&w, &b, &x, m);
            (value, [gw, gb].concat())
        },
        |v, t| {
            let ((w, b), (dw, db)) = (split(v), split(t));
            layer_loss_jvp(&w, &b, &x, m, &dw, &db)
        },
        &params,
        Tolerance::F64,
    );
    let n = 3;
    let split = |v: &[f64]| (v[..n * n].to_vec(), v[n * n..].to_vec());
    // d tr(AB)/dA = Bᵀ.
    let (a, b) = (sample(9, 0.6), sample(9, 1.9));
    let (_, (ga, gb)) = trace_of_product_grad(&a, &b, n);
    for i in 0..n {
        for k in 0..n {
            assert_eq!(ga[i * n + k], b[k * n + i]);
            assert_eq!(gb[k * n + i], a[i * n + k]);
        }
    }
    check_flat(
        "trace_of_product",
        |v| {
            let (a, b) = split(v);
            trace_of_product(&a, &b, n)
        },
        |v| {
            let (a, b) = split(v);
            let (value, (ga, gb)) = trace_of_product_grad(&a, &b, n);
            (value, [ga, gb].concat())
        },
        |v, t| {
            let ((a, b), (da, db)) = (split(v), split(t));
            trace_of_product_jvp(&a, &b, n, &da, &db)
        },
        &[a, b].concat(),
        Tolerance::F64,
    );
}

#[test]
fn single_precision_slices() {
    let x: Vec<f32> = [0.3_f32, -1.2, 0.8].to_vec();
    let (value, (gx, ga)) = single_precision_grad(&x, 0.5);
    assert_eq!(value, single_precision(&x, 0.5));
    for i in 0..3 {
        assert!((gx[i] - 0.5 * (x[i] * 0.5).cos()).abs() < 1e-6);
    }
    let expected: f32 = x.iter().map(|v| v * (v * 0.5).cos()).sum();
    assert!((ga - expected).abs() < 1e-5);
    let (_, t) = single_precision_jvp(&x, 0.5, &[1.0, 0.0, 0.0], 0.0);
    assert!((t - gx[0]).abs() < 1e-6);
}
