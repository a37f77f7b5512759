//! A 2-D stencil for the loops bench and the stencil tests (`#[path]`).

use autodiff::differentiable;

/// `Σ (Δx)²` for the five-point Laplacian on a grid of `m` columns stored by rows (the
/// border excluded): the neighbours are at `c ± 1` and `c ± m` of the inner loop's
/// index, and the adjoint adds into all five.
#[differentiable]
pub fn laplacian_energy(x: &[f64], m: usize) -> f64 {
    let n = x.len() / m;
    let mut s = 0.0;
    for i in 1..n - 1 {
        for j in 1..m - 1 {
            let c = i * m + j;
            let l = x[c - 1] + x[c + 1] + x[c - m] + x[c + m] - 4.0 * x[c];
            s += l * l;
        }
    }
    s
}
