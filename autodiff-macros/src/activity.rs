//! Activity analysis: a value is *active* when it is *varied* (depends on an active
//! parameter through operations with a non-zero derivative) and *useful* (reaches the
//! result through such operations). Only active values get tangents and cotangents; the
//! rest of the primal is emitted as it is.

use crate::ir::{Block, Func, InstKind, Loop, LoopKind, Op, Value};
use crate::rules;

pub struct Activity {
    varied: Vec<bool>,
    useful: Vec<bool>,
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
    let mut a = Activity {
        varied: vec![false; func.values.len()],
        useful: vec![false; func.values.len()],
    };
    for &p in active_params {
        a.varied[p.index()] = true;
    }
    a.forward(&func.body);
    for &r in &func.results {
        a.useful[r.index()] = true;
    }
    a.backward(&func.body);
    a
}

fn loop_blocks(lp: &Loop) -> Vec<&Block> {
    match &lp.kind {
        LoopKind::While { cond } => vec![cond, &lp.body],
        _ => vec![&lp.body],
    }
}

impl Activity {
    fn forward(&mut self, block: &Block) {
        for inst in &block.insts {
            match &inst.kind {
                InstKind::Op(op, args) => {
                    let rule = rules::rule(op);
                    let varied = args
                        .iter()
                        .enumerate()
                        .any(|(i, &a)| self.varied[a.index()] && rule.carries(i));
                    for o in &inst.outs {
                        self.varied[o.index()] = varied;
                    }
                }
                InstKind::Loop(lp) => self.forward_loop(lp, &inst.outs),
                InstKind::If { then, els, .. } => {
                    self.forward(then);
                    self.forward(els);
                    for (i, o) in inst.outs.iter().enumerate() {
                        self.varied[o.index()] = self.varied[then.yields[i].index()]
                            || self.varied[els.yields[i].index()];
                    }
                }
                _ => {}
            }
        }
    }

    fn backward(&mut self, block: &Block) {
        for inst in block.insts.iter().rev() {
            match &inst.kind {
                InstKind::Op(op, args) if inst.outs.iter().any(|o| self.useful[o.index()]) => {
                    self.mark_operands(op, args)
                }
                InstKind::Loop(lp) => self.backward_loop(lp, &inst.outs),
                InstKind::If { then, els, .. } => {
                    for (i, o) in inst.outs.iter().enumerate() {
                        if self.useful[o.index()] {
                            self.useful[then.yields[i].index()] = true;
                            self.useful[els.yields[i].index()] = true;
                        }
                    }
                    self.backward(then);
                    self.backward(els);
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
                self.varied[p.index()] |= self.varied[init.index()];
            }
            for b in loop_blocks(lp) {
                self.forward(b);
            }
            let mut changed = false;
            for (p, y) in lp.params.iter().zip(&lp.body.yields) {
                if self.varied[y.index()] && !self.varied[p.index()] {
                    self.varied[p.index()] = true;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        for (o, p) in outs.iter().zip(&lp.params) {
            self.varied[o.index()] = self.varied[p.index()];
        }
    }

    /// A yield is useful if the loop's result is, or if its param is (it becomes the next
    /// iteration's param): iterate until no yield changes.
    fn backward_loop(&mut self, lp: &Loop, outs: &[Value]) {
        for (o, y) in outs.iter().zip(&lp.body.yields) {
            if self.useful[o.index()] {
                self.useful[y.index()] = true;
            }
        }
        loop {
            self.backward(&lp.body);
            let mut changed = false;
            for (p, y) in lp.params.iter().zip(&lp.body.yields) {
                if self.useful[p.index()] && !self.useful[y.index()] {
                    self.useful[y.index()] = true;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        for (i, init) in lp.inits.iter().enumerate() {
            if self.useful[outs[i].index()] || self.useful[lp.params[i].index()] {
                self.useful[init.index()] = true;
            }
        }
    }

    fn mark_operands(&mut self, op: &Op, args: &[Value]) {
        let rule = rules::rule(op);
        for (i, &a) in args.iter().enumerate() {
            if rule.carries(i) {
                self.useful[a.index()] = true;
            }
        }
    }
}
