//! Matrix and vector code through `#[differentiable]`: every matrix rule at several shapes
//! (1×1, 1×n, n×1, rectangular, square where the operation needs it) against central
//! finite differences, forward mode against reverse mode (the dot-product test), and
//! the value of all three generated functions against the primal.

mod common;

use autodiff::differentiable;
use autodiff::gradcheck::{check_gradient, Tolerance};
use autodiff::nalgebra::{DMatrix, DVector, Matrix3, RowDVector, SMatrix, Vector3};
use autodiff::Differentiable;
use common::objects::{check, Numbers};

/// The shapes each binary rule is checked at (7×9 takes the blocked-GEMM path).
const SHAPES: &[(usize, usize)] = &[(1, 1), (1, 4), (4, 1), (3, 5), (5, 2), (7, 9)];

#[differentiable]
fn matmul(a: &DMatrix<f64>, b: &DMatrix<f64>) -> f64 {
    let c = a * b;
    c.norm_squared()
}

#[differentiable]
fn transpose_product(a: &DMatrix<f64>, b: &DMatrix<f64>) -> f64 {
    (a.transpose() * b).sum() + (b.transpose() * a).mean()
}

#[differentiable]
fn elementwise(a: &DMatrix<f64>, b: &DMatrix<f64>) -> f64 {
    let p = a.component_mul(b);
    let q = a.component_div(b);
    p.dot(&q) + (a + b).norm() - (a - b).sum() + (-a).mean()
}

#[differentiable]
fn scaling(a: &DMatrix<f64>, s: f64) -> f64 {
    let left = s * a;
    let right = a * s;
    let over = a / s;
    left.dot(&right) + over.sum() + (&left - a * 2.0).norm_squared()
}

#[differentiable]
fn square(m: &DMatrix<f64>) -> f64 {
    let m2 = m * m;
    m2.trace() + m.transpose().trace() * m.norm()
}

#[differentiable]
fn outer(x: &DVector<f64>, y: &DVector<f64>, w: &DMatrix<f64>) -> f64 {
    (x * y.transpose()).component_mul(w).sum() + (w * y).dot(x)
}

#[differentiable]
fn by_value(a: DMatrix<f64>, b: DMatrix<f64>) -> f64 {
    let c = a.clone() + b;
    c.dot(&a)
}

#[test]
fn matrix_rules_at_every_shape() {
    let mut n = Numbers(7);
    for &(r, c) in SHAPES {
        let (a, b) = (n.matrix(r, c), n.matrix(c, r + 1));
        check(
            "matmul",
            &(a.clone(), b),
            |(a, b)| matmul(a, b),
            |(a, b)| matmul_grad(a, b),
            |(a, b), (ta, tb)| matmul_jvp(a, b, ta, tb),
            &mut n,
        );
        let b = n.matrix(r, c + 1);
        check(
            "transpose_product",
            &(a.clone(), b),
            |(a, b)| transpose_product(a, b),
            |(a, b)| transpose_product_grad(a, b),
            |(a, b), (ta, tb)| transpose_product_jvp(a, b, ta, tb),
            &mut n,
        );
        // Divisors away from zero.
        let b = n.matrix(r, c).map(|v| v.signum() * (1.0 + v.abs()));
        check(
            "elementwise",
            &(a.clone(), b.clone()),
            |(a, b)| elementwise(a, b),
            |(a, b)| elementwise_grad(a, b),
            |(a, b), (ta, tb)| elementwise_jvp(a, b, ta, tb),
            &mut n,
        );
        for s in [1.5, -0.75] {
            check(
                "scaling",
                &(a.clone(), s),
                |(a, s)| scaling(a, *s),
                |(a, s)| scaling_grad(a, *s),
                |(a, s), (ta, ts)| scaling_jvp(a, *s, ta, *ts),
                &mut n,
            );
        }
        check(
            "by_value",
            &(a.clone(), b.clone()),
            |(a, b)| by_value(a.clone(), b.clone()),
            |(a, b)| by_value_grad(a.clone(), b.clone()),
            |(a, b), (ta, tb)| by_value_jvp(a.clone(), b.clone(), ta.clone(), tb.clone()),
            &mut n,
        );
    }
}

#[test]
fn square_matrix_rules() {
    let mut n = Numbers(11);
    for size in [1, 2, 5] {
        let m = n.matrix(size, size);
        check("square", &m, square, square_grad, square_jvp, &mut n);
    }
}

#[test]
fn vectors_and_outer_products() {
    let mut n = Numbers(13);
    for (p, q) in [(1, 1), (1, 3), (4, 2)] {
        let x = DVector::from_fn(p, |_, _| n.next());
        let y = DVector::from_fn(q, |_, _| n.next());
        let w = n.matrix(p, q);
        check(
            "outer",
            &(x, y, w),
            |(x, y, w)| outer(x, y, w),
            |(x, y, w)| outer_grad(x, y, w),
            |(x, y, w), (tx, ty, tw)| outer_jvp(x, y, w, tx, ty, tw),
            &mut n,
        );
    }
}

