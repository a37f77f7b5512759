use autodiff::differentiable;

#[differentiable(jacobian(lanes = 0))]
fn f(x: &[f64]) -> Vec<f64> {
    x.iter().map(|v| v * v).collect()
}

fn main() {}
