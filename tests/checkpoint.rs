//! `#[checkpoint]` on loops: the same derivatives as storing every iteration (to
//! rounding), in both modes, whatever the number of iterations and snapshots, with
//! branches, calls, nested loops and arrays read and written in the body; and the memory
//! it saves, counted by this test binary's allocator.

#[path = "../benches/common/counting.rs"]
mod counting;

use autodiff::differentiable;
use counting::peak_bytes;
use std::sync::Mutex;

/// Held by every test, so that the memory one counts is its own.
static SERIAL: Mutex<()> = Mutex::new(());

#[path = "../benches/common/pendulum.rs"]
mod pendulum;

use pendulum::*;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * (1.0 + a.abs().max(b.abs()))
}

#[test]
fn the_same_gradient_as_storing_every_step() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    type Grad = fn(f64, f64, f64, usize) -> (f64, (f64, f64, f64));
    let forms: [(&str, Grad); 4] = [
        ("default", checkpointed_grad),
        ("3 snapshots", three_snapshots_grad),
        ("100 snapshots", hundred_snapshots_grad),
        ("every 1,000", every_thousand_grad),
    ];
    for steps in [0, 1, 2, 7, 100, 1001, 20_000] {
        for x0 in [0.0, 0.5, -1.25] {
            let (v, g) = stored_grad(2.0, 0.1, x0, steps);
            for (name, grad) in forms {
                let (w, h) = grad(2.0, 0.1, x0, steps);
                assert_eq!(v, w, "{name}, {steps} steps: the value");
                assert!(
                    close(g.0, h.0) && close(g.1, h.1) && close(g.2, h.2),
                    "{name}, {steps} steps: {g:?} vs {h:?}"
                );
            }
            // Forward mode is unchanged by the attribute.
            let (_, t) = checkpointed_jvp(2.0, 0.1, x0, steps, 0.3, -1.0, 0.7);
            let (_, u) = stored_jvp(2.0, 0.1, x0, steps, 0.3, -1.0, 0.7);
            assert!(close(t, u));
        }
    }
}

