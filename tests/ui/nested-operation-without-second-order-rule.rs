use autodiff::differentiable;

#[differentiable(nested)]
fn f(x: f64) -> f64 {
    x.atan2(2.0) * x
}

fn main() {
    let _ = f(1.0);
}
