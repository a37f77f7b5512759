//! Layers, written as parameter structs with `#[derive(Differentiable)]` and a
//! `forward` method: the convolution, pooling and dense layers are primitives with
//! hand-written rules (`forward_vjp`, `forward_jvp`: the custom-rule path), so generated
//! code calls them like any differentiable method; they run in parallel over the batch.
//!
//! Layouts follow PyTorch: image batches are `(N, C, H, W)` tensors, a convolution's
//! weight is `(out, in, k, k)`. Dense layers take a batch as a matrix with one example
//! per column (`features × N`), which is what [`flatten`] gives.

mod cifar;
mod conv;
mod dense;
mod direct;
mod init;
mod pool;

pub use cifar::CifarNet;
pub use conv::Conv2d;
pub use dense::Linear;
pub use init::Init;
pub use pool::{
    avg_pool2d, avg_pool2d_jvp, avg_pool2d_vjp, dropout, dropout_jvp, dropout_vjp, flatten,
    flatten_jvp, flatten_vjp, max_pool2d, max_pool2d_jvp, max_pool2d_vjp,
};
