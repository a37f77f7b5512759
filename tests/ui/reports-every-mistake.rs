use autodiff::differentiable;

// Three unrelated mistakes: all three are reported in one compile.
#[differentiable]
fn f(x: f64) -> f64 {
    let pair = [x, 2.0 * x];
    let y = match x > 0.0 {
        true => x,
        false => -x,
    };
    x.sin_cos().0 + y * pair[1]
}

fn main() {}
