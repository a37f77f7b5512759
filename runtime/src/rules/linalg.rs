//! Rules for values the macro does not see as plain floats: nalgebra matrices and vectors
//! (`DMatrix`, `DVector`, `SMatrix`, `Vector3`, ... — every owned `OMatrix<T, R, C>`), and
//! `f32` / `f64` again, so generated code that cannot see whether a value (a struct field,
//! a call's result) is a float or a matrix is correct either way. rustc picks the
//! implementation; the macro stays type-agnostic.
//!
//! Operands, results and seeds are passed by reference, since matrices are not `Copy`. The
//! argument order is the one of the scalar rules: `op_jvp_slot(operands.., y, t)` and
//! `op_vjp_slot(operands.., y, d)`.
//!
//! The matrix rules (for `y = a · b` with `d` the cotangent of `y`):
//!
//! | operation | cotangent of `a` | cotangent of `b` |
//! |---|---|---|
//! | `A · B` (matrix product) | `D Bᵀ` | `Aᵀ D` |
//! | `s · B`, `A · s`, `A / s` | `⟨D, B⟩`, `s D`, `D / s` | `s D`, `⟨A, D⟩`, `−⟨D, Y⟩ / s` |
//! | `Aᵀ` | `Dᵀ` | |
//! | `A ∘ B` (`component_mul`) | `D ∘ B` | `D ∘ A` |
//! | `A ⊘ B` (`component_div`) | `D ⊘ B` | `−D ∘ Y ⊘ B` |
//! | `⟨A, B⟩` (`dot`) | `d B` | `d A` |
//! | `Σ A` (`sum`), `mean` | `d 𝟙`, `d 𝟙 / n` | |
//! | `‖A‖²` (`norm_squared`), `‖A‖` (`norm`) | `2 d A`, `d A / ‖A‖` (`0` at `A = 0`) | |
//! | `tr A` (`trace`) | `d I` | |

use crate::rules::ZeroLike;
use crate::Real;
use nalgebra::allocator::Allocator;
use nalgebra::{DefaultAllocator, Dim, Dyn, MatrixView, OMatrix, RealField};

/// The rules of `a * b` for the pairs of types that multiply.
pub trait MulRule<B>: Sized {
    /// The type of the product.
    type Out;
    /// `a · b` itself (also where nalgebra has no `&a * &b`: a matrix and a float field).
    fn apply(a: &Self, b: &B) -> Self::Out;
    /// Tangent of `a · b` from the tangent `t` of `a`.
    fn jvp_lhs(a: &Self, b: &B, t: &Self) -> Self::Out;
    /// Tangent of `a · b` from the tangent `t` of `b`.
    fn jvp_rhs(a: &Self, b: &B, t: &B) -> Self::Out;
    /// Cotangent of `a` from the cotangent `d` of `a · b`.
    fn vjp_lhs(a: &Self, b: &B, d: &Self::Out) -> Self;
    /// Cotangent of `b` from the cotangent `d` of `a · b`.
    fn vjp_rhs(a: &Self, b: &B, d: &Self::Out) -> B;
}

/// The rules of `a / b` for the pairs of types that divide.
pub trait DivRule<B>: Sized {
    /// The type of the quotient.
    type Out;
    /// `a / b` itself.
    fn apply(a: &Self, b: &B) -> Self::Out;
    /// Tangent of `a / b` from the tangent `t` of `a`.
    fn jvp_lhs(a: &Self, b: &B, t: &Self) -> Self::Out;
    /// Tangent of `y = a / b` from the tangent `t` of `b`.
    fn jvp_rhs(a: &Self, b: &B, y: &Self::Out, t: &B) -> Self::Out;
    /// Cotangent of `a` from the cotangent `d` of `a / b`.
    fn vjp_lhs(a: &Self, b: &B, d: &Self::Out) -> Self;
    /// Cotangent of `b` from the cotangent `d` of `y = a / b`.
    fn vjp_rhs(a: &Self, b: &B, y: &Self::Out, d: &Self::Out) -> B;
}

