use autodiff::differentiable;

#[differentiable]
fn fill(x: &[f64], out: &mut [f64]) {
    out[0] = x[0] * 2.0;
}

#[differentiable]
fn f(x: &[f64], out: &mut [f64]) {
    fill(x, out);
}

fn main() {}
