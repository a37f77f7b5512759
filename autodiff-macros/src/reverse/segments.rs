//! The segments of `#[checkpoint]` loops (`ir::Loop::recompute`), which the enclosing
//! loop's adjoint runs again rather than keeping their tapes. A segment that uses local
//! arrays must find them as they were when it first ran, though the primal wrote them
//! since: the primal keeps a copy of each at the segment's start (recorded on the
//! enclosing loop's tape, like a joint call's copies), and the segment runs again on a
//! fresh copy of it.

use super::*;

/// A local array a segment uses: the array, its length and the copy at the segment's
/// start.
#[derive(Clone, Copy)]
pub(super) struct SegmentCopy {
    array: Value,
    len: Value,
    copy: Value,
}

impl Reverse<'_> {
    /// A segment in the primal: copies of the local arrays it uses, made before it (into
    /// `before`), then the loop recording its tape.
    pub(super) fn segment_loop(&mut self, inst: &Inst, lp: &Loop, before: &mut Vec<Inst>) -> Inst {
        let arrays: Vec<Value> = (free_uses(inst).into_iter())
            .filter(|&a| self.local_array(a))
            .collect();
        let copies: Vec<SegmentCopy> = arrays
            .into_iter()
            .map(|array| {
                let len = self
                    .func
                    .push_op(Op::Len, vec![array], array, inst.span, before);
                self.func.values[len.index()].ty = Ty::Int;
                let op = Op::CopyArray { same: true };
                let copy = self
                    .func
                    .push_op(op, vec![array, len], array, inst.span, before);
                SegmentCopy { array, len, copy }
            })
            .collect();
        let looped = self.primal_loop(inst, lp);
        if let (InstKind::Loop(l), false) = (&looped.kind, copies.is_empty()) {
            if let Some(record) = &l.record {
                self.segments.insert(record.tape, copies);
            }
        }
        looped
    }

    /// The copies segments keep, which their enclosing loop records.
    pub(super) fn segment_copies(&self) -> impl Iterator<Item = Value> + '_ {
        self.segments.values().flatten().map(|c| c.copy)
    }

    /// `body` (a loop body in the primal) as its adjoint computes it again: each segment
    /// preceded by fresh copies of the copies kept at its start, and reading those.
    pub(super) fn with_working_copies(&mut self, body: &[Inst]) -> Vec<Inst> {
        let mut out = Vec::with_capacity(body.len());
        for inst in body {
            let tape = match &inst.kind {
                InstKind::Loop(l) => l.record.as_ref().map(|r| r.tape),
                _ => None,
            };
            let Some(copies) = tape.and_then(|t| self.segments.get(&t)).cloned() else {
                out.push(inst.clone());
                continue;
            };
            let mut renamed = HashMap::new();
            for c in copies {
                let op = Op::CopyArray { same: true };
                let working =
                    self.func
                        .push_op(op, vec![c.copy, c.len], c.array, inst.span, &mut out);
                renamed.insert(c.array, working);
            }
            let mut inst = inst.clone();
            inst.map_uses(&mut |v| renamed.get(&v).copied().unwrap_or(v));
            out.push(inst);
        }
        out
    }
}

/// The values an instruction reads that are defined outside it.
fn free_uses(inst: &Inst) -> Vec<Value> {
    let mut defined: Vec<Value> = inst.outs.clone();
    for b in inst.blocks() {
        b.defs(&mut defined);
    }
    if let InstKind::Loop(lp) = &inst.kind {
        defined.extend(lp.body_defs());
    }
    let defined: HashSet<Value> = defined.into_iter().collect();
    let mut seen = HashSet::new();
    inst.uses()
        .into_iter()
        .filter(|v| !defined.contains(v) && seen.insert(*v))
        .collect()
}
