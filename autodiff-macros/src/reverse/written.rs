//! The reverse sweep written out as ordinary IR, for `nested`: `f_grad_k_of_n(x..) =
//! ∂f/∂x_k`, one function per active parameter, which `#[differentiable]` differentiates
//! again (forward over reverse: `f_grad_k_of_n_jvp`; reverse over reverse:
//! `f_grad_k_of_n_vjp`).
//!
//! It is the same adjoint the pullback closure runs (`Reverse::sweep`), built for the
//! `Ordinary` target: partials as the rule table's formulas instead of runtime calls, a
//! call `y = g(a, ..)` of another `nested` function as `g_grad_i_of_n(a, ..) · d_y`, and
//! the seed `d_y = 1`. It is then placed after the primal instead of in a closure, and
//! what only derivative code has becomes ordinary IR (`Lowering`):
//! - a sum of contributions becomes additions, a zero cotangent the constant `0.0`;
//! - a loop's record becomes one `Vec` per recorded item, pushed at the end of each
//!   iteration, and the adjoint loop over the tape a loop over those `Vec`s' indices
//!   backwards that reads each item;
//! - blocks computed again define their values again, so they get fresh ones
//!   (`Func::rename_redefinitions`).
//!
//! Every partial comes out of the same sweep; each keeps, after dead-code elimination,
//! what its own partial reads. Active arrays and objects have cotangent buffers, which
//! ordinary IR cannot write: for a function with active ones no partial is generated.

use super::sweep::Site;
use super::*;
use crate::ir::Const;

/// A function the written-out sweep cannot express as ordinary IR.
#[derive(Debug)]
pub struct Unsupported;

/// `f_grad_k_of_n` for each of the `n` active parameters, in order.
pub fn partials(func: &Func, act: &Activity, active: &[Value]) -> Result<Vec<Func>, Unsupported> {
    if !active_values_are_floats(func, act) {
        return Err(Unsupported);
    }
    let mut out = func.derived("_grad");
    let mut rev = Reverse::new(&mut out, func, act, active, Target::Ordinary);
    let swept = rev.sweep(func, active, &[]);
    if rev.unsupported {
        return Err(Unsupported);
    }
    let mut body = swept.primal;
    body.insts.extend(swept.adjoint);
    fill_records(&mut body, &std::mem::take(&mut rev.records));
    out.body = Lowering { func: &mut out }.block(body, &HashMap::new())?;
    out.rename_redefinitions();
    let n = swept.grads.len();
    Ok(swept
        .grads
        .iter()
        .enumerate()
        .map(|(k, &g)| {
            let mut f = out.clone();
            f.name = format!("{}{}", func.name, crate::names::partial_suffix(k, n));
            f.results = vec![g];
            f
        })
        .collect())
}

/// The partials of the `Ordinary` target (see `sweep::op`).
impl Reverse<'_> {
    /// A partial as ordinary IR: the rule's formula, the tangent rule with the result's
    /// cotangent in place of the operand's tangent.
    pub(super) fn formula(
        &mut self,
        rule: RuntimeRule,
        site: &Site<'_>,
        out: &mut Vec<Inst>,
    ) -> Option<Value> {
        let Some(formula) = rule.formula else {
            self.unsupported = true;
            return None;
        };
        let mut b = Builder {
            func: self.func,
            out,
            like: site.y,
            span: site.span,
        };
        let operands = Operands {
            args: site.args,
            y: site.y,
            t: site.d_y,
        };
        let term = b.apply(formula, operands);
        self.unsupported |= term.is_none();
        term
    }

    /// `y = g(args)` in the written-out sweep: the `i`-th of the `n` float arguments gets
    /// `g_grad_i_of_n(args) · d_y` (the callee is `nested` too).
    pub(super) fn call_partials(
        &mut self,
        path: &proc_macro2::TokenStream,
        form: &crate::ir::CallForm,
        (args, y, d_y, span): (&[Value], Value, Value, Span),
        adj: &mut Adjoints,
        out: &mut Vec<Inst>,
    ) {
        // A tuple result has no partials of the `g_grad_i_of_n` kind.
        if form.parts > 1 {
            self.unsupported = true;
            return;
        }
        let floats: Vec<Value> = args
            .iter()
            .copied()
            .filter(|&a| self.func.ty(a).is_differentiable())
            .collect();
        let n = floats.len();
        for (i, a) in floats.into_iter().enumerate() {
            if !self.act.is_active(a) {
                continue;
            }
            if form.method || !self.func.ty(a).is_float() {
                self.unsupported = true;
                return;
            }
            let partial = Op::Call {
                path: crate::names::suffixed_path(path, &crate::names::partial_suffix(i, n)),
                form: form.clone(),
            };
            let g = self.func.push_op(partial, args.to_vec(), y, span, out);
            let term = self.func.push_op(Op::Mul, vec![g, d_y], y, span, out);
            adj.add(a, term);
        }
    }
}