/// Rules of the whole-value reductions and maps, for floats and matrices alike.
pub trait Reduce: Sized {
    /// The element type (`Self` for a float).
    type Elem;
    /// `𝟙 · s`: a value of the shape of `self` with every element `s`.
    fn fill_like(&self, s: Self::Elem) -> Self;
    /// The number of elements.
    fn count(&self) -> usize;
    /// `⟨self, other⟩ = Σ self ∘ other`.
    fn inner(&self, other: &Self) -> Self::Elem;
    /// `s · self`.
    fn scaled(&self, s: Self::Elem) -> Self;
    /// `Σ self`.
    fn total(&self) -> Self::Elem;
}

macro_rules! float_rules {
    ($($t:ty),*) => {$(
        impl MulRule<$t> for $t {
            type Out = $t;
            fn apply(a: &$t, b: &$t) -> $t {
                a * b
            }
            fn jvp_lhs(_a: &$t, b: &$t, t: &$t) -> $t {
                crate::rules::scalar::mul_jvp_lhs(0.0, *b, 0.0, *t)
            }
            fn jvp_rhs(a: &$t, _b: &$t, t: &$t) -> $t {
                crate::rules::scalar::mul_jvp_rhs(*a, 0.0, 0.0, *t)
            }
            fn vjp_lhs(_a: &$t, b: &$t, d: &$t) -> $t {
                crate::rules::scalar::mul_vjp_lhs(0.0, *b, 0.0, *d)
            }
            fn vjp_rhs(a: &$t, _b: &$t, d: &$t) -> $t {
                crate::rules::scalar::mul_vjp_rhs(*a, 0.0, 0.0, *d)
            }
        }

        impl DivRule<$t> for $t {
            type Out = $t;
            fn apply(a: &$t, b: &$t) -> $t {
                a / b
            }
            fn jvp_lhs(a: &$t, b: &$t, t: &$t) -> $t {
                crate::rules::scalar::div_jvp_lhs(*a, *b, *a / *b, *t)
            }
            fn jvp_rhs(a: &$t, b: &$t, y: &$t, t: &$t) -> $t {
                crate::rules::scalar::div_jvp_rhs(*a, *b, *y, *t)
            }
            fn vjp_lhs(a: &$t, b: &$t, d: &$t) -> $t {
                crate::rules::scalar::div_vjp_lhs(*a, *b, *a / *b, *d)
            }
            fn vjp_rhs(a: &$t, b: &$t, y: &$t, d: &$t) -> $t {
                crate::rules::scalar::div_vjp_rhs(*a, *b, *y, *d)
            }
        }

        impl Reduce for $t {
            type Elem = $t;
            fn fill_like(&self, s: $t) -> $t {
                s
            }
            fn count(&self) -> usize {
                1
            }
            fn inner(&self, other: &$t) -> $t {
                self * other
            }
            fn scaled(&self, s: $t) -> $t {
                self * s
            }
            fn total(&self) -> $t {
                *self
            }
        }

        /// `s · B`: `∂/∂s = ⟨D, B⟩`, `∂/∂B = s D`.
        impl<R: Dim, C: Dim> MulRule<OMatrix<$t, R, C>> for $t
        where
            DefaultAllocator: Allocator<R, C>,
        {
            type Out = OMatrix<$t, R, C>;
            fn apply(a: &$t, b: &OMatrix<$t, R, C>) -> OMatrix<$t, R, C> {
                b * *a
            }
            fn jvp_lhs(_a: &$t, b: &OMatrix<$t, R, C>, t: &$t) -> OMatrix<$t, R, C> {
                b * *t
            }
            fn jvp_rhs(a: &$t, _b: &OMatrix<$t, R, C>, t: &OMatrix<$t, R, C>) -> OMatrix<$t, R, C> {
                t * *a
            }
            fn vjp_lhs(_a: &$t, b: &OMatrix<$t, R, C>, d: &OMatrix<$t, R, C>) -> $t {
                d.dot(b)
            }
            fn vjp_rhs(a: &$t, _b: &OMatrix<$t, R, C>, d: &OMatrix<$t, R, C>) -> OMatrix<$t, R, C> {
                d * *a
            }
        }

        /// `A · s`: `∂/∂A = s D`, `∂/∂s = ⟨A, D⟩`.
        impl<R: Dim, C: Dim> MulRule<$t> for OMatrix<$t, R, C>
        where
            DefaultAllocator: Allocator<R, C>,
        {
            type Out = OMatrix<$t, R, C>;
            fn apply(a: &Self, b: &$t) -> Self {
                a * *b
            }
            fn jvp_lhs(_a: &Self, b: &$t, t: &Self) -> Self {
                t * *b
            }
            fn jvp_rhs(a: &Self, _b: &$t, t: &$t) -> Self {
                a * *t
            }
            fn vjp_lhs(_a: &Self, b: &$t, d: &Self) -> Self {
                d * *b
            }
            fn vjp_rhs(a: &Self, _b: &$t, d: &Self) -> $t {
                a.dot(d)
            }
        }

        /// `A / s`: `∂/∂A = D / s`, `∂/∂s = −⟨D, Y⟩ / s`.
        impl<R: Dim, C: Dim> DivRule<$t> for OMatrix<$t, R, C>
        where
            DefaultAllocator: Allocator<R, C>,
        {
            type Out = OMatrix<$t, R, C>;
            fn apply(a: &Self, b: &$t) -> Self {
                a / *b
            }
            fn jvp_lhs(_a: &Self, b: &$t, t: &Self) -> Self {
                t / *b
            }
            fn jvp_rhs(_a: &Self, b: &$t, y: &Self, t: &$t) -> Self {
                y * (-*t / *b)
            }
            fn vjp_lhs(_a: &Self, b: &$t, d: &Self) -> Self {
                d / *b
            }
            fn vjp_rhs(_a: &Self, b: &$t, y: &Self, d: &Self) -> $t {
                -d.dot(y) / *b
            }
        }

        impl<R: Dim, C: Dim> Reduce for OMatrix<$t, R, C>
        where
            DefaultAllocator: Allocator<R, C>,
        {
            type Elem = $t;
            fn fill_like(&self, s: $t) -> Self {
                let (r, c) = self.shape_generic();
                OMatrix::from_element_generic(r, c, s)
            }
            fn count(&self) -> usize {
                self.len()
            }
            fn inner(&self, other: &Self) -> $t {
                self.dot(other)
            }
            fn scaled(&self, s: $t) -> Self {
                self * s
            }
            fn total(&self) -> $t {
                self.sum()
            }
        }
    )*};
}

