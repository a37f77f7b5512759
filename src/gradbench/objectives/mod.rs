//! ADBench's and GradBench's objectives (Gaussian mixture, bundle adjustment, LSTM, the
//! log-sum-exp) as plain loops over flat parameter arrays, differentiated by
//! `#[differentiable]`. The GradBench tool evaluates them; the ADBench tests and the
//! benchmarks check and time them.

pub mod ba;
pub mod gmm;
pub mod lse;
pub mod lstm;
