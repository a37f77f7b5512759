//! The reverse sweep written out as IR, for `nested`: `f_grad_k_of_n(x..) = ∂f/∂x_k`, one
//! ordinary function per active parameter, which `#[differentiable]` differentiates again
//! (forward over reverse: `f_grad_k_of_n_jvp`; reverse over reverse: `f_grad_k_of_n_vjp`).
//!
//! Input: the optimised IR of `fn f(x..) -> y`, float code with branches and loops, and its
//! activity. Output: the primal, then the adjoint: last to first, each active `v` gets
//! `d_v = Σ_u ∂u/∂v · d_u` over its uses `u`, seeded with `d_y = 1`. The partials are the
//! formulas of the rule table (`rules`): for a scalar rule, the cotangent of an
//! operand is the tangent rule with the result's cotangent in place of the operand's
//! tangent. A call `y = g(a, ..)` of another `nested` function gives its `i`-th float
//! argument `g_grad_i_of_n(a, ..) · d_y`.
//!
//! An `if` on active values becomes an `if` on the same condition after it in the sweep:
//! each branch computes its values again (fresh copies: the primal's are not visible
//! outside its branch), runs its own sweep seeded with the cotangents of the `if`'s
//! results, and yields what it adds to values defined outside it (zero where the other
//! branch adds something and it does not).
//!
//! A loop is run again recording its index and carried values, one `Vec` each; its
//! adjoint is a loop over the records backwards that computes each iteration again from
//! them and runs the iteration's sweep (see `loop_adjoint`).
//!
//! Every partial comes out of the same sweep; each partial keeps, after dead-code
//! elimination, what its own partial reads. The sweep does not write arrays yet (`f_dir`
//! does): for a function that reads or writes arrays no partial is generated.

use crate::activity::Activity;
use crate::ir::{
    Adapter, Block, Const, Func, Inst, InstKind, Loop, LoopKind, Op, Range, Role, Ty, Value,
};
use crate::rules::{self, Builder, Operands, Partial, Rule};
use proc_macro2::Span;
use std::collections::{BTreeMap, HashMap, HashSet};

/// A construct the sweep has no adjoint arithmetic for.
pub struct Unsupported;

/// `f_grad_k_of_n` for each of the `n` active parameters, in order.
pub fn partials(func: &Func, act: &Activity, active: &[Value]) -> Result<Vec<Func>, Unsupported> {
    let mut out = func.derived("_grad");
    let mut insts = func.body.insts.clone();
    let mut sweep = Sweep {
        func: &mut out,
        act,
        adj: HashMap::new(),
        origin: HashMap::new(),
    };
    let result = func.results[0];
    let span = func.info(result).span;
    if act.is_active(result) {
        let one = sweep.func.push_float(1.0, result, span, &mut insts);
        sweep.add(result, one);
    }
    for inst in func.body.insts.iter().rev() {
        sweep.inst(inst, &mut insts)?;
    }
    let grads: Vec<Value> = active.iter().map(|&p| sweep.total(p, &mut insts)).collect();
    let n = grads.len();
    Ok(grads
        .into_iter()
        .enumerate()
        .map(|(k, g)| {
            let mut f = out.clone();
            f.name = format!("{}{}", func.name, crate::names::partial_suffix(k, n));
            f.body = Block {
                insts: insts.clone(),
                yields: Vec::new(),
            };
            f.results = vec![g];
            f
        })
        .collect())
}

struct Sweep<'a> {
    func: &'a mut Func,
    act: &'a Activity,
    /// The cotangent contributions each value has received so far.
    adj: HashMap<Value, Vec<Value>>,
    /// For the fresh copy of a value computed in a branch, the value it copies.
    origin: HashMap<Value, Value>,
}

