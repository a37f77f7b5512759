//! The runtime's layers and functions composed by `#[differentiable]`: a small network
//! with every kind of primitive, checked against finite differences and forward mode.

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
