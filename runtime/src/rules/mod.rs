//! Derivative rules, one function per operation, mode and operand.
//!
//! The contract generated code relies on: for an operation `foo` with operands
//! `a, b, ..` and primal result `y`,
//!
//! * `foo_jvp(a, .., y, t)` maps the tangent `t` of the one differentiable operand to its
//!   contribution to the tangent of `y`;
//! * `foo_vjp(a, .., y, d)` maps the cotangent `d` of `y` to the cotangent of that operand;
//!
//! and when several operands are differentiable each gets its own pair, named after the
//! operand: `mul_jvp_lhs`, `mul_vjp_rhs`, `clamp_vjp_lo`. The primal result is passed so that
//! rules such as `exp` and `sqrt` reuse it instead of recomputing.

pub mod by_ref;
pub mod linalg;
pub mod scalar;

use crate::Zero;
use std::vec::Vec;

/// A value whose tangents and cotangents have a zero of a known shape.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a differentiable type",
    label = "differentiated here",
    note = "add `#[derive(Differentiable)]` to the struct, or make this parameter a constant by listing the active parameters in `#[differentiable(wrt(..))]`"
)]
pub trait ZeroLike {
    /// The (owned) type of the tangent or cotangent.
    type Output;
    /// The zero tangent or cotangent of the same shape as `self`.
    fn zero_like(&self) -> Self::Output;
}

impl ZeroLike for f32 {
    type Output = f32;
    fn zero_like(&self) -> f32 {
        0.0
    }
}

impl ZeroLike for f64 {
    type Output = f64;
    fn zero_like(&self) -> f64 {
        0.0
    }
}

/// The cotangent of a slice is a `Vec` of the same length.
impl<T: Zero + Clone> ZeroLike for [T] {
    type Output = Vec<T>;
    fn zero_like(&self) -> Vec<T> {
        vec![T::zero(); self.len()]
    }
}

impl<T: Zero + Clone> ZeroLike for Vec<T> {
    type Output = Vec<T>;
    fn zero_like(&self) -> Vec<T> {
        vec![T::zero(); self.len()]
    }
}

impl<T: Zero, const N: usize> ZeroLike for [T; N] {
    type Output = [T; N];
    fn zero_like(&self) -> [T; N] {
        core::array::from_fn(|_| T::zero())
    }
}

/// A borrowed value's cotangent is owned: `&[f64]` gives `Vec<f64>`.
impl<A: ZeroLike + ?Sized> ZeroLike for &A {
    type Output = A::Output;
    fn zero_like(&self) -> A::Output {
        (**self).zero_like()
    }
}

/// The zero tangent or cotangent of the same type (and length) as `like`.
#[inline]
#[must_use]
pub fn zero_like<A: ZeroLike + ?Sized>(like: &A) -> A::Output {
    like.zero_like()
}

/// `buffer[i] += v` on the cotangent of a `Vec` built by `push`, which starts empty in the
/// pullback and grows to the elements it reaches.
#[inline]
pub fn add_at_grow<T: Zero + Copy + core::ops::Add<Output = T>>(
    buffer: &mut Vec<T>,
    i: usize,
    v: T,
) {
    if i >= buffer.len() {
        buffer.resize_with(i + 1, T::zero);
    }
    buffer[i] = buffer[i] + v;
}

/// A value bound by a pattern, by value: `d` of `Loss::Huber(d)` is an `f64` whether the
/// enum was matched by value or through a reference (`&f64`).
pub trait Own {
    /// The type of the value bound.
    type Owned;
    /// The value itself (a copy of what a reference points at).
    fn own(self) -> Self::Owned;
}

macro_rules! own {
    ($($t:ty)*) => {$(
        impl Own for $t {
            type Owned = $t;
            #[inline]
            fn own(self) -> $t {
                self
            }
        }
        impl Own for &$t {
            type Owned = $t;
            #[inline]
            fn own(self) -> $t {
                *self
            }
        }
        impl Own for &&$t {
            type Owned = $t;
            #[inline]
            fn own(self) -> $t {
                **self
            }
        }
    )*};
}
own!(f32 f64 i8 i16 i32 i64 i128 isize u8 u16 u32 u64 u128 usize bool char);

/// [`Own::own`], as generated code calls it.
#[inline]
pub fn own<T: Own>(x: T) -> T::Owned {
    x.own()
}

