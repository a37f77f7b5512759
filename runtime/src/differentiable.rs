//! Values that have a gradient of their own type: floats, nalgebra matrices and vectors,
//! arrays and `Vec`s of them, and parameter structs with `#[derive(Differentiable)]`.
//!
//! Generated code uses the zero and the accumulation; optimizers, gradient checks and
//! checkpoints use the visit, which lists every parameter by name with its numbers.

use crate::rules::ZeroLike;
use nalgebra::allocator::Allocator;
use nalgebra::{DefaultAllocator, Dim, OMatrix};

/// The numbers of one parameter, of either float type.
#[derive(Debug)]
pub enum Floats<'a> {
    /// `f32` numbers.
    F32(&'a [f32]),
    /// `f64` numbers.
    F64(&'a [f64]),
}

/// The numbers of one parameter, writable.
#[derive(Debug)]
pub enum FloatsMut<'a> {
    /// `f32` numbers.
    F32(&'a mut [f32]),
    /// `f64` numbers.
    F64(&'a mut [f64]),
}

impl Floats<'_> {
    /// The number of floats.
    pub fn len(&self) -> usize {
        match self {
            Floats::F32(s) => s.len(),
            Floats::F64(s) => s.len(),
        }
    }

    /// Whether there are no floats.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Element `i` as an `f64`.
    pub fn get(&self, i: usize) -> f64 {
        match self {
            Floats::F32(s) => f64::from(s[i]),
            Floats::F64(s) => s[i],
        }
    }
}

impl FloatsMut<'_> {
    /// The number of floats.
    pub fn len(&self) -> usize {
        match self {
            FloatsMut::F32(s) => s.len(),
            FloatsMut::F64(s) => s.len(),
        }
    }

    /// Whether there are no floats.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Element `i` as an `f64`.
    pub fn get(&self, i: usize) -> f64 {
        match self {
            FloatsMut::F32(s) => f64::from(s[i]),
            FloatsMut::F64(s) => s[i],
        }
    }

    /// Sets element `i` (rounded to `f32` for an `f32` parameter).
    pub fn set(&mut self, i: usize, v: f64) {
        match self {
            FloatsMut::F32(s) => s[i] = v as f32,
            FloatsMut::F64(s) => s[i] = v,
        }
    }
}

/// How a parameter is stored: its shape, and whether its numbers (in visit order) are
/// column-major (a nalgebra matrix) rather than row-major (PyTorch's order).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    /// The size of each dimension, outermost first (a matrix: rows, columns).
    pub shape: Vec<usize>,
    /// Whether the numbers are in column-major order (nalgebra's) rather than row-major.
    pub column_major: bool,
}

