//! Loops with carried scalars: each function in all three modes against central finite
//! differences and against each other (`common::check_case`).

// The corpus spells constructs out on purpose.
#![allow(clippy::assign_op_pattern)]

mod common;

use autodiff::differentiable;
use autodiff::gradcheck::Tolerance;
use common::check_at;

corpus! {
    horner {
        // Σ cᵢ xⁱ with cᵢ = sin(i + 1), by Horner's rule.
        #[differentiable]
        pub fn f(x: f64, n: usize) -> f64 {
            let mut s = 0.0;
            for i in 0..n {
                s = s * x + (i as f64 + 1.0).sin();
            }
            s
        }
    }
    power_sum {
        #[differentiable]
        pub fn f(x: f64, y: f64) -> f64 {
            let mut s = 0.0;
            let mut p = 1.0;
            for _ in 0..6 {
                p *= x;
                s += p * y;
            }
            s
        }
    }
    euler_ode {
        // Explicit Euler for y' = -k·y + sin(t), 200 steps of h.
        #[differentiable]
        pub fn f(y0: f64, k: f64, h: f64) -> f64 {
            let mut y = y0;
            let mut t: f64 = 0.0;
            for _ in 0..200 {
                y += h * (-k * y + t.sin());
                t += h;
            }
            y
        }
    }
    rk4 {
        // Classic Runge–Kutta for the pendulum θ'' = -ω² sin θ, 50 steps.
        #[differentiable]
        pub fn f(theta0: f64, omega: f64) -> f64 {
            let h = 0.05;
            let w2 = omega * omega;
            let mut th = theta0;
            let mut v = 0.0;
            for _ in 0..50 {
                let k1t = v;
                let k1v = -w2 * th.sin();
                let k2t = v + 0.5 * h * k1v;
                let k2v = -w2 * (th + 0.5 * h * k1t).sin();
                let k3t = v + 0.5 * h * k2v;
                let k3v = -w2 * (th + 0.5 * h * k2t).sin();
                let k4t = v + h * k3v;
                let k4v = -w2 * (th + h * k3t).sin();
                th += h / 6.0 * (k1t + 2.0 * k2t + 2.0 * k3t + k4t);
                v += h / 6.0 * (k1v + 2.0 * k2v + 2.0 * k3v + k4v);
            }
            th
        }
    }
    newton_sqrt {
        // Newton's iteration for √a with a relative tolerance: a data-dependent trip count.
        #[differentiable]
        pub fn f(a: f64) -> f64 {
            let mut x = a.max(1.0);
            let mut step: f64 = 1.0;
            while step.abs() > 1e-12 * x {
                let next = 0.5 * (x + a / x);
                step = next - x;
                x = next;
            }
            x
        }
    }
    nested {
        #[differentiable]
        pub fn f(x: f64, y: f64) -> f64 {
            let mut s = 0.0;
            for i in 0..4 {
                let mut row = x;
                for j in 0..=i {
                    row = row * y + (j as f64) * x;
                }
                s += row.tanh();
            }
            s
        }
    }
    branch_in_loop {
        #[differentiable]
        pub fn f(x: f64, y: f64) -> f64 {
            let mut s = x;
            for i in 0..10 {
                if s > 1.0 {
                    s = s.sqrt() + y;
                } else if i % 3 == 0 {
                    s = s * y + 1.0;
                } else {
                    s -= 0.1 * x;
                }
            }
            s
        }
    }
    adapters {
        #[differentiable]
        pub fn f(x: f64, n: i32) -> f64 {
            let mut s = 0.0;
            for i in (0..n).rev() {
                s = s * x + f64::from(i);
            }
            for k in (1..=n).step_by(2) {
                s += x.powi(k) / f64::from(k);
            }
            for j in (0..n).step_by(3).rev() {
                s = s * 0.5 + f64::from(j) * x;
            }
            s
        }
    }
    while_on_active_value {
        // Halves x until it is below 1: the trip count depends on the active input.
        #[differentiable]
        pub fn f(x: f64, y: f64) -> f64 {
            let mut v = x * y;
            let mut steps = 0;
            while v > 1.0 {
                v = v * 0.5 + 0.01 * y;
                steps += 1;
            }
            v + f64::from(steps)
        }
    }
    logsumexp_running_max {
        // log(exp(a·1) + exp(a·2) + ... ) with a running maximum, over a fixed count.
        #[differentiable]
        pub fn f(a: f64, b: f64) -> f64 {
            let mut m = f64::NEG_INFINITY;
            for i in 1..6 {
                let z = a * i as f64 - b * (i * i) as f64;
                m = m.max(z);
            }
            let mut s = 0.0;
            for i in 1..6 {
                let z = a * i as f64 - b * (i * i) as f64;
                s += (z - m).exp();
            }
            m + s.ln()
        }
    }
    recurrent_cell {
        // h ← tanh(w·h + u·xₜ + b) over a fixed input sequence xₜ = sin(t).
        #[differentiable]
        pub fn f(w: f64, u: f64, b: f64) -> f64 {
            let mut h = 0.0;
            for t in 0..12 {
                let xt = (t as f64 * 0.7).sin();
                h = (w * h + u * xt + b).tanh();
            }
            h * h
        }
    }
    loop_with_calls {
        #[differentiable]
        pub fn g(a: f64, b: f64) -> f64 {
            (a * b).sin() + a
        }

        #[differentiable]
        pub fn f(x: f64, y: f64) -> f64 {
            let mut s = x;
            for _ in 0..5 {
                s = g(s, y) * 0.5;
            }
            s
        }
    }
    single_precision_loop {
        #[differentiable]
        pub fn f(x: f32, y: f32) -> f32 {
            let mut s = 0.0;
            for i in 0..8 {
                s += (x * i as f32).cos() * y;
            }
            s
        }
    }
    zero_iterations {
        #[differentiable]
        pub fn f(x: f64, n: usize) -> f64 {
            let mut s = x * 2.0;
            for _ in 0..n {
                s = s * s;
            }
            s
        }
    }
    break_out {
        // Accumulates until the running sum passes a threshold.
        #[differentiable]
        pub fn f(x: f64, y: f64) -> f64 {
            let mut s = 0.0;
            for i in 0..50 {
                s += (x * i as f64).sin().abs() * y;
                if s > 3.0 {
                    break;
                }
            }
            s * x
        }
    }
    continue_some {
        #[differentiable]
        pub fn f(x: f64, y: f64) -> f64 {
            let mut s = y;
            for i in 0..12 {
                if i % 3 == 1 {
                    continue;
                }
                s = s * x + (i as f64).cos();
                if s.abs() > 100.0 {
                    continue;
                }
                s += 0.5 * y;
            }
            s
        }
    }
    return_from_loop {
        #[differentiable]
        pub fn f(x: f64, c: f64) -> f64 {
            let mut s = 1.0;
            for _ in 0..20 {
                s = s * x + c;
                if s > 10.0 {
                    return s.ln() * c;
                }
            }
            s
        }
    }
    while_break_return {
        // Newton for a root of x³ − a, with an iteration cap and a non-convergence value.
        #[differentiable]
        pub fn f(a: f64, start: f64) -> f64 {
            let mut x = start;
            let mut it = 0;
            while it < 100 {
                let step = (x * x * x - a) / (3.0 * x * x);
                x -= step;
                if step.abs() < 1e-14 * x.abs() {
                    break;
                }
                if x.abs() > 1e6 {
                    return -1.0;
                }
                it += 1;
            }
            x
        }
    }
    nested_exits {
        #[differentiable]
        pub fn f(x: f64, y: f64) -> f64 {
            let mut total = 0.0;
            for i in 1..6 {
                let mut inner = 0.0;
                for j in 0..10 {
                    if j > i {
                        break;
                    }
                    inner += (x * j as f64 + y).tanh();
                }
                total += inner * i as f64;
                if total > 40.0 {
                    return total;
                }
            }
            total
        }
    }
    plain_loop_with_break {
        // Fixed-point iteration x ← cos(a·x) until it settles, written with `loop`.
        #[differentiable]
        pub fn f(a: f64) -> f64 {
            let mut x = 1.0;
            let mut n = 0;
            loop {
                let next = (a * x).cos();
                let done = (next - x).abs() < 1e-13 || n > 500;
                x = next;
                n += 1;
                if done {
                    break;
                }
            }
            x
        }
    }
    loop_in_branch_in_loop {
        // Inner loops that run in some iterations only, with a nonlinear carried value:
        // their tape entries must come back off in exactly the right order.
        #[differentiable]
        pub fn f(x: f64, y: f64) -> f64 {
            let mut s = 0.0;
            for i in 0..7 {
                if i % 2 == 0 {
                    let mut p = x;
                    for _ in 0..i {
                        p = p * y + 0.1 * x;
                    }
                    s += p.sin();
                } else {
                    let mut q = y;
                    let mut k = 0;
                    while k < i {
                        q = (q * x).tanh() + s;
                        k += 1;
                    }
                    s = s * y + q;
                }
            }
            s
        }
    }
    loop_nest {
        // Three levels: the inner loops record on one stack each for the whole nest, the
        // innermost a `while` (no trip count to reserve: its run moves to a larger chunk
        // when it fills one).
        #[differentiable]
        pub fn f(x: f64, y: f64) -> f64 {
            let mut total = 0.0;
            for i in 0..4 {
                let mut row = 0.0;
                for j in 0..=i {
                    let mut z = x * (j as f64 + 1.0) - y;
                    let mut k = 0;
                    while k < j + 2 {
                        z = (z * y).sin() + x;
                        k += 1;
                    }
                    row += z.exp() * x;
                }
                total += (row * 0.1).tanh();
            }
            total
        }
    }
    nest_through_a_branch {
        // The inner loop's segment leaves the `if` as a result (the function writes an
        // array, so the adjoint reads it rather than running the branch again); the other
        // branch yields an empty one.
        #[differentiable]
        pub fn f(x: f64, y: f64) -> f64 {
            let mut u = [0.0; 5];
            let mut total = 0.0;
            for i in 0..5 {
                u[i] = x * i as f64 + y;
                if i % 2 == 0 {
                    let mut s = 0.0;
                    for (j, uj) in u.iter().enumerate().take(i + 1) {
                        s += (uj * y - j as f64).sin();
                    }
                    total += s * x;
                } else {
                    total += u[i] * u[i];
                }
            }
            total
        }
    }
    inactive_loop {
        // The loop only computes an integer: no derivative work for it.
        #[differentiable]
        pub fn f(x: f64, n: u32) -> f64 {
            let mut k = 0;
            for i in 0..n {
                k += i * i;
            }
            x * f64::from(k)
        }
    }
}

