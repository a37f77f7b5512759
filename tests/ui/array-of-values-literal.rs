use autodiff::differentiable;

#[differentiable]
fn f(x: f64, y: f64) -> f64 {
    let v = [x, y, x * y];
    v[0] + v[2]
}

fn main() {}
