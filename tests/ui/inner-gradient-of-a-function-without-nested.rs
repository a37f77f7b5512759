use autodiff::differentiable;

#[differentiable]
fn potential(x: f64, y: f64) -> f64 {
    1.0 / (x * x + y * y).sqrt()
}

#[differentiable]
fn force_x(x: f64, y: f64) -> f64 {
    let (_, (gx, _)) = potential_grad(x, y);
    -gx
}

fn main() {
    let _ = force_x(1.0, 2.0);
}
