use autodiff::differentiable;

// Three unrelated mistakes: all three are reported in one compile.
#[differentiable]
fn f(x: f64) -> f64 {
    let unit = "m";
    let mut y = 0.0;
    'outer: for _ in 0..2 {
        y += x;
        if y > 1.0 {
            break 'outer;
        }
    }
    x.to_bits() as f64 + y * unit.len() as f64
}

fn main() {}
