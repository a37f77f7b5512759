//! Dead-code elimination: drops operations whose results nothing reads, `if` results no
//! one uses (with their yields), and `if`s left with nothing to do. Calls and unknown
//! methods are kept, as they may have effects.

use crate::ir::{Block, Func, Inst, InstKind, Op, Value};
use std::collections::HashSet;

pub fn dce(func: &mut Func) {
    let mut live: HashSet<Value> = func.results.iter().copied().collect();
    let body = std::mem::take(&mut func.body);
    func.body = block(body, &mut live);
}

fn block(block: Block, live: &mut HashSet<Value>) -> Block {
    live.extend(&block.yields);
    let mut kept = Vec::new();
    for inst in block.insts.into_iter().rev() {
        if let Some(inst) = self::inst(inst, live) {
            kept.push(inst);
        }
    }
    kept.reverse();
    Block {
        insts: kept,
        yields: block.yields,
    }
}

fn inst(inst: Inst, live: &mut HashSet<Value>) -> Option<Inst> {
    let Inst { outs, kind, span } = inst;
    match kind {
        InstKind::Op(op, args) => {
            let needed = outs.iter().any(|o| live.contains(o)) || has_effects(&op);
            if needed {
                live.extend(&args);
            }
            needed.then(|| Inst::new(outs, InstKind::Op(op, args), span))
        }
        InstKind::If {
            cond,
            mut then,
            mut els,
        } => {
            let keep: Vec<usize> = (0..outs.len())
                .filter(|&i| live.contains(&outs[i]))
                .collect();
            let outs: Vec<Value> = keep.iter().map(|&i| outs[i]).collect();
            then.yields = keep.iter().map(|&i| then.yields[i]).collect();
            els.yields = keep.iter().map(|&i| els.yields[i]).collect();
            let then = block(then, live);
            let els = block(els, live);
            if outs.is_empty() && then.insts.is_empty() && els.insts.is_empty() {
                return None;
            }
            live.insert(cond);
            Some(Inst::new(outs, InstKind::If { cond, then, els }, span))
        }
        kind => {
            live.extend(Inst::new(outs.clone(), kind.clone(), span).uses());
            Some(Inst::new(outs, kind, span))
        }
    }
}

fn has_effects(op: &Op) -> bool {
    matches!(op, Op::Call { .. } | Op::Method { .. })
}
