use autodiff::differentiable;

#[differentiable]
fn f(x: f64, n: usize) -> f64 {
    let mut v = Vec::with_capacity(n);
    v.push(x);
    v[0]
}

fn main() {}
