use autodiff::differentiable;

#[differentiable]
fn f(x: &[f64], k: usize) -> f64 {
    let mut s = 0.0;
    for w in x.windows(k) {
        s += w[1] - w[0];
    }
    s
}

fn main() {}
