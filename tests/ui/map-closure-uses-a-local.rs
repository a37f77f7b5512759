use autodiff::differentiable;
use autodiff::nalgebra::DMatrix;

#[differentiable]
fn f(m: &DMatrix<f64>, scale: f64) -> f64 {
    m.map(|v| v * scale).sum()
}

fn main() {}
