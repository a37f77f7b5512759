//! Nested differentiation: `#[differentiable(nested)]` also generates `f_dir(x, d_x)`, the
//! directional derivative, and the reverse partials `f_grad_k_of_n`, each with its own
//! derivatives, so that second derivatives and functions that use a derivative inside
//! (forward or reverse) can be differentiated.

use autodiff::differentiable;

/// The potential at (x0, x1) of a charge at (3, w) and a dipole-like term.
#[differentiable(nested)]
pub fn potential(x0: f64, x1: f64, w: f64) -> f64 {
    let (a0, a1) = (x0 - 3.0, x1 - w);
    let r = (a0 * a0 + a1 * a1 + 0.5).sqrt();
    2.0 / r + x0 * w / (1.0 + x1 * x1)
}

/// The force along x, a derivative of the potential, as a function of the position and w.
#[differentiable]
pub fn force_x(x0: f64, x1: f64, w: f64) -> f64 {
    -potential_dir(x0, x1, w, 1.0, 0.0, 0.0)
}

#[test]
fn directional_derivative_and_its_gradient() {
    let (x0, x1, w) = (1.5, 7.0, 0.3);
    let (_, (g0, g1, gw)) = potential_grad(x0, x1, w);
    let d = (0.3, -1.2, 0.7);
    let dir = potential_dir(x0, x1, w, d.0, d.1, d.2);
    assert!((dir - (g0 * d.0 + g1 * d.1 + gw * d.2)).abs() < 1e-12);
    // ∇(∇p · d) = H d: against finite differences of the gradient.
    let (_, hd) = potential_dir_grad(x0, x1, w, d.0, d.1, d.2);
    let h = 1e-6;
    let along = |t: f64| {
        let (_, g) = potential_grad(x0 + t * d.0, x1 + t * d.1, w + t * d.2);
        g
    };
    let (up, down) = (along(h), along(-h));
    let fd = (
        (up.0 - down.0) / (2.0 * h),
        (up.1 - down.1) / (2.0 * h),
        (up.2 - down.2) / (2.0 * h),
    );
    assert!((hd.0 - fd.0).abs() < 1e-6, "{} vs {}", hd.0, fd.0);
    assert!((hd.1 - fd.1).abs() < 1e-6, "{} vs {}", hd.1, fd.1);
    assert!((hd.2 - fd.2).abs() < 1e-6, "{} vs {}", hd.2, fd.2);
    // d_x enters linearly: its gradient is the gradient of p.
    assert!((hd.3 - g0).abs() < 1e-12 && (hd.4 - g1).abs() < 1e-12 && (hd.5 - gw).abs() < 1e-12);
}

#[test]
fn a_function_that_differentiates_inside() {
    let (x0, x1, w) = (1.5, 7.0, 0.3);
    let (f, (d0, d1, dw)) = force_x_grad(x0, x1, w);
    assert!((f + potential_grad(x0, x1, w).1 .0).abs() < 1e-12);
    let h = 1e-6;
    let fd_w = (force_x(x0, x1, w + h) - force_x(x0, x1, w - h)) / (2.0 * h);
    assert!((dw - fd_w).abs() < 1e-6, "{dw} vs {fd_w}");
    let fd_0 = (force_x(x0 + h, x1, w) - force_x(x0 - h, x1, w)) / (2.0 * h);
    assert!((d0 - fd_0).abs() < 1e-6, "{d0} vs {fd_0}");
    // Forward over forward agrees.
    let (_, t) = force_x_jvp(x0, x1, w, 0.0, 1.0, 0.0);
    assert!((t - d1).abs() < 1e-10, "{t} vs {d1}");
}

/// The same force by the inner reverse mode: `potential_grad` destructured inside a
/// differentiable function calls `potential_grad_0_of_3`, the reverse sweep written out.
#[differentiable]
pub fn force_x_reverse(x0: f64, x1: f64, w: f64) -> f64 {
    let (_, (g0, _, _)) = potential_grad(x0, x1, w);
    -g0
}

/// Both partials in space and the value, used together.
#[differentiable]
pub fn field_energy(x0: f64, x1: f64, w: f64) -> f64 {
    let (p, (g0, g1, _)) = potential_grad(x0, x1, w);
    p * (g0 * g0 + g1 * g1)
}

