//! Forward mode: the primal, interleaved with one tangent per active value.
//!
//! Input: `fn f(x, n) -> y` (optimised IR) and its activity. Output: `fn f_jvp(x, n, d_x)
//! -> (y, d_y)` in the same IR, where after each active instruction
//! `y = op(a, b)` comes `d_y = Σᵢ jvp_i(a, b, y, d_aᵢ)` over the active operands. An `if`
//! carries the tangents of its active results as extra results; a branch that yields an
//! inactive value yields a zero tangent. An active call `g(a, b)` becomes
//! `(y, d_y) = g_jvp(a, b, d_a, d_b)`, with a zero tangent for float arguments that are
//! inactive. No storage: every tangent is computed next to its primal.

use crate::activity::Activity;
use crate::ir::{Block, CallForm, Fun, Func, Inst, InstKind, Loop, LoopKind, Op, Role, Value};
use crate::rules::{self, Partial};
use proc_macro2::Span;
use std::collections::HashMap;

pub fn jvp(func: &Func, act: &Activity, active_params: &[Value]) -> Func {
    transform(func, act, active_params, false).0
}

/// The directional derivative `f_dir(x, n, d_x) = d_y` for differentiating again: the
/// tangent rules are written out as IR arithmetic (`d(sin a) = cos(a)·d_a`) instead of
/// calls to the runtime's rules, so that the result is an ordinary function of the same
/// operations. The rules it has no arithmetic for are returned (then the caller reports
/// them).
pub fn directional(
    func: &Func,
    act: &Activity,
    active_params: &[Value],
) -> Result<Func, Vec<(String, Span)>> {
    let (mut out, mut missing) = transform(func, act, active_params, true);
    let mut body = std::mem::take(&mut out.body);
    as_primal(&mut body, &mut out, &mut missing);
    out.body = body;
    if !missing.is_empty() {
        return Err(missing);
    }
    out.results.remove(0);
    out.name = format!("{}_dir", func.name);
    Ok(out)
}

/// Rewrites what only derivative code has into operations of the user's kind, so that
/// the function can be differentiated again: a sum of tangents becomes additions. Calls
/// of other functions' `_jvp` are reported (they would need those functions' `_dir`).
fn as_primal(block: &mut Block, func: &mut Func, missing: &mut Vec<(String, Span)>) {
    let insts = std::mem::take(&mut block.insts);
    for mut inst in insts {
        match &mut inst.kind {
            InstKind::Sum(terms) if terms.len() >= 2 => {
                let mut acc = terms[0];
                for (k, &t) in terms.iter().enumerate().skip(1) {
                    let out = if k + 1 == terms.len() {
                        inst.outs[0]
                    } else {
                        func.new_derived(Role::Primal, inst.outs[0])
                    };
                    block.insts.push(Inst::new(
                        vec![out],
                        InstKind::Op(Op::Add, vec![acc, t]),
                        inst.span,
                    ));
                    acc = out;
                }
                continue;
            }
            InstKind::If { then, els, .. } => {
                as_primal(then, func, missing);
                as_primal(els, func, missing);
            }
            InstKind::Loop(lp) => {
                if let LoopKind::While { cond } = &mut lp.kind {
                    as_primal(cond, func, missing);
                }
                as_primal(&mut lp.body, func, missing);
            }
            InstKind::CallJvp { path, .. } => {
                missing.push((format!("{path}_jvp"), inst.span));
            }
            InstKind::Rule { name, .. } => missing.push((name.clone(), inst.span)),
            _ => {}
        }
        block.insts.push(inst);
    }
}

/// `∂y/∂args[slot] · t` as IR arithmetic appended to `out` (the rules of `f_dir`), or
/// `None` where there is none. For the scalar rules this is also the cotangent rule with
/// `t` the cotangent of `y`, which is how `adjoint` writes the reverse sweep.
#[allow(clippy::too_many_arguments)]
pub fn symbolic_term(
    func: &mut Func,
    act: &Activity,
    op: &'static str,
    slot: Option<&'static str>,
    args: &[Value],
    y: Value,
    t: Value,
    span: Span,
    out: &mut Vec<Inst>,
) -> Option<Value> {
    let mut fwd = Forward {
        func,
        act,
        tangent: HashMap::new(),
        symbolic: true,
        missing: Vec::new(),
    };
    fwd.symbolic_partial(op, slot, args, y, t, span, out)
}

