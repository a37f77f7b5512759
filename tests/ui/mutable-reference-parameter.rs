use autodiff::differentiable;

#[differentiable]
fn f(x: &[f64], out: &mut [f64]) -> f64 {
    out[0] = x[0] * 2.0;
    x[1]
}

fn main() {}
