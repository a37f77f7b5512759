use autodiff::differentiable;

#[differentiable]
fn f(x: f64, n: usize) -> f64 {
    let mut y = x;
    'rows: for i in 0..n {
        for _ in 0..i {
            if y > 10.0 {
                break 'rows;
            }
            y = y * x;
        }
    }
    y
}

fn main() {}
