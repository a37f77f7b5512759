//! The scalar types the rules are written over: num-traits' `Float`, which the ecosystem
//! (nalgebra, ndarray, statrs) shares, plus the conversions the rules need.

/// A value with an additive identity: what an unreached tangent or cotangent is.
/// Unlike `num_traits::Zero` it needs no `Add` and no `is_zero`, so that matrices of a
/// shape known only at run time and parameter structs can have one too.
pub trait Zero {
    /// The additive identity.
    fn zero() -> Self;
}

/// `f32` or `f64`: num-traits' [`Float`](num_traits::Float) (so `sin`, `sqrt`, `powi`, ..
/// with Rust's own semantics) and exact conversions through `f64`.
pub trait Real: num_traits::Float + Send + Sync + 'static {
    /// Converts from `f64`, rounding to nearest for `f32`.
    fn from_f64(x: f64) -> Self;
    /// Converts to `f64` (exact).
    fn into_f64(self) -> f64;
    /// Converts between real types: `f32 -> f64` is exact, `f64 -> f32` rounds.
    fn cast<T: Real>(self) -> T {
        T::from_f64(self.into_f64())
    }
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
            fn into_f64(self) -> f64 {
                f64::from(self)
            }
        }
    )*};
}

impl_real!(f32, f64);

/// The error function and its complement for `f32` and `f64` (std has them only on
/// nightly): `erf(x) = 2/√π ∫₀ˣ e^(−t²) dt`, `erfc(x) = 1 − erf(x)` without the
/// cancellation for large `x`. Computed by the `libm` crate. Differentiable code calls them
/// as methods, `x.erf()`, with this trait in scope (`use autodiff::Erf;`).
pub trait Erf {
    /// The error function.
    #[must_use]
    fn erf(self) -> Self;
    /// The complementary error function, `1 − erf(x)`.
    #[must_use]
    fn erfc(self) -> Self;
}

impl Erf for f64 {
    fn erf(self) -> f64 {
        libm::erf(self)
    }
    fn erfc(self) -> f64 {
        libm::erfc(self)
    }
}

impl Erf for f32 {
    fn erf(self) -> f32 {
        libm::erff(self)
    }
    fn erfc(self) -> f32 {
        libm::erfcf(self)
    }
}
