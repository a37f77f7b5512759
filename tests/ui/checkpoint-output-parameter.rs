use autodiff::differentiable;

#[differentiable(wrt(x))]
fn f(x: &[f64], n: usize, out: &mut [f64]) {
    for j in 0..out.len() {
        out[j] = x[j];
    }
    #[checkpoint]
    for _ in 0..n {
        for j in 0..out.len() {
            out[j] = out[j] * 0.5 + x[j];
        }
    }
}

fn main() {
    let mut out = [0.0; 2];
    f(&[1.0, 2.0], 10, &mut out);
}
