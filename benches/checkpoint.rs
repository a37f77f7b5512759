//! `#[checkpoint]` on a 10⁶-step explicit Euler loop (a damped pendulum, `h = 10⁻⁴`): the gradient's
//! peak heap and time, storing every step against √T segments (the default) and against
//! 100 snapshots, and how far the gradients differ (they agree to rounding).
//!
//! `cargo bench --bench checkpoint` prints the table (best of 7 runs; peak heap from a
//! counting allocator).

#[path = "common/counting.rs"]
mod counting;

use counting::peak_bytes;
use std::hint::black_box;
use std::time::Instant;

#[path = "common/pendulum.rs"]
mod pendulum;

use pendulum::*;

type Grad = fn(f64, f64, f64, usize) -> (f64, (f64, f64, f64));

/// The best of 7 runs of `f`, in seconds.
fn best_of_7<T>(f: impl Fn() -> T) -> f64 {
    (0..7)
        .map(|_| {
            let start = Instant::now();
            black_box(f());
            start.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

/// Best-of-7 seconds, peak heap bytes and the gradient of `grad` at `steps`.
fn run(grad: Grad, steps: usize) -> (f64, usize, (f64, f64, f64)) {
    let seconds = best_of_7(|| grad(black_box(2.0), 0.1, 0.5, steps));
    let peak = peak_bytes(|| grad(2.0, 0.1, 0.5, steps));
    (seconds, peak, grad(2.0, 0.1, 0.5, steps).1)
}

fn main() {
    let steps = 1_000_000;
    let primal = best_of_7(|| stored(black_box(2.0), 0.1, 0.5, steps));
    println!(
        "\n{steps} explicit Euler steps; the primal takes {:.2} ms",
        primal * 1e3
    );
    println!(
        "{:<28} {:>10} {:>8} {:>14} {:>10} {:>14}",
        "gradient", "ms", "× store", "peak heap (B)", "÷ store", "max rel. diff"
    );
    let (base_s, base_peak, base_g) = run(stored_grad, steps);
    let forms: [(&str, Grad); 3] = [
        ("store every step", stored_grad),
        ("#[checkpoint] (√T segments)", checkpointed_grad),
        ("#[checkpoint(snapshots = 100)]", hundred_snapshots_grad),
    ];
    for (name, grad) in forms {
        let (s, peak, g) = run(grad, steps);
        let rel = |a: f64, b: f64| (a - b).abs() / a.abs().max(b.abs()).max(1e-300);
        let diff = rel(g.0, base_g.0)
            .max(rel(g.1, base_g.1))
            .max(rel(g.2, base_g.2));
        println!(
            "{name:<28} {:>10.2} {:>8.2} {peak:>14} {:>10.0} {diff:>14.1e}",
            s * 1e3,
            s / base_s,
            base_peak as f64 / peak.max(1) as f64
        );
    }
    println!();
}