float_rules!(f32, f64);

/// `A · B`: `∂/∂A = D Bᵀ`, `∂/∂B = Aᵀ D`.
impl<T, R: Dim, K: Dim, C: Dim> MulRule<OMatrix<T, K, C>> for OMatrix<T, R, K>
where
    T: RealField + Copy,
    DefaultAllocator: Allocator<R, K> + Allocator<K, C> + Allocator<R, C> + Allocator<C, K>,
{
    type Out = OMatrix<T, R, C>;
    fn apply(a: &Self, b: &OMatrix<T, K, C>) -> OMatrix<T, R, C> {
        a * b
    }
    fn jvp_lhs(_a: &Self, b: &OMatrix<T, K, C>, t: &Self) -> OMatrix<T, R, C> {
        t * b
    }
    fn jvp_rhs(a: &Self, _b: &OMatrix<T, K, C>, t: &OMatrix<T, K, C>) -> OMatrix<T, R, C> {
        a * t
    }
    fn vjp_lhs(_a: &Self, b: &OMatrix<T, K, C>, d: &OMatrix<T, R, C>) -> Self {
        if large(d) && large(b) {
            d * transposed(b)
        } else {
            d * b.transpose()
        }
    }
    fn vjp_rhs(a: &Self, _b: &OMatrix<T, K, C>, d: &OMatrix<T, R, C>) -> OMatrix<T, K, C> {
        if large(a) && large(d) {
            transposed(a) * d
        } else {
            a.tr_mul(d)
        }
    }
}

