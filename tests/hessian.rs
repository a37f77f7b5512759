//! `#[differentiable(hessian)]`: `f_hvp` and `f_hessian`, checked against central
//! differences of `f_grad`, against `nested`'s `f_dir_grad`, for symmetry, and `f_hvp`
//! against `f_hessian · d`, on functions written as users write them: loops over slices,
//! branches, fixed arrays, `Vec`s, nalgebra values, parameter structs, calls, `f32`.

use autodiff::nalgebra::{DMatrix, DVector};
use autodiff::{differentiable, Differentiable};
use proptest::prelude::*;

/// Central differences of a flattened gradient: column `j` is `(∇f(x + h eⱼ) −
/// ∇f(x − h eⱼ)) / 2h`.
fn fd_hessian(grad: &dyn Fn(&[f64]) -> Vec<f64>, x: &[f64]) -> DMatrix<f64> {
    let n = x.len();
    let mut h = DMatrix::zeros(n, n);
    for j in 0..n {
        let step = 1e-5 * x[j].abs().max(1.0);
        let (mut up, mut down) = (x.to_vec(), x.to_vec());
        up[j] += step;
        down[j] -= step;
        let (gu, gd) = (grad(&up), grad(&down));
        for i in 0..n {
            h[(i, j)] = (gu[i] - gd[i]) / (2.0 * step);
        }
    }
    h
}

/// `h` against differences of `grad` at `x`, to `tol` relative to the largest entry.
fn assert_hessian(h: &DMatrix<f64>, grad: &dyn Fn(&[f64]) -> Vec<f64>, x: &[f64], tol: f64) {
    let fd = fd_hessian(grad, x);
    let scale = fd.amax().max(1.0);
    let err = (h - &fd).amax();
    assert!(
        err <= tol * scale,
        "Hessian\n{h}differences\n{fd}error {err}"
    );
    assert!(
        (h - h.transpose()).amax() <= 1e-10 * scale,
        "not symmetric\n{h}"
    );
}

/// The Rosenbrock function in `n` dimensions, as a loop over a slice.
#[differentiable(hessian)]
pub fn rosenbrock(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() - 1 {
        let a = x[i + 1] - x[i] * x[i];
        let b = 1.0 - x[i];
        s += 100.0 * a * a + b * b;
    }
    s
}

#[test]
fn rosenbrock_has_its_known_hessian() {
    let x = [0.3, -0.7, 1.2, 0.0];
    let (v, g, h) = rosenbrock_hessian(&x);
    assert_eq!(v, rosenbrock(&x));
    assert_eq!(g, rosenbrock_grad(&x).1);
    // ∂²/∂xᵢ² = 2 − 400(xᵢ₊₁ − xᵢ²) + 800xᵢ² (+ 200 from the term before), ∂²/∂xᵢ∂xᵢ₊₁ = −400xᵢ
    for i in 0..4 {
        let mut d = if i > 0 { 200.0 } else { 0.0 };
        if i < 3 {
            d += 2.0 - 400.0 * (x[i + 1] - x[i] * x[i]) + 800.0 * x[i] * x[i];
            assert!((h[(i, i + 1)] + 400.0 * x[i]).abs() < 1e-10);
        }
        assert!((h[(i, i)] - d).abs() < 1e-10, "{i}: {} vs {d}", h[(i, i)]);
    }
    assert_eq!(h[(0, 2)], 0.0);
    assert_hessian(&h, &|x| rosenbrock_grad(x).1, &x, 1e-6);
}

/// Scalars, a branch, transcendental functions; the value at 0 and negative points.
#[differentiable(hessian)]
pub fn scalars(x: f64, y: f64, z: f64) -> f64 {
    let r = (x * x + y * y + 1.0).sqrt();
    let w = if x > y {
        (x * y).sin()
    } else {
        (x - y).exp() * z
    };
    w / r + z.powi(3) * x.tanh() + (y * z).atan2(1.5 + x * x)
}

