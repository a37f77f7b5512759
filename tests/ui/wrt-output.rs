use autodiff::differentiable;

#[differentiable(wrt(x, out))]
fn f(x: &[f64], out: &mut [f64]) {
    out[0] = x[0] * 2.0;
}

fn main() {}
