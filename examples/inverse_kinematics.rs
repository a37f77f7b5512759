//! Inverse kinematics of a planar arm with three links, by damped least squares
//! (Levenberg's method on the joint angles).
//!
//! `hand` is the forward kinematics: the joint angles in, the hand's position out, as a
//! tuple. `#[differentiable]` gives the 2×3 Jacobian: `hand_vjp`'s pullback maps a
//! cotangent of the position to the angles', one row per coordinate. Each step solves
//! `Δθ = Jᵀ (J Jᵀ + λ² I)⁻¹ e` for the error `e` to the target, which stays stable
//! near singular poses and for targets out of reach. Needs no data and no download.
//!
//! Run with `cargo run --release --example inverse_kinematics`.

use autodiff::differentiable;
use autodiff::nalgebra::{Matrix2, Matrix2x3, Vector2, Vector3};

/// The hand's position for joint angles `theta` (each relative to the previous link) and
/// link lengths `links`.
#[differentiable(wrt(theta))]
fn hand(theta: &[f64; 3], links: &[f64; 3]) -> (f64, f64) {
    let (mut x, mut y, mut angle) = (0.0, 0.0, 0.0);
    for k in 0..3 {
        angle += theta[k];
        x += links[k] * angle.cos();
        y += links[k] * angle.sin();
    }
    (x, y)
}

/// The Jacobian `∂(x, y)/∂θ`, row by row in reverse mode.
fn jacobian(theta: &[f64; 3], links: &[f64; 3]) -> ((f64, f64), Matrix2x3<f64>) {
    let (position, pullback) = hand_vjp(theta, links);
    let row_x = pullback((1.0, 0.0));
    let (_, pullback) = hand_vjp(theta, links);
    let row_y = pullback((0.0, 1.0));
    let j =
        Matrix2x3::from_rows(&[row_x.into(), row_y.into()].map(|r: Vector3<f64>| r.transpose()));
    (position, j)
}

/// Damped least squares from `theta` towards `target`; the final angles, the distance
/// left, and the steps taken.
fn reach(mut theta: [f64; 3], links: &[f64; 3], target: (f64, f64)) -> ([f64; 3], f64, usize) {
    let damping: f64 = 0.1;
    for step in 1..=200 {
        let ((x, y), j) = jacobian(&theta, links);
        let e = Vector2::new(target.0 - x, target.1 - y);
        if e.norm() < 1e-10 {
            return (theta, e.norm(), step);
        }
        let jjt = j * j.transpose() + Matrix2::identity() * damping * damping;
        let Some(inverse) = jjt.try_inverse() else {
            break;
        };
        let delta = j.transpose() * (inverse * e);
        // At most 0.3 rad per step: the linearisation holds for small moves only.
        let scale = (0.3 / delta.amax()).min(1.0);
        for k in 0..3 {
            theta[k] = wrap(theta[k] + scale * delta[k]);
        }
    }
    let (x, y) = hand(&theta, links);
    (theta, (target.0 - x).hypot(target.1 - y), 200)
}

/// An angle in `(−π, π]`.
fn wrap(a: f64) -> f64 {
    use std::f64::consts::PI;
    PI - (PI - a).rem_euclid(2.0 * PI)
}

fn main() {
    let links = [1.0, 0.8, 0.5];
    let mut theta = [0.3, 0.3, 0.3];
    println!("planar arm, links {links:?}: reach each target from the pose before");
    println!(
        "{:>16} {:>8} {:>28} {:>12}",
        "target", "steps", "joint angles (rad)", "distance"
    );
    let targets = [(1.2, 1.2), (-0.5, 1.6), (0.3, -1.1), (2.0, 0.9), (3.0, 0.0)];
    for target in targets {
        let (angles, distance, steps) = reach(theta, &links, target);
        println!(
            "{:>16} {steps:>8} {:>28} {distance:>12.2e}",
            format!("{target:?}"),
            format!("{:.3?}", angles)
        );
        // Out of reach, the best is the arm stretched towards the target.
        let closest = (target.0.hypot(target.1) - links.iter().sum::<f64>()).max(0.0);
        if distance > closest + if closest > 0.0 { 0.05 } else { 1e-8 } {
            eprintln!("did not reach {target:?}");
            std::process::exit(1);
        }
        if closest > 0.0 {
            println!(
                "{:>16} out of reach: the closest the stretched arm gets is {closest:.3}",
                ""
            );
        }
        theta = angles;
    }
}