/// Whether a product with `m` goes to nalgebra's blocked GEMM kernel (matrixmultiply): it
/// does for dynamically sized matrices with every dimension above 5.
fn large<T, R: Dim, C: Dim>(m: &OMatrix<T, R, C>) -> bool
where
    T: RealField + Copy,
    DefaultAllocator: Allocator<R, C>,
{
    (R::is::<Dyn>() || C::is::<Dyn>()) && m.nrows() > 5 && m.ncols() > 5
}

/// `Mᵀ` as a view with swapped strides: no copy, and products with it still go to the
/// blocked GEMM kernel (nalgebra's `tr_mul` computes one dot product per element). Only
/// for [`large`] products: nalgebra's small-matrix path expects unit row strides.
fn transposed<T, R: Dim, C: Dim>(m: &OMatrix<T, R, C>) -> MatrixView<'_, T, C, R, Dyn, Dyn>
where
    T: RealField + Copy,
    DefaultAllocator: Allocator<R, C>,
{
    let (r, c) = m.shape_generic();
    // Element (i, j) of the view is m[(j, i)], at j + i·rows in column-major storage.
    MatrixView::from_slice_with_strides_generic(m.as_slice(), c, r, Dyn(r.value()), Dyn(1))
}

macro_rules! forward {
    ($trait:ident :: $method:ident, $name:ident ($($arg:ident: $ty:ty),*) -> $ret:ty; $($pass:ident),*) => {
        #[doc = concat!("See [`", stringify!($trait), "::", stringify!($method), "`].")]
        #[inline]
        pub fn $name<A, B>($($arg: $ty),*) -> $ret
        where
            A: $trait<B>,
        {
            <A as $trait<B>>::$method($($pass),*)
        }
    };
}

forward!(MulRule::apply, mul(a: &A, b: &B) -> A::Out; a, b);
forward!(DivRule::apply, div(a: &A, b: &B) -> A::Out; a, b);
forward!(MulRule::jvp_lhs, mul_jvp_lhs(a: &A, b: &B, _y: &A::Out, t: &A) -> A::Out; a, b, t);
forward!(MulRule::jvp_rhs, mul_jvp_rhs(a: &A, b: &B, _y: &A::Out, t: &B) -> A::Out; a, b, t);
forward!(MulRule::vjp_lhs, mul_vjp_lhs(a: &A, b: &B, _y: &A::Out, d: &A::Out) -> A; a, b, d);
forward!(MulRule::vjp_rhs, mul_vjp_rhs(a: &A, b: &B, _y: &A::Out, d: &A::Out) -> B; a, b, d);
forward!(DivRule::jvp_lhs, div_jvp_lhs(a: &A, b: &B, _y: &A::Out, t: &A) -> A::Out; a, b, t);
forward!(DivRule::jvp_rhs, div_jvp_rhs(a: &A, b: &B, y: &A::Out, t: &B) -> A::Out; a, b, y, t);
forward!(DivRule::vjp_lhs, div_vjp_lhs(a: &A, b: &B, _y: &A::Out, d: &A::Out) -> A; a, b, d);
forward!(DivRule::vjp_rhs, div_vjp_rhs(a: &A, b: &B, y: &A::Out, d: &A::Out) -> B; a, b, y, d);

/// Tangent of `Aᵀ`.
#[inline]
pub fn transpose_jvp<T, R: Dim, C: Dim>(
    _a: &OMatrix<T, R, C>,
    _y: &OMatrix<T, C, R>,
    t: &OMatrix<T, R, C>,
) -> OMatrix<T, C, R>
where
    T: RealField + Copy,
    DefaultAllocator: Allocator<R, C> + Allocator<C, R>,
{
    t.transpose()
}

