//! Activity analysis: a value is *active* when it is *varied* (depends on an active
//! parameter through operations with a non-zero derivative) and *useful* (reaches the
//! result through such operations). Only active values get tangents and cotangents; the
//! rest of the primal is emitted as it is.
//!
//! The same walks find where a derivative can be infinite while the primal is finite:
//! seeded at the operations with a vertical tangent instead of at the parameters and the
//! result, the forward walk finds the values whose tangent can be
//! ([`after_vertical_tangent`]), the backward walk those whose cotangent can
//! ([`feeds_vertical_tangent`]).

use crate::ir::{Block, Func, InstKind, Loop, LoopKind, Op, Value};
use crate::rules;

pub struct Activity {
    varied: Vec<bool>,
    useful: Vec<bool>,
}

/// Marks spread through operations with a non-zero derivative: forward, from the active
/// parameters or the results of the vertical tangents, to what depends on them (`forward`);
/// backward, from the result or the operands of the vertical tangents, to what reaches
/// them (`backward`).
struct Walk {
    marks: Vec<bool>,
    /// Seed every operation with a vertical tangent: its results going forward, its
    /// operands going backward.
    vertical: bool,
}

impl Activity {
    pub fn is_active(&self, v: Value) -> bool {
        self.varied.get(v.index()).copied().unwrap_or(false)
            && self.useful.get(v.index()).copied().unwrap_or(false)
    }

    /// Whether carried slot `i` of a loop with results `outs` needs a tangent or cotangent.
    pub fn slot_active(&self, lp: &Loop, outs: &[Value], i: usize) -> bool {
        self.is_active(outs[i]) || self.is_active(lp.params[i])
    }
}

pub fn analyze(func: &Func, active_params: &[Value]) -> Activity {
    let mut varied = Walk {
        marks: vec![false; func.values.len()],
        vertical: false,
    };
    for &p in active_params {
        varied.marks[p.index()] = true;
    }
    varied.forward(&func.body);
    let mut useful = Walk {
        marks: vec![false; func.values.len()],
        vertical: false,
    };
    for &r in &func.results {
        useful.marks[r.index()] = true;
    }
    useful.backward(&func.body);
    Activity {
        varied: varied.marks,
        useful: useful.marks,
    }
}

/// By value: whether its tangent can be infinite where the primal is finite, because it
/// depends on the result of an operation with a vertical tangent (`rules::vertical_tangent`)
/// through operations whose partials are finite there. A product of such values needs
/// no `0 · ∞` test in its tangent (`forward`'s plain products). As in
/// [`feeds_vertical_tangent`], later values are not in it, and derivative instructions
/// mark every value.
pub fn after_vertical_tangent(func: &Func) -> Vec<bool> {
    vertical_marks(func, Walk::forward)
}

/// By value: whether its cotangent can be infinite where the primal is finite, because
/// it reaches an operation with a vertical tangent (`rules::vertical_tangent`: `√x` at 0,
/// a call) through operations whose partials are finite there. A product whose result
/// does not needs no `0 · ∞` test in its adjoint (`reverse`'s plain products). Values
/// made after this walk (copies renamed by later stages) are not in it. Derivative
/// instructions, which the walk does not follow, mark every value.
pub fn feeds_vertical_tangent(func: &Func) -> Vec<bool> {
    vertical_marks(func, Walk::backward)
}

/// `walk` seeded at the vertical tangents, or every value marked if the function holds
/// instructions the walks do not follow.
fn vertical_marks(func: &Func, walk: fn(&mut Walk, &Block)) -> Vec<bool> {
    if !primal_only(&func.body) {
        return vec![true; func.values.len()];
    }
    let mut w = Walk {
        marks: vec![false; func.values.len()],
        vertical: true,
    };
    walk(&mut w, &func.body);
    w.marks
}

