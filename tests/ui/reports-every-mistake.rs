use autodiff::differentiable;

// Three unrelated mistakes: all three are reported in one compile.
#[differentiable]
fn f(x: f64) -> f64 {
    let twice = |v: f64| 2.0 * v;
    let y = match x > 0.0 {
        true => x,
        false => -x,
    };
    x.sin_cos().0 + twice(y)
}

fn main() {}
