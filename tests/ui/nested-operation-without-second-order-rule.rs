use autodiff::differentiable;

#[differentiable(nested)]
fn f(x: f64) -> f64 {
    x.atan() * x
}

fn main() {
    let _ = f(1.0);
}
