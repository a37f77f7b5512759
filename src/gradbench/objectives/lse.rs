//! `log Σ exp(xᵢ)`, stable: GradBench's `lse` eval, and GMM's log-sum-exp of the
//! component weights.

use autodiff::{differentiable, stop_gradient};

/// `a + log Σ exp(xᵢ − a)` with `a = max x` (the stable form). Its value does not depend
/// on `a`, so neither does its derivative: `a` is stopped, and the gradient is the softmax
/// without a pass back through the running maximum.
#[differentiable]
pub fn logsumexp(x: &[f64]) -> f64 {
    let mut a = x[0];
    for &v in x.iter() {
        a = a.max(v);
    }
    let a = stop_gradient(a);
    let mut sum = 0.0;
    for &v in x.iter() {
        sum += (v - a).exp();
    }
    a + sum.ln()
}