#[test]
fn scalar_hessians_match_differences_and_nested() {
    // Off the branch's kink at x = y (where differences straddle the two sides).
    for p in [
        [0.0, 0.5, 0.0],
        [0.0, -0.5, 0.0],
        [0.4, -1.3, 0.8],
        [-2.0, 0.5, -0.3],
        [1.0, 0.2, 2.5],
    ] {
        let (v, g, h) = scalars_hessian(p[0], p[1], p[2]);
        assert_eq!(v, scalars(p[0], p[1], p[2]));
        let grad = |q: &[f64]| {
            let (_, g) = scalars_grad(q[0], q[1], q[2]);
            vec![g.0, g.1, g.2]
        };
        assert_eq!(vec![g.0, g.1, g.2], grad(&p));
        assert_hessian(&h, &grad, &p, 1e-6);
        // `nested`'s reverse over forward, along a direction, is the same product.
        let d = [0.3, -1.1, 0.6];
        let (_, hd) = scalars_dir_grad(p[0], p[1], p[2], d[0], d[1], d[2]);
        let (_, _, hv) = scalars_hvp(p[0], p[1], p[2], d[0], d[1], d[2]);
        let by_h = &h * DVector::from_column_slice(&d);
        for (k, (a, b)) in [(hv.0, hd.0), (hv.1, hd.1), (hv.2, hd.2)]
            .iter()
            .enumerate()
        {
            assert!((a - b).abs() < 1e-12, "{a} vs {b}");
            assert!((a - by_h[k]).abs() < 1e-10 * (1.0 + a.abs()));
        }
    }
}

/// A fixed array, a `Vec` by value, and an inactive integer.
#[differentiable(hessian)]
pub fn mixed(a: [f64; 3], v: Vec<f64>, k: usize) -> f64 {
    let mut acc = 0.0;
    for (i, x) in v.iter().enumerate() {
        acc += x * a[i % 3] * (k as f64) + (x * x).ln_1p();
    }
    acc + a[0] * a[1] * a[2]
}

#[test]
fn arrays_and_vecs_are_flattened_in_order() {
    let (a, v) = ([0.5, -1.0, 2.0], vec![0.0, 1.5, -0.7, 0.2]);
    let (_, _, h) = mixed_hessian(a, v.clone(), 2);
    assert_eq!(h.shape(), (7, 7));
    let grad = |q: &[f64]| {
        let (_, (ga, gv)) = mixed_grad([q[0], q[1], q[2]], q[3..].to_vec(), 2);
        [ga.to_vec(), gv].concat()
    };
    let x = [a.to_vec(), v].concat();
    assert_hessian(&h, &grad, &x, 1e-6);
}

/// nalgebra: a matrix product, a transpose, `dot`, `component_mul`, `norm`.
#[differentiable(hessian)]
pub fn quadratic_form(m: &DMatrix<f64>, x: &DVector<f64>, s: f64) -> f64 {
    let y = m * x;
    let q = y.dot(&y) * s;
    let t = m.transpose() * x;
    q + t.component_mul(x).sum() * s * s + (x.norm() + 1.0).ln()
}

#[test]
fn matrices_are_flattened_column_major() {
    let m = DMatrix::from_column_slice(2, 2, &[1.0, -0.5, 0.25, 2.0]);
    let x = DVector::from_vec(vec![0.7, -1.2]);
    let (_, _, h) = quadratic_form_hessian(&m, &x, -0.4);
    assert_eq!(h.shape(), (7, 7));
    let grad = |q: &[f64]| {
        let m = DMatrix::from_column_slice(2, 2, &q[..4]);
        let x = DVector::from_column_slice(&q[4..6]);
        let (_, (gm, gx, gs)) = quadratic_form_grad(&m, &x, q[6]);
        [gm.as_slice(), gx.as_slice(), &[gs]].concat()
    };
    let flat = [m.as_slice(), x.as_slice(), &[-0.4]].concat();
    assert_hessian(&h, &grad, &flat, 1e-6);
}

#[derive(Clone, Debug, Differentiable)]
pub struct Spring {
    pub k: f64,
    pub rest: [f64; 2],
}

/// A struct's fields in expressions, and a call of another `hessian` function.
#[differentiable(hessian)]
pub fn energy(s: &Spring, p: &[f64]) -> f64 {
    let (dx, dy) = (p[0] - s.rest[0], p[1] - s.rest[1]);
    0.5 * s.k * (dx * dx + dy * dy) + scalars(dx, dy, s.k)
}

#[test]
fn structs_and_calls() {
    let s = Spring {
        k: 3.0,
        rest: [0.5, -0.25],
    };
    let p = [1.25, 0.0];
    let (_, _, h) = energy_hessian(&s, &p);
    assert_eq!(h.shape(), (5, 5));
    let grad = |q: &[f64]| {
        let s = Spring {
            k: q[0],
            rest: [q[1], q[2]],
        };
        let (_, (gs, gp)) = energy_grad(&s, &q[3..]);
        [gs.to_flat(), gp].concat()
    };
    let x = [3.0, 0.5, -0.25, 1.25, 0.0];
    assert_hessian(&h, &grad, &x, 1e-6);
}

/// `wrt`: the Hessian over the active parameters only; an `f32` function.
#[differentiable(hessian, wrt(y))]
pub fn partial(x: f32, y: f32) -> f32 {
    (x * y).sin() * y
}