impl Sweep<'_> {
    /// Whether `v` (or the value it is a fresh copy of) is active.
    fn active(&self, v: Value) -> bool {
        self.act.is_active(*self.origin.get(&v).unwrap_or(&v))
    }

    fn add(&mut self, v: Value, d: Value) {
        self.adj.entry(v).or_default().push(d);
    }

    /// `d_v`: the sum of `v`'s contributions, as additions (zero without any).
    fn total(&mut self, v: Value, out: &mut Vec<Inst>) -> Value {
        let terms = self.adj.remove(&v).unwrap_or_default();
        let span = self.func.info(v).span;
        let Some((&first, rest)) = terms.split_first() else {
            return self.func.push_float(0.0, v, span, out);
        };
        rest.iter().fold(first, |acc, &t| {
            self.func.push_op(Op::Add, vec![acc, t], v, span, out)
        })
    }

    fn inst(&mut self, inst: &Inst, out: &mut Vec<Inst>) -> Result<(), Unsupported> {
        let active = inst.outs.iter().any(|&o| self.active(o));
        match &inst.kind {
            InstKind::Op(op, args) if active => {
                let y = inst.outs[0];
                if !self.adj.contains_key(&y) {
                    return Ok(());
                }
                let d_y = self.total(y, out);
                self.func.values[d_y.index()].role = Role::Derivative(y);
                self.op(op, args, y, d_y, inst.span, out)
            }
            InstKind::If { cond, then, els } if active => {
                self.branch(inst, *cond, [then, els], out)
            }
            InstKind::Loop(lp) if active => self.loop_adjoint(inst, lp, out),
            _ => Ok(()),
        }
    }

    /// The adjoint of `outs = if cond { then } else { els }`: an `if` on `cond` whose
    /// branches yield their contributions to values defined outside them.
    fn branch(
        &mut self,
        inst: &Inst,
        cond: Value,
        branches: [&Block; 2],
        out: &mut Vec<Inst>,
    ) -> Result<(), Unsupported> {
        let mut seeds = Vec::new();
        for (k, &o) in inst.outs.iter().enumerate() {
            if self.active(o) && self.adj.contains_key(&o) {
                seeds.push((k, self.total(o, out)));
            }
        }
        if seeds.is_empty() {
            return Ok(());
        }
        let [then, els] = branches.map(|b| self.branch_adjoint(b, &seeds));
        let ((mut then, then_adds), (mut els, els_adds)) = (then?, els?);
        let targets = crate::ir::union_keys(&then_adds, &els_adds);
        for (block, adds) in [(&mut then, &then_adds), (&mut els, &els_adds)] {
            for &v in &targets {
                let d = match adds.get(&v) {
                    Some(&d) => d,
                    None => self.func.push_float(0.0, v, inst.span, &mut block.insts),
                };
                block.yields.push(d);
            }
        }
        let outs: Vec<Value> = targets
            .iter()
            .map(|&v| self.func.new_derived(Role::Derivative(v), v))
            .collect();
        for (&v, &d) in targets.iter().zip(&outs) {
            self.add(v, d);
        }
        let kind = InstKind::If { cond, then, els };
        out.push(Inst::new(outs, kind, inst.span));
        Ok(())
    }

    /// A branch's values computed again, then its sweep seeded with `seeds` (result
    /// index, cotangent) on its yields; and what it adds to each value defined outside it.
    fn branch_adjoint(
        &mut self,
        block: &Block,
        seeds: &[(usize, Value)],
    ) -> Result<(Block, BTreeMap<Value, Value>), Unsupported> {
        let copy = self.fresh_copy(block, &mut HashMap::new());
        let mut insts = copy.insts.clone();
        let (_, adds) = self.sweep_copy(&copy, seeds, &[], &mut insts)?;
        Ok((
            Block {
                insts,
                yields: Vec::new(),
            },
            adds.into_iter().collect(),
        ))
    }

    /// The sweep of `copy` (a fresh copy whose values `insts` already computes), seeded
    /// with `seeds` (yield index, cotangent), kept apart from the contributions outside:
    /// the totals of `local` (values defined for it), and the totals of what it adds to
    /// each value defined outside it, in a fixed order.
    #[allow(clippy::type_complexity)]
    fn sweep_copy(
        &mut self,
        copy: &Block,
        seeds: &[(usize, Value)],
        local: &[Value],
        insts: &mut Vec<Inst>,
    ) -> Result<(Vec<Value>, Vec<(Value, Value)>), Unsupported> {
        let outer = std::mem::take(&mut self.adj);
        for &(k, d) in seeds {
            if self.active(copy.yields[k]) {
                self.add(copy.yields[k], d);
            }
        }
        let swept = copy
            .insts
            .iter()
            .rev()
            .try_for_each(|inst| self.inst(inst, insts));
        let totals = local.iter().map(|&v| self.total(v, insts)).collect();
        let defined: HashSet<Value> = copy.insts.iter().flat_map(|i| i.outs.clone()).collect();
        let mut escaping: Vec<Value> = self
            .adj
            .keys()
            .copied()
            .filter(|v| !defined.contains(v))
            .collect();
        escaping.sort();
        let adds = escaping
            .into_iter()
            .map(|v| (v, self.total(v, insts)))
            .collect();
        self.adj = outer;
        swept?;
        Ok((totals, adds))
    }

    /// `block` with a fresh value for everything it defines (its reads of those renamed
    /// to match, through `names`), so that it can be computed again in the same function.
    fn fresh_copy(&mut self, block: &Block, names: &mut HashMap<Value, Value>) -> Block {
        let rename = |names: &HashMap<Value, Value>, v: Value| *names.get(&v).unwrap_or(&v);
        let mut insts = Vec::new();
        for inst in &block.insts {
            let mut inst = inst.clone();
            inst.map_header_uses(&mut |v| rename(names, v));
            if let InstKind::Loop(lp) = &mut inst.kind {
                let index = match &mut lp.kind {
                    LoopKind::For { index, .. } => Some(index),
                    _ => None,
                };
                for v in lp.params.iter_mut().chain(index) {
                    *v = self.fresh(*v, names);
                }
            }
            for b in inst.blocks_mut() {
                *b = self.fresh_copy(b, names);
            }
            for o in &mut inst.outs {
                *o = self.fresh(*o, names);
            }
            insts.push(inst);
        }
        let yields = block.yields.iter().map(|&v| rename(names, v)).collect();
        Block { insts, yields }
    }

    /// A fresh copy of `v` (renamed in `names`), active where `v` is.
    fn fresh(&mut self, v: Value, names: &mut HashMap<Value, Value>) -> Value {
        let fresh = self.func.new_derived(Role::Primal, v);
        let origin = *self.origin.get(&v).unwrap_or(&v);
        self.origin.insert(fresh, origin);
        names.insert(v, fresh);
        fresh
    }

    /// The adjoint of a loop (`for` or `while`): the loop again, recording its index and
    /// carried values in one `Vec` each; then a loop over the records backwards whose body computes the
    /// iteration again from them and runs its sweep. It carries the cotangents of the
    /// carried values (seeded with those of the loop's results) and the sums of what the
    /// iterations add to values defined outside the loop.
    fn loop_adjoint(
        &mut self,
        inst: &Inst,
        lp: &Loop,
        out: &mut Vec<Inst>,
    ) -> Result<(), Unsupported> {
        let index = loop_index(lp)?;
        let span = inst.span;
        let (slots, seeds) = self.loop_seeds(inst, lp, out);
        if seeds.is_empty() {
            return Ok(());
        }
        // The index and every carried value (the inactive ones are needed to compute the
        // iteration again): the records also count the iterations.
        let recorded: Vec<Value> = index.into_iter().chain(lp.params.clone()).collect();
        if recorded.is_empty() {
            return Err(Unsupported);
        }
        let first_param = usize::from(index.is_some());
        let tapes = self.recording(inst, &recorded, out)?;
        // The loop over the records, last first.
        let (t, range) = self.backwards_over(tapes[0], span, out);
        let mut names = HashMap::new();
        let (mut body, reads) = self.read_records(&recorded, &tapes, t, &mut names, span);
        let copy = self.fresh_copy(&lp.body, &mut names);
        let d_params: Vec<Value> = slots
            .iter()
            .map(|&s| {
                self.func
                    .new_derived(Role::Derivative(lp.params[s]), lp.params[s])
            })
            .collect();
        body.extend(copy.insts.iter().cloned());
        let carried: Vec<(usize, Value)> = slots.iter().copied().zip(d_params.clone()).collect();
        // What the iteration adds to its carried values is the cotangent the iteration
        // before receives; what it adds to values from outside is summed.
        let (totals, adds) = self.sweep_copy(&copy, &carried, &reads, &mut body)?;
        let mut yields: Vec<Value> = slots.iter().map(|&s| totals[first_param + s]).collect();
        let (escaping, adds): (Vec<Value>, Vec<Value>) = adds.into_iter().unzip();
        let mut params = d_params;
        let mut inits: Vec<Value> = slots
            .iter()
            .map(|&s| match seeds.get(&s) {
                Some(&d) => d,
                None => self.func.push_float(0.0, lp.params[s], span, out),
            })
            .collect();
        for (&v, &add) in escaping.iter().zip(&adds) {
            let acc = self.func.new_derived(Role::Derivative(v), v);
            params.push(acc);
            inits.push(self.func.push_float(0.0, v, span, out));
            let sum = self
                .func
                .push_op(Op::Add, vec![acc, add], v, span, &mut body);
            yields.push(sum);
        }
        let adjoint = Loop {
            kind: LoopKind::For { index: t, range },
            params,
            inits,
            body: Block {
                insts: body,
                yields,
            },
            record: None,
        };
        let outs = self.push_loop(adjoint, span, out);
        for (&s, &d) in slots.iter().zip(&outs) {
            if self.active(lp.inits[s]) {
                self.add(lp.inits[s], d);
            }
        }
        for (&v, &d) in escaping.iter().zip(&outs[slots.len()..]) {
            self.add(v, d);
        }
        Ok(())
    }

    /// Appends the loop, with one result per carried value; returns the results.
    fn push_loop(&mut self, lp: Loop, span: Span, out: &mut Vec<Inst>) -> Vec<Value> {
        let outs: Vec<Value> = lp
            .params
            .iter()
            .map(|&p| self.func.new_derived(self.func.info(p).role, p))
            .collect();
        out.push(Inst::new(outs.clone(), InstKind::Loop(Box::new(lp)), span));
        outs
    }

    /// The carried slots that need a cotangent, and the cotangents the loop's results
    /// received (by slot).
    fn loop_seeds(
        &mut self,
        inst: &Inst,
        lp: &Loop,
        out: &mut Vec<Inst>,
    ) -> (Vec<usize>, HashMap<usize, Value>) {
        let slots: Vec<usize> = (0..lp.params.len())
            .filter(|&s| self.active(lp.params[s]) || self.active(inst.outs[s]))
            .collect();
        let mut seeds = HashMap::new();
        for &s in &slots {
            let o = inst.outs[s];
            if self.adj.contains_key(&o) {
                seeds.insert(s, self.total(o, out));
            }
        }
        (slots, seeds)
    }

    /// An index `t` and the range `(0..tape.len()).rev()` it runs over.
    fn backwards_over(&mut self, tape: Value, span: Span, out: &mut Vec<Inst>) -> (Value, Range) {
        let int = |f: &mut Func, kind: InstKind, out: &mut Vec<Inst>| {
            let v = f.new_value(None, span, Ty::Int);
            out.push(Inst::new(vec![v], kind, span));
            v
        };
        let count = int(self.func, InstKind::Op(Op::Len, vec![tape]), out);
        let zero = Op::Const(Const::Int(proc_macro2::Literal::usize_unsuffixed(0)));
        let lo = int(self.func, InstKind::Op(zero, Vec::new()), out);
        let t = self.func.new_value(None, span, Ty::Int);
        let range = Range {
            lo,
            hi: count,
            inclusive: false,
            adapters: vec![Adapter::Rev],
        };
        (t, range)
    }

    /// `r = tape[t]` for each recorded value, under a fresh name: the start of an
    /// iteration of the adjoint loop, and the values read.
    fn read_records(
        &mut self,
        recorded: &[Value],
        tapes: &[Value],
        t: Value,
        names: &mut HashMap<Value, Value>,
        span: Span,
    ) -> (Vec<Inst>, Vec<Value>) {
        let mut body = Vec::new();
        let mut reads = Vec::new();
        for (&v, &tape) in recorded.iter().zip(tapes) {
            let r = self.fresh(v, names);
            let read = InstKind::Op(Op::Index, vec![tape, t]);
            body.push(Inst::new(vec![r], read, span));
            reads.push(r);
        }
        (body, reads)
    }

    /// The loop `inst` again, pushing each of `recorded` (its index and carried values) at
    /// the start of every iteration onto a `Vec` of its own; the filled `Vec`s.
    fn recording(
        &mut self,
        inst: &Inst,
        recorded: &[Value],
        out: &mut Vec<Inst>,
    ) -> Result<Vec<Value>, Unsupported> {
        let span = inst.span;
        let mut names = HashMap::new();
        let block = Block {
            insts: vec![inst.clone()],
            yields: Vec::new(),
        };
        let mut copy = self.fresh_copy(&block, &mut names).insts.remove(0);
        let InstKind::Loop(rec) = &mut copy.kind else {
            return Err(Unsupported);
        };
        let mut tapes = Vec::new();
        let mut pushes = Vec::new();
        for &v in recorded {
            let ty = match self.func.ty(v) {
                Ty::F64 | Ty::Float => Ty::ArrayF64,
                Ty::F32 => Ty::ArrayF32,
                Ty::Int => Ty::ArrayInt,
                _ => return Err(Unsupported),
            };
            let mut array = || self.func.new_value(None, span, ty);
            let (empty, tape, pushed, filled) = (array(), array(), array(), array());
            out.push(Inst::new(
                vec![empty],
                InstKind::Op(Op::EmptyVec, Vec::new()),
                span,
            ));
            let len = self.func.new_value(None, span, Ty::Int);
            pushes.push(Inst::new(
                vec![len],
                InstKind::Op(Op::Len, vec![tape]),
                span,
            ));
            let item = names[&v];
            let push = InstKind::Op(Op::Push, vec![tape, len, item]);
            pushes.push(Inst::new(vec![pushed], push, span));
            rec.params.push(tape);
            rec.inits.push(empty);
            rec.body.yields.push(pushed);
            copy.outs.push(filled);
            tapes.push(filled);
        }
        pushes.append(&mut rec.body.insts);
        rec.body.insts = pushes;
        out.push(copy);
        Ok(tapes)
    }

    /// The contributions of `y = op(args)` to its active operands.
    fn op(
        &mut self,
        op: &Op,
        args: &[Value],
        y: Value,
        d_y: Value,
        span: Span,
        out: &mut Vec<Inst>,
    ) -> Result<(), Unsupported> {
        let rule = rules::rule(op);
        if let (Rule::Call, Op::Call { path, form }) = (&rule, op) {
            if form.method {
                return Err(Unsupported);
            }
            return self.call(path, form, args, y, d_y, span, out);
        }
        let Rule::Partials(partials) = rule else {
            return match rule {
                Rule::Constant => Ok(()),
                _ => Err(Unsupported),
            };
        };
        for (i, &a) in args.iter().enumerate() {
            if !self.active(a) {
                continue;
            }
            let term = match partials.get(i).copied().unwrap_or(Partial::Zero) {
                Partial::Zero => continue,
                Partial::Identity => d_y,
                Partial::Negate => self.func.push_op(Op::Neg, vec![d_y], y, span, out),
                Partial::Runtime(rule) => {
                    let mut b = Builder {
                        func: self.func,
                        out,
                        like: y,
                        span,
                    };
                    let operands = Operands { args, y, t: d_y };
                    let formula = rule.formula.ok_or(Unsupported)?;
                    b.apply(formula, operands).ok_or(Unsupported)?
                }
                _ => return Err(Unsupported),
            };
            self.add(a, term);
        }
        Ok(())
    }

    /// `y = g(args)`: the `i`-th of the `n` float arguments gets `g_grad_i_of_n(args) · d_y`.
    #[allow(clippy::too_many_arguments)]
    fn call(
        &mut self,
        path: &proc_macro2::TokenStream,
        form: &crate::ir::CallForm,
        args: &[Value],
        y: Value,
        d_y: Value,
        span: Span,
        out: &mut Vec<Inst>,
    ) -> Result<(), Unsupported> {
        let floats: Vec<Value> = args
            .iter()
            .copied()
            .filter(|&a| self.func.ty(a).is_differentiable())
            .collect();
        let n = floats.len();
        for (i, a) in floats.into_iter().enumerate() {
            if !self.active(a) {
                continue;
            }
            if !self.func.ty(a).is_float() {
                return Err(Unsupported);
            }
            let partial = Op::Call {
                path: crate::names::suffixed_path(path, &crate::names::partial_suffix(i, n)),
                form: form.clone(),
            };
            let g = self.func.push_op(partial, args.to_vec(), y, span, out);
            let term = self.func.push_op(Op::Mul, vec![g, d_y], y, span, out);
            self.add(a, term);
        }
        Ok(())
    }
}

/// The index of a `for` loop, none for a `while` loop (a tape loop is derivative code).
fn loop_index(lp: &Loop) -> Result<Option<Value>, Unsupported> {
    match &lp.kind {
        LoopKind::For { index, .. } => Ok(Some(*index)),
        LoopKind::While { .. } => Ok(None),
        LoopKind::Tape { .. } => Err(Unsupported),
    }
}
