//! The scalar types the rules are written over.

use core::ops::{Add, Div, Mul, Neg, Rem, Sub};

/// A value with an additive identity: what an unreached tangent or cotangent is.
pub trait Zero {
    /// The additive identity.
    fn zero() -> Self;
}

/// `f32` or `f64`: the methods the derivative rules need, with Rust's own semantics.
pub trait Real:
    Copy
    + PartialOrd
    + Zero
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Rem<Output = Self>
    + Neg<Output = Self>
{
    /// Converts from `f64`, rounding to nearest for `f32`.
    fn from_f64(x: f64) -> Self;
    /// Converts to `f64` (exact).
    fn to_f64(self) -> f64;
    /// Converts between real types: `f32 -> f64` is exact, `f64 -> f32` rounds.
    fn cast<T: Real>(self) -> T {
        T::from_f64(self.to_f64())
    }
    /// `1`.
    fn one() -> Self {
        Self::from_f64(1.0)
    }
    fn is_nan(self) -> bool;
    fn sqrt(self) -> Self;
    fn cbrt(self) -> Self;
    fn sin(self) -> Self;
    fn cos(self) -> Self;
    fn sinh(self) -> Self;
    fn cosh(self) -> Self;
    fn ln(self) -> Self;
    fn trunc(self) -> Self;
    fn powf(self, y: Self) -> Self;
    fn powi(self, n: i32) -> Self;
}

macro_rules! impl_real {
    ($($t:ident),*) => {$(
        impl Zero for $t {
            fn zero() -> Self {
                0.0
            }
        }

        impl Real for $t {
            #[allow(clippy::cast_possible_truncation)]
            fn from_f64(x: f64) -> Self {
                x as $t
            }
            fn to_f64(self) -> f64 {
                f64::from(self)
            }
            fn is_nan(self) -> bool {
                $t::is_nan(self)
            }
            fn sqrt(self) -> Self {
                $t::sqrt(self)
            }
            fn cbrt(self) -> Self {
                $t::cbrt(self)
            }
            fn sin(self) -> Self {
                $t::sin(self)
            }
            fn cos(self) -> Self {
                $t::cos(self)
            }
            fn sinh(self) -> Self {
                $t::sinh(self)
            }
            fn cosh(self) -> Self {
                $t::cosh(self)
            }
            fn ln(self) -> Self {
                $t::ln(self)
            }
            fn trunc(self) -> Self {
                $t::trunc(self)
            }
            fn powf(self, y: Self) -> Self {
                $t::powf(self, y)
            }
            fn powi(self, n: i32) -> Self {
                $t::powi(self, n)
            }
        }
    )*};
}

impl_real!(f32, f64);
