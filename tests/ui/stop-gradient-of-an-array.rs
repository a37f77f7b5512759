use autodiff::{differentiable, stop_gradient};

// `stop_gradient` takes a float: an array's elements are stopped where they are read.
#[differentiable]
fn weighted(x: &[f64]) -> f64 {
    let fixed = stop_gradient(x);
    fixed[0] * x[0]
}

fn main() {
    let _ = weighted_grad(&[1.0]);
}
