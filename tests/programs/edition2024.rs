#![deny(warnings)]
//! Edition 2024, under `#![deny(warnings)]`, built and run by `tests/edition2024.rs` as a
//! crate of its own: ten functions written from the README alone, as a new user would,
//! each checked against central differences (`gradcheck`) and, where it has several
//! inputs, forward against reverse mode.
use autodiff::differentiable;
use autodiff::gradcheck::{Tolerance, check_gradient};

/// 1. Mean squared error of a line fit.
#[differentiable(wrt(a, b))]
fn mse(a: f64, b: f64, xs: &[f64], ys: &[f64]) -> f64 {
    let n = xs.len() as f64;
    xs.iter()
        .zip(ys)
        .map(|(x, y)| (a * x + b - y).powi(2))
        .sum::<f64>()
        / n
}

/// 2. Log-sum-exp, stabilised by the max (whose derivative cancels, so it is stopped).
#[differentiable]
fn logsumexp(v: &[f64]) -> f64 {
    let m = autodiff::stop_gradient(v.iter().cloned().fold(f64::NEG_INFINITY, f64::max));
    m + v.iter().map(|x| (x - m).exp()).sum::<f64>().ln()
}

/// 3. Rosenbrock in n dimensions, with windows-free indexing.
#[differentiable]
fn rosenbrock(x: &[f64]) -> f64 {
    (0..x.len() - 1)
        .map(|i| 100.0 * (x[i + 1] - x[i] * x[i]).powi(2) + (1.0 - x[i]).powi(2))
        .sum()
}

/// 4. A two-link arm's end effector distance to a target, with array literals.
#[differentiable]
fn reach(q: &[f64; 2], target: &[f64; 2]) -> f64 {
    let lengths = [1.0, 0.7];
    let [q1, q2] = *q;
    let p = [
        lengths[0] * q1.cos() + lengths[1] * (q1 + q2).cos(),
        lengths[0] * q1.sin() + lengths[1] * (q1 + q2).sin(),
    ];
    (p[0] - target[0]).hypot(p[1] - target[1])
}

/// 5. A projectile with drag, explicit Euler, the landing distance.
#[differentiable(wrt(v0, angle))]
fn range(v0: f64, angle: f64, drag: f64, steps: usize) -> f64 {
    let dt = 0.01;
    let (mut x, mut y) = (0.0, 0.0);
    let (s, c) = angle.sin_cos();
    let (mut vx, mut vy) = (v0 * c, v0 * s);
    for _ in 0..steps {
        let speed = (vx * vx + vy * vy).sqrt();
        vx -= drag * speed * vx * dt;
        vy -= (9.81 + drag * speed * vy) * dt;
        x += vx * dt;
        y += vy * dt;
        if y < 0.0 {
            break;
        }
    }
    x
}

/// 6. Softmax cross-entropy with a label.
#[differentiable(wrt(logits))]
fn cross_entropy(logits: &[f64], label: usize) -> f64 {
    let z = logsumexp(logits);
    z - logits[label]
}

#[derive(Clone, Copy)]
enum Penalty {
    None,
    L2(f64),
    L1(f64),
}

/// 7. A regularised objective whose penalty is an enum.
#[differentiable(wrt(w))]
fn regularised(w: &[f64], penalty: Penalty) -> f64 {
    let data: f64 = w
        .iter()
        .enumerate()
        .map(|(i, wi)| (wi - i as f64 * 0.1).powi(2))
        .sum();
    let reg = match penalty {
        Penalty::None => 0.0,
        Penalty::L2(lambda) => lambda * w.iter().map(|v| v * v).sum::<f64>(),
        Penalty::L1(lambda) => lambda * w.iter().map(|v| v.abs()).sum::<f64>(),
    };
    data + reg
}

/// 8. Polar to Cartesian and back: a tuple result.
#[differentiable]
fn to_cartesian(r: f64, theta: f64) -> (f64, f64) {
    (r * theta.cos(), r * theta.sin())
}

/// 9. Normalise a vector then score it: a local Vec passed to another function.
#[differentiable]
fn normalised_score(v: &[f64], w: &[f64]) -> f64 {
    let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
    let unit: Vec<f64> = v.iter().map(|x| x / norm).collect();
    dot(&unit, w)
}

#[differentiable]
fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// 10. A smoothed maximum with an optional temperature and a closure.
#[differentiable(wrt(xs))]
fn soft_max(xs: &[f64], temperature: Option<f64>) -> f64 {
    let t = temperature.unwrap_or(1.0);
    let scaled = |x: f64| (x / t).exp();
    t * xs.iter().map(|&x| scaled(x)).sum::<f64>().ln()
}

/// 12. Second derivatives through a checkpointed loop, and a Jacobian in vector mode.
#[differentiable(hessian)]
fn smooth(x: &[f64]) -> f64 {
    let mut s = 0.0;
    #[checkpoint]
    for i in 0..x.len() {
        s += (x[i] * s + 1.0).ln_1p();
    }
    s * s
}

