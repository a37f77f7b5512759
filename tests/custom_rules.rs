//! Custom derivative rules: an opaque function becomes differentiable through a
//! hand-written `f_vjp` / `f_jvp` pair with the calling convention of generated code, and
//! then composes with `#[differentiable]` code like a generated function. The hand rules
//! are checked on their own with `gradcheck` first.

// The one `unsafe`: calling `erf` from the C math library.
#![allow(unsafe_code)]

use autodiff::differentiable;
use autodiff::gradcheck::{check_gradient, dot_product_test, Tolerance};
use autodiff::nalgebra::{DMatrix, DVector};
use autodiff::Differentiable;

/// `x = A⁻¹ b` through nalgebra's LU factorisation.
///
/// # Panics
/// If `a` is singular.
pub fn solve(a: &DMatrix<f64>, b: &DVector<f64>) -> DVector<f64> {
    a.clone().lu().solve(b).expect("solve: singular matrix")
}

/// With `x = A⁻¹ b`: `b̄ = A⁻ᵀ x̄` and `Ā = −b̄ xᵀ`. The pullback owns the transposed
/// factorisation and `x`, not the arguments.
#[allow(clippy::type_complexity)]
pub fn solve_vjp(
    a: &DMatrix<f64>,
    b: &DVector<f64>,
) -> (
    DVector<f64>,
    impl FnOnce(DVector<f64>) -> (DMatrix<f64>, DVector<f64>) + use<>,
) {
    let x = solve(a, b);
    let transposed = a.transpose().lu();
    let kept = x.clone();
    let pullback = move |d: DVector<f64>| {
        let db = transposed.solve(&d).expect("solve: singular matrix");
        let da = -(&db * kept.transpose());
        (da, db)
    };
    (x, pullback)
}

/// With `x = A⁻¹ b`: `ẋ = A⁻¹ (ḃ − Ȧ x)`.
pub fn solve_jvp(
    a: &DMatrix<f64>,
    b: &DVector<f64>,
    da: &DMatrix<f64>,
    db: &DVector<f64>,
) -> (DVector<f64>, DVector<f64>) {
    let lu = a.clone().lu();
    let x = lu.solve(b).expect("solve: singular matrix");
    let dx = lu.solve(&(db - da * &x)).expect("solve: singular matrix");
    (x, dx)
}

mod c {
    unsafe extern "C" {
        /// The error function of the C math library (libm).
        pub fn erf(x: f64) -> f64;
    }
}

/// The error function, computed in C.
pub fn erf(x: f64) -> f64 {
    // SAFETY: `erf` is a pure function of a double, defined for every input.
    unsafe { c::erf(x) }
}

/// `erf'(x) = 2/√π · e^(−x²)`.
fn erf_slope(x: f64) -> f64 {
    std::f64::consts::FRAC_2_SQRT_PI * (-x * x).exp()
}

pub fn erf_vjp(x: f64) -> (f64, impl FnOnce(f64) -> f64) {
    (erf(x), move |d| d * erf_slope(x))
}

pub fn erf_jvp(x: f64, dx: f64) -> (f64, f64) {
    (erf(x), dx * erf_slope(x))
}

/// A matrix function through the hand rule: a quadratic form of the solution.
#[differentiable]
fn through_solve(a: &DMatrix<f64>, b: &DVector<f64>, c: &DVector<f64>) -> f64 {
    let x = solve(a, b);
    x.dot(c) + 0.5 * x.norm_squared()
}

/// The same with the matrix constant: the caller asks for the cotangent of `b` only, which
/// the hand rule (computing both) serves as well.
#[differentiable(wrt(b))]
fn through_solve_fixed_matrix(a: &DMatrix<f64>, b: &DVector<f64>) -> f64 {
    solve(a, b).sum()
}

/// The normal distribution's CDF through the C function.
#[differentiable]
fn normal_cdf(x: f64, mu: f64, sigma: f64) -> f64 {
    0.5 * (1.0 + erf((x - mu) / (sigma * std::f64::consts::SQRT_2)))
}

