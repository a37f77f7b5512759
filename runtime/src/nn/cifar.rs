//! The seed's CIFAR-10 network (two convolutions with max pooling, two dense layers), as
//! the `cifar10` example trains it and the `cnn` benchmark times it.

use crate::linalg::*;
use crate::nn::*;
use crate::{differentiable, Differentiable, Tensor};
use nalgebra::DMatrix;

/// Conv(3→16, 3×3) → ReLU → max-pool 2 → Conv(16→32) → ReLU → max-pool 2 → Linear(2048→256)
/// → ReLU → Linear(256→10).
#[derive(Clone, Debug, Differentiable)]
pub struct CifarNet {
    /// 3 → 16 channels, 3×3, padding 1.
    pub conv1: Conv2d,
    /// 16 → 32 channels, 3×3, padding 1.
    pub conv2: Conv2d,
    /// 2,048 → 256.
    pub fc1: Linear,
    /// 256 → 10 class scores.
    pub fc2: Linear,
}

impl CifarNet {
    /// The network with weights drawn from `seed` (PyTorch's default initialisation).
    pub fn new(seed: u64) -> CifarNet {
        let mut init = Init::new(seed);
        CifarNet {
            conv1: Conv2d::new(3, 16, 3, 1, 1, &mut init),
            conv2: Conv2d::new(16, 32, 3, 1, 1, &mut init),
            fc1: Linear::new(32 * 8 * 8, 256, &mut init),
            fc2: Linear::new(256, 10, &mut init),
        }
    }

    /// Class scores of a batch `(N, 3, 32, 32)`, one column per image. (Its pullback
    /// gives the input's cotangent too, computed only when a caller asks for it.)
    ///
    /// ReLU then max-pool is max-pool then ReLU (ReLU is monotone, and both orders send a
    /// window's cotangent to its maximum, or nowhere if it is negative): pooling first
    /// applies ReLU to a quarter of the values. `conv.forward_max_pool(x, 2)` is
    /// `max_pool2d(&conv.forward(x), 2)` fused, so that no batch-sized convolution output
    /// (or its cotangent) is written. The function and gradient are the seed's.
    #[differentiable]
    pub fn logits(&self, x: &Tensor) -> DMatrix<f32> {
        let h = relu(&self.conv1.forward_max_pool(x, 2));
        let h = relu(&self.conv2.forward_max_pool(&h, 2));
        let h = relu(&self.fc1.forward(&flatten(&h)));
        self.fc2.forward(&h)
    }

    /// Mean cross-entropy of the batch.
    #[differentiable(wrt(self))]
    pub fn loss(&self, x: &Tensor, labels: &[usize]) -> f32 {
        cross_entropy(&self.logits(x), labels)
    }
}
