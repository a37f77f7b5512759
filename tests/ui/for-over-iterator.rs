use autodiff::differentiable;

#[differentiable]
fn f(x: f64, weights: &[u32]) -> f64 {
    let mut y = x;
    for _ in weights.iter() {
        y = y * x;
    }
    y
}

fn main() {}
