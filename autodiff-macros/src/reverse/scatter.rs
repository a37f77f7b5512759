//! Additions to neighbouring elements made after a loop's adjoint rather than in it.
//!
//! The adjoint of a stencil, `y[i] = f(x[i − 1], x[i], x[i + 1])`, adds into `d_x[i − 1]`,
//! `d_x[i]` and `d_x[i + 1]` at every index. Each addition reads an element that the
//! previous iteration wrote, so the loop is one chain of loads and stores through memory,
//! and it does not vectorise: RK4 over a heat equation spent half its gradient there.
//!
//! When a counted loop's adjoint only adds into a cotangent buffer, at indices `i`,
//! `i + c` or `i − c` of its index `i` (`c` the same in every iteration), it records the
//! values instead, one record per iteration, and after the loop each addition runs over
//! its elements in one pass (`InstKind::AddRun`), which vectorises. Each element receives
//! the same terms, summed in another order.
//!
//! Not where the adjoint carries a recurrence of its own (a carried cotangent that an
//! iteration changes, or one element's cotangent taken after another iteration added to
//! it, as in `buf[i] = f(buf[i − 1])`): that chain sets the loop's pace, and the records
//! would only add to it. (The cotangent of a sum `s += ..` passes through unchanged.)

use super::*;

/// An addition `buffer[index] += value` at the top of a loop adjoint's body.
struct Addition {
    at: usize,
    buffer: Value,
    shift: Option<Shift>,
    value: Value,
}

impl Reverse<'_> {
    /// Moves the additions of `lp` (a loop adjoint, `outs` its results) that qualify out
    /// of it: the loop records their values (its tape becomes its last out) and the
    /// returned instructions, to follow the loop, add them.
    /// `recurrent`: an iteration's carried cotangents depend on the next iteration's.
    pub(super) fn scatter_runs(
        &mut self,
        lp: &mut Loop,
        (outs, recurrent): (&mut Vec<Value>, bool),
        span: Span,
    ) -> Vec<Inst> {
        let Some((index, range)) = replayed(lp) else {
            return Vec::new();
        };
        if self.target != Target::Pullback || lp.record.is_some() || recurrent || taken_after(lp) {
            return Vec::new();
        }
        let func = &*self.func;
        let moved = runs(lp, index, |v| func.ty(v).is_float());
        if moved.is_empty() {
            return Vec::new();
        }
        let mut items: Vec<Value> = Vec::new();
        for a in &moved {
            if !items.contains(&a.value) {
                items.push(a.value);
            }
        }
        let tape = self.func.new_value(Some("runs".into()), span, Ty::Unknown);
        let positions: HashSet<usize> = moved.iter().map(|a| a.at).collect();
        let mut at = 0;
        lp.body.insts.retain(|_| {
            at += 1;
            !positions.contains(&(at - 1))
        });
        let backwards = range.adapters.len() % 2 == 1;
        let mut after = Vec::new();
        for a in moved {
            let shift = self.shift_outside(a.shift.unwrap_or(Shift::None), lp, &mut after);
            let kind = InstKind::AddRun(Run {
                buffer: a.buffer,
                records: tape,
                field: items.iter().position(|&v| v == a.value).unwrap_or(0),
                fields: items.len(),
                first: range.lo,
                shift,
                backwards,
            });
            after.push(Inst::new(Vec::new(), kind, span));
        }
        // `fill_records` fills every loop's record from these, the adjoint's too.
        self.records.insert(tape, items.clone());
        lp.record = Some(Record { tape, items });
        outs.push(tape);
        after
    }

    /// `shift` with a constant offset defined in the loop's body defined again after it.
    fn shift_outside(&mut self, shift: Shift, lp: &Loop, after: &mut Vec<Inst>) -> Shift {
        let Some(c) = shift.value() else {
            return shift;
        };
        let Some(def) = lp.body.insts.iter().find(|i| i.outs == [c]) else {
            return shift;
        };
        let copy = self.func.new_derived(Role::Primal, c);
        after.push(Inst::new(vec![copy], def.kind.clone(), def.span));
        if let Shift::Up(_) = shift {
            Shift::Up(copy)
        } else {
            Shift::Down(copy)
        }
    }
}

