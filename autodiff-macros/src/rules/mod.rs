//! THE rule table: for every primal operation, how each operand's tangent reaches the
//! result, written once. One exhaustive `match` per op enum and no catch-all arm, so a new
//! operation (or a new float method in `ir::Fun`) does not compile until it has a row here.
//!
//! A row of a scalar rule names the runtime pair `<op>_jvp[_<slot>]` / `<op>_vjp[_<slot>]`
//! that first-order code calls (see `autodiff_runtime::rules`), and gives the same partial
//! as a [`Formula`], the IR arithmetic that `nested` (`f_dir`) and the written-out reverse
//! sweep emit instead, so that the derivative can be differentiated again. The linear cases
//! are emitted inline.

mod formula;
mod reads;
mod vertical;

pub use crate::ir::Mode;
pub use formula::{Builder, Formula, Operands};
pub use vertical::vertical_tangent;

use crate::ir::{CmpOp, Fun, InstKind, Lin, Op, Value};
use std::f64::consts::{FRAC_2_SQRT_PI, LN_10, LN_2, PI};

/// The operand a runtime rule of a several-operand operation is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
    Lhs,
    Rhs,
    Base,
    Exp,
    X,
    Y,
    A,
    Lo,
    Hi,
}

impl Slot {
    pub fn name(self) -> &'static str {
        match self {
            Slot::Lhs => "lhs",
            Slot::Rhs => "rhs",
            Slot::Base => "base",
            Slot::Exp => "exp",
            Slot::X => "x",
            Slot::Y => "y",
            Slot::A => "a",
            Slot::Lo => "lo",
            Slot::Hi => "hi",
        }
    }
}

/// An operation with rules in the runtime.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Prim {
    Mul,
    /// A product whose tangent cannot be infinite where the primal is finite: the product
    /// rule without the `0 · ∞` test (`RuntimeRule::plain`).
    PlainMul,
    Div,
    Rem,
    /// A cast between float types.
    Cast,
    Fun(Fun),
    Lin(Lin),
}

impl Prim {
    /// The stem of the runtime rules' names.
    pub fn name(self) -> &'static str {
        match self {
            Prim::Mul => "mul",
            Prim::PlainMul => "plain_mul",
            Prim::Div => "div",
            Prim::Rem => "rem",
            Prim::Cast => "cast",
            Prim::Fun(f) => f.name(),
            Prim::Lin(l) => l.name(),
        }
    }
}

/// A runtime rule pair and, where one exists, the same partial as IR arithmetic.
#[derive(Clone, Copy, Debug)]
pub struct RuntimeRule {
    pub prim: Prim,
    pub slot: Option<Slot>,
    /// `None`: no second-order form (`nested` reports the operation).
    pub formula: Option<Formula>,
}

impl RuntimeRule {
    /// The runtime function of this rule in `mode`.
    pub fn name(&self, mode: Mode) -> String {
        crate::names::rule_fn(self.prim.name(), mode, self.slot.map(Slot::name))
    }

    /// The same partial without the `0 · ∞` test, for a product whose seed cannot be
    /// infinite (`activity::after_vertical_tangent`); other rules are kept.
    pub fn plain(self) -> RuntimeRule {
        match self.prim {
            Prim::Mul => RuntimeRule {
                prim: Prim::PlainMul,
                ..self
            },
            Prim::PlainMul | Prim::Div | Prim::Rem | Prim::Cast | Prim::Fun(_) | Prim::Lin(_) => {
                self
            }
        }
    }
}

/// The instruction `<rule>_<mode>[_<slot>](args.., y, seed)`.
pub fn rule_call(
    rule: &RuntimeRule,
    mode: Mode,
    args: &[Value],
    y: Value,
    seed: Value,
) -> InstKind {
    let mut all = args.to_vec();
    all.extend([y, seed]);
    InstKind::Rule {
        name: rule.name(mode),
        args: all,
    }
}

#[derive(Clone, Copy, Debug)]
pub enum Partial {
    /// The derivative with respect to this operand is zero (or the operand is not a float).
    Zero,
    /// `∂y/∂a = 1`: the tangent passes through unchanged, and so does the cotangent.
    Identity,
    /// `∂y/∂a = -1`.
    Negate,
    /// A runtime rule pair.
    Runtime(RuntimeRule),
    /// The operand is an array read at an index (the other operand): the tangent is the
    /// tangent array read at that index, and the cotangent is added into the array's
    /// cotangent at that index.
    Indexed,
    /// The operand is an array and the result a copy of it: the tangent is a copy of its
    /// tangent, and the copy's cotangent buffer is added into the array's.
    Copied,
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

impl Partial {
    pub fn is_zero(&self) -> bool {
        matches!(self, Partial::Zero)
    }
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

