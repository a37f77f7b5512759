//! ADBench's bundle adjustment residuals: the GradBench tool's.

#[path = "../../src/bin/gradbench-tool/objectives/ba.rs"]
mod objective;
#[allow(unused_imports)]
pub use objective::*;
