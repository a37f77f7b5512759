//! ADBench's Gaussian mixture files through `autodiff::gradbench::adbench`, and the
//! GradBench tool's objective.
#![allow(dead_code)]

use super::dir;

pub use autodiff::gradbench::adbench::Gmm;
#[allow(unused_imports)]
pub use autodiff::gradbench::objectives::gmm::*;

pub fn read_gmm(name: &str) -> Gmm {
    autodiff::gradbench::adbench::read_gmm(&dir(), name).unwrap_or_else(|e| panic!("{e}"))
}

/// ADBench's reference objective and gradient of `g` (file `name`), in GradBench's form.
pub fn reference(g: &Gmm, name: &str) -> (f64, Vec<f64>) {
    g.reference(&dir(), name).unwrap_or_else(|e| panic!("{e}"))
}