/// The index and range of a loop adjoint that replays a counted loop's index (over the
/// range alone, or beside its tape), when its range is only reversed.
fn replayed(lp: &Loop) -> Option<(Value, Range)> {
    let (index, range) = match &lp.kind {
        LoopKind::For { index, range }
        | LoopKind::Tape {
            index: Some((index, range)),
            ..
        } => (*index, range),
        LoopKind::Tape { index: None, .. } | LoopKind::While { .. } => return None,
    };
    let reversed = range.adapters.iter().all(|a| matches!(a, Adapter::Rev));
    reversed.then(|| (index, range.clone()))
}

/// Whether the body takes an element's cotangent of a buffer it adds to at another index:
/// a recurrence through memory.
fn taken_after(lp: &Loop) -> bool {
    fn scan(insts: &[Inst], taken: &mut Vec<(Value, Value)>, added: &mut Vec<(Value, Value)>) {
        for inst in insts {
            match inst.kind {
                InstKind::TakeAt { buffer, index, .. } => taken.push((buffer, index)),
                InstKind::AddAt { buffer, index, .. } => added.push((buffer, index)),
                _ => {}
            }
            for b in inst.blocks() {
                scan(&b.insts, taken, added);
            }
        }
    }
    let (mut taken, mut added) = (Vec::new(), Vec::new());
    scan(&lp.body.insts, &mut taken, &mut added);
    taken
        .iter()
        .any(|&(b, i)| added.iter().any(|&(c, j)| b == c && i != j))
}

/// The additions of `lp`'s body to move: all those into a buffer that the body does
/// nothing else with, when each is at a shift of the index and two shifts differ.
fn runs(lp: &Loop, index: Value, is_float: impl Fn(Value) -> bool) -> Vec<Addition> {
    let additions = additions(&lp.body.insts, index, is_float);
    let uses = lp.body.uses();
    let buffers: HashSet<Value> = additions.iter().map(|a| a.buffer).collect();
    let qualifies = |b: Value| {
        let of_b = || additions.iter().filter(move |a| a.buffer == b);
        let shifts: HashSet<Shift> = of_b().filter_map(|a| a.shift).collect();
        of_b().all(|a| a.shift.is_some())
            && shifts.len() >= 2
            && uses.iter().filter(|&&u| u == b).count() == of_b().count()
            && !lp.inits.contains(&b)
    };
    let moved: HashSet<Value> = buffers.into_iter().filter(|&b| qualifies(b)).collect();
    additions
        .into_iter()
        .filter(|a| moved.contains(&a.buffer))
        .collect()
}

/// The additions at indices into plain buffers among `insts`, with their shifts from
/// `index` where they have one and add a float.
fn additions(insts: &[Inst], index: Value, is_float: impl Fn(Value) -> bool) -> Vec<Addition> {
    let mut defined: Vec<Value> = Vec::new();
    for inst in insts {
        defined.extend(&inst.outs);
        for b in inst.blocks() {
            b.defs(&mut defined);
        }
    }
    let constant = |c: Value| {
        insts
            .iter()
            .find(|i| i.outs == [c])
            .map_or(!defined.contains(&c), |i| {
                matches!(i.kind, InstKind::Op(Op::Const(_), _))
            })
    };
    let shift = |at: Value| {
        if at == index {
            return Some(Shift::None);
        }
        let def = insts.iter().find(|i| i.outs == [at])?;
        match &def.kind {
            InstKind::Op(Op::Add, a) if a[0] == index && constant(a[1]) => Some(Shift::Up(a[1])),
            InstKind::Op(Op::Add, a) if a[1] == index && constant(a[0]) => Some(Shift::Up(a[0])),
            InstKind::Op(Op::Sub, a) if a[0] == index && constant(a[1]) => Some(Shift::Down(a[1])),
            _ => None,
        }
    };
    insts
        .iter()
        .enumerate()
        .filter_map(|(at, inst)| match inst.kind {
            InstKind::AddAt {
                buffer,
                index: i,
                value,
                grow: false,
            } => Some(Addition {
                at,
                buffer,
                shift: shift(i).filter(|_| is_float(value)),
                value,
            }),
            _ => None,
        })
        .collect()
}
