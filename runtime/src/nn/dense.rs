//! The dense layer `y = W x + b` (PyTorch's `nn.Linear`) on a batch with one example per
//! column, with its matrix products split over the batch between threads.

use super::Init;
use crate::needs::needs;
use crate::tensor::{gemm, strided, strided_mut};
use nalgebra::{DMatrix, DMatrixView, DVector, Dyn};
use rayon::prelude::*;

/// `weight` is `out × in` (PyTorch's `(out_features, in_features)`), `bias` has `out`.
#[derive(Clone, Debug, crate::Differentiable)]
pub struct Linear {
    /// `out × in`.
    pub weight: DMatrix<f32>,
    /// `out`.
    pub bias: DVector<f32>,
}

/// A column-major matrix as a view with general strides.
fn view(m: &DMatrix<f32>) -> DMatrixView<'_, f32, Dyn, Dyn> {
    strided(m.as_slice(), m.nrows(), m.ncols(), 1, m.nrows())
}

/// `out = a · b[:, columns]` for consecutive column blocks in parallel (`out` column-major,
/// `a.nrows()` rows).
fn par_product(
    a: &DMatrixView<'_, f32, Dyn, Dyn>,
    b: &DMatrix<f32>,
    beta_bias: Option<&DVector<f32>>,
) -> DMatrix<f32> {
    let (m, n) = (a.nrows(), b.ncols());
    let mut out = DMatrix::<f32>::zeros(m, n);
    let per = n.div_ceil(rayon::current_num_threads().max(1)).max(1);
    out.as_mut_slice()
        .par_chunks_mut(m * per)
        .enumerate()
        .for_each(|(p, chunk)| {
            let (first, count) = (p * per, chunk.len() / m.max(1));
            if let Some(bias) = beta_bias {
                for col in chunk.chunks_mut(m) {
                    col.copy_from_slice(bias.as_slice());
                }
            }
            let beta = if beta_bias.is_some() { 1.0 } else { 0.0 };
            let k = b.nrows();
            let b = strided(&b.as_slice()[first * k..], k, count, 1, k);
            gemm(&mut strided_mut(chunk, m, count, 1, m), 1.0, a, &b, beta);
        });
    out
}

/// `W̄ = Ȳ Xᵀ`, with blocks of `W̄`'s columns (contiguous in column-major storage)
/// computed in parallel: column `j` is `Ȳ` times row `j` of `X`, read in place.
fn weight_cotangent(dy: &DMatrix<f32>, x: &DMatrix<f32>) -> DMatrix<f32> {
    let (out, n, inputs) = (dy.nrows(), dy.ncols(), x.nrows());
    let mut dw = DMatrix::<f32>::zeros(out, inputs);
    let per = inputs.div_ceil(rayon::current_num_threads().max(1)).max(1);
    let dy = view(dy);
    dw.as_mut_slice()
        .par_chunks_mut(out * per)
        .enumerate()
        .for_each(|(p, chunk)| {
            let (first, count) = (p * per, chunk.len() / out.max(1));
            // Xᵀ restricted to columns first..first + count: row stride `inputs`.
            let xt = strided(&x.as_slice()[first..], n, count, inputs, 1);
            gemm(
                &mut strided_mut(chunk, out, count, 1, out),
                1.0,
                &dy,
                &xt,
                0.0,
            );
        });
    dw
}

impl Linear {
    /// A layer with PyTorch's default initialisation.
    pub fn new(inputs: usize, outputs: usize, init: &mut Init) -> Linear {
        let w = init.default_weights(outputs * inputs, inputs);
        let b = init.default_weights(outputs, inputs);
        Linear {
            // PyTorch's row-major (out, in) numbers.
            weight: DMatrix::from_row_slice(outputs, inputs, &w),
            bias: DVector::from_vec(b),
        }
    }

    /// # Panics
    /// If `x` does not have `in` rows.
    pub fn forward(&self, x: &DMatrix<f32>) -> DMatrix<f32> {
        assert_eq!(
            x.nrows(),
            self.weight.ncols(),
            "Linear: a batch of {}-feature examples for a layer of {} inputs",
            x.nrows(),
            self.weight.ncols()
        );
        par_product(&view(&self.weight), x, Some(&self.bias))
    }

    /// The output and the pullback: `W̄ = Ȳ Xᵀ`, `b̄ = Ȳ 𝟙`, and `X̄ = Wᵀ Ȳ` if the caller
    /// needs it.
    #[allow(clippy::type_complexity)]
    pub fn forward_vjp(
        &self,
        x: &DMatrix<f32>,
    ) -> (
        DMatrix<f32>,
        impl FnOnce(DMatrix<f32>) -> (Linear, DMatrix<f32>) + '_,
    ) {
        let needs = needs([
            "forward",
            core::any::type_name::<Self>(),
            crate::needs::type_name_of(x),
        ]);
        let y = self.forward(x);
        let x = x.clone();
        let pullback = move |dy: DMatrix<f32>| {
            let dw = weight_cotangent(&dy, &x);
            let db = dy.column_sum();
            let dx = if needs & 2 != 0 {
                // Wᵀ: the same numbers read with swapped strides, no copy.
                let (out, inputs) = self.weight.shape();
                par_product(
                    &strided(self.weight.as_slice(), inputs, out, out, 1),
                    &dy,
                    None,
                )
            } else {
                DMatrix::zeros(0, 0)
            };
            (
                Linear {
                    weight: dw,
                    bias: db,
                },
                dx,
            )
        };
        (y, pullback)
    }

    /// The output and its tangent: `Ẏ = Ẇ X + W Ẋ + ḃ 𝟙ᵀ`.
    pub fn forward_jvp(
        &self,
        x: &DMatrix<f32>,
        d_self: &Linear,
        dx: &DMatrix<f32>,
    ) -> (DMatrix<f32>, DMatrix<f32>) {
        let y = self.forward(x);
        let mut t = par_product(&view(&d_self.weight), x, Some(&d_self.bias));
        t += par_product(&view(&self.weight), dx, None);
        (y, t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Differentiable;

    #[test]
    fn pullback_is_the_adjoint_of_the_tangent_and_matches_the_product() {
        let mut init = Init::new(9);
        let layer = Linear::new(7, 5, &mut init);
        let x = DMatrix::from_vec(7, 9, init.uniform(63, 1.0));
        let y = layer.forward(&x);
        let expected = &layer.weight * &x;
        assert!((y.column(3) - expected.column(3) - &layer.bias).norm() < 1e-5);
        let d_layer = init.like(&layer);
        let dx = DMatrix::from_vec(7, 9, init.uniform(63, 1.0));
        let (_, dy) = layer.forward_jvp(&x, &d_layer, &dx);
        let ybar = DMatrix::from_vec(5, 9, init.uniform(45, 1.0));
        let (_, pullback) = layer.forward_vjp(&x);
        let (lbar, xbar) = pullback(ybar.clone());
        let forward = dy.inner(&ybar);
        let reverse = lbar.inner(&d_layer) + xbar.inner(&dx);
        assert!((forward - reverse).abs() < 1e-3 * forward.abs().max(1.0));
    }
}