#[differentiable]
fn fixed_size(v: &Vector3<f64>, m: &Matrix3<f64>) -> f64 {
    let w = m * v;
    w.norm()
        + m.trace()
        + (m.transpose() * m)
            .component_mul(&(v * v.transpose()))
            .sum()
}

#[test]
fn fixed_size_matrices() {
    let mut n = Numbers(17);
    let v = Vector3::new(0.5, -1.0, 2.0);
    let m = SMatrix::<f64, 3, 3>::from_fn(|_, _| n.next());
    check(
        "fixed_size",
        &(v, m),
        |(v, m)| fixed_size(v, m),
        |(v, m)| fixed_size_grad(v, m),
        |(v, m), (tv, tm)| fixed_size_jvp(v, m, tv, tm),
        &mut n,
    );
}

/// A vector-valued function: its pullback takes the cotangent vector and its `_jvp`
/// returns the tangent vector.
#[differentiable]
fn affine(a: &DMatrix<f64>, x: &DVector<f64>, b: &DVector<f64>) -> DVector<f64> {
    a * x + b
}

#[test]
fn vector_result() {
    let mut n = Numbers(19);
    let (a, x, b) = (
        n.matrix(3, 4),
        DVector::from_fn(4, |_, _| n.next()),
        DVector::from_fn(3, |_, _| n.next()),
    );
    let p = (a, x, b);
    let ybar = DVector::from_fn(3, |_, _| n.next());
    // ⟨f(p), ȳ⟩ is a scalar function whose gradient is the pullback of ȳ.
    let (y, pullback) = affine_vjp(&p.0, &p.1, &p.2);
    assert_eq!(y, affine(&p.0, &p.1, &p.2));
    let g = pullback(ybar.clone());
    let at = |x: &[f64]| {
        let mut q = p.clone();
        q.set_flat(x);
        affine(&q.0, &q.1, &q.2).dot(&ybar)
    };
    check_gradient(at, &g.to_flat(), &p.to_flat(), Tolerance::F64).unwrap();
    let t = n.like(&p);
    let (y2, dy) = affine_jvp(&p.0, &p.1, &p.2, &t.0, &t.1, &t.2);
    assert_eq!(y2, y);
    assert!(Tolerance::F64.agrees(dy.dot(&ybar), g.inner(&t)));
}

#[differentiable]
fn row_vectors(r: &RowDVector<f64>, m: &DMatrix<f64>) -> f64 {
    (r * m).norm_squared()
}

#[test]
fn row_vector_times_matrix() {
    let mut n = Numbers(23);
    let r = RowDVector::from_fn(3, |_, _| n.next());
    let m = n.matrix(3, 2);
    check(
        "row_vectors",
        &(r, m),
        |(r, m)| row_vectors(r, m),
        |(r, m)| row_vectors_grad(r, m),
        |(r, m), (tr, tm)| row_vectors_jvp(r, m, tr, tm),
        &mut n,
    );
}

#[differentiable]
fn elements(v: &Vector3<f64>, m: &DMatrix<f64>, k: f64) -> f64 {
    let w = Vector3::new(v[2] * k, v[0] - m[(1, 0)], k * k);
    let mut s = 0.0;
    for i in 0..m.nrows() {
        for j in 0..m.ncols() {
            s += m[(i, j)] * (i + j) as f64;
        }
    }
    let local = m * 2.0;
    w.norm_squared()
        + s
        + local[(0, 1)] * v[1]
        + Matrix3::new(k, 0.0, 0.0, 0.0, k, 0.0, v[0], 0.0, k).trace()
}

