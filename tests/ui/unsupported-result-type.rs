use autodiff::differentiable;

#[differentiable]
fn f(x: f64) -> (f64, usize) {
    (x, 3)
}

fn main() {}
