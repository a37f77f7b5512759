//! `if` fusion: two adjacent `if`s on the same condition become one.
//!
//! ```text
//! %a = if %c { A; yield %x } else { B; yield %y }
//! %b = if %c { C(%a) } else { D(%a) }
//! ```
//! becomes `%a, %b = if %c { A; C(%x) } else { B; D(%y) }`. Early returns lower to exactly
//! this shape (the code after a `return` runs under `if returned { .. } else { .. }`), so
//! fusion turns them back into one `if` per decision, in the primal and in the adjoint.

use super::resolve;
use crate::ir::{Block, Func, Inst, InstKind, Value};
use std::collections::HashMap;

pub fn fuse(func: &mut Func) {
    let body = std::mem::take(&mut func.body);
    func.body = block(body);
}

fn block(b: Block) -> Block {
    let mut insts: Vec<Inst> = Vec::new();
    for inst in b.insts {
        let inst = nested(inst);
        match (insts.last_mut(), inst) {
            (
                Some(prev),
                Inst {
                    outs,
                    kind: InstKind::If { cond, then, els },
                    span,
                },
            ) if same_cond(prev, cond) => {
                merge(prev, outs, then, els);
                let _ = span;
            }
            (_, inst) => insts.push(inst),
        }
    }
    Block {
        insts,
        yields: b.yields,
    }
}

fn nested(mut inst: Inst) -> Inst {
    for b in inst.blocks_mut() {
        *b = block(std::mem::take(b));
    }
    inst
}

fn same_cond(prev: &Inst, cond: Value) -> bool {
    matches!(&prev.kind, InstKind::If { cond: c, .. } if *c == cond)
}

/// Appends the second `if`'s branches to the first's, reading the first's results from
/// the values its branches yield.
fn merge(prev: &mut Inst, outs: Vec<Value>, then: Block, els: Block) {
    let InstKind::If {
        then: t1, els: e1, ..
    } = &mut prev.kind
    else {
        return;
    };
    let then_map: HashMap<Value, Value> = prev
        .outs
        .iter()
        .copied()
        .zip(t1.yields.iter().copied())
        .collect();
    let else_map: HashMap<Value, Value> = prev
        .outs
        .iter()
        .copied()
        .zip(e1.yields.iter().copied())
        .collect();
    append(t1, substitute(then, &then_map));
    append(e1, substitute(els, &else_map));
    prev.outs.extend(outs);
    *prev = nested(std::mem::replace(
        prev,
        Inst::new(Vec::new(), InstKind::Zero, prev.span),
    ));
}

fn append(into: &mut Block, more: Block) {
    into.insts.extend(more.insts);
    into.yields.extend(more.yields);
}

fn substitute(mut b: Block, map: &HashMap<Value, Value>) -> Block {
    b.map_uses(&mut |v| resolve(map, v));
    b
}
