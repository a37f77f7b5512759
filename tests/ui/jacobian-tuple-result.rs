use autodiff::differentiable;

#[differentiable(jacobian)]
fn f(x: f64, y: f64) -> (f64, f64) {
    (x * y, x + y)
}

fn main() {
    let _ = f(1.0, 2.0);
}
