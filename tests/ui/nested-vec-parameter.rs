use autodiff::differentiable;

#[differentiable]
fn f(rows: &[Vec<f64>]) -> f64 {
    rows.len() as f64
}

fn main() {}