#[test]
fn an_inner_gradient_in_reverse_mode_differentiated_in_both_modes() {
    let h = 1e-6;
    for (x0, x1, w) in [(1.5, 7.0, 0.3), (-0.4, 0.0, -1.2), (0.0, -2.5, 0.0)] {
        let (f, (d0, d1, dw)) = force_x_reverse_grad(x0, x1, w);
        assert!((f - force_x(x0, x1, w)).abs() < 1e-12);
        // Reverse over reverse against forward over forward and reverse over forward.
        let (_, (r0, r1, rw)) = force_x_grad(x0, x1, w);
        for (a, b) in [(d0, r0), (d1, r1), (dw, rw)] {
            assert!((a - b).abs() < 1e-10 * (1.0 + b.abs()), "{a} vs {b}");
        }
        // Forward over reverse, along each axis.
        for (dir, want) in [
            ((1.0, 0.0, 0.0), d0),
            ((0.0, 1.0, 0.0), d1),
            ((0.0, 0.0, 1.0), dw),
        ] {
            let (_, t) = force_x_reverse_jvp(x0, x1, w, dir.0, dir.1, dir.2);
            assert!(
                (t - want).abs() < 1e-10 * (1.0 + want.abs()),
                "{t} vs {want}"
            );
        }
        // Several partials and the value together, against central differences.
        let (_, (e0, e1, ew)) = field_energy_grad(x0, x1, w);
        let fd = |dx: (f64, f64, f64)| {
            let e = |t: f64| field_energy(x0 + t * dx.0, x1 + t * dx.1, w + t * dx.2);
            (e(h) - e(-h)) / (2.0 * h)
        };
        for (got, dx) in [
            (e0, (1.0, 0.0, 0.0)),
            (e1, (0.0, 1.0, 0.0)),
            (ew, (0.0, 0.0, 1.0)),
        ] {
            let want = fd(dx);
            assert!(
                (got - want).abs() < 1e-6 * (1.0 + want.abs()),
                "{got} vs {want}"
            );
            // Forward over reverse: the same directional derivative.
            let (_, t) = field_energy_jvp(x0, x1, w, dx.0, dx.1, dx.2);
            assert!((t - got).abs() < 1e-10 * (1.0 + got.abs()), "{t} vs {got}");
        }
    }
}

/// A `nested` function `f` of two floats, in a module of its own (`m::f`), with the
/// derivatives the checks below compare: `f_grad`, its two reverse partials (each with its
/// `_grad` and `_jvp`), `f_dir_grad` and `f_dir_jvp`.
struct Modes {
    grad: fn(f64, f64) -> (f64, (f64, f64)),
    partials: [ReversePartial; 2],
    dir_grad: DirGrad,
    dir_jvp: DirJvp,
}

/// `f_dir_grad(x, y, d_x, d_y)`: `H·d` and the gradient, as cotangents of `d`.
type DirGrad = fn(f64, f64, f64, f64) -> (f64, (f64, f64, f64, f64));
/// `f_dir_jvp(x, y, d_x, d_y, e_x, e_y, e_dx, e_dy)`.
type DirJvp = fn(f64, f64, f64, f64, f64, f64, f64, f64) -> (f64, f64);

/// `f_grad_k_of_2` with its gradient (a Hessian row) and its forward derivative.
type ReversePartial = (
    fn(f64, f64) -> f64,
    fn(f64, f64) -> (f64, (f64, f64)),
    fn(f64, f64, f64, f64) -> (f64, f64),
);

macro_rules! modes {
    ($m:ident) => {
        Modes {
            grad: $m::f_grad,
            partials: [
                (
                    $m::f_grad_0_of_2,
                    $m::f_grad_0_of_2_grad,
                    $m::f_grad_0_of_2_jvp,
                ),
                (
                    $m::f_grad_1_of_2,
                    $m::f_grad_1_of_2_grad,
                    $m::f_grad_1_of_2_jvp,
                ),
            ],
            dir_grad: $m::f_dir_grad,
            dir_jvp: $m::f_dir_jvp,
        }
    };
}

