//! Rules for `f32` and `f64` operations: the arithmetic operators and the float methods.
//!
//! For a scalar operation both modes multiply by the same partial derivative `∂y/∂a`:
//! `jvp = t · ∂y/∂a` and `vjp = d · ∂y/∂a`. Each rule below is written once as that partial.
//! Rules marked "zero stays zero" return exactly `0` for a zero seed, so an infinite partial
//! (at a pole or a kink) does not turn an unused value into NaN; see the kink table in the
//! crate docs.

use crate::lanes::Tangent;
use crate::Real;

#[inline]
fn lit<T: Real>(x: f64) -> T {
    T::from_f64(x)
}

/// `seed · partial`, except that a zero seed gives zero even when `partial` is infinite.
#[inline]
fn guarded<T: Real>(seed: T, partial: T) -> T {
    if seed == T::zero() {
        T::zero()
    } else {
        seed * partial
    }
}

/// `seed · partial`, except that a zero on either side gives zero, as in `0 · ∞ = 0`.
#[inline]
fn checked<T: Real>(seed: T, partial: T) -> T {
    if seed == T::zero() || partial == T::zero() {
        T::zero()
    } else {
        seed * partial
    }
}

/// A tangent (one or several lanes) times a partial, with the zero rule of `guarded` or
/// `checked`.
macro_rules! lanes {
    (guarded, $t:expr, $p:expr) => {
        $t.scale_guarded($p)
    };
    (checked, $t:expr, $p:expr) => {
        $t.scale_checked($p)
    };
}

