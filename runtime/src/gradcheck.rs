//! Checks for derivatives: central finite differences and the forward/reverse
//! dot-product test.
//!
//! Functions are seen through flat `&[f64]` views, so any differentiable function can be
//! checked once it is wrapped in a closure that unpacks its arguments:
//!
//! ```
//! use autodiff_runtime::gradcheck::{check_gradient, Tolerance};
//!
//! let f = |x: &[f64]| x[0].sin() * x[1];
//! let analytic = |x: &[f64]| vec![x[0].cos() * x[1], x[0].sin()];
//! let x = [0.3, -2.0];
//! check_gradient(f, &analytic(&x), &x, Tolerance::F64).unwrap();
//! ```

use core::fmt;

/// How close two derivatives must be, and the finite-difference step.
///
/// Two numbers `a` and `b` agree when `|a - b| ≤ abs + rel · max(|a|, |b|)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tolerance {
    /// Absolute part of the tolerance.
    pub abs: f64,
    /// Relative part of the tolerance.
    pub rel: f64,
    /// Finite-difference step relative to `max(1, |xᵢ|)`.
    pub step: f64,
}

impl Tolerance {
    /// For functions computed in `f64`: the step `1e-5` balances the `O(h²)` truncation
    /// error of central differences against rounding (`ε/h`).
    pub const F64: Self = Self {
        abs: 1e-6,
        rel: 1e-6,
        step: 1e-5,
    };
    /// For functions computed (partly) in `f32`.
    pub const F32: Self = Self {
        abs: 2e-2,
        rel: 2e-2,
        step: 1e-2,
    };

    /// Whether `a` and `b` agree within this tolerance (NaN agrees with nothing).
    #[must_use]
    pub fn agrees(&self, a: f64, b: f64) -> bool {
        (a - b).abs() <= self.abs + self.rel * a.abs().max(b.abs())
    }
}

impl Default for Tolerance {
    fn default() -> Self {
        Self::F64
    }
}

/// What a check found wrong.
#[derive(Clone, Debug, PartialEq)]
pub enum GradcheckError {
    /// Component `index` of the derivative disagrees with the finite difference.
    Gradient {
        /// The component that disagrees.
        index: usize,
        /// The derivative computed by the generated code.
        analytic: f64,
        /// The central finite difference.
        numeric: f64,
    },
    /// `⟨J·dx, ȳ⟩` (forward) disagrees with `⟨dx, Jᵀ·ȳ⟩` (reverse).
    DotProduct {
        /// `⟨J·dx, ȳ⟩`.
        forward: f64,
        /// `⟨dx, Jᵀ·ȳ⟩`.
        reverse: f64,
    },
    /// Two vectors that should have the same length do not.
    Length {
        /// What the lengths are of.
        what: &'static str,
        /// The length expected.
        expected: usize,
        /// The length given.
        found: usize,
    },
}

impl fmt::Display for GradcheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Gradient { index, analytic, numeric } => write!(
                f,
                "derivative component {index} is {analytic:e}, but central finite differences give {numeric:e}"
            ),
            Self::DotProduct { forward, reverse } => write!(
                f,
                "dot-product test failed: <J dx, ybar> = {forward:e} but <dx, J^T ybar> = {reverse:e}"
            ),
            Self::Length { what, expected, found } => {
                write!(f, "{what} has length {found}, expected {expected}")
            }
        }
    }
}

impl std::error::Error for GradcheckError {}

/// Gradient of a scalar function by central differences:
/// `∂f/∂xᵢ ≈ (f(x + hᵢeᵢ) - f(x - hᵢeᵢ)) / 2hᵢ` with `hᵢ = step · max(1, |xᵢ|)`.
pub fn finite_difference(f: impl Fn(&[f64]) -> f64, x: &[f64], step: f64) -> Vec<f64> {
    let mut probe = x.to_vec();
    (0..x.len())
        .map(|i| {
            let h = step * x[i].abs().max(1.0);
            probe[i] = x[i] + h;
            let up = f(&probe);
            probe[i] = x[i] - h;
            let down = f(&probe);
            probe[i] = x[i];
            (up - down) / (2.0 * h)
        })
        .collect()
}

/// Checks `gradient` (the analytic gradient of `f` at `x`) against central differences.
///
/// # Errors
/// The first component that disagrees, or a length mismatch.
pub fn check_gradient(
    f: impl Fn(&[f64]) -> f64,
    gradient: &[f64],
    x: &[f64],
    tol: Tolerance,
) -> Result<(), GradcheckError> {
    same_length("gradient", x.len(), gradient.len())?;
    let numeric = finite_difference(f, x, tol.step);
    for (index, (&analytic, &numeric)) in gradient.iter().zip(&numeric).enumerate() {
        if !tol.agrees(analytic, numeric) {
            return Err(GradcheckError::Gradient {
                index,
                analytic,
                numeric,
            });
        }
    }
    Ok(())
}

/// The dot-product (adjoint) test: for a tangent `dx` and a cotangent `ybar`,
/// `⟨J·dx, ȳ⟩ = ⟨dx, Jᵀ·ȳ⟩` must hold, where `jvp(dx) = J·dx` comes from forward mode and
/// `vjp(ȳ) = Jᵀ·ȳ` from reverse mode, both at the same point.
///
/// # Errors
/// [`GradcheckError::DotProduct`] when the two inner products disagree.
pub fn dot_product_test(
    jvp: impl FnOnce(&[f64]) -> Vec<f64>,
    vjp: impl FnOnce(&[f64]) -> Vec<f64>,
    dx: &[f64],
    ybar: &[f64],
    tol: Tolerance,
) -> Result<(), GradcheckError> {
    let dy = jvp(dx);
    same_length("jvp output", ybar.len(), dy.len())?;
    let xbar = vjp(ybar);
    same_length("vjp output", dx.len(), xbar.len())?;
    let forward = dot(&dy, ybar);
    let reverse = dot(dx, &xbar);
    if tol.agrees(forward, reverse) {
        Ok(())
    } else {
        Err(GradcheckError::DotProduct { forward, reverse })
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn same_length(what: &'static str, expected: usize, found: usize) -> Result<(), GradcheckError> {
    if expected == found {
        Ok(())
    } else {
        Err(GradcheckError::Length {
            what,
            expected,
            found,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finite_differences_of_a_polynomial() {
        let g = finite_difference(|x| x[0] * x[0] * x[1], &[3.0, -2.0], 1e-5);
        assert!((g[0] + 12.0).abs() < 1e-6 && (g[1] - 9.0).abs() < 1e-6);
    }

    #[test]
    fn a_wrong_gradient_is_reported_with_its_index() {
        let err = check_gradient(|x| x[0] * x[1], &[1.0, 5.0], &[1.0, 1.0], Tolerance::F64);
        assert!(matches!(
            err,
            Err(GradcheckError::Gradient { index: 1, .. })
        ));
    }

    #[test]
    fn dot_product_test_catches_a_non_adjoint_pair() {
        let dx = [1.0, 2.0];
        let ok = dot_product_test(
            |t| vec![t[0] + 3.0 * t[1]],
            |d| vec![d[0], 3.0 * d[0]],
            &dx,
            &[0.5],
            Tolerance::F64,
        );
        assert!(ok.is_ok());
        let bad = dot_product_test(
            |t| vec![t[0] + 3.0 * t[1]],
            |d| vec![3.0 * d[0], d[0]],
            &dx,
            &[0.5],
            Tolerance::F64,
        );
        assert!(matches!(bad, Err(GradcheckError::DotProduct { .. })));
    }
}
