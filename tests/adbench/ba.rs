//! ADBench's bundle adjustment residuals: the GradBench tool's.

#[allow(unused_imports)]
pub use autodiff::gradbench::objectives::ba::*;