/// One active parameter: `f_grad` gives the value and the partial itself, `(v, g)`.
mod one_parameter {
    use super::*;
    #[differentiable(nested)]
    pub fn p(x: f64) -> f64 {
        (x * x + 1.0).ln() * x.sin()
    }

    /// `p'(x)² + p(x)`, with `p'` by the inner reverse mode.
    #[differentiable]
    pub fn f(x: f64) -> f64 {
        let (v, g) = p_grad(x);
        g * g + v
    }
}

#[test]
fn an_inner_gradient_of_one_parameter() {
    use one_parameter::*;
    let h = 1e-6;
    for x in [0.0, -1.3, 0.8, 2.1] {
        let (value, d) = f_grad(x);
        let (_, g) = p_grad(x);
        assert!(near(value, g * g + p(x), 1e-12));
        let fd = (f(x + h) - f(x - h)) / (2.0 * h);
        assert!(near(d, fd, 1e-6), "{x}: {d} vs {fd}");
        let (_, t) = f_jvp(x, 1.0);
        assert!(near(t, d, 1e-10), "{x}: {t} vs {d}");
    }
}

/// Every operation `nested` has a second-order form for.
mod every_rule {
    use super::*;
    #[differentiable(nested)]
    pub fn f(x: f64, y: f64) -> f64 {
        let a = x.sin() * y.cos() + (x * y).exp() / (1.0 + y * y);
        let b = (x * x + 1.0).ln() + (y * y + 2.0).sqrt() - (x - y).tanh();
        a * b + x.recip() * 0.1 - y / x + -a
    }
}

/// The float methods with second-order forms, at arguments inside their domains.
// `erf` and `erfc` are unstable std methods: the lint says std's may be picked one day.
#[allow(unstable_name_collisions)]
mod more_rules {
    use super::*;
    use autodiff::Erf;
    #[differentiable(nested)]
    pub fn f(x: f64, y: f64) -> f64 {
        let s = x * 0.3 + y * 0.2;
        let a = s.tan() + s.asin() - s.acos() + s.atan() + s.atanh();
        let b = x.sinh() * y.cosh() + (x * y).asinh() + (x * x + 2.0).acosh();
        let c = (0.5 * x).exp2() + (0.3 * y).exp_m1() + (x * x).ln_1p() + (y * y + 1.0).log2();
        let d = (x * x + 3.0).log10() + (x + 5.0).cbrt() + (x * y).abs() + x.powi(3) * y.powi(-2);
        let e = (y * y + 1.0).powf(x * 0.5) + x.hypot(y) + x.to_degrees() * 0.01 + y.to_radians();
        let g = (x * y).erf() * (0.5 * x - y).erfc();
        a * b + c - d * e + g
    }
}

/// The piecewise and two-operand methods: `max`, `min`, `clamp` (with constant and with
/// active bounds), `atan2`, `log`, `mul_add` and `%`. Each branch of each piecewise one is
/// taken at one of the points below.
mod piecewise_rules {
    use super::*;
    #[differentiable(nested)]
    pub fn f(x: f64, y: f64) -> f64 {
        let a = (x * y).max(x - y) + (x + y).min(2.0 * x);
        let b = (x * 3.0).clamp(-1.0, 2.5) + y.atan2(x) + (x * x + 2.0).log(y * y + 1.5);
        let c = x.mul_add(y, x * x) + (x * 7.0) % (y + 3.0) + (2.0 * x).clamp(y - 1.0, y + 1.0);
        a * b + c
    }
}

/// Two charges through a `nested` helper: `f_dir` calls the helper's `_dir`, the reverse
/// partials call its `_grad_k_of_2`.
mod two_charges {
    use super::*;
    /// `1/‖(a, b)‖`.
    #[differentiable(nested)]
    pub fn inverse_distance(a: f64, b: f64) -> f64 {
        1.0 / (a * a + b * b).sqrt()
    }

    #[differentiable(nested)]
    pub fn f(x: f64, y: f64) -> f64 {
        inverse_distance(x - 3.0, y - 1.0) + 2.0 * inverse_distance(x + 1.0, y * 0.5)
    }
}

