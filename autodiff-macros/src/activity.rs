//! Activity analysis: a value is *active* when it is *varied* (depends on an active
//! parameter through operations with a non-zero derivative) and *useful* (reaches the
//! result through such operations). Only active values get tangents and cotangents; the
//! rest of the primal is emitted as it is.

use crate::ir::{Block, Func, InstKind, Op, Value};
use crate::rules::{self, Partial, Rule};

pub struct Activity {
    varied: Vec<bool>,
    useful: Vec<bool>,
}

impl Activity {
    pub fn is_active(&self, v: Value) -> bool {
        self.varied.get(v.index()).copied().unwrap_or(false)
            && self.useful.get(v.index()).copied().unwrap_or(false)
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

/// Whether the result of `op` has a non-zero derivative with respect to operand `i`.
fn carries(rule: &Rule, i: usize) -> bool {
    match rule {
        Rule::Call => true,
        Rule::Constant => false,
        Rule::Partials(_) => rule.partial(i) != Partial::Zero,
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
                        .any(|(i, &a)| self.varied[a.index()] && carries(&rule, i));
                    for o in &inst.outs {
                        self.varied[o.index()] = varied;
                    }
                }
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
                InstKind::Op(op, args) if self.useful[inst.outs[0].index()] => {
                    self.mark_operands(op, args)
                }
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

    fn mark_operands(&mut self, op: &Op, args: &[Value]) {
        let rule = rules::rule(op);
        for (i, &a) in args.iter().enumerate() {
            if carries(&rule, i) {
                self.useful[a.index()] = true;
            }
        }
    }
}
