use autodiff::differentiable;

#[differentiable]
fn f(x: f64, n: usize) -> f64 {
    let mut y = x;
    #[checkpoint]
    for _ in 0..n {
        y = y.sin() + x;
        if y > 2.0 {
            break;
        }
    }
    y
}

fn main() {
    let _ = f(1.0, 10);
}
