//! ADBench's LSTM files through `autodiff::gradbench::adbench`, and the GradBench tool's
//! objective (`lstm.h`).
#![allow(dead_code)]

use super::dir;

pub use autodiff::gradbench::adbench::Lstm;
#[allow(unused_imports)]
pub use autodiff::gradbench::objectives::lstm::*;

pub fn read_lstm(name: &str) -> Lstm {
    autodiff::gradbench::adbench::read_lstm(&dir(), name).unwrap_or_else(|e| panic!("{e}"))
}
