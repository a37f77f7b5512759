//! Loop fusion: two `for` loops over the same range, the second not reading what the first
//! computes, become one loop.
//!
//! ```text
//! %s = for j in 0..d (acc = 0) { yield acc + q[j] }
//! %t = for k in 0..d (acc = 0) { yield acc + f(k) }
//! ```
//! becomes `%s, %t = for j in 0..d (a = 0, b = 0) { yield a + q[j], b + f(j) }`. Iterator
//! chains write one loop per sum (`let s: f64 = (0..d).map(..).sum();` twice), where a
//! person writes one loop with two accumulators; fused, the primal and the adjoint walk
//! the range once and record one tape. Only loops without writes to arrays or calls are
//! fused (their order of effects is kept), and constants or pure operations between them
//! move before the fused loop.

use crate::ir::{Block, Func, Inst, InstKind, Loop, LoopKind, Op, Value};
use std::collections::{HashMap, HashSet};

pub fn fuse_loops(func: &mut Func) {
    let consts = constants(&func.body);
    let body = std::mem::take(&mut func.body);
    func.body = block(body, &consts);
}

fn block(b: Block, consts: &HashMap<Value, String>) -> Block {
    let mut insts: Vec<Inst> = Vec::new();
    for mut inst in b.insts {
        for inner in inst.blocks_mut() {
            *inner = block(std::mem::take(inner), consts);
        }
        match partner(&insts, &inst, consts) {
            Some(k) => {
                let between: Vec<Inst> = insts.drain(k + 1..).collect();
                let first = insts.pop().expect("the loop found");
                insts.extend(between);
                insts.push(merge(first, inst));
            }
            None => insts.push(inst),
        }
    }
    Block {
        insts,
        yields: b.yields,
    }
}

/// The position of the loop in `insts` that `next` fuses with: the last one, if what
/// follows it is pure and independent of it, and `next` runs over the same range without
/// reading its results.
fn partner(insts: &[Inst], next: &Inst, consts: &HashMap<Value, String>) -> Option<usize> {
    let b = fusable(next)?;
    let k = insts
        .iter()
        .rposition(|i| matches!(i.kind, InstKind::Loop(_)))?;
    let a = fusable(&insts[k])?;
    let outs: HashSet<Value> = insts[k].outs.iter().copied().collect();
    let reads_first = |i: &Inst| i.uses().iter().any(|v| outs.contains(v));
    let between_ok = insts[k + 1..]
        .iter()
        .all(|i| matches!(&i.kind, InstKind::Op(op, _) if op.is_pure()) && !reads_first(i));
    (between_ok && !reads_first(next) && same_range(a, b, consts)).then_some(k)
}

/// The loop of a `for` instruction that may be fused: no record, no array writes, no
/// calls, not a `#[checkpoint]` segment.
fn fusable(inst: &Inst) -> Option<&Loop> {
    let InstKind::Loop(lp) = &inst.kind else {
        return None;
    };
    let plain = lp.record.is_none() && !lp.recompute && matches!(lp.kind, LoopKind::For { .. });
    (plain && !effects(&lp.body)).then_some(&**lp)
}

/// Whether a block writes arrays or calls functions (whose order must stay).
fn effects(block: &Block) -> bool {
    block.insts.iter().any(|inst| {
        matches!(
            &inst.kind,
            InstKind::Op(
                Op::Store | Op::Push | Op::Call { .. } | Op::Method { .. },
                _
            )
        ) || inst.blocks().into_iter().any(effects)
    })
}

fn same_range(a: &Loop, b: &Loop, consts: &HashMap<Value, String>) -> bool {
    let (LoopKind::For { range: ra, .. }, LoopKind::For { range: rb, .. }) = (&a.kind, &b.kind)
    else {
        return false;
    };
    let same =
        |x: Value, y: Value| x == y || consts.get(&x).is_some_and(|c| consts.get(&y) == Some(c));
    same(ra.lo, rb.lo)
        && same(ra.hi, rb.hi)
        && ra.inclusive == rb.inclusive
        && ra.adapters.is_empty()
        && rb.adapters.is_empty()
}

/// One loop doing both bodies, the second's index renamed to the first's.
fn merge(mut first: Inst, second: Inst) -> Inst {
    let (InstKind::Loop(a), InstKind::Loop(b)) = (&mut first.kind, second.kind) else {
        return first;
    };
    let mut b = *b;
    let (LoopKind::For { index: ia, .. }, LoopKind::For { index: ib, .. }) = (&a.kind, &b.kind)
    else {
        return first;
    };
    let (ia, ib) = (*ia, *ib);
    b.body.map_uses(&mut |v| if v == ib { ia } else { v });
    a.params.extend(b.params);
    a.inits.extend(b.inits);
    a.body.insts.extend(b.body.insts);
    a.body.yields.extend(b.body.yields);
    first.outs.extend(second.outs);
    first
}

/// Integer constants by value, so that two literal `0`s are one bound.
fn constants(block: &Block) -> HashMap<Value, String> {
    let mut out = HashMap::new();
    for inst in &block.insts {
        if let InstKind::Op(Op::Const(crate::ir::Const::Int(lit)), _) = &inst.kind {
            out.insert(inst.outs[0], lit.to_string());
        }
        for b in inst.blocks() {
            out.extend(constants(b));
        }
    }
    out
}
