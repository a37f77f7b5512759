use autodiff::differentiable;

// `a` is bound again after the closure captured it: inlining would read the new `a`.
#[differentiable]
fn f(x: f64) -> f64 {
    let a = 2.0;
    let scaled = |t: f64| t * a;
    let a = 3.0;
    scaled(x) + a
}

fn main() {}