/// `buffer[i] += v[i]` for every element: a callee's cotangent of a whole array added
/// into the caller's buffer for it (arrays, slices and `Vec`s mix freely).
#[inline]
pub fn add_all<T, B, V>(buffer: &mut B, v: &V)
where
    T: Copy + core::ops::AddAssign,
    B: AsMut<[T]> + ?Sized,
    V: AsRef<[T]> + ?Sized,
{
    let (buffer, v) = (buffer.as_mut(), v.as_ref());
    assert_eq!(
        buffer.len(),
        v.len(),
        "a cotangent's length differs from its array's"
    );
    for (b, &x) in buffer.iter_mut().zip(v) {
        *b += x;
    }
}

/// `buffer[i + up − down] += value(record)` for each index `i` of a counted loop's range
/// (`first` its lowest) and the record its adjoint made at `i`; `backwards`: the adjoint
/// ran from the range's end to its start. The loop's adjoint records these contributions
/// to elements near its index instead of adding them: added in the loop, each waited for
/// the previous iteration's addition to a neighbouring element; added here, one run at a
/// time, they vectorise.
#[inline]
pub fn add_run<R, T, B>(
    buffer: &mut B,
    records: &[R],
    value: impl Fn(&R) -> T,
    (first, up, down): (usize, usize, usize),
    backwards: bool,
) where
    T: Copy + core::ops::AddAssign,
    B: AsMut<[T]> + ?Sized,
{
    if records.is_empty() {
        return;
    }
    // The primal read these elements: `first + up − down` does not overflow.
    let start = first + up - down;
    let run = &mut buffer.as_mut()[start..start + records.len()];
    if backwards {
        for (b, r) in run.iter_mut().zip(records.iter().rev()) {
            *b += value(r);
        }
    } else {
        for (b, r) in run.iter_mut().zip(records) {
            *b += value(r);
        }
    }
}

/// [`add_all`] into the cotangent of a `Vec` built by `push`, which grows to `v`'s length.
#[inline]
pub fn add_all_grow<T, V>(buffer: &mut Vec<T>, v: &V)
where
    T: Zero + Copy + core::ops::AddAssign,
    V: AsRef<[T]> + ?Sized,
{
    add_all_grow_at(buffer, 0, v);
}

/// `buffer[lo + i] += v[i]`: [`add_all_grow`] of a sub-slice's cotangent, which starts
/// at `lo` of its source's.
#[inline]
pub fn add_all_grow_at<T, V>(buffer: &mut Vec<T>, lo: usize, v: &V)
where
    T: Zero + Copy + core::ops::AddAssign,
    V: AsRef<[T]> + ?Sized,
{
    let v = v.as_ref();
    if buffer.len() < lo + v.len() {
        buffer.resize_with(lo + v.len(), T::zero);
    }
    for (b, &x) in buffer[lo..].iter_mut().zip(v) {
        *b += x;
    }
}

/// Takes the cotangent of element `i` of a growing buffer, leaving zero (zero if the
/// buffer never reached `i`).
#[inline]
pub fn take_at_grow<T: Zero>(buffer: &mut [T], i: usize) -> T {
    match buffer.get_mut(i) {
        Some(slot) => core::mem::replace(slot, T::zero()),
        None => T::zero(),
    }
}

/// The zero tangent or cotangent, with its type inferred from where it is used.
#[inline]
#[must_use]
pub fn zero<T: Zero>() -> T {
    T::zero()
}

#[cfg(test)]
mod tests {
    use super::add_run;

    /// Records of a loop over `2..5` whose adjoint ran backwards (indices 4, 3, 2).
    #[test]
    fn runs_land_at_their_shifted_indices() {
        let records = [(4.0, 40.0), (3.0, 30.0), (2.0, 20.0)];
        let mut buffer = vec![0.5; 7];
        add_run(&mut buffer, &records, |r| r.0, (2, 0, 1), true);
        assert_eq!(buffer, [0.5, 2.5, 3.5, 4.5, 0.5, 0.5, 0.5]);
        add_run(&mut buffer, &records, |r| r.1, (2, 2, 0), true);
        assert_eq!(buffer, [0.5, 2.5, 3.5, 4.5, 20.5, 30.5, 40.5]);
    }

    /// An adjoint that ran forwards (a loop over a reversed range) recorded index 0 first.
    #[test]
    fn forward_runs_and_empty_ranges() {
        let mut buffer = [0.0f32; 3];
        add_run(&mut buffer, &[1.0f32, 2.0], |r| *r, (0, 1, 0), false);
        assert_eq!(buffer, [0.0, 1.0, 2.0]);
        // An empty range at 0 with a shift down: nothing to add, no underflow.
        add_run(&mut buffer, &[] as &[f32], |r| *r, (0, 0, 1), false);
        assert_eq!(buffer, [0.0, 1.0, 2.0]);
    }
}
