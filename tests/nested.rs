//! Nested differentiation: `#[differentiable(nested)]` also generates `f_dir(x, d_x)`, the
//! directional derivative, with its own derivatives, so that second derivatives and
//! functions that use a derivative inside can be differentiated.

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

/// Every operation `nested` has a second-order form for.
#[differentiable(nested)]
pub fn every_rule(x: f64, y: f64) -> f64 {
    let a = x.sin() * y.cos() + (x * y).exp() / (1.0 + y * y);
    let b = (x * x + 1.0).ln() + (y * y + 2.0).sqrt() - (x - y).tanh();
    a * b + x.recip() * 0.1 - y / x + -a
}

/// The float methods with second-order forms, at arguments inside their domains.
#[differentiable(nested)]
pub fn more_rules(x: f64, y: f64) -> f64 {
    let s = x * 0.3 + y * 0.2;
    let a = s.tan() + s.asin() - s.acos() + s.atan() + s.atanh();
    let b = x.sinh() * y.cosh() + (x * y).asinh() + (x * x + 2.0).acosh();
    let c = (0.5 * x).exp2() + (0.3 * y).exp_m1() + (x * x).ln_1p() + (y * y + 1.0).log2();
    let d = (x * x + 3.0).log10() + (x + 5.0).cbrt() + (x * y).abs() + x.powi(3) * y.powi(-2);
    let e = (y * y + 1.0).powf(x * 0.5) + x.hypot(y) + x.to_degrees() * 0.01 + y.to_radians();
    a * b + c - d * e
}

type Grad = fn(f64, f64) -> (f64, (f64, f64));
type DirGrad = fn(f64, f64, f64, f64) -> (f64, (f64, f64, f64, f64));
type DirJvp = fn(f64, f64, f64, f64, f64, f64, f64, f64) -> (f64, f64);

/// At each point and along three directions d: `H·d` from reverse over forward
/// (`f_dir_grad`) against central differences of the gradient (relative `tol`), the
/// cotangent of `d` against the gradient, and `dᵀH e₁` from forward over forward.
fn check_second_derivatives(
    grad: Grad,
    dir_grad: DirGrad,
    dir_jvp: DirJvp,
    points: &[(f64, f64)],
    tol: f64,
) {
    for &(x, y) in points {
        for (dx, dy) in [(1.0, 0.0), (0.0, 1.0), (0.6, -0.8)] {
            let (_, (hx, hy, gx, gy)) = dir_grad(x, y, dx, dy);
            let (_, g) = grad(x, y);
            assert!((gx - g.0).abs() < 1e-12 && (gy - g.1).abs() < 1e-12);
            let h = 1e-6;
            let (up, down) = (
                grad(x + h * dx, y + h * dy).1,
                grad(x - h * dx, y - h * dy).1,
            );
            let fd = ((up.0 - down.0) / (2.0 * h), (up.1 - down.1) / (2.0 * h));
            let tol = tol * (1.0 + fd.0.abs().max(fd.1.abs()));
            assert!(
                (hx - fd.0).abs() < tol,
                "({x}, {y}) d=({dx}, {dy}): {hx} vs {}",
                fd.0
            );
            assert!(
                (hy - fd.1).abs() < tol,
                "({x}, {y}) d=({dx}, {dy}): {hy} vs {}",
                fd.1
            );
            let (_, t) = dir_jvp(x, y, dx, dy, 1.0, 0.0, 0.0, 0.0);
            assert!((t - hx).abs() < 1e-9 * (1.0 + hx.abs()), "{t} vs {hx}");
        }
    }
}

type PartialGrad = fn(f64, f64) -> (f64, (f64, f64));
type PartialJvp = fn(f64, f64, f64, f64) -> (f64, f64);
/// `f_grad_k` with its gradient and forward derivative.
type ReversePartial = (fn(f64, f64) -> f64, PartialGrad, PartialJvp);