#[test]
fn element_reads_and_constructors() {
    let mut n = Numbers(29);
    let v = Vector3::new(0.3, -0.8, 1.1);
    let m = n.matrix(3, 2);
    for k in [0.0, -1.5, 2.0] {
        check(
            "elements",
            &(v, m.clone(), k),
            |(v, m, k)| elements(v, m, *k),
            |(v, m, k)| elements_grad(v, m, *k),
            |(v, m, k), (tv, tm, tk)| elements_jvp(v, m, *k, tv, tm, *tk),
            &mut n,
        );
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    /// Random shapes and values: products, transposes and element-wise rules.
    #[test]
    fn random_shapes(r in 1usize..8, c in 1usize..8, k in 1usize..8, seed in 0u64..1 << 40) {
        let mut n = Numbers(seed);
        let (a, b) = (n.matrix(r, c), n.matrix(c, k));
        check(
            "matmul",
            &(a.clone(), b),
            |(a, b)| matmul(a, b),
            |(a, b)| matmul_grad(a, b),
            |(a, b), (ta, tb)| matmul_jvp(a, b, ta, tb),
            &mut n,
        );
        let b = n.matrix(r, k);
        check(
            "transpose_product",
            &(a.clone(), b),
            |(a, b)| transpose_product(a, b),
            |(a, b)| transpose_product_grad(a, b),
            |(a, b), (ta, tb)| transpose_product_jvp(a, b, ta, tb),
            &mut n,
        );
        let b = n.matrix(r, c).map(|v| v.signum() * (1.0 + v.abs()));
        check(
            "elementwise",
            &(a, b),
            |(a, b)| elementwise(a, b),
            |(a, b)| elementwise_grad(a, b),
            |(a, b), (ta, tb)| elementwise_jvp(a, b, ta, tb),
            &mut n,
        );
    }
}

/// `map` with a scalar closure, differentiated element by element (with a branch and a
/// kink inside the closure).
#[differentiable]
fn mapped(m: &DMatrix<f64>, s: f64) -> f64 {
    let smooth = m.map(|v| (v * 2.0).sin() + v.powi(3) / 3.0);
    let clipped = m.map(|v: f64| if v > 0.25 { v.ln_1p() } else { 0.5 * v });
    smooth.sum() * s + clipped.component_mul(m).norm_squared()
}

#[test]
fn map_with_a_closure() {
    let mut n = Numbers(31);
    for &(r, c) in SHAPES {
        let m = n.matrix(r, c);
        check(
            "mapped",
            &(m, -0.6),
            |(m, s)| mapped(m, *s),
            |(m, s)| mapped_grad(m, *s),
            |(m, s), (tm, ts)| mapped_jvp(m, *s, tm, *ts),
            &mut n,
        );
    }
}

/// `map` closures that capture locals: an active float (`s`, `shift` computed from it),
/// an integer, a float written in a loop before (captured as it is then).
#[differentiable]
fn mapped_with_captures(m: &DMatrix<f64>, s: f64, k: usize) -> f64 {
    let shift = s * s - 0.5;
    let mut scale = 1.0;
    for _ in 0..k {
        scale *= 1.0 + 0.1 * s;
    }
    let a = m.map(|v| (v * s).sin() + shift * v * v + k as f64);
    let b = a.map(|v| scale * v.tanh());
    // A float computed from a matrix, declared as one so that the closure may capture it.
    let mean: f64 = m.sum() / 4.0;
    a.component_mul(&b).sum() + m.map(|v| (v - mean) * shift).norm_squared()
}

/// A `map` in a loop capturing the loop index and a carried float (rustc rejected the
/// index's tangent before: an integer is not known to be one where the closure is lowered).
#[differentiable]
fn mapped_in_a_loop(m: &DMatrix<f64>, s: f64) -> f64 {
    let mut acc = 0.0;
    let mut t = s;
    for i in 0..3 {
        let y = m.map(|v| (v * t).tanh() + i as f64 * v);
        acc += y.sum() * t;
        t = t * 0.5 + acc * 0.01;
    }
    acc
}

/// `zip_map` of two matrices (and of one with itself), capturing an active float.
#[differentiable]
fn zipped(a: &DMatrix<f64>, b: &DMatrix<f64>, s: f64) -> f64 {
    let c = a.zip_map(b, |x, y| (x * y).sin() + s * x - y * y);
    let d = c.zip_map(a, |p, q| p * q.tanh());
    d.sum() + a.zip_map(a, |x, y| x * y * s).sum()
}

#[test]
fn zip_map_closures() {
    let mut n = Numbers(41);
    for &(r, c) in SHAPES {
        let (a, b) = (n.matrix(r, c), n.matrix(r, c));
        for s in [0.0, -0.6, 1.3] {
            check(
                "zipped",
                &(a.clone(), b.clone(), s),
                |(a, b, s)| zipped(a, b, *s),
                |(a, b, s)| zipped_grad(a, b, *s),
                |(a, b, s), (ta, tb, ts)| zipped_jvp(a, b, *s, ta, tb, *ts),
                &mut n,
            );
        }
    }
}

#[test]
fn map_closures_capturing_locals() {
    let mut n = Numbers(37);
    for &(r, c) in SHAPES {
        let m = n.matrix(r, c);
        for s in [0.0, -0.6, 1.3] {
            check(
                "mapped_with_captures",
                &(m.clone(), s),
                |(m, s)| mapped_with_captures(m, *s, 3),
                |(m, s)| mapped_with_captures_grad(m, *s, 3),
                |(m, s), (tm, ts)| mapped_with_captures_jvp(m, *s, 3, tm, *ts),
                &mut n,
            );
            check(
                "mapped_in_a_loop",
                &(m.clone(), s),
                |(m, s)| mapped_in_a_loop(m, *s),
                |(m, s)| mapped_in_a_loop_grad(m, *s),
                |(m, s), (tm, ts)| mapped_in_a_loop_jvp(m, *s, tm, *ts),
                &mut n,
            );
        }
    }
}

#[differentiable]
fn mapped_single(m: &DMatrix<f32>) -> f32 {
    m.map(|v| v * v * 0.5 + 1.0).sum()
}

#[test]
fn map_over_f32() {
    let m = DMatrix::from_row_slice(2, 2, &[1.0f32, -2.0, 0.5, 3.0]);
    let (_, g) = mapped_single_grad(&m);
    assert_eq!(g, m);
}