fn transform(
    func: &Func,
    act: &Activity,
    active_params: &[Value],
    symbolic: bool,
) -> (Func, Vec<(String, Span)>) {
    let mut out = func.derived("_jvp");
    let mut fwd = Forward {
        func: &mut out,
        act,
        tangent: HashMap::new(),
        symbolic,
        missing: Vec::new(),
    };
    for &p in active_params {
        let t = fwd.tangent_value(p);
        // A borrowed parameter's tangent is borrowed too (`p: &P` takes `d_p: &P`).
        fwd.func.values[t.index()].by_ref = fwd.func.info(p).by_ref;
        fwd.func.params.push(t);
    }
    let mut body = fwd.block(&func.body);
    let result = func.results[0];
    let d_result = if fwd.func.ty(result).elem() == crate::ir::Ty::Unknown {
        fwd.tangent_or_zero(result, &mut body.insts)
    } else {
        fwd.tangent_or_zero_like(result, &mut body.insts)
    };
    let missing = std::mem::take(&mut fwd.missing);
    out.body = body;
    out.results = vec![result, d_result];
    (out, missing)
}

struct Forward<'a> {
    func: &'a mut Func,
    act: &'a Activity,
    tangent: HashMap<Value, Value>,
    /// Tangent rules as IR arithmetic (for `directional`).
    symbolic: bool,
    /// Rules `symbolic` has no arithmetic for, and where they are used.
    missing: Vec<(String, Span)>,
}

