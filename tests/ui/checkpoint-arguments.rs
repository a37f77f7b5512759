use autodiff::differentiable;

#[differentiable]
fn f(x: f64, n: usize) -> f64 {
    let mut y = x;
    #[checkpoint(segments = 4)]
    for _ in 0..n {
        y = y.sin() + x;
    }
    y
}

fn main() {
    let _ = f(1.0, 10);
}
