//! Small models written with `#[differentiable]`, each with its gradient also written by
//! hand: examples of parameter structs and differentiable methods, and the workloads the
//! tests and benchmarks compare against hand-written derivatives.

pub mod mlp;
