//! Derivative rules as data: for every primal operation, how each operand's tangent
//! reaches the result. One exhaustive `match`, no catch-all arm, so a new operation does
//! not compile until it has a rule here.
//!
//! A `Runtime` partial names a pair of functions in the runtime, `<op>_jvp[_<slot>]` and
//! `<op>_vjp[_<slot>]` (see `autodiff_runtime::rules`); the linear cases are emitted inline.

use crate::ir::{Fun, InstKind, Lin, Op, Value};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Partial {
    /// The derivative with respect to this operand is zero (or the operand is not a float).
    Zero,
    /// `∂y/∂a = 1`: the tangent passes through unchanged, and so does the cotangent.
    Identity,
    /// `∂y/∂a = -1`.
    Negate,
    /// A runtime rule pair.
    Runtime {
        op: &'static str,
        slot: Option<&'static str>,
    },
    /// The operand is an array read at an index (the other operand): the tangent is the
    /// tangent array read at that index, and the cotangent is added into the array's
    /// cotangent at that index.
    Indexed,
    /// The operand is a parameter and the result one of its fields (`p.w`, `p.l1.w`): the
    /// tangent is that field of the parameter's tangent, and the cotangent is added into
    /// that field of the parameter's cotangent.
    Field,
    /// The operand is the matrix of `m.map(|v| body)`: its tangent and cotangent go through
    /// the forward derivative of the body, element by element.
    Map,
    /// The operand is a matrix or vector read at the other operands (`m[(i, j)]`): the
    /// tangent is the tangent read there, and the cotangent is a matrix that is zero but
    /// there (added in place into a parameter's cotangent).
    At,
}

pub enum Rule {
    /// One partial per operand.
    Partials(Vec<Partial>),
    /// Every operand's derivative is zero: comparisons, bit operations, opaque methods.
    Constant,
    /// A call, differentiated through the callee's own `_jvp` / `_vjp`.
    Call,
    /// An array write `store(a, i, v)`: the tangent is the tangent array with `t_v` written
    /// at `i`; in reverse, `v` takes the cotangent at `i`, which then becomes zero.
    Store,
    /// A matrix built from elements: linear, so the tangent is the matrix built from the
    /// tangents, and element `k` gets the `k`-th element (row-major) of the cotangent.
    Construct,
}

impl Rule {
    /// The partial for operand `i`.
    pub fn partial(&self, i: usize) -> Partial {
        match self {
            Rule::Partials(ps) => ps.get(i).copied().unwrap_or(Partial::Zero),
            Rule::Constant | Rule::Call | Rule::Store | Rule::Construct => Partial::Zero,
        }
    }
}

impl Partial {
    /// The runtime function implementing this partial in `mode` ("jvp" or "vjp").
    pub fn runtime_name(op: &str, slot: Option<&str>, mode: &str) -> String {
        match slot {
            Some(slot) => format!("{op}_{mode}_{slot}"),
            None => format!("{op}_{mode}"),
        }
    }
}

/// The instruction `<op>_<mode>[_<slot>](args.., y, seed)`, mode being "jvp" or "vjp".
pub fn runtime_call(
    op: &str,
    slot: Option<&str>,
    mode: &str,
    args: &[Value],
    y: Value,
    seed: Value,
) -> InstKind {
    let mut all = args.to_vec();
    all.extend([y, seed]);
    InstKind::Rule {
        name: Partial::runtime_name(op, slot, mode),
        args: all,
    }
}