/// A `nested` function returning a tuple of floats, called with its parts declared:
/// `f_dir` calls its `polar_dir`, which returns the parts' tangents.
mod tuple_callee {
    use super::*;
    #[differentiable(nested)]
    pub fn polar(r: f64, t: f64) -> (f64, f64) {
        (r * t.cos(), r * t.sin())
    }

    #[differentiable(nested)]
    pub fn f(x: f64, y: f64) -> f64 {
        let (a, b): (f64, f64) = polar(x * y, y - 0.5);
        a * b.sin() + x
    }
}

#[test]
fn second_derivatives_through_a_tuple_returning_callee() {
    use tuple_callee::{f_dir_grad, f_dir_jvp, f_grad};
    for (x, y) in POINTS {
        for d in [(1.0, 0.0), (0.0, 1.0), (0.6, -0.8)] {
            let (_, (hx, hy, gx, gy)) = f_dir_grad(x, y, d.0, d.1);
            let g = f_grad(x, y).1;
            assert!(near(gx, g.0, 1e-12) && near(gy, g.1, 1e-12));
            let fd = gradient_difference(f_grad, (x, y), d);
            assert!(near(hx, fd.0, 1e-6), "({x}, {y}) {d:?}: {hx} vs {}", fd.0);
            assert!(near(hy, fd.1, 1e-6), "({x}, {y}) {d:?}: {hy} vs {}", fd.1);
            let (_, t) = f_dir_jvp(x, y, d.0, d.1, 1.0, 0.0, 0.0, 0.0);
            assert!(near(t, hx, 1e-9), "{t} vs {hx}");
        }
    }
    // The callee's own `_dir`: the tangents of both parts.
    let (dr, dt) = tuple_callee::polar_dir(2.0, 0.3, 1.0, 0.5);
    assert!(near(dr, 0.3f64.cos() - 2.0 * 0.3f64.sin() * 0.5, 1e-12));
    assert!(near(dt, 0.3f64.sin() + 2.0 * 0.3f64.cos() * 0.5, 1e-12));
}

/// Branches: the reverse sweep of an `if` computes the branch taken again, and each branch
/// adds to what it reads (the branches read different values, one of them only outer ones).
mod branches {
    use super::*;
    #[differentiable(nested)]
    pub fn f(x: f64, y: f64) -> f64 {
        let s = x * y;
        let r = if s > 0.5 {
            (s * x).sin() + y
        } else if x < -1.0 {
            x * x * 3.0
        } else {
            (y * y + 1.0).ln() * x
        };
        r * s + x
    }
}

/// A loop with carried values and loop-invariant reads: the reverse sweep runs the loop
/// again recording its carried values, then a loop over the records backwards.
mod series {
    use super::*;
    #[differentiable(nested)]
    pub fn f(x: f64, y: f64) -> f64 {
        let mut s = 0.0;
        let mut term = 1.0;
        for k in 1..6 {
            term = term * x / (k as f64);
            s += term * y.sin() + (k as f64) * x * y;
        }
        s * y
    }
}

/// Nested loops: the potential of a grid of charges.
mod grid {
    use super::*;
    #[differentiable(nested)]
    pub fn f(x: f64, y: f64) -> f64 {
        let mut e = 0.0;
        for i in 0..3 {
            for j in 0..2 {
                let (dx, dy) = (x - i as f64, y - j as f64);
                e += 1.0 / (dx * dx + dy * dy + 0.5).sqrt();
            }
        }
        e
    }
}

/// A `while` loop: six Newton steps towards `√(a² + b² + 1)`, counted by an integer.
mod newton {
    use super::*;
    #[differentiable(nested)]
    pub fn f(a: f64, b: f64) -> f64 {
        let t = a * a + b * b + 1.0;
        let mut r = t;
        let mut k = 0;
        while k < 6 {
            r = 0.5 * (r + t / r);
            k += 1;
        }
        r * a
    }
}

/// A `while` loop whose adjoint needs only its trip count (it is linear in the carried
/// value), then a loop inside one branch of an `if`.
mod counted {
    use super::*;
    #[differentiable(nested)]
    pub fn f(x: f64, y: f64) -> f64 {
        let mut s = y;
        let mut n = 0;
        while n < 4 {
            s = 0.5 * s + x;
            n += 1;
        }
        let mut p = 1.0;
        if x > y {
            for k in 0..3 {
                p *= (x + k as f64).sin();
            }
        } else {
            p = y * y;
        }
        s * p
    }
}

