//! An n-dimensional `f32` array: a shape and its elements in row-major (C) order, as
//! PyTorch lays them out. Image batches are `(N, C, H, W)`. Views into nalgebra give the
//! matrix products; the layers in [`crate::nn`] give the rules.

use crate::differentiable::{Differentiable, Floats, FloatsMut};
use crate::needs::Placeholder;
use crate::rules::ZeroLike;
use nalgebra::{DMatrixView, DMatrixViewMut, Dyn};
use rayon::prelude::*;

use std::fmt;

/// Element-wise work on at least this many elements is split between threads.
const PARALLEL: usize = 1 << 15;

/// `len` zeros (`0.0`, or `0` for indices). A batch-sized buffer is written by all the
/// threads: one thread's `memset` (and the page faults of fresh memory) would keep the
/// others waiting.
pub(crate) fn zeroed<T: Copy + Default + Send + Sync>(len: usize) -> Vec<T> {
    if len < PARALLEL {
        return vec![T::default(); len];
    }
    let mut v = Vec::with_capacity(len);
    v.par_extend(rayon::iter::repeat_n(T::default(), len));
    v
}

/// A shape and `f32` elements, row-major.
#[derive(PartialEq, Default)]
pub struct Tensor {
    shape: Vec<usize>,
    data: Vec<f32>,
}

/// A batch-sized tensor is copied by all the threads (pullbacks keep a copy of their
/// layer's input, and one thread's `memcpy` would keep the others waiting).
impl Clone for Tensor {
    fn clone(&self) -> Tensor {
        let data = if self.data.len() >= PARALLEL {
            let mut data = Vec::with_capacity(self.data.len());
            data.par_extend(self.data.par_iter().copied());
            data
        } else {
            self.data.clone()
        };
        Tensor {
            shape: self.shape.clone(),
            data,
        }
    }
}

/// A tensor whose data does not fit its shape, or two tensors whose shapes do not fit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShapeError {
    /// What does not fit.
    pub message: String,
}

impl fmt::Display for ShapeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ShapeError {}

impl fmt::Debug for Tensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tensor{:?}", self.shape)?;
        let shown: Vec<f32> = self.data.iter().take(8).copied().collect();
        write!(
            f,
            " {shown:?}{}",
            if self.data.len() > 8 { " .." } else { "" }
        )
    }
}

impl Tensor {
    /// A tensor of `shape` holding `data` (row-major).
    ///
    /// # Errors
    /// If `data` does not have as many elements as `shape` asks for.
    pub fn new(shape: &[usize], data: Vec<f32>) -> Result<Tensor, ShapeError> {
        let len: usize = shape.iter().product();
        if len != data.len() {
            return Err(ShapeError {
                message: format!(
                    "a tensor of shape {shape:?} has {len} elements, got {}",
                    data.len()
                ),
            });
        }
        Ok(Tensor {
            shape: shape.to_vec(),
            data,
        })
    }

    /// Zeros of `shape`.
    pub fn zeros(shape: &[usize]) -> Tensor {
        Tensor {
            shape: shape.to_vec(),
            data: zeroed(shape.iter().product()),
        }
    }

    /// Elements `f(i)` for the flat index `i`.
    pub fn from_fn(shape: &[usize], f: impl FnMut(usize) -> f32) -> Tensor {
        let len = shape.iter().product();
        Tensor {
            shape: shape.to_vec(),
            data: (0..len).map(f).collect(),
        }
    }

    /// The size of each dimension, outermost first.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The numbers, row-major (the last dimension varies fastest).
    pub fn data(&self) -> &[f32] {
        &self.data
    }

    /// The numbers, writable, in [`Tensor::data`]'s order.
    pub fn data_mut(&mut self) -> &mut [f32] {
        &mut self.data
    }

    /// The numbers, taken out of the tensor.
    pub fn into_data(self) -> Vec<f32> {
        self.data
    }

    /// The number of elements (the product of the shape).
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// Whether there are no elements.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The same elements under another shape of as many elements.
    ///
    /// # Errors
    /// If the element counts differ.
    pub fn reshape(self, shape: &[usize]) -> Result<Tensor, ShapeError> {
        Tensor::new(shape, self.data)
    }

    /// `f` applied to every element (in parallel for a large tensor).
    pub fn map(&self, f: impl Fn(f32) -> f32 + Sync) -> Tensor {
        let data = if self.data.len() >= PARALLEL {
            self.data.par_iter().map(|&v| f(v)).collect()
        } else {
            self.data.iter().map(|&v| f(v)).collect()
        };
        Tensor {
            shape: self.shape.clone(),
            data,
        }
    }

    /// `f` applied to corresponding elements of `self` and `other`, of the same shape.
    ///
    /// # Panics
    /// If the shapes differ.
    pub fn zip_map(&self, other: &Tensor, f: impl Fn(f32, f32) -> f32 + Sync) -> Tensor {
        assert_eq!(self.shape, other.shape, "zip_map: shapes differ");
        let data = if self.data.len() >= PARALLEL {
            self.data
                .par_iter()
                .zip(&other.data)
                .map(|(&a, &b)| f(a, b))
                .collect()
        } else {
            self.data
                .iter()
                .zip(&other.data)
                .map(|(&a, &b)| f(a, b))
                .collect()
        };
        Tensor {
            shape: self.shape.clone(),
            data,
        }
    }

