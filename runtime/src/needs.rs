//! Which cotangents a caller needs from a call's pullback.
//!
//! A call `self.l1.apply(x)` in differentiable code where `x` is a constant (a batch of
//! inputs) needs only the cotangent of the receiver; computing that of `x` would cost a
//! whole matrix product. Generated code passes this along: the caller requests a mask of
//! needed cotangents (bit `i` for the `i`-th differentiable argument) right before
//! calling `apply_vjp`, and a generated `_vjp` of two or more differentiable parameters
//! takes the request addressed to it as its first step. Its pullback then skips what
//! leads only to cotangents nobody needs and returns [`Placeholder`]s for them.
//!
//! A request names its callee by an [`Id`]: the function's (or method's) name and the
//! types of its first two differentiable arguments (for a method, the receiver's type
//! first), which the callee knows of itself. A request is taken only by the call right
//! after it and only if it is addressed to that callee; a hand-written rule never takes
//! one, and the caller withdraws it after the call. Without a request addressed to it, a
//! function computes every cotangent.

use nalgebra::allocator::Allocator;
use nalgebra::{DefaultAllocator, Dim, OMatrix, RealField};
use std::cell::Cell;

/// A callee: its name and the type names of its first two differentiable arguments (`""`
/// where there is none).
pub type Id = [&'static str; 3];

#[derive(Clone, Copy)]
struct Request {
    callee: Id,
    needs: u64,
}

thread_local! {
    static REQUEST: Cell<Option<Request>> = const { Cell::new(None) };
}

/// Asks the call that comes next, if it is of `callee`, for the cotangents in `needs`
/// only.
#[inline]
pub fn request_needs(callee: Id, needs: u64) {
    REQUEST.with(|r| r.set(Some(Request { callee, needs })));
}

/// Withdraws a request that its callee did not take (a hand-written rule).
#[inline]
pub fn withdraw_request() {
    REQUEST.with(|r| r.set(None));
}

/// The cotangents the caller needs from this call of `callee`: the request addressed to
/// it, taken, or all of them.
#[inline]
pub fn needs(callee: Id) -> u64 {
    REQUEST.with(|r| match r.get() {
        Some(req) if req.callee == callee => {
            r.set(None);
            req.needs
        }
        _ => u64::MAX,
    })
}

/// The name of the type of `value` (behind the reference), for an `Id`.
#[inline]
pub fn type_name_of<T: ?Sized>(_: &T) -> &'static str {
    core::any::type_name::<T>()
}

/// A cheap value of a cotangent type, returned for a cotangent the caller did not ask for
/// (it is never read): `0` for a float, an empty or zero matrix, an empty `Vec`.
/// `#[derive(Differentiable)]` implements it for a struct (its `#[inactive]` fields
/// take their `Default`).
pub trait Placeholder {
    /// The placeholder value.
    fn placeholder() -> Self;
}

/// The placeholder of a cotangent type.
#[inline]
pub fn placeholder<T: Placeholder>() -> T {
    T::placeholder()
}

impl Placeholder for f32 {
    fn placeholder() -> f32 {
        0.0
    }
}

impl Placeholder for f64 {
    fn placeholder() -> f64 {
        0.0
    }
}

/// Zero rows or columns where the dimension is dynamic (no allocation); zeros otherwise.
impl<T: RealField + Copy, R: Dim, C: Dim> Placeholder for OMatrix<T, R, C>
where
    DefaultAllocator: Allocator<R, C>,
{
    fn placeholder() -> Self {
        let r = R::from_usize(R::try_to_usize().unwrap_or(0));
        let c = C::from_usize(C::try_to_usize().unwrap_or(0));
        OMatrix::zeros_generic(r, c)
    }
}

impl<T> Placeholder for Vec<T> {
    fn placeholder() -> Self {
        Vec::new()
    }
}

impl<T: Placeholder, const N: usize> Placeholder for [T; N] {
    fn placeholder() -> Self {
        core::array::from_fn(|_| T::placeholder())
    }
}

macro_rules! tuple {
    ($($t:ident),+) => {
        impl<$($t: Placeholder),+> Placeholder for ($($t,)+) {
            fn placeholder() -> Self {
                ($($t::placeholder(),)+)
            }
        }
    };
}

tuple!(A, B);
tuple!(A, B, C);
tuple!(A, B, C, D);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_is_taken_once_and_only_by_its_callee() {
        let callee = ["f", type_name_of(&1.0f32), type_name_of(&[0.0f64][..])];
        request_needs(callee, 0b10);
        assert_eq!(needs(["f", "f32", "f32"]), u64::MAX);
        assert_eq!(needs(["f", "f32", "[f64]"]), 0b10);
        assert_eq!(needs(callee), u64::MAX);
        request_needs(callee, 0b01);
        withdraw_request();
        assert_eq!(needs(callee), u64::MAX);
    }
}