/// The reverse partials `f_grad_k` (the sweep written out): their values against `f_grad`,
/// the Hessian rows by reverse over reverse (`f_grad_k_grad`) against central differences
/// of the gradient (relative `tol`), and forward over reverse (`f_grad_k_jvp`) against them.
fn check_reverse_partials(
    grad: Grad,
    partials: [ReversePartial; 2],
    points: &[(f64, f64)],
    tol: f64,
) {
    let h = 1e-6;
    for &(x, y) in points {
        let (_, g) = grad(x, y);
        let (gx_up, gx_down) = (grad(x + h, y).1, grad(x - h, y).1);
        let (gy_up, gy_down) = (grad(x, y + h).1, grad(x, y - h).1);
        // Row k of the Hessian: (∂g_k/∂x, ∂g_k/∂y).
        let rows = [
            (
                (gx_up.0 - gx_down.0) / (2.0 * h),
                (gy_up.0 - gy_down.0) / (2.0 * h),
            ),
            (
                (gx_up.1 - gx_down.1) / (2.0 * h),
                (gy_up.1 - gy_down.1) / (2.0 * h),
            ),
        ];
        for (k, ((partial, partial_grad, partial_jvp), fd)) in partials.iter().zip(rows).enumerate()
        {
            let want = if k == 0 { g.0 } else { g.1 };
            let value = partial(x, y);
            assert!(
                (value - want).abs() < 1e-12 * (1.0 + want.abs()),
                "{value} vs {want}"
            );
            let (v, (hx, hy)) = partial_grad(x, y);
            assert!(
                (v - value).abs() < 1e-12 * (1.0 + value.abs()),
                "{v} vs {value}"
            );
            let tol = tol * (1.0 + fd.0.abs().max(fd.1.abs()));
            assert!(
                (hx - fd.0).abs() < tol,
                "({x}, {y}) row {k}: {hx} vs {}",
                fd.0
            );
            assert!(
                (hy - fd.1).abs() < tol,
                "({x}, {y}) row {k}: {hy} vs {}",
                fd.1
            );
            for (dx, dy) in [(1.0, 0.0), (0.0, 1.0), (0.6, -0.8)] {
                let (_, t) = partial_jvp(x, y, dx, dy);
                let want = hx * dx + hy * dy;
                assert!(
                    (t - want).abs() < 1e-9 * (1.0 + want.abs()),
                    "{t} vs {want}"
                );
            }
        }
    }
}

#[test]
fn reverse_partials_of_every_rule() {
    check_reverse_partials(
        every_rule_grad,
        [
            (
                every_rule_grad_0_of_2,
                every_rule_grad_0_of_2_grad,
                every_rule_grad_0_of_2_jvp,
            ),
            (
                every_rule_grad_1_of_2,
                every_rule_grad_1_of_2_grad,
                every_rule_grad_1_of_2_jvp,
            ),
        ],
        &[(0.7, -0.4), (-1.3, 0.5), (1.1, 1.6)],
        1e-6,
    );
    check_reverse_partials(
        more_rules_grad,
        [
            (
                more_rules_grad_0_of_2,
                more_rules_grad_0_of_2_grad,
                more_rules_grad_0_of_2_jvp,
            ),
            (
                more_rules_grad_1_of_2,
                more_rules_grad_1_of_2_grad,
                more_rules_grad_1_of_2_jvp,
            ),
        ],
        &[(0.7, -0.4), (-0.9, 0.5), (1.1, 1.3)],
        1e-5,
    );
}

#[test]
fn second_derivatives_of_every_rule_against_finite_differences() {
    check_second_derivatives(
        every_rule_grad,
        every_rule_dir_grad,
        every_rule_dir_jvp,
        &[(0.7, -0.4), (-1.3, 0.5), (1.1, 1.6)],
        1e-6,
    );
}

#[test]
fn second_derivatives_of_the_other_float_methods() {
    check_second_derivatives(
        more_rules_grad,
        more_rules_dir_grad,
        more_rules_dir_jvp,
        &[(0.7, -0.4), (-0.9, 0.5), (1.1, 1.3)],
        1e-5,
    );
}

/// `1/‖(a, b)‖`, used by the next function.
#[differentiable(nested)]
pub fn inverse_distance(a: f64, b: f64) -> f64 {
    1.0 / (a * a + b * b).sqrt()
}

/// Two charges through a `nested` helper: `f_dir` calls the helper's `_dir`.
#[differentiable(nested)]
pub fn two_charges(x: f64, y: f64) -> f64 {
    inverse_distance(x - 3.0, y - 1.0) + 2.0 * inverse_distance(x + 1.0, y * 0.5)
}

#[test]
fn second_derivatives_through_a_nested_callee() {
    check_second_derivatives(
        two_charges_grad,
        two_charges_dir_grad,
        two_charges_dir_jvp,
        &[(0.7, -0.4), (-1.3, 0.5), (1.1, 1.6)],
        1e-6,
    );
}

#[test]
fn reverse_partials_through_a_nested_callee() {
    check_reverse_partials(
        two_charges_grad,
        [
            (
                two_charges_grad_0_of_2,
                two_charges_grad_0_of_2_grad,
                two_charges_grad_0_of_2_jvp,
            ),
            (
                two_charges_grad_1_of_2,
                two_charges_grad_1_of_2_grad,
                two_charges_grad_1_of_2_jvp,
            ),
        ],
        &[(0.7, -0.4), (-1.3, 0.5), (1.1, 1.6)],
        1e-6,
    );
}