/// Three points, negative values included; `x` is never 0 (`every_rule` divides by it).
const POINTS: [(f64, f64); 3] = [(0.7, -0.4), (-1.3, 0.5), (1.1, 1.6)];

/// Central differences of the gradient along `d`.
fn gradient_difference(
    grad: fn(f64, f64) -> (f64, (f64, f64)),
    (x, y): (f64, f64),
    d: (f64, f64),
) -> (f64, f64) {
    let h = 1e-6;
    let up = grad(x + h * d.0, y + h * d.1).1;
    let down = grad(x - h * d.0, y - h * d.1).1;
    ((up.0 - down.0) / (2.0 * h), (up.1 - down.1) / (2.0 * h))
}

/// Whether `a` is within `tol` of `b`, relative to `b`'s size.
fn near(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * (1.0 + b.abs())
}

/// At each point and along three directions d: `H·d` from reverse over forward
/// (`f_dir_grad`) against central differences of the gradient (relative `tol`), the
/// cotangent of `d` against the gradient, and `dᵀH e₁` from forward over forward.
fn check_second_derivatives(m: &Modes, points: &[(f64, f64)], tol: f64) {
    for &(x, y) in points {
        for d in [(1.0, 0.0), (0.0, 1.0), (0.6, -0.8)] {
            let (_, (hx, hy, gx, gy)) = (m.dir_grad)(x, y, d.0, d.1);
            let (_, g) = (m.grad)(x, y);
            assert!(
                near(gx, g.0, 1e-12) && near(gy, g.1, 1e-12),
                "{gx} {gy} vs {g:?} at {x} {y} {d:?}"
            );
            let fd = gradient_difference(m.grad, (x, y), d);
            assert!(near(hx, fd.0, tol), "({x}, {y}) d={d:?}: {hx} vs {}", fd.0);
            assert!(near(hy, fd.1, tol), "({x}, {y}) d={d:?}: {hy} vs {}", fd.1);
            let (_, t) = (m.dir_jvp)(x, y, d.0, d.1, 1.0, 0.0, 0.0, 0.0);
            assert!(near(t, hx, 1e-9), "{t} vs {hx}");
        }
    }
}

/// The reverse partials `f_grad_k_of_2` (the sweep written out): their values against
/// `f_grad`, the Hessian rows by reverse over reverse (`_grad`) against central
/// differences of the gradient (relative `tol`), and forward over reverse (`_jvp`)
/// against those rows.
fn check_reverse_partials(m: &Modes, points: &[(f64, f64)], tol: f64) {
    for &(x, y) in points {
        let (_, g) = (m.grad)(x, y);
        // Column j of the Hessian is the difference of the gradient along axis j.
        let (cx, cy) = (
            gradient_difference(m.grad, (x, y), (1.0, 0.0)),
            gradient_difference(m.grad, (x, y), (0.0, 1.0)),
        );
        let rows = [(cx.0, cy.0), (cx.1, cy.1)];
        for (k, ((partial, partial_grad, partial_jvp), fd)) in
            m.partials.iter().zip(rows).enumerate()
        {
            let want = if k == 0 { g.0 } else { g.1 };
            let value = partial(x, y);
            assert!(near(value, want, 1e-12), "{value} vs {want}");
            let (v, (hx, hy)) = partial_grad(x, y);
            assert!(near(v, value, 1e-12), "{v} vs {value}");
            assert!(near(hx, fd.0, tol), "({x}, {y}) row {k}: {hx} vs {}", fd.0);
            assert!(near(hy, fd.1, tol), "({x}, {y}) row {k}: {hy} vs {}", fd.1);
            for (dx, dy) in [(1.0, 0.0), (0.0, 1.0), (0.6, -0.8)] {
                let (_, t) = partial_jvp(x, y, dx, dy);
                let want = hx * dx + hy * dy;
                assert!(near(t, want, 1e-9), "{t} vs {want}");
            }
        }
    }
}