fn problem() -> (DMatrix<f64>, DVector<f64>, DVector<f64>) {
    let a = DMatrix::from_row_slice(3, 3, &[4.0, 1.0, -0.5, 0.3, 3.0, 1.0, -1.0, 0.2, 5.0]);
    let b = DVector::from_vec(vec![1.0, -2.0, 0.5]);
    let c = DVector::from_vec(vec![0.2, 0.7, -1.3]);
    (a, b, c)
}

#[test]
fn hand_rules_pass_gradcheck() {
    let (a, b, c) = problem();
    let p = (a.clone(), b.clone());
    // ⟨solve(A, b), c⟩ against central differences, through the pullback.
    let (x, pullback) = solve_vjp(&a, &b);
    assert_eq!(x, solve(&a, &b));
    let g = pullback(c.clone());
    let at = |flat: &[f64]| {
        let mut q = p.clone();
        q.set_flat(flat);
        solve(&q.0, &q.1).dot(&c)
    };
    check_gradient(at, &g.to_flat(), &p.to_flat(), Tolerance::F64).unwrap();
    // Forward against reverse.
    let t = (a.map(|v| 0.1 * v.sin()), b.map(|v| v.cos()));
    dot_product_test(
        |dx| {
            let mut tq = t.clone();
            tq.set_flat(dx);
            solve_jvp(&a, &b, &tq.0, &tq.1).1.as_slice().to_vec()
        },
        |ybar| {
            let (_, pb) = solve_vjp(&a, &b);
            pb(DVector::from_column_slice(ybar)).to_flat()
        },
        &t.to_flat(),
        c.as_slice(),
        Tolerance::F64,
    )
    .unwrap();
    for x in [-1.5, 0.0, 0.7] {
        let (_, pb) = erf_vjp(x);
        check_gradient(|v| erf(v[0]), &[pb(1.0)], &[x], Tolerance::F64).unwrap();
        assert_eq!(erf_jvp(x, 1.0).1, erf_vjp(x).1(1.0));
    }
}

#[test]
fn hand_rules_compose_with_generated_code() {
    let (a, b, c) = problem();
    let p = (a, b, c);
    let (v, g) = through_solve_grad(&p.0, &p.1, &p.2);
    assert_eq!(v, through_solve(&p.0, &p.1, &p.2));
    let at = |flat: &[f64]| {
        let mut q = p.clone();
        q.set_flat(flat);
        through_solve(&q.0, &q.1, &q.2)
    };
    check_gradient(at, &g.to_flat(), &p.to_flat(), Tolerance::F64).unwrap();
    let t = (p.0.map(|v| v * 0.3), p.1.map(|v| v + 1.0), p.2.map(|v| -v));
    let (_, dv) = through_solve_jvp(&p.0, &p.1, &p.2, &t.0, &t.1, &t.2);
    assert!(Tolerance::F64.agrees(dv, g.inner(&t)));

    let (v, gb) = through_solve_fixed_matrix_grad(&p.0, &p.1);
    assert_eq!(v, through_solve_fixed_matrix(&p.0, &p.1));
    let at = |flat: &[f64]| through_solve_fixed_matrix(&p.0, &DVector::from_column_slice(flat));
    check_gradient(at, gb.as_slice(), p.1.as_slice(), Tolerance::F64).unwrap();

    for (x, mu, sigma) in [(0.0, 0.0, 1.0), (-1.2, 0.5, 2.0), (3.0, -1.0, 0.5)] {
        let (v, (dx, dmu, dsigma)) = normal_cdf_grad(x, mu, sigma);
        assert_eq!(v, normal_cdf(x, mu, sigma));
        let at = |v: &[f64]| normal_cdf(v[0], v[1], v[2]);
        check_gradient(at, &[dx, dmu, dsigma], &[x, mu, sigma], Tolerance::F64).unwrap();
    }
}
