//! Which operations can make a derivative infinite where the values are finite: the fact
//! behind `reverse`'s plain products, kept beside the rule table it describes.

use crate::ir::{Fun, Op};

/// Whether a partial derivative of `op` can be infinite where its operands and its result
/// are finite: a vertical tangent (`√x` and `∛x` at 0, `xʸ` at `x = 0` for `0 < y < 1`,
/// `asin` and `acos` at ±1, `acosh` at 1), or an operation whose derivative is not known
/// here (a call, a closure, a matrix method). Everywhere else a finite partial comes from
/// finite values (but for overflow), so in a function without such an operation a finite
/// primal has finite tangents and cotangents, and a product's `0 · ∞ = 0` test has nothing
/// to catch (`reverse` multiplies plainly there).
pub fn vertical_tangent(op: &Op) -> bool {
    match op {
        Op::Fun(f) => vertical_fun(*f),
        Op::Call { .. } | Op::Map { .. } | Op::MapRule { .. } | Op::Lin(_) => true,
        Op::Const(_)
        | Op::Extern(_)
        | Op::Undef
        | Op::StopGradient
        | Op::Add
        | Op::Sub
        | Op::Mul
        | Op::Div
        | Op::Rem
        | Op::Neg
        | Op::Cast { .. }
        | Op::Cmp(_)
        | Op::Not
        | Op::BitAnd
        | Op::BitOr
        | Op::BitXor
        | Op::Shl
        | Op::Shr
        | Op::Method { .. }
        | Op::Field { .. }
        | Op::Index
        | Op::NewArray { .. }
        | Op::EmptyVec
        | Op::CopyArray { .. }
        | Op::SubSlice { .. }
        | Op::Push
        | Op::Store
        | Op::Len
        | Op::Matches { .. }
        | Op::Bound { .. }
        | Op::At
        | Op::Construct { .. }
        | Op::Struct { .. } => false,
    }
}

/// The float methods with a vertical tangent at a finite point of a finite result. `ln`,
/// `atanh` and their kind have infinite slopes only where the result is infinite too.
fn vertical_fun(f: Fun) -> bool {
    match f {
        Fun::Sqrt | Fun::Cbrt | Fun::Powf | Fun::Asin | Fun::Acos | Fun::Acosh => true,
        Fun::Sin
        | Fun::Cos
        | Fun::Tan
        | Fun::Atan
        | Fun::Sinh
        | Fun::Cosh
        | Fun::Tanh
        | Fun::Asinh
        | Fun::Atanh
        | Fun::Exp
        | Fun::Exp2
        | Fun::ExpM1
        | Fun::Ln
        | Fun::Ln1p
        | Fun::Log2
        | Fun::Log10
        | Fun::Log
        | Fun::Abs
        | Fun::Signum
        | Fun::Recip
        | Fun::Floor
        | Fun::Ceil
        | Fun::Round
        | Fun::RoundTiesEven
        | Fun::Trunc
        | Fun::Fract
        | Fun::DivEuclid
        | Fun::RemEuclid
        | Fun::Copysign
        | Fun::Midpoint
        | Fun::ToDegrees
        | Fun::ToRadians
        | Fun::Erf
        | Fun::Erfc
        | Fun::Powi
        | Fun::Atan2
        | Fun::Hypot
        | Fun::Max
        | Fun::Min
        | Fun::Clamp
        | Fun::MulAdd => false,
    }
}
