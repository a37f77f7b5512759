use autodiff::differentiable;

// The body has one mistake; callers of the generated functions get no further errors.
#[differentiable]
fn f(x: f64, y: f64) -> f64 {
    println!("{x}");
    x * y
}

fn main() {
    let (_value, (_dx, _dy)) = f_grad(1.0, 2.0);
    let (_value, pullback) = f_vjp(1.0, 2.0);
    let _ = pullback(1.0);
    let _ = f_jvp(1.0, 2.0, 1.0, 0.0);
}
