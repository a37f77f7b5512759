use autodiff::differentiable;

// `s` starts as a constant and becomes active in the second iteration: the method is
// checked once activity is known, after the loop is lowered.
#[differentiable]
fn f(x: f64) -> f64 {
    let mut s = 0.0_f64;
    for _ in 0..3 {
        let r = s.to_bits();
        s = s * x + 1.0 + (r as f64);
    }
    s
}

fn main() {}
