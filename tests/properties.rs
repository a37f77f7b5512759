//! Property tests: on random inputs, every mode agrees with central finite differences
//! and with the other modes (the checks of `common::check_case`).

mod common;

use autodiff::differentiable;
use common::check_case;
use proptest::prelude::*;

mod smooth {
    use super::*;
    #[differentiable]
    pub fn f(a: f64, b: f64, c: f64) -> f64 {
        let r2 = a * a + b * b + 1.0;
        let t = (a * b).sin() * c.exp() / r2.sqrt();
        t + c.tanh() * a - (b * c).cos().powi(2)
    }
}

mod branchy {
    use super::*;
    #[differentiable]
    pub fn f(a: f64, b: f64, c: f64) -> f64 {
        let mut s = a * b;
        if s > c {
            s = s.sin() + c;
        } else if a < 0.0 {
            return (a * c).exp() - b;
        }
        let q = if b > 0.5 { s * b } else { s / (1.0 + b * b) };
        q + c * c
    }
}

mod calls {
    use super::*;
    #[differentiable]
    pub fn g(x: f64, y: f64) -> f64 {
        x.atan2(y + 3.0) * x.hypot(y)
    }
    #[differentiable]
    pub fn f(a: f64, b: f64) -> f64 {
        g(a, b) * g(b, a * 0.5) + a.exp_m1()
    }
}

/// Keeps random points a little away from branch thresholds, where the derivative jumps
/// and finite differences straddle the jump.
fn away_from(x: f64, threshold: f64) -> bool {
    (x - threshold).abs() > 1e-3
}

proptest! {
    #[test]
    fn smooth_function(a in -3.0..3.0_f64, b in -3.0..3.0_f64, c in -2.0..2.0_f64) {
        check_case(&case!(smooth(a, b, c | da, db, dc)), &[a, b, c]);
    }

    #[test]
    fn branchy_function(a in -2.0..2.0_f64, b in -2.0..2.0_f64, c in -2.0..2.0_f64) {
        prop_assume!(away_from(a * b, c) && away_from(a, 0.0) && away_from(b, 0.5));
        check_case(&case!(branchy(a, b, c | da, db, dc)), &[a, b, c]);
    }

    #[test]
    fn call_chain(a in -2.0..2.0_f64, b in -2.0..2.0_f64) {
        prop_assume!(a.hypot(b) > 1e-3 && (a * 0.5).hypot(b) > 1e-3);
        check_case(&case!(calls(a, b | da, db)), &[a, b]);
    }
}
