use autodiff::differentiable;
use autodiff::nalgebra::DVector;

#[differentiable(nested)]
fn f(m: &DVector<f64>) -> f64 {
    m.map(|v| v.sin()).sum()
}

fn main() {
    let _ = f(&DVector::zeros(2));
}