/// Cotangent of `A` from that of `Aᵀ`.
#[inline]
pub fn transpose_vjp<T, R: Dim, C: Dim>(
    _a: &OMatrix<T, R, C>,
    _y: &OMatrix<T, C, R>,
    d: &OMatrix<T, C, R>,
) -> OMatrix<T, R, C>
where
    T: RealField + Copy,
    DefaultAllocator: Allocator<R, C> + Allocator<C, R>,
{
    d.transpose()
}

/// Element-wise operations of two matrices of one shape (and of two floats).
pub trait Elementwise: Sized {
    /// `self ∘ other`.
    fn times(&self, other: &Self) -> Self;
    /// `self ⊘ other`.
    fn over(&self, other: &Self) -> Self;
}

impl Elementwise for f32 {
    fn times(&self, other: &f32) -> f32 {
        self * other
    }
    fn over(&self, other: &f32) -> f32 {
        self / other
    }
}

impl Elementwise for f64 {
    fn times(&self, other: &f64) -> f64 {
        self * other
    }
    fn over(&self, other: &f64) -> f64 {
        self / other
    }
}

impl<T, R: Dim, C: Dim> Elementwise for OMatrix<T, R, C>
where
    T: RealField + Copy,
    DefaultAllocator: Allocator<R, C>,
{
    fn times(&self, other: &Self) -> Self {
        self.component_mul(other)
    }
    fn over(&self, other: &Self) -> Self {
        self.component_div(other)
    }
}

/// Tangent of `A ∘ B` from the tangent of `A`.
#[inline]
pub fn component_mul_jvp_lhs<M: Elementwise>(_a: &M, b: &M, _y: &M, t: &M) -> M {
    t.times(b)
}
/// Tangent of `A ∘ B` from the tangent of `B`.
#[inline]
pub fn component_mul_jvp_rhs<M: Elementwise>(a: &M, _b: &M, _y: &M, t: &M) -> M {
    a.times(t)
}
/// Cotangent of `A` in `A ∘ B`.
#[inline]
pub fn component_mul_vjp_lhs<M: Elementwise>(_a: &M, b: &M, _y: &M, d: &M) -> M {
    d.times(b)
}
/// Cotangent of `B` in `A ∘ B`.
#[inline]
pub fn component_mul_vjp_rhs<M: Elementwise>(a: &M, _b: &M, _y: &M, d: &M) -> M {
    d.times(a)
}
/// Tangent of `A ⊘ B` from the tangent of `A`.
#[inline]
pub fn component_div_jvp_lhs<M: Elementwise>(_a: &M, b: &M, _y: &M, t: &M) -> M {
    t.over(b)
}
/// Tangent of `Y = A ⊘ B` from the tangent of `B`: `−T ∘ Y ⊘ B`.
#[inline]
pub fn component_div_jvp_rhs<M: Elementwise + core::ops::Neg<Output = M>>(
    _a: &M,
    b: &M,
    y: &M,
    t: &M,
) -> M {
    -(t.times(y).over(b))
}
/// Cotangent of `A` in `A ⊘ B`.
#[inline]
pub fn component_div_vjp_lhs<M: Elementwise>(_a: &M, b: &M, _y: &M, d: &M) -> M {
    d.over(b)
}
/// Cotangent of `B` in `Y = A ⊘ B`: `−D ∘ Y ⊘ B`.
#[inline]
pub fn component_div_vjp_rhs<M: Elementwise + core::ops::Neg<Output = M>>(
    _a: &M,
    b: &M,
    y: &M,
    d: &M,
) -> M {
    -(d.times(y).over(b))
}

