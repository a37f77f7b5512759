//! Which operands of `y = op(args)` each scalar runtime rule reads (`autodiff_runtime::rules`
//! `scalar.rs`, the partials written there). The reverse sweep passes the others as a
//! zero, so the pullback neither records nor recomputes them: in `y = c·(a + b)` the
//! cotangent of the sum is `c·d`, and `a + b` need not be kept for it. One row per rule,
//! beside the rule it describes; a rule not listed reads everything (matrix methods, casts).

use super::{Prim, RuntimeRule, Slot};
use crate::ir::Fun;

/// The operands a rule's partial reads: a bit per argument, and the result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reads {
    args: u8,
    y: bool,
}

impl Reads {
    const ALL: Reads = Reads {
        args: u8::MAX,
        y: true,
    };

    const fn args(args: u8) -> Reads {
        Reads { args, y: false }
    }

    const fn with_y(args: u8) -> Reads {
        Reads { args, y: true }
    }

    /// Whether argument `k` is read.
    pub fn arg(self, k: usize) -> bool {
        k >= 8 || self.args & (1 << k) != 0
    }

    /// Whether the result is read.
    pub fn y(self) -> bool {
        self.y
    }
}

const A: u8 = 1;
const B: u8 = 2;
const C: u8 = 4;

impl RuntimeRule {
    /// The operands the runtime's vjp of this rule reads.
    pub fn reads(&self) -> Reads {
        match (self.prim, self.slot) {
            // ∂(a·b)/∂a = b, ∂(a·b)/∂b = a
            (Prim::Mul | Prim::PlainMul, Some(Slot::Lhs)) => Reads::args(B),
            (Prim::Mul | Prim::PlainMul, _) => Reads::args(A),
            // 1/b and −y/b
            (Prim::Div, Some(Slot::Lhs)) => Reads::args(B),
            (Prim::Div, _) => Reads::with_y(B),
            (Prim::Rem, _) => Reads::args(A | B),
            (Prim::Cast | Prim::Lin(_), _) => Reads::ALL,
            (Prim::Fun(f), slot) => fun(f, slot),
        }
    }
}

/// The float methods: the receiver is argument `A`.
fn fun(f: Fun, slot: Option<Slot>) -> Reads {
    match f {
        Fun::Sin
        | Fun::Cos
        | Fun::Sinh
        | Fun::Cosh
        | Fun::Asin
        | Fun::Acos
        | Fun::Atan
        | Fun::Asinh
        | Fun::Acosh
        | Fun::Atanh
        | Fun::Ln
        | Fun::Ln1p
        | Fun::Log2
        | Fun::Log10
        | Fun::Erf
        | Fun::Erfc
        | Fun::Abs => Reads::args(A),
        // Partials written through the result: eˣ, 1 + y², 1/(2y), −y², ..
        Fun::Tan
        | Fun::Tanh
        | Fun::Exp
        | Fun::Exp2
        | Fun::ExpM1
        | Fun::Sqrt
        | Fun::Cbrt
        | Fun::Recip => Reads::with_y(0),
        // Constant partials.
        Fun::ToDegrees | Fun::ToRadians | Fun::Midpoint => Reads::args(0),
        Fun::Powi | Fun::Atan2 | Fun::Max | Fun::Min => Reads::args(A | B),
        Fun::Powf => match slot {
            Some(Slot::Exp) => Reads::with_y(A),
            _ => Reads::args(A | B),
        },
        Fun::Log => match slot {
            Some(Slot::Base) => Reads::with_y(B),
            _ => Reads::args(A | B),
        },
        Fun::Hypot => match slot {
            Some(Slot::Rhs) => Reads::with_y(B),
            _ => Reads::with_y(A),
        },
        Fun::Copysign => Reads::with_y(A),
        Fun::RemEuclid => Reads::with_y(A | B),
        Fun::Clamp => Reads::args(A | B | C),
        // x·a + b: ∂/∂x = a, ∂/∂a = x
        Fun::MulAdd => match slot {
            Some(Slot::X) => Reads::args(B),
            _ => Reads::args(A),
        },
        // No runtime rule: their partials are zero or the identity.
        Fun::Signum
        | Fun::Floor
        | Fun::Ceil
        | Fun::Round
        | Fun::RoundTiesEven
        | Fun::Trunc
        | Fun::Fract
        | Fun::DivEuclid => Reads::ALL,
    }
}
