//! The reverse sweep written out as IR, for `nested`: `f_grad_k(x..) = ∂f/∂x_k`, one
//! ordinary function per active parameter, which `#[differentiable]` differentiates again
//! (forward over reverse: `f_grad_k_jvp`; reverse over reverse: `f_grad_k_vjp`).
//!
//! Input: the optimised IR of `fn f(x..) -> y`, float code with branches, and its
//! activity. Output: the primal, then the adjoint: last to first, each active `v` gets
//! `d_v = Σ_u ∂u/∂v · d_u` over its uses `u`, seeded with `d_y = 1`. The partials are the
//! arithmetic of `f_dir` (`forward::symbolic_term`): for a scalar rule, the cotangent of an
//! operand is the tangent rule with the result's cotangent in place of the operand's
//! tangent. A call `y = g(a, ..)` of another `nested` function gives its `i`-th float
//! argument `g_grad_i(a, ..) · d_y`.
//!
//! An `if` on active values becomes an `if` on the same condition after it in the sweep:
//! each branch computes its values again (fresh copies: the primal's are not visible
//! outside its branch), runs its own sweep seeded with the cotangents of the `if`'s
//! results, and yields what it adds to values defined outside it (zero where the other
//! branch adds something and it does not).
//!
//! Every partial comes out of the same sweep; each `f_grad_k` keeps, after dead-code
//! elimination, what its own partial reads. The sweep does not write loops or arrays yet
//! (`f_dir` does): for such a function no `f_grad_k` is generated.

use crate::activity::Activity;
use crate::forward::symbolic_term;
use crate::ir::{Block, Func, Inst, InstKind, Op, Role, Value};
use crate::rules::{self, Partial, Rule};
use proc_macro2::Span;
use std::collections::{BTreeMap, HashMap, HashSet};

/// A construct the sweep has no adjoint arithmetic for.
pub struct Unsupported;

/// `f_grad_k` for each active parameter `k`, in order.
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
    Ok(grads
        .into_iter()
        .enumerate()
        .map(|(k, g)| {
            let mut f = out.clone();
            f.name = format!("{}_grad_{k}", func.name);
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
            InstKind::Loop(_) if active => Err(Unsupported),
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
        // The values either branch adds to, in a fixed order.
        let targets: Vec<Value> = then_adds
            .keys()
            .chain(els_adds.keys())
            .copied()
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
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
        let outer = std::mem::take(&mut self.adj);
        let mut insts = copy.insts.clone();
        for &(k, d) in seeds {
            if self.active(copy.yields[k]) {
                self.add(copy.yields[k], d);
            }
        }
        let swept = copy
            .insts
            .iter()
            .rev()
            .try_for_each(|inst| self.inst(inst, &mut insts));
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
            .map(|v| (v, self.total(v, &mut insts)))
            .collect();
        self.adj = outer;
        swept?;
        Ok((
            Block {
                insts,
                yields: Vec::new(),
            },
            adds,
        ))
    }

    /// `block` with a fresh value for everything it defines (its reads of those renamed
    /// to match, through `names`), so that it can be computed again in the same function.
    fn fresh_copy(&mut self, block: &Block, names: &mut HashMap<Value, Value>) -> Block {
        let rename = |names: &HashMap<Value, Value>, v: Value| *names.get(&v).unwrap_or(&v);
        let mut insts = Vec::new();
        for inst in &block.insts {
            let mut inst = inst.clone();
            inst.map_header_uses(&mut |v| rename(names, v));
            for b in inst.blocks_mut() {
                *b = self.fresh_copy(b, names);
            }
            for o in &mut inst.outs {
                let fresh = self.func.new_derived(Role::Primal, *o);
                let origin = *self.origin.get(o).unwrap_or(o);
                self.origin.insert(fresh, origin);
                names.insert(*o, fresh);
                *o = fresh;
            }
            insts.push(inst);
        }
        let yields = block.yields.iter().map(|&v| rename(names, v)).collect();
        Block { insts, yields }
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
                Partial::Runtime { op, slot } => {
                    symbolic_term(self.func, self.act, op, slot, args, y, d_y, span, out)
                        .ok_or(Unsupported)?
                }
                _ => return Err(Unsupported),
            };
            self.add(a, term);
        }
        Ok(())
    }

    /// `y = g(args)`: the `i`-th float argument gets `g_grad_i(args) · d_y`.
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
        for (i, a) in floats.into_iter().enumerate() {
            if !self.active(a) {
                continue;
            }
            if !self.func.ty(a).is_float() {
                return Err(Unsupported);
            }
            let partial = Op::Call {
                path: crate::emit::suffixed_path(path, &format!("_grad_{i}")),
                form: form.clone(),
            };
            let g = self.func.push_op(partial, args.to_vec(), y, span, out);
            let term = self.func.push_op(Op::Mul, vec![g, d_y], y, span, out);
            self.add(a, term);
        }
        Ok(())
    }
}