/// Tangent of `⟨A, B⟩` from the tangent of `A`.
#[inline]
pub fn dot_jvp_lhs<M: Reduce>(_a: &M, b: &M, _y: &M::Elem, t: &M) -> M::Elem {
    t.inner(b)
}
/// Tangent of `⟨A, B⟩` from the tangent of `B`.
#[inline]
pub fn dot_jvp_rhs<M: Reduce>(a: &M, _b: &M, _y: &M::Elem, t: &M) -> M::Elem {
    a.inner(t)
}
/// Cotangent of `A` in `⟨A, B⟩`: `d B`.
#[inline]
pub fn dot_vjp_lhs<M: Reduce>(_a: &M, b: &M, _y: &M::Elem, d: &M::Elem) -> M
where
    M::Elem: Copy,
{
    b.scaled(*d)
}
/// Cotangent of `B` in `⟨A, B⟩`: `d A`.
#[inline]
pub fn dot_vjp_rhs<M: Reduce>(a: &M, _b: &M, _y: &M::Elem, d: &M::Elem) -> M
where
    M::Elem: Copy,
{
    a.scaled(*d)
}

/// Tangent of `Σ A`.
#[inline]
pub fn sum_jvp<M: Reduce>(_a: &M, _y: &M::Elem, t: &M) -> M::Elem
where
    M::Elem: crate::Real,
{
    t.total()
}
/// Cotangent of `A` in `Σ A`: every element gets `d`.
#[inline]
pub fn sum_vjp<M: Reduce>(a: &M, _y: &M::Elem, d: &M::Elem) -> M
where
    M::Elem: Copy,
{
    a.fill_like(*d)
}
/// Tangent of the mean of `A`.
#[inline]
pub fn mean_jvp<M: Reduce>(a: &M, y: &M::Elem, t: &M) -> M::Elem
where
    M::Elem: crate::Real,
{
    sum_jvp(a, y, t) / M::Elem::from_f64(a.count() as f64)
}
/// Cotangent of `A` in its mean: every element gets `d / n`.
#[inline]
pub fn mean_vjp<M: Reduce>(a: &M, _y: &M::Elem, d: &M::Elem) -> M
where
    M::Elem: crate::Real,
{
    a.fill_like(*d / M::Elem::from_f64(a.count() as f64))
}
/// Tangent of `‖A‖²`: `2 ⟨A, T⟩`.
#[inline]
pub fn norm_squared_jvp<M: Reduce>(a: &M, _y: &M::Elem, t: &M) -> M::Elem
where
    M::Elem: crate::Real,
{
    a.inner(t) * M::Elem::from_f64(2.0)
}
/// Cotangent of `A` in `‖A‖²`: `2 d A`.
#[inline]
pub fn norm_squared_vjp<M: Reduce>(a: &M, _y: &M::Elem, d: &M::Elem) -> M
where
    M::Elem: crate::Real,
{
    a.scaled(*d * M::Elem::from_f64(2.0))
}
/// Tangent of `‖A‖`: `⟨A, T⟩ / ‖A‖`, `0` at `A = 0` (the kink).
#[inline]
pub fn norm_jvp<M: Reduce>(a: &M, y: &M::Elem, t: &M) -> M::Elem
where
    M::Elem: crate::Real,
{
    if *y == <M::Elem as num_traits::Zero>::zero() {
        <M::Elem as num_traits::Zero>::zero()
    } else {
        a.inner(t) / *y
    }
}
/// Cotangent of `A` in `‖A‖`: `d A / ‖A‖`, `0` at `A = 0` (the kink).
#[inline]
pub fn norm_vjp<M: Reduce>(a: &M, y: &M::Elem, d: &M::Elem) -> M
where
    M::Elem: crate::Real,
{
    if *y == <M::Elem as num_traits::Zero>::zero() {
        a.fill_like(<M::Elem as num_traits::Zero>::zero())
    } else {
        a.scaled(*d / *y)
    }
}

/// Tangent of `tr A`.
#[inline]
pub fn trace_jvp<T, D: Dim>(_a: &OMatrix<T, D, D>, _y: &T, t: &OMatrix<T, D, D>) -> T
where
    T: RealField + Copy,
    DefaultAllocator: Allocator<D, D>,
{
    t.trace()
}
/// Cotangent of `A` in `tr A`: `d I`.
#[inline]
pub fn trace_vjp<T, D: Dim>(a: &OMatrix<T, D, D>, _y: &T, d: &T) -> OMatrix<T, D, D>
where
    T: RealField + Copy,
    DefaultAllocator: Allocator<D, D>,
{
    let (r, c) = a.shape_generic();
    OMatrix::from_diagonal_element_generic(r, c, *d)
}

