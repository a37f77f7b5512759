//! What the adjoint of a loop recomputes from its records and what it records.

use super::*;

/// The instructions of `primal` that `adjoint` reads, directly or through each other, in
/// their original order.
pub(super) fn recompute(primal: &[Inst], adjoint: &[Inst], available: &[Value]) -> Vec<Inst> {
    let mut needed: HashSet<Value> = adjoint.iter().flat_map(Inst::uses).collect();
    let mut keep = vec![false; primal.len()];
    for (i, inst) in primal.iter().enumerate().rev() {
        if inst
            .outs
            .iter()
            .any(|o| needed.contains(o) && !available.contains(o))
        {
            keep[i] = true;
            needed.extend(inst.uses());
        }
    }
    primal
        .iter()
        .zip(keep)
        .filter(|(_, k)| *k)
        .map(|(inst, _)| inst.clone())
        .collect()
}

/// Splits what a loop iteration's `adjoint` needs of `body` into instructions to recompute
/// (in body order) and values to record (in body order): the needed results of the
/// instructions `record` picks (given the results wanted of it), e.g. costly ones, nested
/// loops with their tapes, reads of written arrays, values exported from branches. The need
/// is transitive: a cheap value recomputed from a loop's result makes that result recorded,
/// so no inner loop ever runs again in the adjoint.
///
/// Then fewer records where that is possible: a float the adjoint reads, computed from
/// several recorded values, is recorded itself when that drops more records than it adds
/// (`y·(a + c·b)` keeps the sum, not `a` and `b`: one number a iteration instead of two).
pub(super) fn recompute_or_record(
    body: &[Inst],
    adjoint: &[Inst],
    record: impl Fn(&Inst, &[Value]) -> bool,
    is_float: impl Fn(Value) -> bool,
) -> (Vec<Inst>, Vec<Value>) {
    let direct: HashSet<Value> = adjoint.iter().flat_map(Inst::uses).collect();
    let mut forced = HashSet::new();
    let plan = |forced: &HashSet<usize>| {
        split(body, &direct, |i, inst, wanted| {
            forced.contains(&i) || record(inst, wanted)
        })
    };
    let (mut keep, mut recorded) = plan(&forced);
    let candidates: Vec<usize> = (0..body.len())
        .rev()
        .filter(|&i| keep[i] && recordable_float(&body[i], &direct, &is_float))
        .take(MAX_TRIALS)
        .collect();
    for i in candidates {
        forced.insert(i);
        let (k, r) = plan(&forced);
        if r.len() < recorded.len() {
            (keep, recorded) = (k, r);
        } else {
            forced.remove(&i);
        }
    }
    let insts = body
        .iter()
        .zip(keep)
        .filter(|(_, k)| *k)
        .map(|(inst, _)| inst.clone())
        .collect();
    (insts, recorded)
}

/// How many recomputed values `recompute_or_record` tries to record instead: each trial
/// walks the body once more, so a long body does not cost quadratic time.
const MAX_TRIALS: usize = 64;

/// An arithmetic instruction with one float result that the adjoint reads.
fn recordable_float(
    inst: &Inst,
    direct: &HashSet<Value>,
    is_float: impl Fn(Value) -> bool,
) -> bool {
    matches!(inst.kind, InstKind::Op(..))
        && matches!(inst.outs.as_slice(), [v] if direct.contains(v) && is_float(*v))
}

/// One walk back over `body` from what the adjoint reads: which instructions are
/// recomputed (by index) and which values recorded.
fn split(
    body: &[Inst],
    direct: &HashSet<Value>,
    record: impl Fn(usize, &Inst, &[Value]) -> bool,
) -> (Vec<bool>, Vec<Value>) {
    let mut needed = direct.clone();
    let mut keep = vec![false; body.len()];
    let mut recorded = Vec::new();
    for (i, inst) in body.iter().enumerate().rev() {
        let wanted: Vec<Value> = inst
            .outs
            .iter()
            .copied()
            .filter(|o| needed.contains(o))
            .collect();
        if wanted.is_empty() {
            continue;
        }
        if record(i, inst, &wanted) {
            recorded.extend(wanted.iter().rev());
        } else {
            keep[i] = true;
            needed.extend(inst.uses());
        }
    }
    recorded.reverse();
    (keep, recorded)
}

