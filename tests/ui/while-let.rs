use autodiff::differentiable;

#[differentiable]
fn f(x: f64, n: usize) -> f64 {
    let mut k = Some(n);
    let mut y = x;
    while let Some(m) = k {
        y *= 1.5;
        k = m.checked_sub(1);
    }
    y
}

fn main() {}