impl<T, R: Dim, C: Dim> ZeroLike for OMatrix<T, R, C>
where
    T: RealField + Copy,
    DefaultAllocator: Allocator<R, C>,
{
    type Output = OMatrix<T, R, C>;
    fn zero_like(&self) -> Self {
        let (r, c) = self.shape_generic();
        OMatrix::zeros_generic(r, c)
    }
}

/// Cotangent of `v` in `v[i]`: zero but `d` at `i`. For a matrix or vector (element `i`
/// in column-major order), and for an array or `Vec` the macro could not tell from one
/// (a struct's field).
#[inline]
pub fn at_vjp<V, T>(v: &V, i: &usize, _y: &T, d: &T) -> V::Output
where
    V: ZeroLike + ?Sized,
    V::Output: core::ops::IndexMut<usize, Output = T>,
    T: Copy,
{
    let mut out = v.zero_like();
    out[*i] = *d;
    out
}

/// Cotangent of `m` in `m[(i, j)]`: zero but `d` at `(i, j)`.
#[inline]
pub fn at2_vjp<T, R: Dim, C: Dim>(
    m: &OMatrix<T, R, C>,
    i: &usize,
    j: &usize,
    _y: &T,
    d: &T,
) -> OMatrix<T, R, C>
where
    T: RealField + Copy,
    DefaultAllocator: Allocator<R, C>,
{
    let mut out = ZeroLike::zero_like(m);
    out[(*i, *j)] = *d;
    out
}

/// Cotangent of element `k` (in row-major order, the order of nalgebra's `new`) of a
/// matrix built from its elements: that element of `d`.
#[inline]
pub fn element_vjp<T, R: Dim, C: Dim>(d: &OMatrix<T, R, C>, k: &usize) -> T
where
    T: RealField + Copy,
    DefaultAllocator: Allocator<R, C>,
{
    let cols = d.ncols();
    d[(*k / cols, *k % cols)]
}

/// Tangent of `A.map(f)` from the tangent `T` of `A`: `f'(aᵢⱼ) tᵢⱼ`, with `jvp(v, t) =
/// (f(v), f'(v) t)` the forward derivative of the closure.
#[inline]
pub fn map_jvp<T, R: Dim, C: Dim>(
    a: &OMatrix<T, R, C>,
    t: &OMatrix<T, R, C>,
    jvp: impl Fn(T, T) -> (T, T),
) -> OMatrix<T, R, C>
where
    T: RealField + Copy,
    DefaultAllocator: Allocator<R, C>,
{
    a.zip_map(t, |v, t| jvp(v, t).1)
}

/// Cotangent of `A` in `A.map(f)`: `dᵢⱼ f'(aᵢⱼ)`.
#[inline]
pub fn map_vjp<T, R: Dim, C: Dim>(
    a: &OMatrix<T, R, C>,
    d: &OMatrix<T, R, C>,
    jvp: impl Fn(T, T) -> (T, T),
) -> OMatrix<T, R, C>
where
    T: RealField + Copy,
    DefaultAllocator: Allocator<R, C>,
{
    a.zip_map(d, |v, d| d * jvp(v, T::one()).1)
}

/// Tangent of `A.map(f)` along a local `s` that `f` captures, `s` moving by `t`:
/// `∂f/∂s(aᵢⱼ) · t`. `jvp(v)` is `f` and its derivative along `s` at `v`.
#[inline]
pub fn map_jvp_capture<T, R: Dim, C: Dim>(
    a: &OMatrix<T, R, C>,
    t: &T,
    jvp: impl Fn(T) -> (T, T),
) -> OMatrix<T, R, C>
where
    T: RealField + Copy,
    DefaultAllocator: Allocator<R, C>,
{
    a.map(|v| jvp(v).1 * *t)
}