#[test]
fn counted_loops() {
    let pts: &[&[f64]] = &[&[0.0, 0.5], &[0.3, -1.2], &[-0.7, 2.5], &[1.1, 0.4]];
    for case in [
        case!(power_sum(x, y | dx, dy)),
        case!(nested(x, y | dx, dy)),
        case!(loop_with_calls(x, y | dx, dy)),
        case!(logsumexp_running_max(x, y | dx, dy)),
    ] {
        check_at(&case, pts);
    }
    check_at(&case!(horner(x | dx) + 7), &[&[0.0], &[-0.8], &[1.3]]);
    // A step size of 0.01 is small next to the finite-difference step (1e-5): looser.
    let loose = Tolerance {
        rel: 1e-5,
        ..Tolerance::F64
    };
    check_at(
        &case!(euler_ode(y0, k, h | dy0, dk, dh); loose),
        &[&[1.0, 0.5, 0.01], &[-0.3, 2.0, 0.005]],
    );
    check_at(
        &case!(rk4(a, b | da, db)),
        &[&[0.3, 1.0], &[-1.0, 2.2], &[0.0, 1.5]],
    );
    check_at(
        &case!(recurrent_cell(w, u, b | dw, du, db)),
        &[&[0.5, -0.4, 0.1], &[0.0, 1.0, 0.0], &[-0.9, 0.3, -0.2]],
    );
    check_at(&case!(adapters(x | dx) + 7), &[&[0.0], &[-0.6], &[0.9]]);
    check_at(&case!(zero_iterations(x | dx) + 0), &[&[0.0], &[-0.6]]);
    check_at(&case!(zero_iterations(x | dx) + 3), &[&[0.3], &[-0.6]]);
    check_at(&case!(inactive_loop(x | dx) + 5), &[&[0.0], &[-0.6]]);
    check_at(
        &case!(single_precision_loop(x, y | dx, dy); Tolerance::F32),
        &[&[0.0, 1.0], &[0.3, -0.5]],
    );
}

