use autodiff::differentiable;
use autodiff::nalgebra::DMatrix;

#[differentiable]
fn f(m: &DMatrix<f64>, w: &DMatrix<f64>) -> f64 {
    let bias = w * 2.0;
    m.map(|v| v + bias[(0, 0)]).sum()
}

fn main() {}