/// Branches: the reverse sweep of an `if` computes the branch taken again, and each branch
/// adds to what it reads (the branches read different values, one of them only outer ones).
#[differentiable(nested)]
pub fn piecewise(x: f64, y: f64) -> f64 {
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

#[test]
fn reverse_partials_through_branches() {
    // One point inside each of the three pieces, negative values included.
    let points = [(0.9, 1.2), (-1.5, 0.2), (0.3, -0.4)];
    check_reverse_partials(
        piecewise_grad,
        [
            (
                piecewise_grad_0_of_2,
                piecewise_grad_0_of_2_grad,
                piecewise_grad_0_of_2_jvp,
            ),
            (
                piecewise_grad_1_of_2,
                piecewise_grad_1_of_2_grad,
                piecewise_grad_1_of_2_jvp,
            ),
        ],
        &points,
        1e-6,
    );
    check_second_derivatives(
        piecewise_grad,
        piecewise_dir_grad,
        piecewise_dir_jvp,
        &points,
        1e-6,
    );
}

/// A loop with carried values and loop-invariant reads: the reverse sweep runs the loop
/// again recording its carried values, then a loop over the records backwards.
#[differentiable(nested)]
pub fn series(x: f64, y: f64) -> f64 {
    let mut s = 0.0;
    let mut term = 1.0;
    for k in 1..6 {
        term = term * x / (k as f64);
        s += term * y.sin() + (k as f64) * x * y;
    }
    s * y
}

/// Nested loops: the potential of a grid of charges.
#[differentiable(nested)]
pub fn grid(x: f64, y: f64) -> f64 {
    let mut e = 0.0;
    for i in 0..3 {
        for j in 0..2 {
            let (dx, dy) = (x - i as f64, y - j as f64);
            e += 1.0 / (dx * dx + dy * dy + 0.5).sqrt();
        }
    }
    e
}

#[test]
fn reverse_partials_through_loops() {
    let points = [(0.7, -0.4), (-1.3, 0.5), (1.1, 1.6)];
    check_reverse_partials(
        series_grad,
        [
            (
                series_grad_0_of_2,
                series_grad_0_of_2_grad,
                series_grad_0_of_2_jvp,
            ),
            (
                series_grad_1_of_2,
                series_grad_1_of_2_grad,
                series_grad_1_of_2_jvp,
            ),
        ],
        &points,
        1e-6,
    );
    check_reverse_partials(
        grid_grad,
        [
            (
                grid_grad_0_of_2,
                grid_grad_0_of_2_grad,
                grid_grad_0_of_2_jvp,
            ),
            (
                grid_grad_1_of_2,
                grid_grad_1_of_2_grad,
                grid_grad_1_of_2_jvp,
            ),
        ],
        &points,
        1e-6,
    );
}

/// A `while` loop: six Newton steps towards `√(a² + b² + 1)`, counted by an integer.
#[differentiable(nested)]
pub fn newton(a: f64, b: f64) -> f64 {
    let t = a * a + b * b + 1.0;
    let mut r = t;
    let mut k = 0;
    while k < 6 {
        r = 0.5 * (r + t / r);
        k += 1;
    }
    r * a
}

#[test]
fn reverse_partials_through_a_while_loop() {
    check_reverse_partials(
        newton_grad,
        [
            (
                newton_grad_0_of_2,
                newton_grad_0_of_2_grad,
                newton_grad_0_of_2_jvp,
            ),
            (
                newton_grad_1_of_2,
                newton_grad_1_of_2_grad,
                newton_grad_1_of_2_jvp,
            ),
        ],
        &[(0.7, -0.4), (-1.3, 0.0), (1.1, 1.6)],
        1e-6,
    );
}

/// The piecewise and two-operand methods: `max`, `min`, `clamp` (with constant and with
/// active bounds), `atan2`, `log`, `mul_add` and `%`. Each branch of each piecewise one is
/// taken at one of the points below.
#[differentiable(nested)]
pub fn piecewise_rules(x: f64, y: f64) -> f64 {
    let a = (x * y).max(x - y) + (x + y).min(2.0 * x);
    let b = (x * 3.0).clamp(-1.0, 2.5) + y.atan2(x) + (x * x + 2.0).log(y * y + 1.5);
    let c = x.mul_add(y, x * x) + (x * 7.0) % (y + 3.0) + (2.0 * x).clamp(y - 1.0, y + 1.0);
    a * b + c
}

#[test]
fn second_derivatives_of_the_piecewise_and_two_operand_methods() {
    let points = [(0.7, -0.4), (-1.3, 0.5), (1.1, 1.6)];
    check_second_derivatives(
        piecewise_rules_grad,
        piecewise_rules_dir_grad,
        piecewise_rules_dir_jvp,
        &points,
        1e-6,
    );
    check_reverse_partials(
        piecewise_rules_grad,
        [
            (
                piecewise_rules_grad_0_of_2,
                piecewise_rules_grad_0_of_2_grad,
                piecewise_rules_grad_0_of_2_jvp,
            ),
            (
                piecewise_rules_grad_1_of_2,
                piecewise_rules_grad_1_of_2_grad,
                piecewise_rules_grad_1_of_2_jvp,
            ),
        ],
        &points,
        1e-6,
    );
}