#[test]
fn second_derivatives_of_every_rule_against_finite_differences() {
    check_second_derivatives(&modes!(every_rule), &POINTS, 1e-6);
    check_reverse_partials(&modes!(every_rule), &POINTS, 1e-6);
}

#[test]
fn second_derivatives_of_the_other_float_methods() {
    let points = [(0.7, -0.4), (-0.9, 0.5), (1.1, 1.3)];
    check_second_derivatives(&modes!(more_rules), &points, 1e-5);
    check_reverse_partials(&modes!(more_rules), &points, 1e-5);
}

#[test]
fn second_derivatives_of_the_piecewise_and_two_operand_methods() {
    check_second_derivatives(&modes!(piecewise_rules), &POINTS, 1e-6);
    check_reverse_partials(&modes!(piecewise_rules), &POINTS, 1e-6);
}

#[test]
fn second_derivatives_through_a_nested_callee() {
    check_second_derivatives(&modes!(two_charges), &POINTS, 1e-6);
    check_reverse_partials(&modes!(two_charges), &POINTS, 1e-6);
}

#[test]
fn second_derivatives_through_branches() {
    // One point inside each of the three pieces.
    let points = [(0.9, 1.2), (-1.5, 0.2), (0.3, -0.4)];
    check_second_derivatives(&modes!(branches), &points, 1e-6);
    check_reverse_partials(&modes!(branches), &points, 1e-6);
}

#[test]
fn second_derivatives_through_loops() {
    for m in [
        modes!(series),
        modes!(grid),
        modes!(newton),
        modes!(counted),
    ] {
        check_second_derivatives(&m, &POINTS, 1e-6);
        check_reverse_partials(&m, &POINTS, 1e-6);
    }
}

/// On a point and directions `d`, `e`, the four second-order modes agree with one another
/// (no finite differences, so a tight tolerance): reverse over reverse gives the Hessian
/// rows `Hₖ`; reverse over forward must give `H·d` (component `k` is `Hₖ·d`), forward
/// over reverse `Hₖ·e`, forward over forward `eᵀH d`; and the partials are the gradient.
fn modes_agree(m: &Modes, (x, y): (f64, f64), d: (f64, f64), e: (f64, f64)) {
    let (_, g) = (m.grad)(x, y);
    let (_, (hdx, hdy, _, _)) = (m.dir_grad)(x, y, d.0, d.1);
    let (_, ehd) = (m.dir_jvp)(x, y, d.0, d.1, e.0, e.1, 0.0, 0.0);
    let mut rows = Vec::new();
    for (k, (value, row_grad, row_jvp)) in m.partials.iter().enumerate() {
        let gk = if k == 0 { g.0 } else { g.1 };
        assert!(
            near(value(x, y), gk, 1e-9),
            "partial {k}: {} vs {gk}",
            value(x, y)
        );
        let (_, row) = row_grad(x, y);
        let (_, he) = row_jvp(x, y, e.0, e.1);
        assert!(near(he, row.0 * e.0 + row.1 * e.1, 1e-9), "row {k}·e: {he}");
        rows.push(row);
    }
    let hd = (
        rows[0].0 * d.0 + rows[0].1 * d.1,
        rows[1].0 * d.0 + rows[1].1 * d.1,
    );
    assert!(
        near(hdx, hd.0, 1e-9) && near(hdy, hd.1, 1e-9),
        "H·d: ({hdx}, {hdy}) vs {hd:?}"
    );
    assert!(near(ehd, e.0 * hd.0 + e.1 * hd.1, 1e-9), "eᵀH d: {ehd}");
}

proptest::proptest! {
    #[test]
    fn the_modes_agree_on_random_points(
        // `x` stays away from 0, where `every_rule` divides by it.
        x in proptest::prop_oneof![-2.0..-0.3_f64, 0.3..2.0_f64],
        y in -2.0..2.0_f64,
        d in (-1.0..1.0_f64, -1.0..1.0_f64),
        e in (-1.0..1.0_f64, -1.0..1.0_f64),
    ) {
        let all = [
            modes!(every_rule),
            modes!(piecewise_rules),
            modes!(two_charges),
            modes!(branches),
            modes!(series),
            modes!(grid),
            modes!(newton),
        ];
        for m in &all {
            modes_agree(m, (x, y), d, e);
        }
    }
}
