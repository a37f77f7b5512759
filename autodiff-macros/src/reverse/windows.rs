//! Loops that read an array around their index (`u[i − 1]`, `u[i]`, `u[i + 1]`) which the
//! primal writes later: their adjoint can read a copy of the elements the loop read, made
//! once before it, instead of one record per read value per iteration (Tapenade's push of
//! an array before the loop that overwrites it). A stencil over the cubic heat equation
//! records the centre and the Laplacian, two values an element; its window keeps one, and
//! the recording loop pushes nothing. RK4 over it keeps half the tape, and its recording
//! sweep fell from 1.8 to 1.3 times the primal at 10 steps (3.0 to 1.5 at 1,000).
//!
//! The primal makes a window (`InstKind::Window`, `autodiff_runtime`'s `Window`) of each
//! candidate before the loop: an array of floats that the loop does not write, that may
//! change before the adjoint runs, and that the loop's straight-line body reads only at
//! the index plus or minus a literal. Not in a loop inside an `if`: a branch exports what
//! the adjoint reads of it before the adjoint is built, and would export windows that are
//! then dropped. The window holds the elements of the loop's range widened by the largest
//! shifts, and is indexed as the array is. The loop's adjoint reads the windows when its
//! plan then records fewer values an iteration, counting a window as one
//! (`plan_with_windows`); the enclosing loop records the windows it uses, and the others
//! are removed from the primal (`drop_unused_windows`).

use super::scatter::Terms;
use super::*;

/// A window made before a loop: of `array`, as `copy`.
#[derive(Clone, Copy)]
pub(super) struct WindowCopy {
    array: Value,
    copy: Value,
}

impl Reverse<'_> {
    /// Before the counted loop `inst` (into `before`): a window of each array it reads
    /// only around its index (see the module's text).
    pub(super) fn windows_before(
        &mut self,
        inst: &Inst,
        lp: &Loop,
        before: &mut Vec<Inst>,
    ) -> Vec<WindowCopy> {
        let LoopKind::For { range, .. } = &lp.kind else {
            return Vec::new();
        };
        if self.target != Target::Pullback || self.branch_depth > 0 {
            return Vec::new();
        }
        let mut out = Vec::new();
        for (array, (before_index, after_index)) in self.window_reads(lp) {
            let ty = self.func.ty(array);
            let copy = self.func.new_value(Some("window".into()), inst.span, ty);
            let kind = InstKind::Window {
                array,
                lo: range.lo,
                hi: range.hi,
                inclusive: range.inclusive,
                before: before_index,
                after: after_index,
            };
            before.push(Inst::new(vec![copy], kind, inst.span));
            out.push(WindowCopy { array, copy });
        }
        out
    }

    /// The candidate arrays of `lp` (a counted loop over a plain range, its body straight
    /// line), with how far below and above the index the body reads them.
    fn window_reads(&self, lp: &Loop) -> Vec<(Value, (usize, usize))> {
        let LoopKind::For { index, range } = &lp.kind else {
            return Vec::new();
        };
        if !range.adapters.is_empty() || lp.body.insts.iter().any(|i| !i.blocks().is_empty()) {
            return Vec::new();
        }
        let terms = Terms::of(lp, *index);
        let mut defined = lp.body_defs();
        lp.body.defs(&mut defined);
        let written: HashSet<Value> = lp.params.iter().map(|&p| self.families.root(p)).collect();
        let mut arrays: Vec<Value> = Vec::new();
        for v in lp.body.uses() {
            let candidate = !defined.contains(&v)
                && self.func.ty(v).elem().is_float()
                && self.families.may_change(v)
                && !written.contains(&self.families.root(v));
            if candidate && !arrays.contains(&v) {
                arrays.push(v);
            }
        }
        arrays
            .into_iter()
            .filter_map(|a| Some((a, reach(&lp.body.insts, a, &terms)?)))
            .collect()
    }

    /// What a loop's adjoint computes again of `body` and what it records (see
    /// `recompute_or_record`), reading the windows made before the loop (`tape`) where
    /// that records fewer values an iteration, counting each window it reads as one;
    /// with the windows read.
    pub(super) fn plan_with_windows(
        &self,
        tape: Value,
        body: &[Inst],
        adjoint: &[Inst],
        record: impl Fn(&Inst, &[Value]) -> bool,
        is_float: impl Fn(Value) -> bool,
    ) -> (Vec<Inst>, Vec<Value>, Vec<Value>) {
        let (insts, stored) = recompute_or_record(body, adjoint, &record, &is_float);
        let Some(windows) = self.windows.get(&tape).filter(|w| !w.is_empty()) else {
            return (insts, stored, Vec::new());
        };
        let renamed = read_windows(body, windows);
        let (w_insts, w_stored) = recompute_or_record(&renamed, adjoint, &record, &is_float);
        let read: Vec<Value> = windows
            .iter()
            .map(|w| w.copy)
            .filter(|c| w_insts.iter().any(|i| i.uses().contains(c)))
            .collect();
        if w_stored.len() + read.len() < stored.len() {
            (w_insts, w_stored, read)
        } else {
            (insts, stored, Vec::new())
        }
    }

    /// Removes the windows that no adjoint reads from `insts` and the blocks in them.
    pub(super) fn drop_unused_windows(&self, insts: &mut Vec<Inst>) {
        insts.retain(|i| {
            !matches!(i.kind, InstKind::Window { .. }) || self.windows_read.contains(&i.outs[0])
        });
        for inst in insts {
            for b in inst.blocks_mut() {
                self.drop_unused_windows(&mut b.insts);
            }
        }
    }
}

/// How far below and above the index `insts` read `array`, if they read it only there
/// (`array[i + c]`, `c` a literal) and at least once.
fn reach(insts: &[Inst], array: Value, terms: &Terms<'_>) -> Option<(usize, usize)> {
    let (mut lo, mut hi) = (None::<i128>, None::<i128>);
    for inst in insts.iter().filter(|i| i.uses().contains(&array)) {
        let InstKind::Op(Op::Index, args) = &inst.kind else {
            return None;
        };
        if args[1] == array {
            return None;
        }
        let c = terms.offset(args[1])?;
        lo = Some(lo.map_or(c, |l| l.min(c)));
        hi = Some(hi.map_or(c, |h| h.max(c)));
    }
    let below = usize::try_from(-lo?.min(0)).ok()?;
    let above = usize::try_from(hi?.max(0)).ok()?;
    Some((below, above))
}

/// `body` with its reads of the windowed arrays made from their windows.
fn read_windows(body: &[Inst], windows: &[WindowCopy]) -> Vec<Inst> {
    let mut out = body.to_vec();
    for inst in &mut out {
        if let InstKind::Op(Op::Index, args) = &mut inst.kind {
            if let Some(w) = windows.iter().find(|w| w.array == args[0]) {
                args[0] = w.copy;
            }
        }
    }
    out
}