#[test]
fn loops_in_branches_in_loops() {
    check_at(
        &case!(loop_in_branch_in_loop(x, y | dx, dy)),
        &[&[0.3, 0.7], &[1.1, -0.4], &[-0.6, 0.9]],
    );
}

#[test]
fn loop_nests() {
    let pts: &[&[f64]] = &[&[0.0, 0.5], &[0.3, -1.2], &[-0.7, 0.0], &[1.1, 0.4]];
    check_at(&case!(loop_nest(x, y | dx, dy)), pts);
    check_at(&case!(nest_through_a_branch(x, y | dx, dy)), pts);
}

/// A pullback whose tapes hold numbers (the inner loops' on the nest's stacks, a `while`
/// loop's among them) copies its records out and leaves them, so it may run again
/// (`impl Fn`): the gradient, then the pullback of another cotangent, then the gradient.
#[test]
fn a_pullback_over_loop_nests_runs_again() {
    fn check((dx, dy): (f64, f64), grad: (f64, f64)) {
        assert!((dx + 2.5 * grad.0).abs() <= 1e-12 * grad.0.abs().max(1.0));
        assert!((dy + 2.5 * grad.1).abs() <= 1e-12 * grad.1.abs().max(1.0));
    }
    for (x, y) in [(0.3, -1.2), (0.0, 0.5), (-0.7, 0.0)] {
        let (_, pullback) = nested::f_vjp(x, y);
        let (_, grad) = nested::f_grad(x, y);
        assert_eq!(pullback(1.0), grad);
        check(pullback(-2.5), grad);
        assert_eq!(pullback(1.0), grad);
        let (_, pullback) = loop_nest::f_vjp(x, y);
        let (_, grad) = loop_nest::f_grad(x, y);
        assert_eq!(pullback(1.0), grad);
        check(pullback(-2.5), grad);
        assert_eq!(pullback(1.0), grad);
    }
}