/// Whether every active value is a float: arrays and objects have buffers (see above).
fn active_values_are_floats(func: &Func, act: &Activity) -> bool {
    (0..func.values.len()).all(|i| {
        let v = Value(u32::try_from(i).unwrap_or(u32::MAX));
        !act.is_active(v) || func.ty(v).is_float()
    })
}

/// Turns the instructions only derivative code has into ordinary IR (see the module).
struct Lowering<'f> {
    func: &'f mut Func,
}

/// The `Vec`s that hold a loop's records, by the loop's tape, in the order of its items.
type Tapes = HashMap<Value, Vec<Value>>;

impl Lowering<'_> {
    /// `block` lowered; `outer` are the tapes of the enclosing scopes.
    fn block(&mut self, block: Block, outer: &Tapes) -> Result<Block, Unsupported> {
        let mut tapes = outer.clone();
        let mut out = Vec::new();
        for inst in block.insts {
            self.inst(inst, &mut tapes, &mut out)?;
        }
        Ok(Block {
            insts: out,
            yields: block.yields,
        })
    }

    fn inst(
        &mut self,
        inst: Inst,
        tapes: &mut Tapes,
        out: &mut Vec<Inst>,
    ) -> Result<(), Unsupported> {
        let Inst { outs, kind, span } = inst;
        match kind {
            InstKind::Op(..) => out.push(Inst { outs, kind, span }),
            InstKind::Sum(parts) => self.sum(outs[0], &parts, span, out)?,
            InstKind::Zero | InstKind::ZeroLike(_) => self.zero(outs[0], span, out)?,
            InstKind::If { cond, then, els } => {
                let (then, els) = (self.block(then, tapes)?, self.block(els, tapes)?);
                out.push(Inst::new(outs, InstKind::If { cond, then, els }, span));
            }
            InstKind::Loop(lp) => self.lower_loop(outs, *lp, span, tapes, out)?,
            InstKind::Rule { .. }
            | InstKind::Buffer { .. }
            | InstKind::TakeAt { .. }
            | InstKind::AddAt { .. }
            | InstKind::AddAll { .. }
            | InstKind::AddRun(_)
            | InstKind::Window { .. }
            | InstKind::CallJvp { .. }
            | InstKind::CallVjp { .. }
            | InstKind::Needs
            | InstKind::Guard { .. }
            | InstKind::AddField { .. }
            | InstKind::AddElem { .. }
            | InstKind::Pullback { .. }
            | InstKind::Closure { .. } => return Err(Unsupported),
        }
        Ok(())
    }

    /// `d = a + b + ..`, the last addition defining `d` (the sweep sums two parts or
    /// more: one is used as it is).
    fn sum(
        &mut self,
        d: Value,
        parts: &[Value],
        span: Span,
        out: &mut Vec<Inst>,
    ) -> Result<(), Unsupported> {
        let [first, middle @ .., last] = parts else {
            return Err(Unsupported);
        };
        let acc = middle.iter().fold(*first, |acc, &t| {
            self.func.push_op(Op::Add, vec![acc, t], d, span, out)
        });
        out.push(Inst::new(
            vec![d],
            InstKind::Op(Op::Add, vec![acc, *last]),
            span,
        ));
        Ok(())
    }

    /// A float cotangent that is zero.
    fn zero(&mut self, d: Value, span: Span, out: &mut Vec<Inst>) -> Result<(), Unsupported> {
        if !self.func.ty(d).is_float() {
            return Err(Unsupported);
        }
        let lit = proc_macro2::Literal::f64_unsuffixed(0.0);
        let zero = Op::Const(Const::Float { value: 0.0, lit });
        out.push(Inst::new(vec![d], InstKind::Op(zero, Vec::new()), span));
        Ok(())
    }

    /// A loop with its blocks lowered, its record as `Vec`s, and a loop over a tape as a
    /// loop over those `Vec`s.
    fn lower_loop(
        &mut self,
        mut outs: Vec<Value>,
        mut lp: Loop,
        span: Span,
        tapes: &mut Tapes,
        out: &mut Vec<Inst>,
    ) -> Result<(), Unsupported> {
        lp.body = self.block(std::mem::take(&mut lp.body), tapes)?;
        if let LoopKind::While { cond } = &mut lp.kind {
            *cond = self.block(std::mem::take(cond), tapes)?;
        }
        if let Some(record) = lp.record.take() {
            let vecs = self.record(&mut lp, record.items, span, out)?;
            outs.retain(|&o| o != record.tape);
            outs.extend(vecs.iter().map(|&(_, filled)| filled));
            tapes.insert(record.tape, vecs.into_iter().map(|(_, f)| f).collect());
        }
        if let LoopKind::Tape { tape, items, .. } = &lp.kind {
            let vecs = tapes.get(tape).ok_or(Unsupported)?.clone();
            let items = items.clone();
            self.replay(&mut lp, &items, &vecs, span, out);
        }
        out.push(Inst::new(outs, InstKind::Loop(Box::new(lp)), span));
        Ok(())
    }

    /// Each item pushed onto a `Vec` of its own, carried by the loop from empty, at the end
    /// of every iteration (an integer `0` when nothing is recorded: the records count the
    /// iterations too). Returns each `Vec`'s loop parameter and the loop's result.
    fn record(
        &mut self,
        lp: &mut Loop,
        mut items: Vec<Value>,
        span: Span,
        out: &mut Vec<Inst>,
    ) -> Result<Vec<(Value, Value)>, Unsupported> {
        if items.is_empty() {
            items.push(self.int(0, span, &mut lp.body.insts));
        }
        let mut vecs = Vec::new();
        for item in items {
            let ty = match self.func.ty(item) {
                Ty::F64 | Ty::Float => Ty::ArrayF64,
                Ty::F32 => Ty::ArrayF32,
                Ty::Int => Ty::ArrayInt,
                _ => return Err(Unsupported),
            };
            let mut array = || self.func.new_value(None, span, ty);
            let (empty, param, pushed, filled) = (array(), array(), array(), array());
            out.push(Inst::new(
                vec![empty],
                InstKind::Op(Op::EmptyVec, Vec::new()),
                span,
            ));
            let len = self.func.new_value(None, span, Ty::Int);
            let body = &mut lp.body.insts;
            body.push(Inst::new(
                vec![len],
                InstKind::Op(Op::Len, vec![param]),
                span,
            ));
            let push = InstKind::Op(Op::Push, vec![param, len, item]);
            body.push(Inst::new(vec![pushed], push, span));
            lp.params.push(param);
            lp.inits.push(empty);
            lp.body.yields.push(pushed);
            vecs.push((param, filled));
        }
        Ok(vecs)
    }

    /// A loop over a tape as `for t in (0..vecs[0].len()).rev()`, its body first reading
    /// each item from its `Vec`.
    fn replay(
        &mut self,
        lp: &mut Loop,
        items: &[Value],
        vecs: &[Value],
        span: Span,
        out: &mut Vec<Inst>,
    ) {
        let hi = self.func.new_value(None, span, Ty::Int);
        out.push(Inst::new(
            vec![hi],
            InstKind::Op(Op::Len, vec![vecs[0]]),
            span,
        ));
        let lo = self.int(0, span, out);
        let t = self.func.new_value(None, span, Ty::Int);
        let mut reads: Vec<Inst> = items
            .iter()
            .zip(vecs)
            .map(|(&item, &vec)| Inst::new(vec![item], InstKind::Op(Op::Index, vec![vec, t]), span))
            .collect();
        reads.append(&mut lp.body.insts);
        lp.body.insts = reads;
        let range = Range {
            lo,
            hi,
            inclusive: false,
            adapters: vec![Adapter::Rev],
        };
        lp.kind = LoopKind::For { index: t, range };
    }

    /// An integer constant.
    fn int(&mut self, n: usize, span: Span, out: &mut Vec<Inst>) -> Value {
        let v = self.func.new_value(None, span, Ty::Int);
        let lit = proc_macro2::Literal::usize_unsuffixed(n);
        out.push(Inst::new(
            vec![v],
            InstKind::Op(Op::Const(Const::Int(lit)), Vec::new()),
            span,
        ));
        v
    }
}
