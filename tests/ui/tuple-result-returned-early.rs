use autodiff::differentiable;

#[differentiable]
fn f(x: f64) -> (f64, f64) {
    if x > 1.0 {
        return (x, 1.0);
    }
    (x * x, x)
}

fn main() {}