/// Defines the jvp/vjp pair of one operand from its partial derivative: the jvp for a
/// tangent of any number of lanes (see [`crate::lanes`]).
macro_rules! partial {
    ($(#[$doc:meta])* $jvp:ident, $vjp:ident ($($arg:ident: $ty:ty),*) => $p:expr) => {
        $(#[$doc])*
        #[inline]
        #[allow(unused_variables)]
        pub fn $jvp<T: Real, D: Tangent<T>>($($arg: $ty,)* t: D) -> D {
            t.scale($p)
        }
        $(#[$doc])*
        #[inline]
        #[allow(unused_variables)]
        pub fn $vjp<T: Real>($($arg: $ty,)* d: T) -> T {
            d * $p
        }
    };
    ($(#[$doc:meta])* $guard:ident $jvp:ident, $vjp:ident ($($arg:ident: $ty:ty),*) => $p:expr) => {
        $(#[$doc])*
        #[inline]
        #[allow(unused_variables)]
        pub fn $jvp<T: Real, D: Tangent<T>>($($arg: $ty,)* t: D) -> D {
            lanes!($guard, t, $p)
        }
        $(#[$doc])*
        #[inline]
        #[allow(unused_variables)]
        pub fn $vjp<T: Real>($($arg: $ty,)* d: T) -> T {
            $guard(d, $p)
        }
    };
}

// -------------------- arithmetic --------------------

partial!(/// `∂(a·b)/∂a = b`; a zero factor wins over an infinite seed
    checked mul_jvp_lhs, mul_vjp_lhs(a: T, b: T, y: T) => b);
partial!(/// `∂(a·b)/∂b = a`; a zero factor wins over an infinite seed
    checked mul_jvp_rhs, mul_vjp_rhs(a: T, b: T, y: T) => a);
partial!(/// `∂(a·b)/∂a = b`, for a product whose seed cannot be infinite: no zero test
    plain_mul_jvp_lhs, plain_mul_vjp_lhs(a: T, b: T, y: T) => b);
partial!(/// `∂(a·b)/∂b = a`, for a product whose seed cannot be infinite: no zero test
    plain_mul_jvp_rhs, plain_mul_vjp_rhs(a: T, b: T, y: T) => a);
partial!(/// `∂(a/b)/∂a = 1/b`
    div_jvp_lhs, div_vjp_lhs(a: T, b: T, y: T) => T::one() / b);
partial!(/// `∂(a/b)/∂b = -a/b² = -y/b`
    div_jvp_rhs, div_vjp_rhs(a: T, b: T, y: T) => -(y / b));
partial!(/// `∂(a % b)/∂b = -trunc(a/b)`
    rem_jvp_rhs, rem_vjp_rhs(a: T, b: T, y: T) => -(a / b).trunc());
partial!(/// `∂(x·a + b)/∂x = a`
    mul_add_jvp_x, mul_add_vjp_x(x: T, a: T, b: T, y: T) => a);
partial!(/// `∂(x·a + b)/∂a = x`
    mul_add_jvp_a, mul_add_vjp_a(x: T, a: T, b: T, y: T) => x);
// -------------------- powers and roots --------------------

partial!(/// `∂√x = 1/(2√x)`; `+inf` at 0, zero stays zero
    guarded sqrt_jvp, sqrt_vjp(x: T, y: T) => T::one() / (lit::<T>(2.0) * y));
partial!(/// `∂∛x = 1/(3∛x²)`; `+inf` at 0, zero stays zero
    guarded cbrt_jvp, cbrt_vjp(x: T, y: T) => T::one() / (lit::<T>(3.0) * y * y));
partial!(/// `∂(1/x) = -1/x²`
    recip_jvp, recip_vjp(x: T, y: T) => -(y * y));
partial!(/// `∂xⁿ/∂x = n·xⁿ⁻¹`, and `0` for `n = 0`
    powi_jvp, powi_vjp(x: T, n: i32, y: T) => powi_partial(x, n));
partial!(/// `∂xʸ/∂x = y·xʸ⁻¹`, and `0` for `y = 0`; zero stays zero
    guarded powf_jvp_base, powf_vjp_base(x: T, e: T, y: T) => powf_partial_base(x, e));
partial!(/// `∂xʸ/∂y = xʸ·ln x`, and `0` at `x = 0`; zero stays zero
    guarded powf_jvp_exp, powf_vjp_exp(x: T, e: T, y: T) => if x == T::zero() { T::zero() } else { y * x.ln() });
partial!(/// `∂√(a²+b²)/∂a = a/√(a²+b²)`, and `0` at the origin
    hypot_jvp_lhs, hypot_vjp_lhs(a: T, b: T, y: T) => if y == T::zero() { T::zero() } else { a / y });
partial!(/// `∂√(a²+b²)/∂b = b/√(a²+b²)`, and `0` at the origin
    hypot_jvp_rhs, hypot_vjp_rhs(a: T, b: T, y: T) => if y == T::zero() { T::zero() } else { b / y });

#[inline]
#[allow(clippy::cast_precision_loss)]
fn powi_partial<T: Real>(x: T, n: i32) -> T {
    if n == 0 {
        T::zero()
    } else {
        lit::<T>(f64::from(n)) * x.powi(n - 1)
    }
}

#[inline]
fn powf_partial_base<T: Real>(x: T, e: T) -> T {
    if e == T::zero() {
        T::zero()
    } else {
        e * x.powf(e - T::one())
    }
}

// -------------------- exponentials and logarithms --------------------

partial!(/// `∂eˣ = eˣ`
    exp_jvp, exp_vjp(x: T, y: T) => y);
partial!(/// `∂2ˣ = 2ˣ·ln 2`
    exp2_jvp, exp2_vjp(x: T, y: T) => y * lit::<T>(core::f64::consts::LN_2));
partial!(/// `∂(eˣ - 1) = eˣ`
    exp_m1_jvp, exp_m1_vjp(x: T, y: T) => y + T::one());
partial!(/// `∂ln x = 1/x`; zero stays zero
    guarded ln_jvp, ln_vjp(x: T, y: T) => T::one() / x);
partial!(/// `∂ln(1+x) = 1/(1+x)`; zero stays zero
    guarded ln_1p_jvp, ln_1p_vjp(x: T, y: T) => T::one() / (T::one() + x));
partial!(/// `∂log₂x = 1/(x·ln 2)`; zero stays zero
    guarded log2_jvp, log2_vjp(x: T, y: T) => T::one() / (x * lit::<T>(core::f64::consts::LN_2)));
partial!(/// `∂log₁₀x = 1/(x·ln 10)`; zero stays zero
    guarded log10_jvp, log10_vjp(x: T, y: T) => T::one() / (x * lit::<T>(core::f64::consts::LN_10)));
partial!(/// `∂log_b(x)/∂x = 1/(x·ln b)`; zero stays zero
    guarded log_jvp_x, log_vjp_x(x: T, b: T, y: T) => T::one() / (x * b.ln()));
partial!(/// `∂log_b(x)/∂b = -ln x/(b·ln² b)`; zero stays zero
    guarded log_jvp_base, log_vjp_base(x: T, b: T, y: T) => -(y / (b * b.ln())));

// -------------------- the error function --------------------

partial!(/// `∂erf x = 2/√π · e^(−x²)`
    erf_jvp, erf_vjp(x: T, y: T) => lit::<T>(core::f64::consts::FRAC_2_SQRT_PI) * (-(x * x)).exp());
partial!(/// `∂erfc x = −2/√π · e^(−x²)`
    erfc_jvp, erfc_vjp(x: T, y: T) => -(lit::<T>(core::f64::consts::FRAC_2_SQRT_PI) * (-(x * x)).exp()));

// -------------------- trigonometry --------------------

partial!(/// `∂sin x = cos x`
    sin_jvp, sin_vjp(x: T, y: T) => x.cos());
partial!(/// `∂cos x = -sin x`
    cos_jvp, cos_vjp(x: T, y: T) => -x.sin());
partial!(/// `∂tan x = 1 + tan² x`
    tan_jvp, tan_vjp(x: T, y: T) => T::one() + y * y);
partial!(/// `∂asin x = 1/√(1-x²)`; zero stays zero
    guarded asin_jvp, asin_vjp(x: T, y: T) => T::one() / (T::one() - x * x).sqrt());
partial!(/// `∂acos x = -1/√(1-x²)`; zero stays zero
    guarded acos_jvp, acos_vjp(x: T, y: T) => -(T::one() / (T::one() - x * x).sqrt()));
partial!(/// `∂atan x = 1/(1+x²)`
    atan_jvp, atan_vjp(x: T, y: T) => T::one() / (T::one() + x * x));
partial!(/// `∂atan2(y, x)/∂y = x/(x²+y²)`, and `0` at the origin
    atan2_jvp_y, atan2_vjp_y(a: T, b: T, y: T) => atan2_partial(b, a, b));
partial!(/// `∂atan2(y, x)/∂x = -y/(x²+y²)`, and `0` at the origin
    atan2_jvp_x, atan2_vjp_x(a: T, b: T, y: T) => -atan2_partial(b, a, a));
partial!(/// `∂x° = 180/π`
    to_degrees_jvp, to_degrees_vjp(x: T, y: T) => lit::<T>(180.0 / core::f64::consts::PI));
partial!(/// `∂x rad = π/180`
    to_radians_jvp, to_radians_vjp(x: T, y: T) => lit::<T>(core::f64::consts::PI / 180.0));

/// `num / (x² + y²)`, or `0` where `x = y = 0`.
#[inline]
fn atan2_partial<T: Real>(x: T, y: T, num: T) -> T {
    let r2 = x * x + y * y;
    if r2 == T::zero() {
        T::zero()
    } else {
        num / r2
    }
}

// -------------------- hyperbolic functions --------------------

partial!(/// `∂sinh x = cosh x`
    sinh_jvp, sinh_vjp(x: T, y: T) => x.cosh());
partial!(/// `∂cosh x = sinh x`
    cosh_jvp, cosh_vjp(x: T, y: T) => x.sinh());
partial!(/// `∂tanh x = 1 - tanh² x`
    tanh_jvp, tanh_vjp(x: T, y: T) => T::one() - y * y);
partial!(/// `∂asinh x = 1/√(x²+1)`
    asinh_jvp, asinh_vjp(x: T, y: T) => T::one() / (x * x + T::one()).sqrt());
partial!(/// `∂acosh x = 1/√(x²-1)`; zero stays zero
    guarded acosh_jvp, acosh_vjp(x: T, y: T) => T::one() / (x * x - T::one()).sqrt());
partial!(/// `∂atanh x = 1/(1-x²)`; zero stays zero
    guarded atanh_jvp, atanh_vjp(x: T, y: T) => T::one() / (T::one() - x * x));

// -------------------- kinks and selections --------------------

partial!(/// `∂|x| = sign(x)`, and `0` at `x = 0`
    abs_jvp, abs_vjp(x: T, y: T) => sign0(x));
partial!(/// `∂copysign(x, s)/∂x = sign(x)·sign(s) = y/x`, and `0` at `x = 0`
    copysign_jvp_x, copysign_vjp_x(x: T, s: T, y: T) => if x == T::zero() { T::zero() } else { y / x });
partial!(/// `∂rem_euclid(a, b)/∂b = -div_euclid(a, b) = -(a - y)/b`, as `a = b·q + y`
    rem_euclid_jvp_rhs, rem_euclid_vjp_rhs(a: T, b: T, y: T) => -((a - y) / b));
partial!(/// `∂midpoint(a, b)/∂a = 1/2`
    midpoint_jvp_lhs, midpoint_vjp_lhs(a: T, b: T, y: T) => lit::<T>(0.5));
partial!(/// `∂midpoint(a, b)/∂b = 1/2`
    midpoint_jvp_rhs, midpoint_vjp_rhs(a: T, b: T, y: T) => lit::<T>(0.5));
partial!(/// `∂max(a, b)/∂a`: `1` when `max` returned `a` (ties go to `a`)
    max_jvp_lhs, max_vjp_lhs(a: T, b: T, y: T) => select(max_takes_lhs(a, b)));
partial!(/// `∂max(a, b)/∂b`: `1` when `max` returned `b`
    max_jvp_rhs, max_vjp_rhs(a: T, b: T, y: T) => select(!max_takes_lhs(a, b)));
partial!(/// `∂min(a, b)/∂a`: `1` when `min` returned `a` (ties go to `a`)
    min_jvp_lhs, min_vjp_lhs(a: T, b: T, y: T) => select(min_takes_lhs(a, b)));
partial!(/// `∂min(a, b)/∂b`: `1` when `min` returned `b`
    min_jvp_rhs, min_vjp_rhs(a: T, b: T, y: T) => select(!min_takes_lhs(a, b)));
partial!(/// `∂clamp(x, lo, hi)/∂x`: `1` for `lo ≤ x ≤ hi`, bounds included
    clamp_jvp_x, clamp_vjp_x(x: T, lo: T, hi: T, y: T) => select(!(x < lo || x > hi)));
partial!(/// `∂clamp(x, lo, hi)/∂lo`: `1` for `x < lo`
    clamp_jvp_lo, clamp_vjp_lo(x: T, lo: T, hi: T, y: T) => select(x < lo));
partial!(/// `∂clamp(x, lo, hi)/∂hi`: `1` for `x > hi`
    clamp_jvp_hi, clamp_vjp_hi(x: T, lo: T, hi: T, y: T) => select(x > hi));

/// `1` if `taken`, else `0`.
#[inline]
fn select<T: Real>(taken: bool) -> T {
    if taken {
        T::one()
    } else {
        T::zero()
    }
}

/// `sign(x)` with `sign(0) = 0` (unlike `f64::signum`, which gives `±1` at `±0`).
#[inline]
fn sign0<T: Real>(x: T) -> T {
    if x > T::zero() {
        T::one()
    } else if x < T::zero() {
        -T::one()
    } else {
        T::zero()
    }
}

/// Whether `a.max(b)` returned `a`: `max` returns the non-NaN argument, ties go to `a`.
#[inline]
fn max_takes_lhs<T: Real>(a: T, b: T) -> bool {
    a >= b || b.is_nan()
}

/// Whether `a.min(b)` returned `a`.
#[inline]
fn min_takes_lhs<T: Real>(a: T, b: T) -> bool {
    a <= b || b.is_nan()
}

// -------------------- conversions --------------------

/// Tangent of `x as T` for a float `x: S`: the tangent converted the same way.
#[inline]
pub fn cast_jvp<S: Real, T: Real>(_x: S, _y: T, t: S) -> T {
    t.cast()
}

/// Cotangent of `x` in `y = x as T`: the cotangent converted back to `x`'s type.
#[inline]
pub fn cast_vjp<S: Real, T: Real>(_x: S, _y: T, d: T) -> S {
    d.cast()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abs_has_zero_slope_at_zero() {
        assert_eq!(abs_vjp(0.0_f64, 0.0, 1.0), 0.0);
        assert_eq!(abs_vjp(-2.0_f64, 2.0, 1.0), -1.0);
    }

    #[test]
    fn max_ties_go_to_the_first_argument() {
        assert_eq!(max_vjp_lhs(1.0_f64, 1.0, 1.0, 1.0), 1.0);
        assert_eq!(max_vjp_rhs(1.0_f64, 1.0, 1.0, 1.0), 0.0);
        assert_eq!(min_vjp_lhs(1.0_f64, 1.0, 1.0, 1.0), 1.0);
        assert_eq!(max_vjp_rhs(1.0_f64, f64::NAN, 1.0, 1.0), 0.0);
        assert_eq!(max_vjp_rhs(f64::NAN, 2.0, 2.0, 1.0), 1.0);
    }

    #[test]
    fn sqrt_at_zero_is_infinite_but_zero_stays_zero() {
        assert_eq!(sqrt_vjp(0.0_f64, 0.0, 1.0), f64::INFINITY);
        assert_eq!(sqrt_vjp(0.0_f64, 0.0, 0.0), 0.0);
    }

    #[test]
    fn powf_at_zero_base() {
        assert_eq!(powf_vjp_base(0.0_f64, 0.0, 1.0, 1.0), 0.0);
        assert_eq!(powf_vjp_base(0.0_f64, 2.0, 0.0, 1.0), 0.0);
        assert_eq!(powf_vjp_base(0.0_f64, 1.0, 0.0, 1.0), 1.0);
        assert_eq!(powf_vjp_exp(0.0_f64, 2.0, 0.0, 1.0), 0.0);
    }

    #[test]
    fn clamp_bounds_pass_the_derivative_to_x() {
        assert_eq!(clamp_vjp_x(0.0_f64, 0.0, 1.0, 0.0, 1.0), 1.0);
        assert_eq!(clamp_vjp_lo(0.0_f64, 0.0, 1.0, 0.0, 1.0), 0.0);
        assert_eq!(clamp_vjp_hi(2.0_f64, 0.0, 1.0, 1.0, 1.0), 1.0);
    }

    #[test]
    fn casts_round_trip_cotangents() {
        let d: f32 = cast_vjp(1.5_f32, 1.5_f64, 0.25_f64);
        assert_eq!(d, 0.25_f32);
    }
}
