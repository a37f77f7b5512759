use autodiff::differentiable;

#[differentiable]
fn f(x: f64, n: usize) -> f64 {
    let buf = vec![x; n];
    buf[0]
}

fn main() {}