#[test]
fn branches_in_loops() {
    // Points where no iteration lands on a branch threshold.
    check_at(
        &case!(branch_in_loop(x, y | dx, dy)),
        &[&[0.5, 0.9], &[2.0, 0.3], &[-0.5, 1.7]],
    );
}

#[test]
fn early_exits() {
    check_at(
        &case!(break_out(x, y | dx, dy)),
        &[&[0.3, 0.7], &[1.1, 0.2], &[-0.6, 1.4]],
    );
    check_at(
        &case!(continue_some(x, y | dx, dy)),
        &[&[0.3, 0.7], &[1.5, 0.2], &[-0.6, 1.4]],
    );
    check_at(
        &case!(return_from_loop(x, c | dx, dc)),
        &[&[0.5, 0.7], &[1.5, 1.2], &[-0.6, 0.4]],
    );
    check_at(
        &case!(while_break_return(a, s | da, ds)),
        &[&[2.0, 1.0], &[27.0, 2.0], &[0.5, 1.5]],
    );
    let (x, (da, _)) = while_break_return::f_grad(8.0, 1.5);
    assert!(
        (x - 2.0).abs() < 1e-12 && (da - 1.0 / 12.0).abs() < 1e-9,
        "{x} {da}"
    );
    check_at(
        &case!(nested_exits(x, y | dx, dy)),
        &[&[0.3, 0.7], &[1.1, 0.2], &[-0.6, 1.4]],
    );
    check_at(
        &case!(plain_loop_with_break(a | da)),
        &[&[0.5], &[0.9], &[-0.7]],
    );
    // Implicit derivative of the fixed point x = cos(a x): dx/da = -x sin(ax) / (1 + a sin(ax)).
    let a = 0.5;
    let (x, dx) = plain_loop_with_break::f_grad(a);
    let expected = -x * (a * x).sin() / (1.0 + a * (a * x).sin());
    assert!((dx - expected).abs() < 1e-10, "{dx} vs {expected}");
}

#[test]
fn while_loops() {
    check_at(
        &case!(newton_sqrt(a | da)),
        &[&[2.0], &[0.25], &[9.0], &[0.05]],
    );
    let (x, dx) = newton_sqrt::f_grad(2.0);
    assert!((x - 2.0_f64.sqrt()).abs() < 1e-15 && (dx - 0.5 / 2.0_f64.sqrt()).abs() < 1e-12);
    check_at(
        &case!(while_on_active_value(x, y | dx, dy)),
        &[&[3.0, 1.5], &[0.4, 2.0], &[7.0, 0.2]],
    );
}
