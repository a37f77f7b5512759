use autodiff::differentiable;

#[differentiable]
#[allow(unused_variables)]
fn f(x: &f64) -> f64 {
    2.0
}

fn main() {}