    /// A 2-D tensor `(rows, cols)` as a nalgebra matrix view (no copy).
    ///
    /// # Panics
    /// If the tensor is not 2-D.
    pub fn as_matrix(&self) -> DMatrixView<'_, f32, Dyn, Dyn> {
        let [rows, cols] = self.shape[..] else {
            panic!("as_matrix: shape {:?} is not 2-D", self.shape)
        };
        matrix(&self.data, rows, cols)
    }
}

/// Row-major `rows × cols` data as a nalgebra (column-major) matrix view: the strides say
/// where element `(i, j)` is, no copy.
pub fn matrix(data: &[f32], rows: usize, cols: usize) -> DMatrixView<'_, f32, Dyn, Dyn> {
    DMatrixView::from_slice_with_strides_generic(data, Dyn(rows), Dyn(cols), Dyn(cols), Dyn(1))
}

/// The transpose of row-major `rows × cols` data, a `cols × rows` view (no copy).
pub fn matrix_transposed(data: &[f32], rows: usize, cols: usize) -> DMatrixView<'_, f32, Dyn, Dyn> {
    DMatrixView::from_slice_with_strides_generic(data, Dyn(cols), Dyn(rows), Dyn(1), Dyn(cols))
}

/// Row-major `rows × cols` data as a writable nalgebra matrix view.
pub fn matrix_mut(data: &mut [f32], rows: usize, cols: usize) -> DMatrixViewMut<'_, f32, Dyn, Dyn> {
    DMatrixViewMut::from_slice_with_strides_generic(data, Dyn(rows), Dyn(cols), Dyn(cols), Dyn(1))
}

/// `y = α a b + β y` on views with any strides. Products with every dimension above 5 go
/// to nalgebra's blocked kernel (matrixmultiply), which takes strides as they are; smaller
/// ones are multiplied on contiguous copies (nalgebra's small-matrix path expects unit row
/// strides).
pub fn gemm(
    y: &mut DMatrixViewMut<'_, f32, Dyn, Dyn>,
    alpha: f32,
    a: &DMatrixView<'_, f32, Dyn, Dyn>,
    b: &DMatrixView<'_, f32, Dyn, Dyn>,
    beta: f32,
) {
    if [y.nrows(), y.ncols(), a.nrows(), a.ncols()]
        .iter()
        .all(|&d| d > 5)
    {
        y.gemm(alpha, a, b, beta);
        return;
    }
    let p = a.clone_owned() * b.clone_owned();
    for j in 0..y.ncols() {
        for i in 0..y.nrows() {
            y[(i, j)] = alpha * p[(i, j)] + if beta == 0.0 { 0.0 } else { beta * y[(i, j)] };
        }
    }
}

/// `rows × cols` numbers at `i·rs + j·cs` as a matrix view.
pub fn strided(
    data: &[f32],
    rows: usize,
    cols: usize,
    rs: usize,
    cs: usize,
) -> DMatrixView<'_, f32, Dyn, Dyn> {
    DMatrixView::from_slice_with_strides_generic(data, Dyn(rows), Dyn(cols), Dyn(rs), Dyn(cs))
}

/// `rows × cols` numbers at `i·rs + j·cs` as a writable matrix view.
pub fn strided_mut(
    data: &mut [f32],
    rows: usize,
    cols: usize,
    rs: usize,
    cs: usize,
) -> DMatrixViewMut<'_, f32, Dyn, Dyn> {
    DMatrixViewMut::from_slice_with_strides_generic(data, Dyn(rows), Dyn(cols), Dyn(rs), Dyn(cs))
}

impl Differentiable for Tensor {
    fn zero_like(&self) -> Self {
        Tensor::zeros(&self.shape)
    }
    fn accumulate(&mut self, other: &Self) {
        assert_eq!(self.shape, other.shape, "accumulate: shapes differ");
        self.data
            .iter_mut()
            .zip(&other.data)
            .for_each(|(a, b)| *a += b);
    }
    fn scale(&mut self, factor: f64) {
        let factor = factor as f32;
        self.data.iter_mut().for_each(|a| *a *= factor);
    }
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(&str, Floats<'_>)) {
        f(prefix, Floats::F32(&self.data));
    }
    fn visit_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, FloatsMut<'_>)) {
        f(prefix, FloatsMut::F32(&mut self.data));
    }
    fn visit_pair(
        &mut self,
        other: &Self,
        prefix: &str,
        f: &mut dyn FnMut(&str, FloatsMut<'_>, Floats<'_>),
    ) {
        assert_eq!(self.shape, other.shape, "visit_pair: shapes differ");
        f(
            prefix,
            FloatsMut::F32(&mut self.data),
            Floats::F32(&other.data),
        );
    }
    fn visit_layout(&self, prefix: &str, f: &mut dyn FnMut(&str, crate::Layout)) {
        f(
            prefix,
            crate::Layout {
                shape: self.shape.clone(),
                column_major: false,
            },
        );
    }
}

impl ZeroLike for Tensor {
    type Output = Tensor;
    fn zero_like(&self) -> Tensor {
        Tensor::zeros(&self.shape)
    }
}

/// An empty tensor.
impl Placeholder for Tensor {
    fn placeholder() -> Self {
        Tensor::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_are_checked() {
        assert!(Tensor::new(&[2, 3], vec![0.0; 5]).is_err());
        let t = Tensor::new(&[2, 3], (0..6).map(|v| v as f32).collect()).unwrap();
        assert_eq!(t.as_matrix()[(1, 2)], 5.0);
        assert!(t.clone().reshape(&[4]).is_err());
        assert_eq!(t.reshape(&[3, 2]).unwrap().as_matrix()[(2, 1)], 5.0);
    }
}
