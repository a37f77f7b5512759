//! A damped pendulum by explicit Euler, written with and without `#[checkpoint]`, for the
//! checkpointing bench and tests (`#[path]`).

// Each binary that includes it uses some of the forms.
#![allow(dead_code)]

/// `$name(k, c, x0, steps)`: `x² + v` of the state (x, v) after `steps` steps of 10⁻⁴,
/// with the loop under `$attr` if one is given.
macro_rules! pendulum {
    ($name:ident $(, #[$attr:meta])?) => {
        #[autodiff::differentiable(wrt(k, c, x0))]
        pub fn $name(k: f64, c: f64, x0: f64, steps: usize) -> f64 {
            let h = 1e-4;
            let (mut x, mut v) = (x0, 0.0);
            $(#[$attr])?
            for _ in 0..steps {
                let a = -k * x.sin() - c * v;
                x += h * v;
                v += h * a;
            }
            x * x + v
        }
    };
}

pendulum!(stored);
pendulum!(checkpointed, #[checkpoint]);
pendulum!(three_snapshots, #[checkpoint(snapshots = 3)]);
pendulum!(hundred_snapshots, #[checkpoint(snapshots = 100)]);
pendulum!(every_thousand, #[checkpoint(every = 1000)]);
