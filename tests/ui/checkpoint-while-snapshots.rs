use autodiff::differentiable;

#[differentiable]
fn f(x: f64) -> f64 {
    let mut y = x;
    #[checkpoint(snapshots = 4)]
    while y < 10.0 {
        y = y * 1.5 + 0.1;
    }
    y
}

fn main() {
    let _ = f(1.0);
}
