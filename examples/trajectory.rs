//! Trajectory optimisation through a simulation: the launch velocity of a projectile
//! with quadratic air drag such that, after `T` seconds of flight, it is at a target.
//!
//! `flight` integrates the motion over 2,000 steps (semi-implicit Euler); it returns the
//! final position as a tuple, so `#[differentiable]` gives its Jacobian with respect to the
//! launch velocity through the whole integration: `flight_jvp` along each velocity
//! component, or `flight_vjp` row by row. Newton's method on the 2×2 system
//! `position(v₀) = target` then finds the velocity; a drag-free estimate is the start.
//! Needs no data and no download; runs in well under a second.
//!
//! Run with `cargo run --release --example trajectory`.

use autodiff::differentiable;

const GRAVITY: f64 = 9.81;

/// The position `(x, y)` after `t_end` seconds, launched from the origin at `(vx, vy)`
/// m/s; the drag decelerates by `drag·|v|·v`.
#[differentiable(wrt(vx, vy))]
fn flight(vx: f64, vy: f64, drag: f64, t_end: f64, steps: usize) -> (f64, f64) {
    let dt = t_end / steps as f64;
    let (mut x, mut y) = (0.0, 0.0);
    let (mut u, mut v) = (vx, vy);
    for _ in 0..steps {
        let speed = (u * u + v * v).sqrt();
        u -= dt * drag * speed * u;
        v -= dt * (GRAVITY + drag * speed * v);
        x += dt * u;
        y += dt * v;
    }
    (x, y)
}

/// Newton's method: `J·δ = target − position`, `J` the Jacobian of the final position
/// with respect to the launch velocity, by forward mode (one pass per column).
fn aim(target: (f64, f64), drag: f64, t_end: f64, steps: usize) -> Option<(f64, f64, usize)> {
    // Without drag: x = vx·T, y = vy·T − g·T²/2.
    let (mut vx, mut vy) = (
        target.0 / t_end,
        (target.1 + 0.5 * GRAVITY * t_end * t_end) / t_end,
    );
    println!("start from the drag-free velocity ({vx:.3}, {vy:.3}) m/s");
    println!("{:>5} {:>10} {:>10} {:>12}", "iter", "vx", "vy", "miss (m)");
    for iter in 1..=20 {
        let ((x, y), (dx_dvx, dy_dvx)) = flight_jvp(vx, vy, drag, t_end, steps, 1.0, 0.0);
        let (_, (dx_dvy, dy_dvy)) = flight_jvp(vx, vy, drag, t_end, steps, 0.0, 1.0);
        let (ex, ey) = (target.0 - x, target.1 - y);
        let miss = ex.hypot(ey);
        println!("{iter:>5} {vx:>10.4} {vy:>10.4} {miss:>12.3e}");
        if miss < 1e-9 {
            return Some((vx, vy, iter));
        }
        let det = dx_dvx * dy_dvy - dx_dvy * dy_dvx;
        if det.abs() < 1e-300 {
            return None;
        }
        vx += (dy_dvy * ex - dx_dvy * ey) / det;
        vy += (dx_dvx * ey - dy_dvx * ex) / det;
    }
    None
}

fn main() {
    let (target, drag, t_end, steps) = ((40.0, 5.0), 0.02, 3.0, 2_000);
    println!(
        "projectile with drag {drag}·|v|·v: launch velocity to be at {target:?} m after {t_end} s \
         ({steps} integration steps)"
    );
    let Some((vx, vy, iterations)) = aim(target, drag, t_end, steps) else {
        eprintln!("Newton's method did not converge");
        std::process::exit(1);
    };
    println!(
        "\nlaunch at ({vx:.4}, {vy:.4}) m/s ({:.2} m/s at {:.2}°), {iterations} Newton steps",
        vx.hypot(vy),
        vy.atan2(vx).to_degrees()
    );
    // The same Jacobian row by reverse mode: the gradient of the final height.
    let ((x, y), pullback) = flight_vjp(vx, vy, drag, t_end, steps);
    let (dy_dvx, dy_dvy) = pullback((0.0, 1.0));
    println!(
        "final position ({x:.6}, {y:.6}); ∂y/∂v₀ by reverse mode = ({dy_dvx:.4}, {dy_dvy:.4})"
    );
    // Checked against central differences of the simulation itself.
    let h = 1e-6;
    let fd = (flight(vx, vy + h, drag, t_end, steps).1 - flight(vx, vy - h, drag, t_end, steps).1)
        / (2.0 * h);
    println!("central difference of y along vy: {fd:.4}");
    if (fd - dy_dvy).abs() > 1e-5 * (1.0 + fd.abs()) {
        eprintln!("reverse mode and finite differences disagree");
        std::process::exit(1);
    }
}
