use autodiff::differentiable;

fn checked(x: f64) -> Option<f64> {
    Some(x)
}

#[differentiable]
fn f(x: f64) -> f64 {
    checked(x)? * 2.0
}

fn main() {}
