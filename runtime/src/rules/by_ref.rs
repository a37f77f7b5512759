//! The scalar rules of `scalar` with every operand by reference: what generated code
//! calls for a float it sees as an object (a field of a parameter struct, `p.b.sin()`),
//! since it passes objects by reference. Each delegates to the scalar rule of its name.
//! `*` and `/` are `linalg`'s, which take a float or a matrix on either side.

use crate::Real;

/// `name(a: &A, .., d: &T) -> T` calling `scalar::name(*a, .., *d)`.
macro_rules! by_ref {
    ($($name:ident($($arg:ident: $ty:ty),*);)*) => {$(
        #[doc = concat!("[`super::scalar::", stringify!($name), "`] with its operands by reference.")]
        #[inline]
        pub fn $name<T: Real>($($arg: &$ty,)* d: &T) -> T {
            super::scalar::$name($(*$arg,)* *d)
        }
    )*};
}

by_ref! {
    rem_jvp_rhs(a: T, b: T, y: T);
    rem_vjp_rhs(a: T, b: T, y: T);
    mul_add_jvp_x(x: T, a: T, b: T, y: T);
    mul_add_vjp_x(x: T, a: T, b: T, y: T);
    mul_add_jvp_a(x: T, a: T, b: T, y: T);
    mul_add_vjp_a(x: T, a: T, b: T, y: T);
    sqrt_jvp(x: T, y: T);
    sqrt_vjp(x: T, y: T);
    cbrt_jvp(x: T, y: T);
    cbrt_vjp(x: T, y: T);
    recip_jvp(x: T, y: T);
    recip_vjp(x: T, y: T);
    powi_jvp(x: T, n: i32, y: T);
    powi_vjp(x: T, n: i32, y: T);
    powf_jvp_base(x: T, e: T, y: T);
    powf_vjp_base(x: T, e: T, y: T);
    powf_jvp_exp(x: T, e: T, y: T);
    powf_vjp_exp(x: T, e: T, y: T);
    hypot_jvp_lhs(a: T, b: T, y: T);
    hypot_vjp_lhs(a: T, b: T, y: T);
    hypot_jvp_rhs(a: T, b: T, y: T);
    hypot_vjp_rhs(a: T, b: T, y: T);
    exp_jvp(x: T, y: T);
    exp_vjp(x: T, y: T);
    exp2_jvp(x: T, y: T);
    exp2_vjp(x: T, y: T);
    exp_m1_jvp(x: T, y: T);
    exp_m1_vjp(x: T, y: T);
    ln_jvp(x: T, y: T);
    ln_vjp(x: T, y: T);
    ln_1p_jvp(x: T, y: T);
    ln_1p_vjp(x: T, y: T);
    log2_jvp(x: T, y: T);
    log2_vjp(x: T, y: T);
    log10_jvp(x: T, y: T);
    log10_vjp(x: T, y: T);
    log_jvp_x(x: T, b: T, y: T);
    log_vjp_x(x: T, b: T, y: T);
    log_jvp_base(x: T, b: T, y: T);
    log_vjp_base(x: T, b: T, y: T);
    erf_jvp(x: T, y: T);
    erf_vjp(x: T, y: T);
    erfc_jvp(x: T, y: T);
    erfc_vjp(x: T, y: T);
    sin_jvp(x: T, y: T);
    sin_vjp(x: T, y: T);
    cos_jvp(x: T, y: T);
    cos_vjp(x: T, y: T);
    tan_jvp(x: T, y: T);
    tan_vjp(x: T, y: T);
    asin_jvp(x: T, y: T);
    asin_vjp(x: T, y: T);
    acos_jvp(x: T, y: T);
    acos_vjp(x: T, y: T);
    atan_jvp(x: T, y: T);
    atan_vjp(x: T, y: T);
    atan2_jvp_y(a: T, b: T, y: T);
    atan2_vjp_y(a: T, b: T, y: T);
    atan2_jvp_x(a: T, b: T, y: T);
    atan2_vjp_x(a: T, b: T, y: T);
    to_degrees_jvp(x: T, y: T);
    to_degrees_vjp(x: T, y: T);
    to_radians_jvp(x: T, y: T);
    to_radians_vjp(x: T, y: T);
    sinh_jvp(x: T, y: T);
    sinh_vjp(x: T, y: T);
    cosh_jvp(x: T, y: T);
    cosh_vjp(x: T, y: T);
    tanh_jvp(x: T, y: T);
    tanh_vjp(x: T, y: T);
    asinh_jvp(x: T, y: T);
    asinh_vjp(x: T, y: T);
    acosh_jvp(x: T, y: T);
    acosh_vjp(x: T, y: T);
    atanh_jvp(x: T, y: T);
    atanh_vjp(x: T, y: T);
    abs_jvp(x: T, y: T);
    abs_vjp(x: T, y: T);
    copysign_jvp_x(x: T, s: T, y: T);
    copysign_vjp_x(x: T, s: T, y: T);
    rem_euclid_jvp_rhs(a: T, b: T, y: T);
    rem_euclid_vjp_rhs(a: T, b: T, y: T);
    midpoint_jvp_lhs(a: T, b: T, y: T);
    midpoint_vjp_lhs(a: T, b: T, y: T);
    midpoint_jvp_rhs(a: T, b: T, y: T);
    midpoint_vjp_rhs(a: T, b: T, y: T);
    max_jvp_lhs(a: T, b: T, y: T);
    max_vjp_lhs(a: T, b: T, y: T);
    max_jvp_rhs(a: T, b: T, y: T);
    max_vjp_rhs(a: T, b: T, y: T);
    min_jvp_lhs(a: T, b: T, y: T);
    min_vjp_lhs(a: T, b: T, y: T);
    min_jvp_rhs(a: T, b: T, y: T);
    min_vjp_rhs(a: T, b: T, y: T);
    clamp_jvp_x(x: T, lo: T, hi: T, y: T);
    clamp_vjp_x(x: T, lo: T, hi: T, y: T);
    clamp_jvp_lo(x: T, lo: T, hi: T, y: T);
    clamp_vjp_lo(x: T, lo: T, hi: T, y: T);
    clamp_jvp_hi(x: T, lo: T, hi: T, y: T);
    clamp_vjp_hi(x: T, lo: T, hi: T, y: T);
}