    /// Whether a varied operand `i` varies the result (the activity of a value).
    pub fn carries(&self, i: usize) -> bool {
        match self {
            Rule::Call | Rule::Construct => true,
            // The index of a write carries nothing.
            Rule::Store => i != 1,
            Rule::Constant => false,
            Rule::Partials(_) => !self.partial(i).is_zero(),
        }
    }
}

pub fn rule(op: &Op) -> Rule {
    use Partial::{Identity, Negate};
    match op {
        Op::Const(_) | Op::Extern(_) | Op::Undef => Rule::Partials(Vec::new()),
        Op::Add => Rule::Partials(vec![Identity, Identity]),
        Op::Sub => Rule::Partials(vec![Identity, Negate]),
        Op::Mul => Rule::Partials(vec![
            // ∂(a·b)/∂a = b, ∂(a·b)/∂b = a
            rt(Prim::Mul, Slot::Lhs, |s, o| Some(s.mul(o.t, o.arg(1)?))),
            rt(Prim::Mul, Slot::Rhs, |s, o| Some(s.mul(o.a(), o.t))),
        ]),
        Op::Div => Rule::Partials(vec![
            rt(Prim::Div, Slot::Lhs, |s, o| Some(s.div(o.t, o.arg(1)?))),
            // ∂(a/b)/∂b = −y/b
            rt(Prim::Div, Slot::Rhs, |s, o| {
                let q = s.div(o.y, o.arg(1)?);
                let m = s.mul(q, o.t);
                Some(s.neg(m))
            }),
        ]),
        // a % b = a − trunc(a/b)·b
        Op::Rem => Rule::Partials(vec![
            Identity,
            rt(Prim::Rem, Slot::Rhs, |s, o| {
                let q = s.div(o.a(), o.arg(1)?);
                let q = s.call(Fun::Trunc, &[q]);
                let m = s.mul(q, o.t);
                Some(s.neg(m))
            }),
        ]),
        Op::Neg => Rule::Partials(vec![Negate]),
        Op::Fun(f) => Rule::Partials(fun(*f)),
        // The tangent converted as the value is.
        Op::Cast { to, .. } if to.is_float() => {
            Rule::Partials(vec![Partial::Runtime(RuntimeRule {
                prim: Prim::Cast,
                slot: None,
                formula: Some(|s, o| s.cast_like(o.t)),
            })])
        }
        Op::Cast { .. }
        | Op::Cmp(_)
        | Op::Not
        | Op::BitAnd
        | Op::BitOr
        | Op::BitXor
        | Op::Shl
        | Op::Shr
        | Op::Method { .. }
        | Op::StopGradient => Rule::Constant,
        Op::Field { .. } => Rule::Partials(vec![Partial::Field]),
        Op::Call { .. } => Rule::Call,
        Op::Lin(l) => Rule::Partials(lin(*l)),
        Op::Index => Rule::Partials(vec![Partial::Indexed, Partial::Zero]),
        // A new array is filled with a constant (lowering rejects an active fill).
        Op::NewArray { .. } => Rule::Constant,
        Op::Store | Op::Push => Rule::Store,
        Op::EmptyVec => Rule::Constant,
        Op::CopyArray { .. } => Rule::Partials(vec![Partial::Copied, Partial::Zero]),
        Op::SubSlice { .. } => Rule::Partials(vec![
            Partial::Copied,
            Partial::Zero,
            Partial::Zero,
            Partial::Zero,
        ]),
        Op::Len => Rule::Constant,
        // Patterns read inactive values only (`resolve` checks).
        Op::Matches { .. } | Op::Bound { .. } => Rule::Constant,
        // Linear in the matrix; the indices carry nothing.
        Op::At => Rule::Partials(vec![Partial::At]),
        Op::Construct { .. } | Op::Struct { .. } => Rule::Construct,
        Op::Map { body, .. } => Rule::Partials(vec![Partial::Map; body.params.len()]),
        // Derivative code only: never differentiated again.
        Op::MapRule { .. } => Rule::Constant,
    }
}

/// The float methods, operand by operand (the receiver first).
fn fun(f: Fun) -> Vec<Partial> {
    use Partial::{Identity, Zero};
    match f {
        Fun::Sin => unary(f, d_sin),
        Fun::Cos => unary(f, d_cos),
        Fun::Tan => unary(f, d_tan),
        Fun::Asin => unary(f, d_asin),
        Fun::Acos => unary(f, d_acos),
        Fun::Atan => unary(f, d_atan),
        Fun::Sinh => unary(f, d_sinh),
        Fun::Cosh => unary(f, d_cosh),
        Fun::Tanh => unary(f, d_tanh),
        Fun::Asinh => unary(f, d_asinh),
        Fun::Acosh => unary(f, d_acosh),
        Fun::Atanh => unary(f, d_atanh),
        Fun::Exp => unary(f, d_exp),
        Fun::Exp2 => unary(f, d_exp2),
        Fun::ExpM1 => unary(f, d_exp_m1),
        Fun::Ln => unary(f, d_ln),
        Fun::Ln1p => unary(f, d_ln1p),
        Fun::Log2 => unary(f, d_log2),
        Fun::Log10 => unary(f, d_log10),
        Fun::Sqrt => unary(f, d_sqrt),
        Fun::Cbrt => unary(f, d_cbrt),
        Fun::Abs => unary(f, d_abs),
        Fun::Recip => unary(f, d_recip),
        Fun::ToDegrees => unary(f, d_to_degrees),
        Fun::ToRadians => unary(f, d_to_radians),
        Fun::Erf => unary(f, d_erf),
        Fun::Erfc => unary(f, d_erfc),
        // Piecewise constant: the derivative is zero wherever it exists.
        Fun::Signum | Fun::Floor | Fun::Ceil | Fun::Round | Fun::RoundTiesEven | Fun::Trunc => {
            vec![Zero]
        }
        Fun::DivEuclid => vec![Zero, Zero],
        // copysign(x, s) = |x|·sign(s): piecewise linear in x, piecewise constant in s
        Fun::Copysign => vec![rule_of(f, Some(Slot::X), d_copysign_x), Zero],
        // a.rem_euclid(b) = a − b·div_euclid(a, b)
        Fun::RemEuclid => vec![Identity, rule_of(f, Some(Slot::Rhs), d_rem_euclid_rhs)],
        // midpoint(a, b) = (a + b)/2
        Fun::Midpoint => vec![
            rule_of(f, Some(Slot::Lhs), d_half),
            rule_of(f, Some(Slot::Rhs), d_half),
        ],
        // fract(x) = x - trunc(x)
        Fun::Fract => vec![Identity],
        Fun::Powi => vec![rule_of(f, None, d_powi), Zero],
        Fun::Powf => vec![
            rule_of(f, Some(Slot::Base), d_powf_base),
            rule_of(f, Some(Slot::Exp), d_powf_exp),
        ],
        Fun::Log => vec![
            rule_of(f, Some(Slot::X), d_log_x),
            rule_of(f, Some(Slot::Base), d_log_base),
        ],
        // d atan2(a, b)/da = b/(a² + b²), d atan2(a, b)/db = −a/(a² + b²)
        Fun::Atan2 => vec![
            rule_of(f, Some(Slot::Y), d_atan2_y),
            rule_of(f, Some(Slot::X), d_atan2_x),
        ],
        // d hypot(a, b)/da = a/y, /db = b/y
        Fun::Hypot => vec![
            rule_of(f, Some(Slot::Lhs), d_hypot_lhs),
            rule_of(f, Some(Slot::Rhs), d_hypot_rhs),
        ],
        // The piecewise ones pass the seed to the operand they select, as the runtime's
        // rules decide it: ties to the first operand, a NaN second operand ignored.
        Fun::Max => vec![
            rule_of(f, Some(Slot::Lhs), d_max_lhs),
            rule_of(f, Some(Slot::Rhs), d_max_rhs),
        ],
        Fun::Min => vec![
            rule_of(f, Some(Slot::Lhs), d_min_lhs),
            rule_of(f, Some(Slot::Rhs), d_min_rhs),
        ],
        // clamp gives the bounds themselves to `x`; a bound only where `x` lies beyond it.
        Fun::Clamp => vec![
            rule_of(f, Some(Slot::X), d_clamp_x),
            rule_of(f, Some(Slot::Lo), d_clamp_lo),
            rule_of(f, Some(Slot::Hi), d_clamp_hi),
        ],
        // x.mul_add(a, b) = x·a + b
        Fun::MulAdd => vec![
            rule_of(f, Some(Slot::X), d_mul_add_x),
            rule_of(f, Some(Slot::A), d_mul_add_a),
            Identity,
        ],
    }
}

// -------------------- the formulas, ∂y/∂operand · t --------------------

fn d_sin(s: &mut Builder<'_>, o: Operands<'_>) -> Option<Value> {
    let c = s.call(Fun::Cos, &[o.a()]);
    Some(s.mul(c, o.t))
}

fn d_cos(s: &mut Builder<'_>, o: Operands<'_>) -> Option<Value> {
    let sin = s.call(Fun::Sin, &[o.a()]);
    let m = s.mul(sin, o.t);
    Some(s.neg(m))
}

/// d tan = 1 + y²
fn d_tan(s: &mut Builder<'_>, o: Operands<'_>) -> Option<Value> {
    let (one, yy) = (s.num(1.0), s.mul(o.y, o.y));
    let d = s.add(one, yy);
    Some(s.mul(d, o.t))
}

/// d asin = 1/√(1 − a²), d acos = −1/√(1 − a²)
fn d_asin(s: &mut Builder<'_>, o: Operands<'_>) -> Option<Value> {
    Some(inverse_sqrt(s, o, false))
}

fn d_acos(s: &mut Builder<'_>, o: Operands<'_>) -> Option<Value> {
    let q = inverse_sqrt(s, o, false);
    Some(s.neg(q))
}

/// d atan = 1/(1 + a²)
fn d_atan(s: &mut Builder<'_>, o: Operands<'_>) -> Option<Value> {
    let (one, aa) = (s.num(1.0), s.mul(o.a(), o.a()));
    let r = s.add(one, aa);
    Some(s.div(o.t, r))
}

fn d_sinh(s: &mut Builder<'_>, o: Operands<'_>) -> Option<Value> {
    let c = s.call(Fun::Cosh, &[o.a()]);
    Some(s.mul(c, o.t))
}

fn d_cosh(s: &mut Builder<'_>, o: Operands<'_>) -> Option<Value> {
    let sinh = s.call(Fun::Sinh, &[o.a()]);
    Some(s.mul(sinh, o.t))
}

/// d tanh = 1 − y²
fn d_tanh(s: &mut Builder<'_>, o: Operands<'_>) -> Option<Value> {
    let yt = s.mul(o.y, o.t);
    let yyt = s.mul(o.y, yt);
    Some(s.sub(o.t, yyt))
}

/// d asinh = 1/√(a² + 1)
fn d_asinh(s: &mut Builder<'_>, o: Operands<'_>) -> Option<Value> {
    Some(inverse_sqrt(s, o, true))
}

/// d acosh = 1/√(a² − 1)
fn d_acosh(s: &mut Builder<'_>, o: Operands<'_>) -> Option<Value> {
    let (aa, one) = (s.mul(o.a(), o.a()), s.num(1.0));
    let r = s.sub(aa, one);
    let r = s.call(Fun::Sqrt, &[r]);
    Some(s.div(o.t, r))
}

/// d atanh = 1/(1 − a²)
fn d_atanh(s: &mut Builder<'_>, o: Operands<'_>) -> Option<Value> {
    let (one, aa) = (s.num(1.0), s.mul(o.a(), o.a()));
    let r = s.sub(one, aa);
    Some(s.div(o.t, r))
}

fn d_exp(s: &mut Builder<'_>, o: Operands<'_>) -> Option<Value> {
    Some(s.mul(o.y, o.t))
}

/// d 2ᵃ = ln 2 · y
fn d_exp2(s: &mut Builder<'_>, o: Operands<'_>) -> Option<Value> {
    let ct = s.scale(LN_2, o.t);
    Some(s.mul(o.y, ct))
}

/// d exp_m1 = y + 1
fn d_exp_m1(s: &mut Builder<'_>, o: Operands<'_>) -> Option<Value> {
    let one = s.num(1.0);
    let d = s.add(o.y, one);
    Some(s.mul(d, o.t))
}

fn d_ln(s: &mut Builder<'_>, o: Operands<'_>) -> Option<Value> {
    Some(s.div(o.t, o.a()))
}

/// d ln_1p = 1/(1 + a)
fn d_ln1p(s: &mut Builder<'_>, o: Operands<'_>) -> Option<Value> {
    let one = s.num(1.0);
    let d = s.add(one, o.a());
    Some(s.div(o.t, d))
}

fn d_log2(s: &mut Builder<'_>, o: Operands<'_>) -> Option<Value> {
    let ct = s.scale(1.0 / LN_2, o.t);
    Some(s.div(ct, o.a()))
}

fn d_log10(s: &mut Builder<'_>, o: Operands<'_>) -> Option<Value> {
    let ct = s.scale(1.0 / LN_10, o.t);
    Some(s.div(ct, o.a()))
}

/// d√a = 1/(2y)
fn d_sqrt(s: &mut Builder<'_>, o: Operands<'_>) -> Option<Value> {
    let twice = s.add(o.y, o.y);
    Some(s.div(o.t, twice))
}

/// d ∛a = 1/(3y²)
fn d_cbrt(s: &mut Builder<'_>, o: Operands<'_>) -> Option<Value> {
    let yy = s.mul(o.y, o.y);
    let d = s.add(yy, yy);
    let d = s.add(d, yy);
    Some(s.div(o.t, d))
}

fn d_abs(s: &mut Builder<'_>, o: Operands<'_>) -> Option<Value> {
    let sign = s.call(Fun::Signum, &[o.a()]);
    Some(s.mul(sign, o.t))
}

/// d(1/a) = −y²
fn d_recip(s: &mut Builder<'_>, o: Operands<'_>) -> Option<Value> {
    let yt = s.mul(o.y, o.t);
    let yyt = s.mul(o.y, yt);
    Some(s.neg(yyt))
}

fn d_to_degrees(s: &mut Builder<'_>, o: Operands<'_>) -> Option<Value> {
    Some(s.scale(180.0 / PI, o.t))
}

fn d_to_radians(s: &mut Builder<'_>, o: Operands<'_>) -> Option<Value> {
    Some(s.scale(PI / 180.0, o.t))
}

/// d erf = 2/√π · e^(−a²), d erfc = −2/√π · e^(−a²)
fn d_erf(s: &mut Builder<'_>, o: Operands<'_>) -> Option<Value> {
    Some(gaussian(s, o, FRAC_2_SQRT_PI))
}

fn d_erfc(s: &mut Builder<'_>, o: Operands<'_>) -> Option<Value> {
    Some(gaussian(s, o, -FRAC_2_SQRT_PI))
}

/// d aⁿ = n·aⁿ⁻¹ for an integer n
fn d_powi(s: &mut Builder<'_>, o: Operands<'_>) -> Option<Value> {
    let n = o.arg(1)?;
    let nf = s.cast_like(n)?;
    let n1 = s.int_pred(n);
    let pw = s.call(Fun::Powi, &[o.a(), n1]);
    let d = s.mul(nf, pw);
    Some(s.mul(d, o.t))
}

/// d aᵇ/da = b·aᵇ⁻¹
fn d_powf_base(s: &mut Builder<'_>, o: Operands<'_>) -> Option<Value> {
    let (b, one) = (o.arg(1)?, s.num(1.0));
    let b1 = s.sub(b, one);
    let pw = s.call(Fun::Powf, &[o.a(), b1]);
    let d = s.mul(b, pw);
    Some(s.mul(d, o.t))
}

/// d aᵇ/db = y·ln a
fn d_powf_exp(s: &mut Builder<'_>, o: Operands<'_>) -> Option<Value> {
    let l = s.call(Fun::Ln, &[o.a()]);
    let d = s.mul(o.y, l);
    Some(s.mul(d, o.t))
}

/// d log_b(a)/da = 1/(a·ln b)
fn d_log_x(s: &mut Builder<'_>, o: Operands<'_>) -> Option<Value> {
    let lb = s.call(Fun::Ln, &[o.arg(1)?]);
    let d = s.mul(o.a(), lb);
    Some(s.div(o.t, d))
}

/// d log_b(a)/db = −y/(b·ln b)
fn d_log_base(s: &mut Builder<'_>, o: Operands<'_>) -> Option<Value> {
    let b = o.arg(1)?;
    let lb = s.call(Fun::Ln, &[b]);
    let d = s.mul(b, lb);
    let q = s.div(o.y, d);
    let m = s.mul(q, o.t);
    Some(s.neg(m))
}

fn d_atan2_y(s: &mut Builder<'_>, o: Operands<'_>) -> Option<Value> {
    atan2_partial(s, o, true)
}

fn d_atan2_x(s: &mut Builder<'_>, o: Operands<'_>) -> Option<Value> {
    atan2_partial(s, o, false)
}

fn d_hypot_lhs(s: &mut Builder<'_>, o: Operands<'_>) -> Option<Value> {
    let q = s.div(o.a(), o.y);
    Some(s.mul(q, o.t))
}

fn d_hypot_rhs(s: &mut Builder<'_>, o: Operands<'_>) -> Option<Value> {
    let q = s.div(o.arg(1)?, o.y);
    Some(s.mul(q, o.t))
}

/// sign(x)·sign(s)·t, the sign of `s` being the result's
fn d_copysign_x(s: &mut Builder<'_>, o: Operands<'_>) -> Option<Value> {
    let sx = s.call(Fun::Signum, &[o.a()]);
    let sy = s.call(Fun::Signum, &[o.y]);
    let m = s.mul(sx, sy);
    Some(s.mul(m, o.t))
}

/// −(a − y)/b · t
fn d_rem_euclid_rhs(s: &mut Builder<'_>, o: Operands<'_>) -> Option<Value> {
    let q = s.sub(o.a(), o.y);
    let q = s.div(q, o.arg(1)?);
    let m = s.mul(q, o.t);
    Some(s.neg(m))
}

fn d_half(s: &mut Builder<'_>, o: Operands<'_>) -> Option<Value> {
    Some(s.scale(0.5, o.t))
}

fn d_max_lhs(s: &mut Builder<'_>, o: Operands<'_>) -> Option<Value> {
    max_min(s, o, CmpOp::Ge, true)
}

fn d_max_rhs(s: &mut Builder<'_>, o: Operands<'_>) -> Option<Value> {
    max_min(s, o, CmpOp::Ge, false)
}

fn d_min_lhs(s: &mut Builder<'_>, o: Operands<'_>) -> Option<Value> {
    max_min(s, o, CmpOp::Le, true)
}

fn d_min_rhs(s: &mut Builder<'_>, o: Operands<'_>) -> Option<Value> {
    max_min(s, o, CmpOp::Le, false)
}

fn d_clamp_x(s: &mut Builder<'_>, o: Operands<'_>) -> Option<Value> {
    let below = s.cmp(CmpOp::Lt, o.a(), o.arg(1)?);
    let above = s.cmp(CmpOp::Gt, o.a(), o.arg(2)?);
    let outside = s.or(below, above);
    let inside = s.not(outside);
    Some(s.select(inside, o.t))
}

fn d_clamp_lo(s: &mut Builder<'_>, o: Operands<'_>) -> Option<Value> {
    let below = s.cmp(CmpOp::Lt, o.a(), o.arg(1)?);
    Some(s.select(below, o.t))
}

fn d_clamp_hi(s: &mut Builder<'_>, o: Operands<'_>) -> Option<Value> {
    let above = s.cmp(CmpOp::Gt, o.a(), o.arg(2)?);
    Some(s.select(above, o.t))
}

fn d_mul_add_x(s: &mut Builder<'_>, o: Operands<'_>) -> Option<Value> {
    Some(s.mul(o.t, o.arg(1)?))
}

fn d_mul_add_a(s: &mut Builder<'_>, o: Operands<'_>) -> Option<Value> {
    Some(s.mul(o.a(), o.t))
}

/// The matrix methods: runtime rules on objects. Their tangent formulas (for `f_dir` and
/// `f_hvp`, which differentiate the tangent again) are matrix methods themselves; the
/// written-out reverse sweep never reaches them (it takes no active matrices).
fn lin(l: Lin) -> Vec<Partial> {
    let object = |slot, formula: Formula| {
        Partial::Runtime(RuntimeRule {
            prim: Prim::Lin(l),
            slot,
            formula: Some(formula),
        })
    };
    // Linear in the receiver: the same method on the tangent. Bilinear: the tangent in
    // the operand's place.
    macro_rules! linear {
        ($l:expr) => {
            vec![object(None, |s, o| Some(s.lin($l, &[o.t])))]
        };
    }
    macro_rules! bilinear {
        ($l:expr) => {
            vec![
                object(Some(Slot::Lhs), |s, o| Some(s.lin($l, &[o.t, o.arg(1)?]))),
                object(Some(Slot::Rhs), |s, o| Some(s.lin($l, &[o.a(), o.t]))),
            ]
        };
    }
    match l {
        Lin::Transpose => linear!(Lin::Transpose),
        Lin::Sum => linear!(Lin::Sum),
        Lin::Mean => linear!(Lin::Mean),
        Lin::Trace => linear!(Lin::Trace),
        Lin::ComponentMul => bilinear!(Lin::ComponentMul),
        Lin::Dot => bilinear!(Lin::Dot),
        // d‖a‖ = ⟨a, t⟩/‖a‖
        Lin::Norm => vec![object(None, |s, o| {
            let d = s.lin(Lin::Dot, &[o.a(), o.t]);
            Some(s.div(d, o.y))
        })],
        // d‖a‖² = 2⟨a, t⟩
        Lin::NormSquared => vec![object(None, |s, o| {
            let d = s.lin(Lin::Dot, &[o.a(), o.t]);
            Some(s.scale(2.0, d))
        })],
        // d(a ⊘ b) = t ⊘ b along a, −(y ∘ t) ⊘ b along b
        Lin::ComponentDiv => vec![
            object(Some(Slot::Lhs), |s, o| {
                Some(s.lin(Lin::ComponentDiv, &[o.t, o.arg(1)?]))
            }),
            object(Some(Slot::Rhs), |s, o| {
                let yt = s.lin(Lin::ComponentMul, &[o.y, o.t]);
                let q = s.lin(Lin::ComponentDiv, &[yt, o.arg(1)?]);
                Some(s.neg(q))
            }),
        ],
    }
}

fn rule_of(f: Fun, slot: Option<Slot>, formula: Formula) -> Partial {
    Partial::Runtime(RuntimeRule {
        prim: Prim::Fun(f),
        slot,
        formula: Some(formula),
    })
}

fn unary(f: Fun, formula: Formula) -> Vec<Partial> {
    vec![rule_of(f, None, formula)]
}

fn rt(prim: Prim, slot: Slot, formula: Formula) -> Partial {
    Partial::Runtime(RuntimeRule {
        prim,
        slot: Some(slot),
        formula: Some(formula),
    })
}

/// `t/√(1 − a²)`, or `t/√(a² + 1)` when `plus` (asin, asinh).
fn inverse_sqrt(s: &mut Builder<'_>, o: Operands<'_>, plus: bool) -> Value {
    let (one, aa) = (s.num(1.0), s.mul(o.a(), o.a()));
    let r = if plus { s.add(aa, one) } else { s.sub(one, aa) };
    let r = s.call(Fun::Sqrt, &[r]);
    s.div(o.t, r)
}

/// `c · e^(−a²) · t`.
fn gaussian(s: &mut Builder<'_>, o: Operands<'_>, c: f64) -> Value {
    let aa = s.mul(o.a(), o.a());
    let minus = s.neg(aa);
    let e = s.call(Fun::Exp, &[minus]);
    let d = s.mul(e, o.t);
    s.scale(c, d)
}

fn atan2_partial(s: &mut Builder<'_>, o: Operands<'_>, y_slot: bool) -> Option<Value> {
    let (a, b) = (o.a(), o.arg(1)?);
    let (aa, bb) = (s.mul(a, a), s.mul(b, b));
    let r = s.add(aa, bb);
    let q = s.div(if y_slot { b } else { a }, r);
    let m = s.mul(q, o.t);
    Some(if y_slot { m } else { s.neg(m) })
}

/// `max` (`cmp` = `≥`) or `min` (`≤`): the first operand is selected when it compares so
/// with the second, or when the second is NaN.
fn max_min(s: &mut Builder<'_>, o: Operands<'_>, cmp: CmpOp, first: bool) -> Option<Value> {
    let other = o.arg(1)?;
    let wins = s.cmp(cmp, o.a(), other);
    let nan = s.cmp(CmpOp::Ne, other, other);
    let lhs = s.or(wins, nan);
    let cond = if first { lhs } else { s.not(lhs) };
    Some(s.select(cond, o.t))
}

/// The float methods that `nested` can differentiate twice, for messages.
pub fn second_order_methods() -> Vec<&'static str> {
    Fun::ALL
        .iter()
        .filter(|&&f| {
            fun(f)
                .iter()
                .any(|p| matches!(p, Partial::Runtime(r) if r.formula.is_some()))
        })
        .map(|f| f.name())
        .collect()
}
