use autodiff::differentiable;

#[differentiable]
fn f(x: &[f64], n: usize) -> f64 {
    let mut state = x.to_vec();
    #[checkpoint]
    for _ in 0..n {
        for j in 0..state.len() {
            state[j] = state[j] * 0.5 + x[j];
        }
    }
    state.iter().sum()
}

fn main() {
    let _ = f(&[1.0, 2.0], 10);
}
