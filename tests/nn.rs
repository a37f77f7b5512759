//! The runtime's layers and functions composed by `#[differentiable]`: a small network
//! with every kind of primitive, and the fused convolution and pooling, checked against
//! finite differences and forward mode.

#![cfg(feature = "train")]

use autodiff::gradcheck::{check_gradient, Tolerance};
use autodiff::linalg::*;
use autodiff::losses::*;
use autodiff::nalgebra::DMatrix;
use autodiff::nn::*;
use autodiff::{differentiable, Differentiable, Tensor};

#[derive(Clone, Debug, Differentiable)]
struct Small {
    conv: Conv2d,
    fc: Linear,
}

impl Small {
    #[differentiable(wrt(self))]
    fn loss(&self, x: &Tensor, labels: &[usize], seed: u64) -> f32 {
        let h = gelu(&self.conv.forward(x));
        let h = avg_pool2d(&dropout(&leaky_relu(&h), 0.25, true, seed), 2);
        let z = self.fc.forward(&flatten(&h));
        let target: DMatrix<f32> = DMatrix::zeros(3, 2);
        nll(&log_softmax(&z), labels) + 0.1 * mse(&softmax(&z), &target)
    }
}

#[test]
fn a_network_of_every_primitive() {
    let mut init = Init::new(11);
    let net = Small {
        conv: Conv2d::new(2, 3, 3, 1, 1, &mut init),
        fc: Linear::new(3 * 2 * 2, 3, &mut init),
    };
    let x = Tensor::new(&[2, 2, 4, 4], init.uniform(64, 1.0)).unwrap();
    let labels = [2, 0];
    let (loss, grad) = net.loss_grad(&x, &labels, 5);
    assert_eq!(loss, net.loss(&x, &labels, 5));
    let at = |flat: &[f64]| {
        let mut m = net.clone();
        m.set_flat(flat);
        f64::from(m.loss(&x, &labels, 5))
    };
    check_gradient(at, &grad.to_flat(), &net.to_flat(), Tolerance::F32).unwrap();
    let mut t = net.clone();
    t.set_flat(
        &(0..net.num_floats())
            .map(|i| (i as f64 * 0.37).sin())
            .collect::<Vec<_>>(),
    );
    let (value, dv) = net.loss_jvp(&x, &labels, 5, &t);
    assert_eq!(value, loss);
    let reverse = grad.inner(&t);
    assert!(
        (f64::from(dv) - reverse).abs() < 1e-3 * reverse.abs().max(1.0),
        "{dv} vs {reverse}"
    );
}

#[derive(Clone, Debug, Differentiable)]
struct Pooled {
    conv: Conv2d,
    fc: Linear,
}

impl Pooled {
    /// The fused convolution and max pooling.
    #[differentiable(wrt(self))]
    fn fused(&self, x: &Tensor, labels: &[usize]) -> f32 {
        let h = relu(&self.conv.forward_max_pool(x, 2));
        cross_entropy(&self.fc.forward(&flatten(&h)), labels)
    }

    /// The same function, unfused.
    #[differentiable(wrt(self))]
    fn unfused(&self, x: &Tensor, labels: &[usize]) -> f32 {
        let h = relu(&max_pool2d(&self.conv.forward(x), 2));
        cross_entropy(&self.fc.forward(&flatten(&h)), labels)
    }
}

/// `forward_max_pool` through the generated code: the unfused pair's value and gradient,
/// finite differences, and forward mode.
#[test]
fn a_fused_convolution_and_pooling() {
    let mut init = Init::new(12);
    let net = Pooled {
        conv: Conv2d::new(2, 3, 3, 1, 1, &mut init),
        fc: Linear::new(3 * 3 * 3, 4, &mut init),
    };
    let x = Tensor::new(&[2, 2, 6, 6], init.uniform(144, 1.0)).unwrap();
    let labels = [3, 1];
    let (loss, grad) = net.fused_grad(&x, &labels);
    let (unfused_loss, unfused_grad) = net.unfused_grad(&x, &labels);
    assert_eq!(loss, unfused_loss);
    let (g, u) = (grad.to_flat(), unfused_grad.to_flat());
    assert!(g
        .iter()
        .zip(&u)
        .all(|(a, b)| (a - b).abs() < 1e-6 * b.abs().max(1.0)));
    let at = |flat: &[f64]| {
        let mut m = net.clone();
        m.set_flat(flat);
        f64::from(m.fused(&x, &labels))
    };
    // A step ten times below `F32`'s: a convolution weight moved by 1e-2 moves the
    // pooled values enough to change which element of some window is the maximum.
    let tolerance = Tolerance {
        step: 1e-3,
        ..Tolerance::F32
    };
    check_gradient(at, &g, &net.to_flat(), tolerance).unwrap();
    let mut t = net.clone();
    t.set_flat(
        &(0..net.num_floats())
            .map(|i| (i as f64 * 0.61).cos())
            .collect::<Vec<_>>(),
    );
    let (value, dv) = net.fused_jvp(&x, &labels, &t);
    assert_eq!(value, loss);
    let reverse = grad.inner(&t);
    assert!(
        (f64::from(dv) - reverse).abs() < 1e-3 * reverse.abs().max(1.0),
        "{dv} vs {reverse}"
    );
}