/// Whether a block holds only the user's operations, branches and loops.
fn primal_only(block: &Block) -> bool {
    block.insts.iter().all(|inst| {
        matches!(
            inst.kind,
            InstKind::Op(..) | InstKind::If { .. } | InstKind::Loop(_)
        ) && inst.blocks().into_iter().all(primal_only)
    })
}

fn loop_blocks(lp: &Loop) -> Vec<&Block> {
    match &lp.kind {
        LoopKind::While { cond } => vec![cond, &lp.body],
        _ => vec![&lp.body],
    }
}

impl Walk {
    fn forward(&mut self, block: &Block) {
        for inst in &block.insts {
            match &inst.kind {
                InstKind::Op(op, args) => {
                    let rule = rules::rule(op);
                    let marked = (self.vertical && rules::vertical_tangent(op))
                        || (args.iter().enumerate())
                            .any(|(i, &a)| self.marks[a.index()] && rule.carries(i));
                    for o in &inst.outs {
                        self.marks[o.index()] = marked;
                    }
                }
                InstKind::Loop(lp) => self.forward_loop(lp, &inst.outs),
                InstKind::If { then, els, .. } => {
                    self.forward(then);
                    self.forward(els);
                    for (i, o) in inst.outs.iter().enumerate() {
                        self.marks[o.index()] =
                            self.marks[then.yields[i].index()] || self.marks[els.yields[i].index()];
                    }
                }
                _ => {}
            }
        }
    }

    /// A param is varied if its init is, or its yield (the next iteration's param) is:
    /// iterate the body until no param changes.
    fn forward_loop(&mut self, lp: &Loop, outs: &[Value]) {
        loop {
            for (p, init) in lp.params.iter().zip(&lp.inits) {
                self.marks[p.index()] |= self.marks[init.index()];
            }
            for b in loop_blocks(lp) {
                self.forward(b);
            }
            let mut changed = false;
            for (p, y) in lp.params.iter().zip(&lp.body.yields) {
                if self.marks[y.index()] && !self.marks[p.index()] {
                    self.marks[p.index()] = true;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        for (o, p) in outs.iter().zip(&lp.params) {
            self.marks[o.index()] = self.marks[p.index()];
        }
    }

    fn backward(&mut self, block: &Block) {
        for inst in block.insts.iter().rev() {
            match &inst.kind {
                InstKind::Op(op, args)
                    if (self.vertical && rules::vertical_tangent(op))
                        || inst.outs.iter().any(|o| self.marks[o.index()]) =>
                {
                    self.mark_operands(op, args)
                }
                InstKind::Loop(lp) => self.backward_loop(lp, &inst.outs),
                InstKind::If { then, els, .. } => {
                    for (i, o) in inst.outs.iter().enumerate() {
                        if self.marks[o.index()] {
                            self.marks[then.yields[i].index()] = true;
                            self.marks[els.yields[i].index()] = true;
                        }
                    }
                    self.backward(then);
                    self.backward(els);
                }
                _ => {}
            }
        }
    }

    /// A yield is useful if the loop's result is, or if its param is (it becomes the next
    /// iteration's param): iterate until no yield changes.
    fn backward_loop(&mut self, lp: &Loop, outs: &[Value]) {
        for (o, y) in outs.iter().zip(&lp.body.yields) {
            if self.marks[o.index()] {
                self.marks[y.index()] = true;
            }
        }
        loop {
            self.backward(&lp.body);
            let mut changed = false;
            for (p, y) in lp.params.iter().zip(&lp.body.yields) {
                if self.marks[p.index()] && !self.marks[y.index()] {
                    self.marks[y.index()] = true;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        for (i, init) in lp.inits.iter().enumerate() {
            if self.marks[outs[i].index()] || self.marks[lp.params[i].index()] {
                self.marks[init.index()] = true;
            }
        }
    }

    fn mark_operands(&mut self, op: &Op, args: &[Value]) {
        let rule = rules::rule(op);
        for (i, &a) in args.iter().enumerate() {
            if rule.carries(i) {
                self.marks[a.index()] = true;
            }
        }
    }
}