impl Forward<'_> {
    /// A new value to hold the tangent of `v`.
    fn tangent_value(&mut self, v: Value) -> Value {
        let t = self.func.new_derived(Role::Derivative(v), v);
        self.tangent.insert(v, t);
        t
    }

    fn tangent_or_zero(&mut self, v: Value, insts: &mut Vec<Inst>) -> Value {
        match self.tangent.get(&v) {
            Some(&t) => t,
            None => self.zero(v, insts),
        }
    }

    fn zero(&mut self, like: Value, insts: &mut Vec<Inst>) -> Value {
        let info = self.func.info(like).clone();
        let z = self.func.new_value(None, info.span, info.ty);
        // Anything but a float (an object, an array) has a zero of its own shape.
        let kind = if !info.ty.is_float() {
            InstKind::ZeroLike(like)
        } else {
            InstKind::Zero
        };
        insts.push(Inst::new(vec![z], kind, info.span));
        z
    }

    fn block(&mut self, block: &Block) -> Block {
        let mut insts = Vec::new();
        for inst in &block.insts {
            self.inst(inst, &mut insts);
        }
        Block {
            insts,
            yields: block.yields.clone(),
        }
    }

    fn inst(&mut self, inst: &Inst, out: &mut Vec<Inst>) {
        match &inst.kind {
            InstKind::Op(op, args) if self.act.is_active(inst.outs[0]) => {
                if let Op::Call { path, form } = op {
                    self.call(path, form, args, inst, out);
                } else if let Op::Construct { .. } = op {
                    // Linear: the same constructor on the tangents.
                    out.push(inst.clone());
                    let tangents: Vec<Value> =
                        args.iter().map(|&a| self.tangent_or_zero(a, out)).collect();
                    let y = inst.outs[0];
                    let t = self.tangent_value(y);
                    out.push(Inst::new(
                        vec![t],
                        InstKind::Op(op.clone(), tangents),
                        inst.span,
                    ));
                } else if let (Op::Store | Op::Push, [a, i, v]) = (op, args.as_slice()) {
                    self.store(op, *a, *i, *v, inst, out);
                } else {
                    out.push(inst.clone());
                    self.op(op, args, inst.outs[0], inst.span, out);
                }
            }
            InstKind::If { cond, then, els } => self.branch(inst, *cond, then, els, out),
            InstKind::Loop(lp) => self.loop_inst(inst, lp, out),
            _ => out.push(inst.clone()),
        }
    }

    /// `d_y = Σᵢ jvp_i(args, y, d_argᵢ)` over the active operands.
    fn op(&mut self, op: &Op, args: &[Value], y: Value, span: Span, out: &mut Vec<Inst>) {
        let rule = rules::rule(op);
        let mut terms = Vec::new();
        for (i, &a) in args.iter().enumerate() {
            let Some(&t) = self.tangent.get(&a) else {
                continue;
            };
            let term = match rule.partial(i) {
                Partial::Zero => continue,
                Partial::Identity => t,
                Partial::Negate => self.func.push_op(Op::Neg, vec![t], y, span, out),
                Partial::Indexed => self.func.push_op(Op::Index, vec![t, args[1]], y, span, out),
                Partial::Map => {
                    let Op::Map { jvp, .. } = op else { continue };
                    let rule = Op::MapRule {
                        mode: "jvp",
                        jvp: jvp.clone(),
                    };
                    self.func.push_op(rule, vec![args[0], t], y, span, out)
                }
                Partial::At => {
                    let mut at = vec![t];
                    at.extend(&args[1..]);
                    self.func.push_op(Op::At, at, y, span, out)
                }
                // The same field of the parameter's tangent, by reference.
                Partial::Field => {
                    let v = self.func.push_op(op.clone(), vec![t], y, span, out);
                    self.func.values[v.index()].by_ref = true;
                    v
                }
                Partial::Runtime { op, slot } if self.symbolic => {
                    match self.symbolic_partial(op, slot, args, y, t, span, out) {
                        Some(v) => v,
                        None => {
                            let name = Partial::runtime_name(op, slot, "jvp");
                            self.missing.push((name, span));
                            continue;
                        }
                    }
                }
                Partial::Runtime { op, slot } => {
                    let v = self.fresh(y, false);
                    out.push(Inst::new(
                        vec![v],
                        rules::runtime_call(op, slot, "jvp", args, y, t),
                        span,
                    ));
                    v
                }
            };
            terms.push(term);
        }
        let d_y = self.sum(terms, y, span, out);
        let info = &mut self.func.values[d_y.index()];
        if info.name.is_none() && info.role == Role::Primal {
            info.role = Role::Derivative(y);
        }
        self.tangent.insert(y, d_y);
    }

    /// `∂y/∂args[slot] · t` written with IR operations, for the rules that have such a
    /// form; `None` for the others.
    #[allow(clippy::too_many_arguments)]
    fn symbolic_partial(
        &mut self,
        op: &str,
        slot: Option<&str>,
        args: &[Value],
        y: Value,
        t: Value,
        span: Span,
        out: &mut Vec<Inst>,
    ) -> Option<Value> {
        use std::f64::consts::{LN_10, LN_2, PI};
        let a = args[0];
        let b = args.get(1).copied();
        let one = self.constant(1.0, y, span, out);
        let mut p = |op: Op, xs: Vec<Value>| self.func.push_op(op, xs, y, span, out);
        let v = match (op, slot) {
            ("mul", Some("lhs")) => p(Op::Mul, vec![t, b?]),
            ("mul", Some("rhs")) => p(Op::Mul, vec![a, t]),
            ("div", Some("lhs")) => p(Op::Div, vec![t, b?]),
            // d(a/b)/db = −y/b
            ("div", Some("rhs")) => {
                let q = p(Op::Div, vec![y, b?]);
                let m = p(Op::Mul, vec![q, t]);
                p(Op::Neg, vec![m])
            }
            ("exp", None) => p(Op::Mul, vec![y, t]),
            ("ln", None) => p(Op::Div, vec![t, a]),
            // d√a = 1/(2y)
            ("sqrt", None) => {
                let twice = p(Op::Add, vec![y, y]);
                p(Op::Div, vec![t, twice])
            }
            ("sin", None) => {
                let c = p(Op::Fun(Fun::Cos), vec![a]);
                p(Op::Mul, vec![c, t])
            }
            ("cos", None) => {
                let s = p(Op::Fun(Fun::Sin), vec![a]);
                let m = p(Op::Mul, vec![s, t]);
                p(Op::Neg, vec![m])
            }
            // d tanh = 1 − y²
            ("tanh", None) => {
                let yt = p(Op::Mul, vec![y, t]);
                let yyt = p(Op::Mul, vec![y, yt]);
                p(Op::Sub, vec![t, yyt])
            }
            // d(1/a) = −y²
            ("recip", None) => {
                let yt = p(Op::Mul, vec![y, t]);
                let yyt = p(Op::Mul, vec![y, yt]);
                p(Op::Neg, vec![yyt])
            }
            // d tan = 1 + y²
            ("tan", None) => {
                let yy = p(Op::Mul, vec![y, y]);
                let d = p(Op::Add, vec![one, yy]);
                p(Op::Mul, vec![d, t])
            }
            // d asin = 1/√(1 − a²), d acos = −1/√(1 − a²)
            ("asin" | "acos", None) => {
                let aa = p(Op::Mul, vec![a, a]);
                let r = p(Op::Sub, vec![one, aa]);
                let r = p(Op::Fun(Fun::Sqrt), vec![r]);
                let q = p(Op::Div, vec![t, r]);
                if op == "acos" {
                    p(Op::Neg, vec![q])
                } else {
                    q
                }
            }
            // d atan = 1/(1 + a²), d atanh = 1/(1 − a²)
            ("atan" | "atanh", None) => {
                let aa = p(Op::Mul, vec![a, a]);
                let kind = if op == "atan" { Op::Add } else { Op::Sub };
                let r = p(kind, vec![one, aa]);
                p(Op::Div, vec![t, r])
            }
            ("sinh", None) => {
                let c = p(Op::Fun(Fun::Cosh), vec![a]);
                p(Op::Mul, vec![c, t])
            }
            ("cosh", None) => {
                let s = p(Op::Fun(Fun::Sinh), vec![a]);
                p(Op::Mul, vec![s, t])
            }
            // d asinh = 1/√(a² + 1), d acosh = 1/√(a² − 1)
            ("asinh" | "acosh", None) => {
                let aa = p(Op::Mul, vec![a, a]);
                let kind = if op == "asinh" { Op::Add } else { Op::Sub };
                let r = p(kind, vec![aa, one]);
                let r = p(Op::Fun(Fun::Sqrt), vec![r]);
                p(Op::Div, vec![t, r])
            }
            // d exp_m1 = y + 1, d ln_1p = 1/(1 + a)
            ("exp_m1", None) => {
                let d = p(Op::Add, vec![y, one]);
                p(Op::Mul, vec![d, t])
            }
            ("ln_1p", None) => {
                let d = p(Op::Add, vec![one, a]);
                p(Op::Div, vec![t, d])
            }
            // d cbrt = 1/(3y²)
            ("cbrt", None) => {
                let yy = p(Op::Mul, vec![y, y]);
                let d = p(Op::Add, vec![yy, yy]);
                let d = p(Op::Add, vec![d, yy]);
                p(Op::Div, vec![t, d])
            }
            ("abs", None) => {
                let s = p(Op::Fun(Fun::Signum), vec![a]);
                p(Op::Mul, vec![s, t])
            }
            // d aᵇ/da = b·a^(b−1), d aᵇ/db = y·ln a
            ("powf", Some("base")) => {
                let b = b?;
                let b1 = p(Op::Sub, vec![b, one]);
                let pw = p(Op::Fun(Fun::Powf), vec![a, b1]);
                let d = p(Op::Mul, vec![b, pw]);
                p(Op::Mul, vec![d, t])
            }
            ("powf", Some("exp")) => {
                let l = p(Op::Fun(Fun::Ln), vec![a]);
                let d = p(Op::Mul, vec![y, l]);
                p(Op::Mul, vec![d, t])
            }
            // d hypot(a, b)/da = a/y, /db = b/y
            ("hypot", Some("lhs")) => {
                let q = p(Op::Div, vec![a, y]);
                p(Op::Mul, vec![q, t])
            }
            ("hypot", Some("rhs")) => {
                let q = p(Op::Div, vec![b?, y]);
                p(Op::Mul, vec![q, t])
            }
            ("exp2" | "log2" | "log10" | "to_degrees" | "to_radians", None) => {
                let factor = match op {
                    "exp2" => LN_2,
                    "log2" => 1.0 / LN_2,
                    "log10" => 1.0 / LN_10,
                    "to_degrees" => 180.0 / PI,
                    _ => PI / 180.0,
                };
                let c = self.constant(factor, y, span, out);
                let mut p = |op: Op, xs: Vec<Value>| self.func.push_op(op, xs, y, span, out);
                let ct = p(Op::Mul, vec![c, t]);
                match op {
                    "exp2" => p(Op::Mul, vec![y, ct]),
                    "log2" | "log10" => p(Op::Div, vec![ct, a]),
                    _ => ct,
                }
            }
            ("powi", None) => self.powi_partial(a, b?, y, t, span, out)?,
            // d log_b(a)/da = 1/(a·ln b), d log_b(a)/db = −y/(b·ln b)
            ("log", Some("x")) => {
                let lb = p(Op::Fun(Fun::Ln), vec![b?]);
                let d = p(Op::Mul, vec![a, lb]);
                p(Op::Div, vec![t, d])
            }
            ("log", Some("base")) => {
                let b = b?;
                let lb = p(Op::Fun(Fun::Ln), vec![b]);
                let d = p(Op::Mul, vec![b, lb]);
                let q = p(Op::Div, vec![y, d]);
                let m = p(Op::Mul, vec![q, t]);
                p(Op::Neg, vec![m])
            }
            // d atan2(a, b)/da = b/(a² + b²), d atan2(a, b)/db = −a/(a² + b²)
            ("atan2", Some(slot)) => {
                let b = b?;
                let (aa, bb) = (p(Op::Mul, vec![a, a]), p(Op::Mul, vec![b, b]));
                let r = p(Op::Add, vec![aa, bb]);
                let num = if slot == "y" { b } else { a };
                let q = p(Op::Div, vec![num, r]);
                let m = p(Op::Mul, vec![q, t]);
                if slot == "y" {
                    m
                } else {
                    p(Op::Neg, vec![m])
                }
            }
            // a.mul_add(m, c) = a·m + c
            ("mul_add", Some("x")) => p(Op::Mul, vec![t, b?]),
            ("mul_add", Some("a")) => p(Op::Mul, vec![a, t]),
            // a % b = a − trunc(a/b)·b
            ("rem", Some("rhs")) => {
                let q = p(Op::Div, vec![a, b?]);
                let q = p(Op::Fun(Fun::Trunc), vec![q]);
                let m = p(Op::Mul, vec![q, t]);
                p(Op::Neg, vec![m])
            }
            ("max" | "min" | "clamp", Some(slot)) => {
                let cond = self.selects(op, slot, args, span, out)?;
                self.select(cond, t, y, span, out)
            }
            _ => return None,
        };
        Some(v)
    }

    /// Whether the piecewise operation `op` (`max`, `min`, `clamp`) passes operand `slot`
    /// through, as the runtime's rules decide it: `max` and `min` give ties to the first
    /// operand and ignore a NaN second one; `clamp` gives the bounds themselves to `x`.
    fn selects(
        &mut self,
        op: &str,
        slot: &str,
        args: &[Value],
        span: Span,
        out: &mut Vec<Inst>,
    ) -> Option<Value> {
        use crate::ir::{CmpOp, Ty};
        let mut b = |op: Op, xs: Vec<Value>| {
            let v = self.func.new_value(None, span, Ty::Bool);
            out.push(Inst::new(vec![v], InstKind::Op(op, xs), span));
            v
        };
        let (x, other) = (args[0], *args.get(1)?);
        Some(match (op, slot) {
            ("max" | "min", _) => {
                let cmp = if op == "max" { CmpOp::Ge } else { CmpOp::Le };
                let first = b(Op::Cmp(cmp), vec![x, other]);
                let nan = b(Op::Cmp(CmpOp::Ne), vec![other, other]);
                let first = b(Op::BitOr, vec![first, nan]);
                if slot == "lhs" {
                    first
                } else {
                    b(Op::Not, vec![first])
                }
            }
            ("clamp", "x") => {
                let hi = *args.get(2)?;
                let below = b(Op::Cmp(CmpOp::Lt), vec![x, other]);
                let above = b(Op::Cmp(CmpOp::Gt), vec![x, hi]);
                let outside = b(Op::BitOr, vec![below, above]);
                b(Op::Not, vec![outside])
            }
            ("clamp", "lo") => b(Op::Cmp(CmpOp::Lt), vec![x, other]),
            ("clamp", "hi") => b(Op::Cmp(CmpOp::Gt), vec![x, *args.get(2)?]),
            _ => return None,
        })
    }

    /// `if cond { t } else { 0 }`, zero of `y`'s type.
    fn select(
        &mut self,
        cond: Value,
        t: Value,
        y: Value,
        span: Span,
        out: &mut Vec<Inst>,
    ) -> Value {
        let mut els = Vec::new();
        let zero = self.func.push_float(0.0, y, span, &mut els);
        let v = self.func.new_derived(Role::Primal, y);
        let then = Block {
            insts: Vec::new(),
            yields: vec![t],
        };
        let els = Block {
            insts: els,
            yields: vec![zero],
        };
        out.push(Inst::new(vec![v], InstKind::If { cond, then, els }, span));
        v
    }

    /// `d aⁿ = n·a^(n−1)` for an integer `n`: `n` is cast to the float type of `y`.
    fn powi_partial(
        &mut self,
        a: Value,
        n: Value,
        y: Value,
        t: Value,
        span: Span,
        out: &mut Vec<Inst>,
    ) -> Option<Value> {
        use crate::ir::{Const, Ty};
        let float = self.func.ty(y);
        let ty = match float {
            Ty::F64 => quote::quote!(f64),
            Ty::F32 => quote::quote!(f32),
            _ => return None,
        };
        let int = |f: &mut Func, kind: InstKind, out: &mut Vec<Inst>| {
            let v = f.new_value(None, span, Ty::Int);
            out.push(Inst::new(vec![v], kind, span));
            v
        };
        let one = int(
            self.func,
            InstKind::Op(
                Op::Const(Const::Int(proc_macro2::Literal::i32_unsuffixed(1))),
                vec![],
            ),
            out,
        );
        let n1 = int(self.func, InstKind::Op(Op::Sub, vec![n, one]), out);
        let nf = self
            .func
            .push_op(Op::Cast { ty, to: float }, vec![n], y, span, out);
        let pw = self
            .func
            .push_op(Op::Fun(Fun::Powi), vec![a, n1], y, span, out);
        let d = self.func.push_op(Op::Mul, vec![nf, pw], y, span, out);
        Some(self.func.push_op(Op::Mul, vec![d, t], y, span, out))
    }

    /// A float constant of `like`'s type.
    fn constant(&mut self, value: f64, like: Value, span: Span, out: &mut Vec<Inst>) -> Value {
        self.func.push_float(value, like, span, out)
    }

    /// A value of `like`'s type; named as its tangent if `named`.
    fn fresh(&mut self, like: Value, named: bool) -> Value {
        let role = if named {
            Role::Derivative(like)
        } else {
            Role::Primal
        };
        self.func.new_derived(role, like)
    }

    fn sum(&mut self, terms: Vec<Value>, y: Value, span: Span, out: &mut Vec<Inst>) -> Value {
        match terms.as_slice() {
            [] => self.zero(y, out),
            [t] => *t,
            _ => {
                let v = self.fresh(y, true);
                out.push(Inst::new(vec![v], InstKind::Sum(terms), span));
                v
            }
        }
    }

    /// `a' = store(a, i, v)` (or `push`): the tangent array gets `v`'s tangent at `i`. A zero tangent
    /// array is made first if `a` has none (before the primal write moves `a`).
    fn store(&mut self, op: &Op, a: Value, i: Value, v: Value, inst: &Inst, out: &mut Vec<Inst>) {
        let t_a = match self.tangent.get(&a) {
            Some(&t) => t,
            None => {
                let z = self.func.new_derived(Role::Derivative(a), a);
                out.push(Inst::new(vec![z], InstKind::ZeroLike(a), inst.span));
                z
            }
        };
        out.push(inst.clone());
        let t_v = self.tangent_or_zero_like(v, out);
        let y = inst.outs[0];
        let t_y = self.tangent_value(y);
        out.push(Inst::new(
            vec![t_y],
            InstKind::Op(op.clone(), vec![t_a, i, t_v]),
            inst.span,
        ));
    }

    /// `(y, d_y) = g_jvp(args.., tangents of the float arguments..)`.
    /// Tangents are passed like their primals: borrowed where the primal is.
    fn call(
        &mut self,
        path: &proc_macro2::TokenStream,
        form: &CallForm,
        args: &[Value],
        inst: &Inst,
        out: &mut Vec<Inst>,
    ) {
        let mut all = args.to_vec();
        let mut form = form.clone();
        form.borrowed.resize(args.len(), false);
        for (i, &a) in args.iter().enumerate() {
            if self.func.ty(a).is_differentiable() {
                let t = self.tangent_or_zero(a, out);
                all.push(t);
                // Passed as a reference wherever the primal is one.
                let by_ref = form.borrowed[i] || self.func.info(a).by_ref;
                form.borrowed.push(by_ref);
            }
        }
        let y = inst.outs[0];
        let d_y = self.tangent_value(y);
        if self.symbolic {
            // For `f_dir`: the callee's value and its own `g_dir`, two ordinary calls that
            // are differentiated again like any other (the callee must be `nested` too).
            if form.method {
                self.missing.push((format!("{path}_jvp"), inst.span));
            }
            out.push(inst.clone());
            let dir = Op::Call {
                path: crate::emit::suffixed_path(path, "_dir"),
                form,
            };
            out.push(Inst::new(vec![d_y], InstKind::Op(dir, all), inst.span));
            return;
        }
        out.push(Inst::new(
            vec![y, d_y],
            InstKind::CallJvp {
                path: path.clone(),
                args: all,
                form,
            },
            inst.span,
        ));
    }

    /// The loop with a tangent carried next to each active carried value.
    fn loop_inst(&mut self, inst: &Inst, lp: &Loop, out: &mut Vec<Inst>) {
        let slots: Vec<usize> = (0..lp.params.len())
            .filter(|&i| self.act.slot_active(lp, &inst.outs, i))
            .collect();
        let mut t = lp.clone();
        for &i in &slots {
            let tp = self.tangent_value(lp.params[i]);
            t.params.push(tp);
            let init = self.tangent_or_zero_like(lp.inits[i], out);
            t.inits.push(init);
        }
        if let LoopKind::While { cond } = &mut t.kind {
            *cond = self.block(cond);
        }
        t.body = self.block(&lp.body);
        for &i in &slots {
            let y = self.tangent_or_zero_like(lp.body.yields[i], &mut t.body.insts);
            t.body.yields.push(y);
        }
        let mut outs = inst.outs.clone();
        for &i in &slots {
            outs.push(self.tangent_value(inst.outs[i]));
        }
        out.push(Inst::new(outs, InstKind::Loop(Box::new(t)), inst.span));
    }

    /// The tangent of `v`, or a zero of `v`'s type (a carried tangent needs its type known
    /// where it is declared).
    fn tangent_or_zero_like(&mut self, v: Value, insts: &mut Vec<Inst>) -> Value {
        if let Some(&t) = self.tangent.get(&v) {
            return t;
        }
        let span = self.func.info(v).span;
        let z = self.func.new_derived(Role::Derivative(v), v);
        insts.push(Inst::new(vec![z], InstKind::ZeroLike(v), span));
        z
    }

    /// The `if` with the tangents of its active results appended to its results.
    fn branch(&mut self, inst: &Inst, cond: Value, then: &Block, els: &Block, out: &mut Vec<Inst>) {
        let mut then_t = self.block(then);
        let mut els_t = self.block(els);
        let mut outs = inst.outs.clone();
        for (i, &o) in inst.outs.iter().enumerate() {
            if !self.act.is_active(o) {
                continue;
            }
            let t = self.tangent_or_zero(then.yields[i], &mut then_t.insts);
            then_t.yields.push(t);
            let e = self.tangent_or_zero(els.yields[i], &mut els_t.insts);
            els_t.yields.push(e);
            outs.push(self.tangent_value(o));
        }
        out.push(Inst::new(
            outs,
            InstKind::If {
                cond,
                then: then_t,
                els: els_t,
            },
            inst.span,
        ));
    }
}
