use autodiff::differentiable;

#[differentiable(nested)]
fn potential(x: f64, y: f64) -> f64 {
    1.0 / (x * x + y * y).sqrt()
}

#[differentiable]
fn force_x(x: f64, y: f64) -> f64 {
    -potential_grad(x, y).1 .0
}

fn main() {
    let _ = force_x(1.0, 2.0);
}
