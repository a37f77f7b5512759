use autodiff::differentiable;

#[differentiable]
fn f(x: &[f64], out: &mut [f64; 2]) {
    *out = [x[0], x[1] * x[0]];
}

fn main() {}