/// Integrates until a time is reached: a `while` loop, in segments of `every` steps.
macro_rules! until {
    ($name:ident $(, #[$attr:meta])?) => {
        #[differentiable(wrt(k, x0))]
        pub fn $name(k: f64, x0: f64, t_end: f64) -> f64 {
            let (mut x, mut v, mut t) = (x0, 0.0, 0.0);
            $(#[$attr])?
            while t < t_end {
                let a = -k * x.sin();
                x += 1e-3 * v;
                v += 1e-3 * a;
                t += 1e-3;
            }
            x + v * t
        }
    };
}

until!(until_stored);
until!(until_checkpointed, #[checkpoint]);
until!(until_every_7, #[checkpoint(every = 7)]);

#[test]
fn while_loops_in_segments() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // From no step at all to several segments of 1,024, ending inside one or on its edge.
    for t_end in [-1.0, 0.0005, 0.0065, 0.0075, 1.024, 3.0] {
        let (v, (gk, gx)) = until_stored_grad(2.0, 0.5, t_end);
        for (w, (hk, hx)) in [
            until_checkpointed_grad(2.0, 0.5, t_end),
            until_every_7_grad(2.0, 0.5, t_end),
        ] {
            assert_eq!(v, w, "t_end {t_end}");
            assert!(
                close(gk, hk) && close(gx, hx),
                "t_end {t_end}: {gk} {gx} vs {hk} {hx}"
            );
        }
    }
    // 100,000 steps: 98 segments of 1,024 and one segment's records.
    let stored = peak_bytes(|| until_stored_grad(2.0, 0.5, 100.0));
    let checkpointed = peak_bytes(|| until_checkpointed_grad(2.0, 0.5, 100.0));
    assert!(
        checkpointed * 20 <= stored,
        "{checkpointed} B against {stored} B"
    );
}

#[differentiable]
fn drag(v: f64, c: f64) -> f64 {
    if v > 0.0 {
        c * v * v
    } else {
        -c * v * v
    }
}

/// A call, a branch, a nested loop and reads of a parameter slice in the segments.
macro_rules! flight {
    ($name:ident $(, #[$attr:meta])?) => {
        #[differentiable(wrt(c, wind))]
        pub fn $name(c: f64, wind: &[f64], steps: usize) -> f64 {
            let (mut y, mut v) = (0.0, 1.0);
            $(#[$attr])?
            for i in 0..steps {
                let mut gust = 0.0;
                for w in wind {
                    gust += 0.01 * w * (i as f64 * 0.1).cos();
                }
                let a = -drag(v - gust, c) - 0.5;
                if y < 0.0 {
                    v *= -0.5;
                }
                y += 0.01 * v;
                v += 0.01 * a;
            }
            y + v * v
        }
    };
}

flight!(flight_stored);
flight!(flight_checkpointed, #[checkpoint(snapshots = 5)]);

#[test]
fn calls_branches_and_inner_loops_in_segments() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let wind = [0.5, -1.0, 2.0];
    for steps in [0, 3, 97, 400] {
        let (v, (gc, gw)) = flight_stored_grad(0.2, &wind, steps);
        let (w, (hc, hw)) = flight_checkpointed_grad(0.2, &wind, steps);
        assert_eq!(v, w);
        assert!(close(gc, hc), "{gc} vs {hc}");
        for (a, b) in gw.iter().zip(&hw) {
            assert!(close(*a, *b), "{a} vs {b}");
        }
    }
}

/// A method of lines on local arrays written in place: each segment runs again on copies
/// of the arrays taken at its start. A call passes a local array too.
macro_rules! diffusion {
    ($name:ident $(, #[$attr:meta])?) => {
        #[differentiable(wrt(y0, k))]
        pub fn $name(y0: &[f64], k: f64, steps: usize) -> f64 {
            let n = y0.len();
            let mut y = y0.to_vec();
            let mut dy = vec![0.0; n];
            $(#[$attr])?
            for _ in 0..steps {
                for i in 0..n {
                    let left = if i > 0 { y[i - 1] } else { 0.0 };
                    dy[i] = k * (left - y[i]) + (y[i] * 0.3).sin();
                }
                let damping = 1e-3 * energy(&y);
                for i in 0..n {
                    y[i] += 0.01 * dy[i] - damping * y[i];
                }
            }
            energy(&y)
        }
    };
}

#[differentiable]
fn energy(v: &[f64]) -> f64 {
    v.iter().map(|a| a * a).sum()
}

diffusion!(diffusion_stored);
diffusion!(diffusion_checkpointed, #[checkpoint]);

#[test]
fn arrays_written_in_segments() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let y0: Vec<f64> = (0..12).map(|i| (i as f64 * 0.7).sin()).collect();
    for steps in [0, 1, 5, 64, 301] {
        let (v, (gy, gk)) = diffusion_stored_grad(&y0, 0.7, steps);
        let (w, (hy, hk)) = diffusion_checkpointed_grad(&y0, 0.7, steps);
        assert_eq!(v, w, "{steps} steps");
        assert!(close(gk, hk), "{steps} steps: {gk} vs {hk}");
        for (a, b) in gy.iter().zip(&hy) {
            assert!(close(*a, *b), "{steps} steps: {a} vs {b}");
        }
    }
    // Memory: copies of two arrays at √T segment starts, not T steps' records.
    let stored = peak_bytes(|| diffusion_stored_grad(&y0, 0.7, 10_000));
    let checkpointed = peak_bytes(|| diffusion_checkpointed_grad(&y0, 0.7, 10_000));
    assert!(
        checkpointed * 10 <= stored,
        "{checkpointed} B against {stored} B"
    );
}

#[test]
fn a_million_steps_in_a_fraction_of_the_memory() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let steps = 1_000_000;
    let stored = peak_bytes(|| stored_grad(2.0, 0.1, 0.5, steps));
    let checkpointed = peak_bytes(|| checkpointed_grad(2.0, 0.1, 0.5, steps));
    // Storing every step keeps 24 bytes a step; √T segments keep about 2·√T · 24 bytes.
    assert!(stored >= 8 * steps, "store-all peak {stored} B");
    assert!(
        checkpointed * 20 <= stored,
        "checkpointed peak {checkpointed} B against {stored} B"
    );
}
