//! Common-subexpression elimination: a pure operation on the same operands as one that
//! dominates it (earlier in the same block or in an enclosing block) reuses its result.
//! Constants are left alone: the emitter writes them inline, and two equal literals may
//! have different types.

use super::resolve;
use crate::ir::{Block, Func, Inst, InstKind, Op, Value};
use std::collections::HashMap;

pub fn cse(func: &mut Func) {
    let mut c = Cse {
        scopes: vec![HashMap::new()],
        subst: HashMap::new(),
    };
    let body = std::mem::take(&mut func.body);
    func.body = c.block(body);
    for r in &mut func.results {
        *r = resolve(&c.subst, *r);
    }
}

struct Cse {
    /// Available expressions, by key, innermost scope last.
    scopes: Vec<HashMap<String, Value>>,
    subst: HashMap<Value, Value>,
}

impl Cse {
    fn block(&mut self, block: Block) -> Block {
        let mut insts = Vec::new();
        for inst in block.insts {
            if let Some(inst) = self.inst(inst) {
                insts.push(inst);
            }
        }
        let yields = block
            .yields
            .iter()
            .map(|&v| resolve(&self.subst, v))
            .collect();
        Block { insts, yields }
    }

    /// The instruction to keep, or `None` if an earlier one computes the same.
    fn inst(&mut self, inst: Inst) -> Option<Inst> {
        let Inst { outs, kind, span } = inst;
        match kind {
            InstKind::Op(op, args) => {
                let args: Vec<Value> = args.iter().map(|&a| resolve(&self.subst, a)).collect();
                if let Some(key) = key(&op, &args) {
                    if let Some(&prev) = self.scopes.iter().rev().find_map(|s| s.get(&key)) {
                        self.subst.insert(outs[0], prev);
                        return None;
                    }
                    if let Some(scope) = self.scopes.last_mut() {
                        scope.insert(key, outs[0]);
                    }
                }
                Some(Inst::new(outs, InstKind::Op(op, args), span))
            }
            InstKind::If { cond, then, els } => {
                let cond = resolve(&self.subst, cond);
                let then = self.scoped(then);
                let els = self.scoped(els);
                Some(Inst::new(outs, InstKind::If { cond, then, els }, span))
            }
            kind => {
                let mut inst = Inst::new(outs, kind, span);
                inst.map_header_uses(&mut |v| resolve(&self.subst, v));
                for b in inst.blocks_mut() {
                    *b = self.scoped(std::mem::take(b));
                }
                Some(inst)
            }
        }
    }

    fn scoped(&mut self, block: Block) -> Block {
        self.scopes.push(HashMap::new());
        let block = self.block(block);
        self.scopes.pop();
        block
    }
}

fn key(op: &Op, args: &[Value]) -> Option<String> {
    if !op.is_pure() || args.is_empty() {
        return None;
    }
    let args: Vec<String> = args.iter().map(ToString::to_string).collect();
    Some(format!("{} {}", op.mnemonic(), args.join(",")))
}
