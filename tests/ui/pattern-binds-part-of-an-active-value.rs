use autodiff::differentiable;

#[differentiable]
fn f(x: f64) -> f64 {
    match x {
        big @ f64::MAX => big,
        other => other * other,
    }
}

fn main() {}
