use autodiff::differentiable;

#[differentiable(nested)]
fn f(x: f64) -> f64 {
    f64::from(x as f32) * x
}

fn main() {
    let _ = f(1.0);
}