pub fn rule(op: &Op) -> Rule {
    use Partial::{Identity, Negate};
    match op {
        Op::Const(_) | Op::Extern(_) | Op::Undef => Rule::Partials(Vec::new()),
        Op::Add => Rule::Partials(vec![Identity, Identity]),
        Op::Sub => Rule::Partials(vec![Identity, Negate]),
        Op::Mul => slots("mul", &["lhs", "rhs"]),
        Op::Div => slots("div", &["lhs", "rhs"]),
        Op::Rem => Rule::Partials(vec![Identity, rt("rem", Some("rhs"))]),
        Op::Neg => Rule::Partials(vec![Negate]),
        Op::Fun(f) => Rule::Partials(fun(*f)),
        Op::Cast { to, .. } if to.is_float() => Rule::Partials(vec![rt("cast", None)]),
        Op::Cast { .. }
        | Op::Cmp(_)
        | Op::Not
        | Op::BitAnd
        | Op::BitOr
        | Op::BitXor
        | Op::Shl
        | Op::Shr
        | Op::Method { .. } => Rule::Constant,
        Op::Field { .. } => Rule::Partials(vec![Partial::Field]),
        Op::Call { .. } => Rule::Call,
        Op::Lin(l) => Rule::Partials(lin(*l)),
        Op::Index => Rule::Partials(vec![Partial::Indexed, Partial::Zero]),
        // A new array is filled with a constant (lowering rejects an active fill).
        Op::NewArray { .. } => Rule::Constant,
        Op::Store | Op::Push => Rule::Store,
        Op::EmptyVec => Rule::Constant,
        Op::Len => Rule::Constant,
        // Linear in the matrix; the indices carry nothing.
        Op::At => Rule::Partials(vec![Partial::At]),
        Op::Construct { .. } => Rule::Construct,
        Op::Map { .. } => Rule::Partials(vec![Partial::Map]),
        // Derivative code only: never differentiated again.
        Op::MapRule { .. } => Rule::Constant,
    }
}

fn fun(f: Fun) -> Vec<Partial> {
    use Partial::{Identity, Zero};
    match f {
        Fun::Sin
        | Fun::Cos
        | Fun::Tan
        | Fun::Asin
        | Fun::Acos
        | Fun::Atan
        | Fun::Sinh
        | Fun::Cosh
        | Fun::Tanh
        | Fun::Asinh
        | Fun::Acosh
        | Fun::Atanh
        | Fun::Exp
        | Fun::Exp2
        | Fun::ExpM1
        | Fun::Ln
        | Fun::Ln1p
        | Fun::Log2
        | Fun::Log10
        | Fun::Sqrt
        | Fun::Cbrt
        | Fun::Abs
        | Fun::Recip
        | Fun::ToDegrees
        | Fun::ToRadians => vec![rt(f.name(), None)],
        // Piecewise constant: the derivative is zero wherever it exists.
        Fun::Signum | Fun::Floor | Fun::Ceil | Fun::Round | Fun::Trunc => vec![Zero],
        // fract(x) = x - trunc(x)
        Fun::Fract => vec![Identity],
        Fun::Powi => vec![rt("powi", None), Zero],
        Fun::Powf => slot_list("powf", &["base", "exp"]),
        Fun::Log => slot_list("log", &["x", "base"]),
        Fun::Atan2 => slot_list("atan2", &["y", "x"]),
        Fun::Hypot => slot_list("hypot", &["lhs", "rhs"]),
        Fun::Max => slot_list("max", &["lhs", "rhs"]),
        Fun::Min => slot_list("min", &["lhs", "rhs"]),
        Fun::Clamp => slot_list("clamp", &["x", "lo", "hi"]),
        // x.mul_add(a, b) = x·a + b
        Fun::MulAdd => vec![rt("mul_add", Some("x")), rt("mul_add", Some("a")), Identity],
    }
}

fn lin(l: Lin) -> Vec<Partial> {
    match l {
        Lin::Transpose | Lin::Sum | Lin::Mean | Lin::Norm | Lin::NormSquared | Lin::Trace => {
            vec![rt(l.name(), None)]
        }
        Lin::ComponentMul | Lin::ComponentDiv | Lin::Dot => slot_list(l.name(), &["lhs", "rhs"]),
    }
}

fn rt(op: &'static str, slot: Option<&'static str>) -> Partial {
    Partial::Runtime { op, slot }
}

fn slot_list(op: &'static str, names: &[&'static str]) -> Vec<Partial> {
    names.iter().map(|&s| rt(op, Some(s))).collect()
}

fn slots(op: &'static str, names: &[&'static str]) -> Rule {
    Rule::Partials(slot_list(op, names))
}
