#![warn(missing_docs)]
//! Source-to-source automatic differentiation for stable Rust.
//!
//! Put `#[differentiable]` on an ordinary numeric function and it gains three
//! siblings, generated at compile time as plain Rust:
//!
//! ```
//! use autodiff::differentiable;
//!
//! #[differentiable]
//! fn f(x: f64, y: f64) -> f64 {
//!     x.sin() * y + y * y
//! }
//!
//! // value and gradient
//! let (value, (df_dx, df_dy)) = f_grad(1.0, 2.0);
//! // value and pullback (reverse mode): maps the output cotangent to the inputs' cotangents
//! let (_, pullback) = f_vjp(1.0, 2.0);
//! assert_eq!(pullback(1.0), (df_dx, df_dy));
//! // forward mode: value and directional derivative along (dx, dy)
//! let (_, dv) = f_jvp(1.0, 2.0, 1.0, 0.0);
//! assert_eq!(dv, df_dx);
//! # assert_eq!(value, f(1.0, 2.0));
//! ```
//!
//! See `docs/supported-rust.md` for what the body may contain, and [`autodiff_runtime`] (re-exported
//! here) for the derivative rules, the kink conventions and the gradient checks.

// Generated code names items as `::autodiff::__private::...`; this makes those paths
// resolve inside this crate too, for the GradBench objectives.
extern crate self as autodiff;

pub use autodiff_macros::differentiable;
pub use autodiff_runtime::*;

#[cfg(feature = "gradbench")]
pub mod gradbench;
pub mod models;

/// The README's examples, compiled and run as doctests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

/// The guide's examples (`docs/`), compiled and run as doctests.
#[cfg(doctest)]
pub mod guide {
    #[doc = include_str!("../docs/getting-started.md")]
    pub struct GettingStarted;
    #[doc = include_str!("../docs/supported-rust.md")]
    pub struct SupportedRust;
    #[doc = include_str!("../docs/derivatives.md")]
    pub struct Derivatives;
    #[doc = include_str!("../docs/matrices-and-structs.md")]
    pub struct MatricesAndStructs;
    #[doc = include_str!("../docs/performance.md")]
    pub struct Performance;
    #[doc = include_str!("../docs/training.md")]
    pub struct Training;
    #[doc = include_str!("../docs/gradbench.md")]
    pub struct Gradbench;
}
