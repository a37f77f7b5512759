use autodiff::differentiable;

#[differentiable(nested)]
fn potential(x: f64, y: f64, w: f64) -> f64 {
    w / (x * x + y * y).sqrt()
}

#[differentiable]
fn force_x(x: f64, y: f64, w: f64) -> f64 {
    // potential_grad has three partials (x, y, w), not two.
    let (_, (gx, _)) = potential_grad(x, y, w);
    -gx
}

fn main() {
    let _ = force_x(1.0, 2.0, 0.5);
}
