use autodiff::differentiable;

#[differentiable]
fn f(x: f64) -> f64 {
    x.to_bits() as f64
}

fn main() {}