#[differentiable(jacobian)]
fn squares(x: &[f64]) -> Vec<f64> {
    let mut out = Vec::new();
    for v in x {
        out.push(v * v);
        out.push(v.sin());
    }
    out
}

fn check(name: &str, f: impl Fn(&[f64]) -> f64, grad: &[f64], x: &[f64]) {
    if let Err(e) = check_gradient(f, grad, x, Tolerance::F64) {
        panic!("{name}: {e}");
    }
}

fn main() {
    let (xs, ys) = ([0.0, 1.0, 2.0, -1.5], [1.0, 2.9, 5.2, -2.1]);
    let (_, (ga, gb)) = mse_grad(1.5, 0.2, &xs, &ys);
    check("mse", |p| mse(p[0], p[1], &xs, &ys), &[ga, gb], &[1.5, 0.2]);

    let v = [0.3, -1.2, 2.0, 0.0];
    let (_, g) = logsumexp_grad(&v);
    check("logsumexp", logsumexp, &g, &v);

    let x = [-1.2, 1.0, 0.5, -0.3];
    let (_, g) = rosenbrock_grad(&x);
    check("rosenbrock", rosenbrock, &g, &x);

    let (q, target) = ([0.4, -0.9], [1.1, 0.3]);
    let (_, (gq, _)) = reach_grad(&q, &target);
    check("reach", |p| reach(&[p[0], p[1]], &target), &gq, &q);

    let (_, (gv, ga)) = range_grad(30.0, 0.7, 0.02, 1000);
    check(
        "range",
        |p| range(p[0], p[1], 0.02, 1000),
        &[gv, ga],
        &[30.0, 0.7],
    );

    let logits = [0.5, -0.3, 1.7];
    let (_, g) = cross_entropy_grad(&logits, 2);
    check("cross_entropy", |p| cross_entropy(p, 2), &g, &logits);

    let w = [0.3, -0.4, 0.25];
    for penalty in [Penalty::None, Penalty::L2(0.1), Penalty::L1(0.05)] {
        let (_, g) = regularised_grad(&w, penalty);
        check("regularised", |p| regularised(p, penalty), &g, &w);
    }

    let ((cx, cy), pullback) = to_cartesian_vjp(2.0, 0.5);
    let (dr, dtheta) = pullback((1.0, 0.0));
    check(
        "to_cartesian.x",
        |p| to_cartesian(p[0], p[1]).0,
        &[dr, dtheta],
        &[2.0, 0.5],
    );
    let ((_, _), (tx, ty)) = to_cartesian_jvp(2.0, 0.5, 0.0, 1.0);
    assert_eq!((tx, ty), (-cy, cx), "d/dθ (r cos θ, r sin θ) = (-y, x)");

    let (v, w) = ([0.6, -0.8, 1.5], [1.0, 0.5, -0.2]);
    let (_, (gv, gw)) = normalised_score_grad(&v, &w);
    check("normalised_score.v", |p| normalised_score(p, &w), &gv, &v);
    check("normalised_score.w", |p| normalised_score(&v, p), &gw, &w);

    let xs = [0.1, 2.0, -0.5];
    for t in [None, Some(0.5)] {
        let (_, g) = soft_max_grad(&xs, t);
        check("soft_max", |p| soft_max(p, t), &g, &xs);
    }

    let x = [0.3, 0.5, 0.9, 0.2];
    let (_, g, h) = smooth_hessian(&x);
    check("smooth", smooth, &g, &x);
    let (_, _, hv) = smooth_hvp(&x, &[1.0, 0.0, 0.0, 0.0]);
    for i in 0..4 {
        assert!((hv[i] - h[(i, 0)]).abs() < 1e-12 * (1.0 + hv[i].abs()), "H·e₀");
        for j in 0..4 {
            assert!((h[(i, j)] - h[(j, i)]).abs() < 1e-10, "a symmetric Hessian");
        }
    }
    let (_, jac) = squares_jacobian(&x);
    for (k, v) in x.iter().enumerate() {
        assert!((jac[(2 * k, k)] - 2.0 * v).abs() < 1e-15 && (jac[(2 * k + 1, k)] - v.cos()).abs() < 1e-15);
        assert_eq!(jac.column(k).iter().filter(|e| **e != 0.0).count(), 2);
    }

    // Forward mode agrees with reverse mode along a direction.
    let (v, w) = ([0.6, -0.8, 1.5], [1.0, 0.5, -0.2]);
    let (_, (gv, gw)) = normalised_score_grad(&v, &w);
    let (dv, dw) = ([0.3, 0.1, -0.7], [0.2, -0.4, 0.9]);
    let (_, t) = normalised_score_jvp(&v, &w, &dv, &dw);
    let want: f64 = gv
        .iter()
        .zip(dv)
        .chain(gw.iter().zip(dw))
        .map(|(g, d)| g * d)
        .sum();
    assert!(
        (t - want).abs() < 1e-12 * (1.0 + want.abs()),
        "{t} vs {want}"
    );
}
