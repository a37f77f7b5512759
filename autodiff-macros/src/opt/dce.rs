//! Dead-code elimination: drops operations whose results nothing reads, `if` results no
//! one uses (with their yields), and `if`s left with nothing to do. Calls and unknown
//! methods are kept, as they may have effects.

use crate::ir::{Block, Func, Inst, InstKind, Loop, LoopKind, Op, Value};
use proc_macro2::Span;
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
        InstKind::Loop(lp) => loop_inst(outs, *lp, span, live),
        kind => {
            live.extend(Inst::new(outs.clone(), kind.clone(), span).uses());
            Some(Inst::new(outs, kind, span))
        }
    }
}

/// A carried slot is live when its result is used after the loop, or when its param is
/// used by a live computation in the body (which makes its yield live for the next
/// iteration): a fixpoint over the slots.
fn loop_inst(
    outs: Vec<Value>,
    mut lp: Loop,
    span: Span,
    live: &mut HashSet<Value>,
) -> Option<Inst> {
    let n = lp.params.len();
    let mut slots: Vec<bool> = outs.iter().take(n).map(|o| live.contains(o)).collect();
    loop {
        let mut probe = live.clone();
        let body = with_yields(&lp.body, &slots);
        block(body, &mut probe);
        if let LoopKind::While { cond } = &lp.kind {
            block(cond.clone(), &mut probe);
        }
        let next: Vec<bool> = (0..n)
            .map(|i| slots[i] || probe.contains(&lp.params[i]))
            .collect();
        if next == slots {
            break;
        }
        slots = next;
    }
    let keep = |vs: &[Value]| {
        vs.iter()
            .zip(&slots)
            .filter(|(_, &k)| k)
            .map(|(&v, _)| v)
            .collect::<Vec<_>>()
    };
    lp.params = keep(&lp.params);
    lp.inits = keep(&lp.inits);
    let outs = keep(&outs);
    lp.body = block(with_yields(&lp.body, &slots), live);
    if let LoopKind::While { cond } = &mut lp.kind {
        *cond = block(std::mem::take(cond), live);
    }
    if outs.is_empty() && lp.body.insts.is_empty() && matches!(lp.kind, LoopKind::For { .. }) {
        return None;
    }
    live.extend(lp.header_uses());
    Some(Inst::new(outs, InstKind::Loop(Box::new(lp)), span))
}

fn with_yields(body: &Block, slots: &[bool]) -> Block {
    let yields = body
        .yields
        .iter()
        .zip(slots)
        .filter(|(_, &k)| k)
        .map(|(&v, _)| v)
        .collect();
    Block {
        insts: body.insts.clone(),
        yields,
    }
}

fn has_effects(op: &Op) -> bool {
    matches!(op, Op::Call { .. } | Op::Method { .. })
}