/// Cotangent of a local `s` that `f` captures in `A.map(f)`: `Σᵢⱼ dᵢⱼ ∂f/∂s(aᵢⱼ)`.
#[inline]
pub fn map_vjp_capture<T, R: Dim, C: Dim>(
    a: &OMatrix<T, R, C>,
    d: &OMatrix<T, R, C>,
    jvp: impl Fn(T) -> (T, T),
) -> T
where
    T: RealField + Copy,
    DefaultAllocator: Allocator<R, C>,
{
    a.iter()
        .zip(d.iter())
        .fold(T::zero(), |acc, (&v, &d)| acc + d * jvp(v).1)
}

/// Tangent of `A.zip_map(&B, f)` along `A` or `B` (`t` their tangent): `jvp(aᵢⱼ, bᵢⱼ,
/// tᵢⱼ)` is `f` and its derivative along that operand.
#[inline]
pub fn zip_map_jvp<T, R: Dim, C: Dim>(
    a: &OMatrix<T, R, C>,
    b: &OMatrix<T, R, C>,
    t: &OMatrix<T, R, C>,
    jvp: impl Fn(T, T, T) -> (T, T),
) -> OMatrix<T, R, C>
where
    T: RealField + Copy,
    DefaultAllocator: Allocator<R, C>,
{
    a.zip_zip_map(b, t, |x, y, t| jvp(x, y, t).1)
}

/// Cotangent of `A` (or `B`) in `A.zip_map(&B, f)`: `dᵢⱼ ∂f(aᵢⱼ, bᵢⱼ)` along it.
#[inline]
pub fn zip_map_vjp<T, R: Dim, C: Dim>(
    a: &OMatrix<T, R, C>,
    b: &OMatrix<T, R, C>,
    d: &OMatrix<T, R, C>,
    jvp: impl Fn(T, T, T) -> (T, T),
) -> OMatrix<T, R, C>
where
    T: RealField + Copy,
    DefaultAllocator: Allocator<R, C>,
{
    a.zip_zip_map(b, d, |x, y, d| d * jvp(x, y, T::one()).1)
}

/// Tangent of `A.zip_map(&B, f)` along a local `s` that `f` captures, `s` moving by `t`.
#[inline]
pub fn zip_map_jvp_capture<T, R: Dim, C: Dim>(
    a: &OMatrix<T, R, C>,
    b: &OMatrix<T, R, C>,
    t: &T,
    jvp: impl Fn(T, T) -> (T, T),
) -> OMatrix<T, R, C>
where
    T: RealField + Copy,
    DefaultAllocator: Allocator<R, C>,
{
    a.zip_map(b, |x, y| jvp(x, y).1 * *t)
}

/// Cotangent of a local `s` that `f` captures in `A.zip_map(&B, f)`:
/// `Σᵢⱼ dᵢⱼ ∂f/∂s(aᵢⱼ, bᵢⱼ)`.
#[inline]
pub fn zip_map_vjp_capture<T, R: Dim, C: Dim>(
    a: &OMatrix<T, R, C>,
    b: &OMatrix<T, R, C>,
    d: &OMatrix<T, R, C>,
    jvp: impl Fn(T, T) -> (T, T),
) -> T
where
    T: RealField + Copy,
    DefaultAllocator: Allocator<R, C>,
{
    let terms = a.iter().zip(b.iter()).zip(d.iter());
    terms.fold(T::zero(), |acc, ((&x, &y), &d)| acc + d * jvp(x, y).1)
}

/// `first + rest[0] + ..` of cotangents of one value, of any differentiable type (a derived
/// struct has no `+`).
pub fn sum<T: crate::Differentiable + Clone>(first: &T, rest: &[&T]) -> T {
    let mut total = first.clone();
    for part in rest {
        total.accumulate(part);
    }
    total
}