#[test]
fn wrt_and_f32() {
    let (v, g, h) = partial_hessian(0.5, -1.5);
    assert_eq!(h.shape(), (1, 1));
    let (x, y) = (0.5_f64, -1.5_f64);
    // d²/dy² [sin(xy)·y] = 2x·cos(xy) − x²y·sin(xy)
    let exact = 2.0 * x * (x * y).cos() - x * x * y * (x * y).sin();
    assert!((f64::from(h[(0, 0)]) - exact).abs() < 1e-5);
    assert_eq!(v, partial(0.5, -1.5));
    assert_eq!(g, partial_grad(0.5, -1.5).1);
}

#[test]
fn an_empty_slice_has_an_empty_hessian() {
    #[differentiable(hessian)]
    fn total(x: &[f64], c: f64) -> f64 {
        x.iter().map(|v| v * c).sum::<f64>() + c * c
    }
    let (v, (gx, gc), h) = total_hessian(&[], 3.0);
    assert_eq!((v, gx.len(), gc), (9.0, 0, 6.0));
    assert_eq!(h, DMatrix::from_element(1, 1, 2.0));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// At any point, the Hessian of the Rosenbrock function is the differences of its
    /// gradient, and `f_hvp` is `H · d`.
    #[test]
    fn hvp_is_the_hessian_times_the_tangent(
        x in prop::collection::vec(-2.0..2.0f64, 2..6),
        d in prop::collection::vec(-1.0..1.0f64, 6),
    ) {
        let d = &d[..x.len()];
        let (_, _, h) = rosenbrock_hessian(&x);
        let (_, _, hv) = rosenbrock_hvp(&x, d);
        let by_h = &h * DVector::from_column_slice(d);
        for (a, b) in hv.iter().zip(by_h.iter()) {
            prop_assert!((a - b).abs() <= 1e-9 * (1.0 + b.abs()));
        }
        let fd = fd_hessian(&|x| rosenbrock_grad(x).1, &x);
        prop_assert!((&h - &fd).amax() <= 1e-5 * fd.amax().max(1.0));
    }
}

/// Local arrays written in a loop and read back, `windows`, and a fixed local array:
/// tangents stored into arrays, whose cotangents `f_hvp` must not lose.
#[differentiable(hessian)]
pub fn smoothed(x: &[f64]) -> f64 {
    let mut y = vec![0.0; x.len()];
    for i in 0..x.len() {
        y[i] = x[i].sin() * x[i];
    }
    let mut corner = [0.0; 2];
    corner[0] = y[0] * y[1];
    corner[1] = y[0].exp();
    let pairs: f64 = y.windows(2).map(|w| (w[1] - w[0]).powi(2)).sum();
    pairs + corner[0] * corner[1]
}

#[test]
fn tangents_stored_in_local_arrays() {
    for x in [vec![0.3, -0.8, 1.1, 0.0], vec![-1.5, 0.25, 2.0]] {
        let (_, g, h) = smoothed_hessian(&x);
        assert_eq!(g, smoothed_grad(&x).1);
        assert!(g.iter().any(|v| *v != 0.0));
        assert_hessian(&h, &|x| smoothed_grad(x).1, &x, 1e-6);
    }
}

/// A damped oscillator integrated by explicit Euler, with the loop checkpointed or not.
macro_rules! oscillator {
    ($name:ident $(, #[$attr:meta])?) => {
        #[differentiable(hessian, wrt(k, x0))]
        pub fn $name(k: f64, x0: f64, steps: usize) -> f64 {
            let (mut x, mut v) = (x0, 0.0);
            $(#[$attr])?
            for _ in 0..steps {
                let a = -k * x.sin() - 0.1 * v;
                x += 0.01 * v;
                v += 0.01 * a;
            }
            x * x + v
        }
    };
}

oscillator!(oscillator_stored);
oscillator!(oscillator_checkpointed, #[checkpoint]);

#[test]
fn hessian_vector_products_through_checkpointed_loops() {
    for steps in [0, 1, 17, 500] {
        let (v, g, hv) = oscillator_stored_hvp(2.0, 0.5, steps, 0.3, -1.0);
        let (w, h, hw) = oscillator_checkpointed_hvp(2.0, 0.5, steps, 0.3, -1.0);
        assert_eq!(v, w);
        for (a, b) in [(g.0, h.0), (g.1, h.1), (hv.0, hw.0), (hv.1, hw.1)] {
            assert!(
                (a - b).abs() <= 1e-12 * (1.0 + a.abs()),
                "{steps} steps: {a} vs {b}"
            );
        }
    }
}
