//! Sensitivity of an ODE solution to its parameters: the Lotka–Volterra predator–prey
//! model, `x' = αx − βxy`, `y' = δxy − γy`, solved by the classical Runge–Kutta method
//! (RK4, 1,000 steps), differentiated through the whole solve.
//!
//! `final_state` returns the populations at the end; its gradient with respect to the four
//! rates and the initial populations comes from one reverse pass (`final_state_vjp`) per
//! output, and each column of the Jacobian from one forward pass (`final_state_jvp`). Both
//! are checked against central differences of the solver. Needs no data and no download.
//!
//! Run with `cargo run --release --example ode_sensitivity`.

use autodiff::differentiable;

/// The right-hand side at `(x, y)` for rates `p = (α, β, γ, δ)`.
#[differentiable]
fn rates(p: &[f64; 4], x: f64, y: f64) -> (f64, f64) {
    (p[0] * x - p[1] * x * y, p[3] * x * y - p[2] * y)
}

/// `(x, y)` at `t_end`, from `(x0, y0)` at 0, by RK4 with `steps` steps.
#[differentiable(wrt(p, x0, y0))]
fn final_state(p: &[f64; 4], x0: f64, y0: f64, t_end: f64, steps: usize) -> (f64, f64) {
    let h = t_end / steps as f64;
    let (mut x, mut y) = (x0, y0);
    for _ in 0..steps {
        let (k1x, k1y): (f64, f64) = rates(p, x, y);
        let (k2x, k2y): (f64, f64) = rates(p, x + 0.5 * h * k1x, y + 0.5 * h * k1y);
        let (k3x, k3y): (f64, f64) = rates(p, x + 0.5 * h * k2x, y + 0.5 * h * k2y);
        let (k4x, k4y): (f64, f64) = rates(p, x + h * k3x, y + h * k3y);
        x += h / 6.0 * (k1x + 2.0 * k2x + 2.0 * k3x + k4x);
        y += h / 6.0 * (k1y + 2.0 * k2y + 2.0 * k3y + k4y);
    }
    (x, y)
}

fn main() {
    let p = [1.1, 0.4, 0.4, 0.1];
    let (x0, y0, t_end, steps) = (10.0, 10.0, 10.0, 1_000);
    let ((x, y), pullback) = final_state_vjp(&p, x0, y0, t_end, steps);
    println!("Lotka–Volterra, rates (α, β, γ, δ) = {p:?}, from ({x0}, {y0}) to t = {t_end}:");
    println!("  prey {x:.6}, predators {y:.6} (RK4, {steps} steps)\n");
    // One reverse pass: the gradient of the final prey population.
    let (dp, dx0, dy0) = pullback((1.0, 0.0));
    let reverse = [dp[0], dp[1], dp[2], dp[3], dx0, dy0];

    let names = ["α", "β", "γ", "δ", "x0", "y0"];
    let eps = 1e-6;
    println!(
        "{:>4} {:>16} {:>16} {:>16} {:>10}",
        "", "reverse ∂x/∂·", "forward ∂x/∂·", "central diff.", "rel. diff."
    );
    let mut worst: f64 = 0.0;
    for (k, name) in names.iter().enumerate() {
        // One forward pass along parameter k, and central differences of the solver.
        let mut dp = [0.0; 4];
        let (mut dx0, mut dy0) = (0.0, 0.0);
        let (mut up, mut down) = ((p, x0, y0), (p, x0, y0));
        match k {
            0..=3 => {
                dp[k] = 1.0;
                up.0[k] += eps;
                down.0[k] -= eps;
            }
            4 => {
                dx0 = 1.0;
                (up.1, down.1) = (x0 + eps, x0 - eps);
            }
            _ => {
                dy0 = 1.0;
                (up.2, down.2) = (y0 + eps, y0 - eps);
            }
        }
        let (_, (forward, _)) = final_state_jvp(&p, x0, y0, t_end, steps, &dp, dx0, dy0);
        let plus = final_state(&up.0, up.1, up.2, t_end, steps).0;
        let minus = final_state(&down.0, down.1, down.2, t_end, steps).0;
        let central = (plus - minus) / (2.0 * eps);
        let rel = (reverse[k] - central).abs() / (1.0 + central.abs());
        worst = worst
            .max(rel)
            .max((forward - reverse[k]).abs() / (1.0 + reverse[k].abs()));
        println!(
            "{name:>4} {:>16.8} {forward:>16.8} {central:>16.8} {rel:>10.1e}",
            reverse[k]
        );
    }
    println!("\nlargest relative difference {worst:.1e}");
    if worst > 1e-6 {
        eprintln!("the sensitivities disagree");
        std::process::exit(1);
    }
}