/// Loops, calls, and the float functions that cost more than a few multiplications:
/// recording their result (8 bytes) is cheaper than computing it again (a call's
/// arguments may not even exist then: a local array changes). Patterns too: matching
/// again would make the pullback hold the scrutinee (a clone of it, which may not exist).
pub(super) fn costly(inst: &Inst) -> bool {
    use crate::ir::Fun;
    match &inst.kind {
        InstKind::Loop(_)
        | InstKind::Op(Op::Matches { .. } | Op::Bound { .. } | Op::Call { .. }, _) => true,
        InstKind::Op(Op::Fun(f), _) => !matches!(
            f,
            Fun::Abs
                | Fun::Signum
                | Fun::Recip
                | Fun::Floor
                | Fun::Ceil
                | Fun::Round
                | Fun::Trunc
                | Fun::Fract
                | Fun::RoundTiesEven
                | Fun::Copysign
                | Fun::DivEuclid
                | Fun::Midpoint
                | Fun::ToDegrees
                | Fun::ToRadians
                | Fun::Powi
                | Fun::Max
                | Fun::Min
                | Fun::Clamp
                | Fun::MulAdd
        ),
        _ => false,
    }
}

pub(super) fn recorded_items(lp: &Loop, adjoint: &[Inst]) -> Vec<Value> {
    let used: HashSet<Value> = adjoint.iter().flat_map(Inst::uses).collect();
    lp.body_defs()
        .into_iter()
        .filter(|v| used.contains(v))
        .collect()
}

/// Sets what each recording loop pushes per iteration, now that its adjoint is known;
/// a loop whose adjoint never ran records nothing (and loses its tape, which a branch
/// that exported it then yields no more).
pub(super) fn fill_records(block: &mut Block, records: &HashMap<Value, Vec<Value>>) {
    let mut dropped = HashSet::new();
    fill(block, records, &mut dropped);
    if !dropped.is_empty() {
        drop_exports(block, &mut dropped);
    }
}

fn fill(block: &mut Block, records: &HashMap<Value, Vec<Value>>, dropped: &mut HashSet<Value>) {
    for inst in &mut block.insts {
        if let InstKind::Loop(lp) = &mut inst.kind {
            if let Some(r) = &mut lp.record {
                match records.get(&r.tape) {
                    Some(items) => r.items.clone_from(items),
                    None => {
                        let tape = r.tape;
                        lp.record = None;
                        inst.outs.retain(|&o| o != tape);
                        dropped.insert(tape);
                    }
                }
            }
        }
        for b in inst.blocks_mut() {
            fill(b, records, dropped);
        }
    }
}

/// Takes the records out of the primal's copies of `#[checkpoint]` segments (and of the
/// loops inside them): the adjoint runs each segment again, recording then, and never
/// reads the primal's tapes, which were pushed only to be dropped. The pullback's copies
/// keep theirs.
pub(super) fn forget_segment_records(primal: &mut Block) {
    let mut dropped = HashSet::new();
    for inst in &mut primal.insts {
        find_segments(inst, &mut dropped);
    }
    if !dropped.is_empty() {
        drop_exports(primal, &mut dropped);
    }
}

fn find_segments(inst: &mut Inst, dropped: &mut HashSet<Value>) {
    match &inst.kind {
        InstKind::Closure { .. } => {}
        InstKind::Loop(lp) if lp.recompute => forget_records(inst, dropped),
        _ => {
            for b in inst.blocks_mut() {
                b.insts.iter_mut().for_each(|i| find_segments(i, dropped));
            }
        }
    }
}

fn forget_records(inst: &mut Inst, dropped: &mut HashSet<Value>) {
    if let InstKind::Loop(lp) = &mut inst.kind {
        if let Some(r) = lp.record.take() {
            inst.outs.retain(|&o| o != r.tape);
            dropped.insert(r.tape);
        }
    }
    for b in inst.blocks_mut() {
        b.insts.iter_mut().for_each(|i| forget_records(i, dropped));
    }
}

/// Removes the results of `if`s that a branch yields from `dropped`, innermost first
/// (such a result is dropped in turn: an enclosing `if` may have exported it).
fn drop_exports(block: &mut Block, dropped: &mut HashSet<Value>) {
    for inst in &mut block.insts {
        for b in inst.blocks_mut() {
            drop_exports(b, dropped);
        }
        let InstKind::If { then, els, .. } = &mut inst.kind else {
            continue;
        };
        let gone: Vec<usize> = (0..inst.outs.len())
            .filter(|&i| dropped.contains(&then.yields[i]) || dropped.contains(&els.yields[i]))
            .collect();
        for &i in gone.iter().rev() {
            dropped.insert(inst.outs.remove(i));
            then.yields.remove(i);
            els.yields.remove(i);
        }
    }
}
