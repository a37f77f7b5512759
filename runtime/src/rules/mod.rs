//! Derivative rules, one function per operation, mode and operand.
//!
//! The contract generated code relies on: for an operation `foo` with operands
//! `a, b, ..` and primal result `y`,
//!
//! * `foo_jvp(a, .., y, t)` maps the tangent `t` of the one differentiable operand to its
//!   contribution to the tangent of `y`;
//! * `foo_vjp(a, .., y, d)` maps the cotangent `d` of `y` to the cotangent of that operand;
//!
//! and when several operands are differentiable each gets its own pair, named after the
//! operand: `mul_jvp_lhs`, `mul_vjp_rhs`, `clamp_vjp_lo`. The primal result is passed so that
//! rules such as `exp` and `sqrt` reuse it instead of recomputing.

pub mod scalar;

use crate::Zero;

/// The zero tangent or cotangent of the same type as `like`.
#[inline]
#[must_use]
pub fn zero_like<T: Zero>(_like: &T) -> T {
    T::zero()
}

/// The zero tangent or cotangent, with its type inferred from where it is used.
#[inline]
#[must_use]
pub fn zero<T: Zero>() -> T {
    T::zero()
}
