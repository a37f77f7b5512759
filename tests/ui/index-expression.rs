use autodiff::differentiable;

#[differentiable]
fn f(x: f64, table: &[usize]) -> f64 {
    x * table[0] as f64
}

fn main() {}
