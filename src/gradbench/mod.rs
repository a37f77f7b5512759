//! The GradBench tool's library (feature `gradbench`): the protocol session
//! (GradBench's PROTOCOL.md), one module per eval, and the objectives they
//! differentiate, and readers of ADBench's input files (`adbench`). The `gradbench-tool` binary drives a [`protocol::Session`] over stdin
//! and stdout; the benchmarks run the same jobs.

pub mod adbench;
pub mod evals;
pub mod objectives;
pub mod protocol;