/// A value whose tangents and cotangents are values of its own type.
///
/// `#[derive(Differentiable)]` implements it for a struct field by field; fields marked
/// `#[differentiable(skip)]` (hyper-parameters, shapes) are kept as they are by
/// [`zero_like`](Self::zero_like) (they need `Clone`) and are not visited.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a differentiable type",
    note = "add `#[derive(Differentiable)]` to the struct (its fields must be floats, nalgebra matrices, arrays or `Vec`s of them, or other such structs)"
)]
pub trait Differentiable: Sized {
    /// The zero of the same shape (a matrix of zeros of the same size).
    fn zero_like(&self) -> Self;
    /// `self += other`, element by element.
    fn accumulate(&mut self, other: &Self);
    /// `self *= factor`, element by element.
    fn scale(&mut self, factor: f64);
    /// Calls `f` with the name and the numbers of every parameter, in declaration order.
    /// Names are paths from `prefix` (`layer1.weight`); a top-level value has `prefix`.
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(&str, Floats<'_>));
    /// Like [`visit`](Self::visit), with writable numbers.
    fn visit_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, FloatsMut<'_>));
    /// Visits `self` (writable) and `other` (a value of the same shape, such as a gradient)
    /// together, parameter by parameter: how optimizers update parameters in place.
    fn visit_pair(
        &mut self,
        other: &Self,
        prefix: &str,
        f: &mut dyn FnMut(&str, FloatsMut<'_>, Floats<'_>),
    );

    /// Calls `f` with the name and [`Layout`] of every parameter, in visit order (for
    /// checkpoints). By default every parameter is a vector.
    fn visit_layout(&self, prefix: &str, f: &mut dyn FnMut(&str, Layout)) {
        self.visit(prefix, &mut |name, xs| {
            f(
                name,
                Layout {
                    shape: vec![xs.len()],
                    column_major: false,
                },
            )
        });
    }

    /// The number of floats over all parameters.
    fn num_floats(&self) -> usize {
        let mut n = 0;
        self.visit("", &mut |_, xs| n += xs.len());
        n
    }

    /// Every float, in visit order, as `f64`.
    fn to_flat(&self) -> Vec<f64> {
        let mut out = Vec::with_capacity(self.num_floats());
        self.visit("", &mut |_, xs| {
            out.extend((0..xs.len()).map(|i| xs.get(i)))
        });
        out
    }

    /// `⟨self, other⟩`: the sum of the products of corresponding numbers (in `f64`).
    fn inner(&self, other: &Self) -> f64 {
        self.to_flat()
            .iter()
            .zip(other.to_flat())
            .map(|(a, b)| a * b)
            .sum()
    }

    /// Sets every float from `flat`, in visit order (the inverse of
    /// [`to_flat`](Self::to_flat)). Panics if `flat` has the wrong length.
    fn set_flat(&mut self, flat: &[f64]) {
        let mut at = 0;
        self.visit_mut("", &mut |_, mut xs| {
            for i in 0..xs.len() {
                xs.set(i, flat[at + i]);
            }
            at += xs.len();
        });
        assert_eq!(at, flat.len(), "set_flat: wrong number of floats");
    }
}

/// `into += v`: how generated code adds a contribution to a field of a cotangent.
#[inline]
pub fn accumulate<T: Differentiable>(into: &mut T, v: &T) {
    into.accumulate(v);
}

/// The name of a member under `prefix`: `prefix.member`, or `member` at the top.
pub fn join(prefix: &str, member: &str) -> String {
    if prefix.is_empty() {
        member.to_string()
    } else {
        format!("{prefix}.{member}")
    }
}

macro_rules! float {
    ($t:ty, $variant:ident) => {
        impl Differentiable for $t {
            fn zero_like(&self) -> $t {
                0.0
            }
            fn accumulate(&mut self, other: &$t) {
                *self += *other;
            }
            fn scale(&mut self, factor: f64) {
                *self *= factor as $t;
            }
            fn visit(&self, prefix: &str, f: &mut dyn FnMut(&str, Floats<'_>)) {
                f(prefix, Floats::$variant(core::slice::from_ref(self)));
            }
            fn visit_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, FloatsMut<'_>)) {
                f(prefix, FloatsMut::$variant(core::slice::from_mut(self)));
            }
            fn visit_pair(
                &mut self,
                other: &Self,
                prefix: &str,
                f: &mut dyn FnMut(&str, FloatsMut<'_>, Floats<'_>),
            ) {
                f(
                    prefix,
                    FloatsMut::$variant(core::slice::from_mut(self)),
                    Floats::$variant(core::slice::from_ref(other)),
                );
            }
        }

        impl<R: Dim, C: Dim> Differentiable for OMatrix<$t, R, C>
        where
            DefaultAllocator: Allocator<R, C>,
        {
            fn zero_like(&self) -> Self {
                ZeroLike::zero_like(self)
            }
            fn accumulate(&mut self, other: &Self) {
                *self += other;
            }
            fn scale(&mut self, factor: f64) {
                *self *= factor as $t;
            }
            fn visit(&self, prefix: &str, f: &mut dyn FnMut(&str, Floats<'_>)) {
                f(prefix, Floats::$variant(self.as_slice()));
            }
            fn visit_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, FloatsMut<'_>)) {
                f(prefix, FloatsMut::$variant(self.as_mut_slice()));
            }
            fn visit_pair(
                &mut self,
                other: &Self,
                prefix: &str,
                f: &mut dyn FnMut(&str, FloatsMut<'_>, Floats<'_>),
            ) {
                f(
                    prefix,
                    FloatsMut::$variant(self.as_mut_slice()),
                    Floats::$variant(other.as_slice()),
                );
            }
            /// A column vector is a vector; a matrix is `(rows, cols)`, stored by columns.
            fn visit_layout(&self, prefix: &str, f: &mut dyn FnMut(&str, Layout)) {
                let layout = if self.ncols() == 1 {
                    Layout {
                        shape: vec![self.nrows()],
                        column_major: false,
                    }
                } else {
                    Layout {
                        shape: vec![self.nrows(), self.ncols()],
                        column_major: true,
                    }
                };
                f(prefix, layout);
            }
        }
    };
}

float!(f32, F32);
float!(f64, F64);

/// `Differentiable` for a container of floats seen as one slice (`Vec<f64>`, `[f32; N]`):
/// one parameter holding all its numbers.
macro_rules! float_slice {
    ($variant:ident, $t:ty, [$($generics:tt)*], $ty:ty, |$s:ident| $zero:expr) => {
        /// One parameter: all its numbers.
        impl<$($generics)*> Differentiable for $ty {
            fn zero_like(&self) -> Self {
                let $s = self;
                $zero
            }
            fn accumulate(&mut self, other: &Self) {
                assert_eq!(self.len(), other.len(), "accumulate: lengths differ");
                self.iter_mut().zip(other).for_each(|(a, b)| *a += *b);
            }
            fn scale(&mut self, factor: f64) {
                self.iter_mut().for_each(|a| *a *= factor as $t);
            }
            fn visit(&self, prefix: &str, f: &mut dyn FnMut(&str, Floats<'_>)) {
                f(prefix, Floats::$variant(self));
            }
            fn visit_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, FloatsMut<'_>)) {
                f(prefix, FloatsMut::$variant(self));
            }
            fn visit_pair(
                &mut self,
                other: &Self,
                prefix: &str,
                f: &mut dyn FnMut(&str, FloatsMut<'_>, Floats<'_>),
            ) {
                f(prefix, FloatsMut::$variant(self), Floats::$variant(other));
            }
        }
    };
}

macro_rules! float_array {
    ($t:ty, $variant:ident) => {
        float_slice!($variant, $t, [], Vec<$t>, |v| vec![0.0; v.len()]);
        float_slice!($variant, $t, [const N: usize], [$t; N], |_v| [0.0; N]);

        /// Matrix `i` is named `prefix.i`.
        impl<R: Dim, C: Dim> Differentiable for Vec<OMatrix<$t, R, C>>
        where
            DefaultAllocator: Allocator<R, C>,
        {
            fn zero_like(&self) -> Self {
                self.iter().map(Differentiable::zero_like).collect()
            }
            fn accumulate(&mut self, other: &Self) {
                assert_eq!(self.len(), other.len(), "accumulate: lengths differ");
                for (a, b) in self.iter_mut().zip(other) {
                    a.accumulate(b);
                }
            }
            fn scale(&mut self, factor: f64) {
                self.iter_mut().for_each(|a| a.scale(factor));
            }
            fn visit(&self, prefix: &str, f: &mut dyn FnMut(&str, Floats<'_>)) {
                for (i, a) in self.iter().enumerate() {
                    a.visit(&join(prefix, &i.to_string()), f);
                }
            }
            fn visit_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, FloatsMut<'_>)) {
                for (i, a) in self.iter_mut().enumerate() {
                    a.visit_mut(&join(prefix, &i.to_string()), f);
                }
            }
            fn visit_pair(
                &mut self,
                other: &Self,
                prefix: &str,
                f: &mut dyn FnMut(&str, FloatsMut<'_>, Floats<'_>),
            ) {
                for (i, (a, b)) in self.iter_mut().zip(other).enumerate() {
                    a.visit_pair(b, &join(prefix, &i.to_string()), f);
                }
            }
        }
    };
}

float_array!(f32, F32);
float_array!(f64, F64);

/// A tuple of gradients (the gradient of a function of several parameters): its members
/// are named `prefix.0`, `prefix.1`, ...
macro_rules! tuple {
    ($($t:ident $i:tt),+) => {
        impl<$($t: Differentiable),+> Differentiable for ($($t,)+) {
            fn zero_like(&self) -> Self {
                ($(self.$i.zero_like(),)+)
            }
            fn accumulate(&mut self, other: &Self) {
                $(self.$i.accumulate(&other.$i);)+
            }
            fn scale(&mut self, factor: f64) {
                $(self.$i.scale(factor);)+
            }
            fn visit(&self, prefix: &str, f: &mut dyn FnMut(&str, Floats<'_>)) {
                $(self.$i.visit(&join(prefix, stringify!($i)), f);)+
            }
            fn visit_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, FloatsMut<'_>)) {
                $(self.$i.visit_mut(&join(prefix, stringify!($i)), f);)+
            }
            fn visit_pair(
                &mut self,
                other: &Self,
                prefix: &str,
                f: &mut dyn FnMut(&str, FloatsMut<'_>, Floats<'_>),
            ) {
                $(self.$i.visit_pair(&other.$i, &join(prefix, stringify!($i)), f);)+
            }
        }
    };
}

tuple!(A 0, B 1);
tuple!(A 0, B 1, C 2);
tuple!(A 0, B 1, C 2, D 3);
