//! The main job: what `#[differentiable]` generates, then gradient descent on the
//! Rosenbrock function with the generated gradient. Needs no data and no download.
//!
//! Run with `cargo run --release --example quickstart`.

use autodiff::differentiable;

/// A small function with a branch: `x²·y + sin(x·y)`, damped where `x` is negative.
#[differentiable]
fn f(x: f64, y: f64) -> f64 {
    let p = x * x * y + (x * y).sin();
    if x < 0.0 {
        return p * 0.5;
    }
    p
}

/// The Rosenbrock function, minimal (0) at (1, 1) at the bottom of a long curved valley.
#[differentiable]
fn rosenbrock(x: f64, y: f64) -> f64 {
    let a = 1.0 - x;
    let b = y - x * x;
    a * a + 100.0 * b * b
}

fn main() {
    show_generated_functions();
    minimise_rosenbrock();
}

fn show_generated_functions() {
    let (x, y) = (1.5, -0.5);
    println!("f(x, y) = x²·y + sin(x·y), halved for x < 0");
    let (value, (df_dx, df_dy)) = f_grad(x, y);
    println!("  f_grad({x}, {y})          = {value:.6}, gradient ({df_dx:.6}, {df_dy:.6})");
    let (_, tangent) = f_jvp(x, y, 1.0, 2.0);
    println!("  f_jvp({x}, {y}; 1, 2)     = directional derivative {tangent:.6}");
    println!("  check: df/dx + 2·df/dy    = {:.6}", df_dx + 2.0 * df_dy);
    let (_, pullback) = f_vjp(x, y);
    let (gx, gy) = pullback(3.0);
    println!("  f_vjp pullback(3.0)       = ({gx:.6}, {gy:.6})");
    println!();
}

/// Gradient descent with a backtracking (Armijo) line search: halve the step until the
/// function decreases by at least `c · step · |∇f|²`, then try a larger step next time.
fn minimise_rosenbrock() {
    let (mut x, mut y) = (-1.2, 1.0);
    let mut step = 1e-3;
    let c = 1e-4;
    println!("gradient descent on the Rosenbrock function from ({x}, {y})");
    println!(
        "{:>8} {:>14} {:>14} {:>12} {:>12}",
        "iter", "x", "y", "f", "|grad|"
    );
    for iter in 0..=200_000 {
        let (value, (gx, gy)) = rosenbrock_grad(x, y);
        let norm2 = gx * gx + gy * gy;
        if iter % 20_000 == 0 || norm2 < 1e-20 {
            println!(
                "{iter:>8} {x:>14.9} {y:>14.9} {value:>12.3e} {:>12.3e}",
                norm2.sqrt()
            );
        }
        if norm2 < 1e-20 {
            break;
        }
        while rosenbrock(x - step * gx, y - step * gy) > value - c * step * norm2 {
            step *= 0.5;
        }
        x -= step * gx;
        y -= step * gy;
        step *= 2.0;
    }
    println!("minimum found at ({x:.9}, {y:.9}); the exact minimum is at (1, 1)");
}
