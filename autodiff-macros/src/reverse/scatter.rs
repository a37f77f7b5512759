//! Additions to neighbouring elements made after a loop's adjoint rather than in it.
//!
//! The adjoint of a stencil, `y[i] = f(x[i − 1], x[i], x[i + 1])`, adds into `d_x[i − 1]`,
//! `d_x[i]` and `d_x[i + 1]` at every index. Each addition reads an element that the
//! previous iteration wrote, so the loop is one chain of loads and stores through memory,
//! and it does not vectorise: RK4 over a heat equation spent half its gradient there.
//!
//! When a counted loop's adjoint only adds into a cotangent buffer, at indices such as
//! `i`, `i + c`, `i − c` or `row + i − 1` of its index `i` (sums and differences of terms
//! that are the same in every iteration; those the body computes are computed again after
//! the loop), it records the values instead, one record per iteration, and after the loop
//! each addition runs over its elements in one pass (`InstKind::AddRun`), which
//! vectorises. Each element receives the same terms, summed in another order. Only
//! buffers that two of the additions reach a literal apart (`i − 1` and `i + 1`; not `i`
//! and `i + lag`, which may never meet, nor rows of a short kernel loop) move.
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
        let after = self.adds_after(&moved, lp, (tape, &items), &range, span);
        // `fill_records` fills every loop's record from these, the adjoint's too.
        self.records.insert(tape, items.clone());
        lp.record = Some(Record { tape, items });
        outs.push(tape);
        after
    }

    /// The additions `moved` out of `lp`, over `range`, reading field by field the
    /// records `tape` holds (`items` each).
    fn adds_after(
        &mut self,
        moved: &[Addition],
        lp: &Loop,
        (tape, items): (Value, &[Value]),
        range: &Range,
        span: Span,
    ) -> Vec<Inst> {
        let backwards = range.adapters.len() % 2 == 1;
        let mut after = Vec::new();
        let mut copies = HashMap::new();
        for a in moved {
            let Some(shift) = &a.shift else { continue };
            let mut outside = |&c: &Value| self.outside(c, &lp.body.insts, &mut copies, &mut after);
            let shift = Shift {
                up: shift.up.iter().map(&mut outside).collect(),
                down: shift.down.iter().map(&mut outside).collect(),
            };
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
        after
    }

    /// `c`, a term of a shift, as a value after the loop whose body is `body`: computed
    /// again there (into `after`) if the body computes it.
    fn outside(
        &mut self,
        c: Value,
        body: &[Inst],
        copies: &mut HashMap<Value, Value>,
        after: &mut Vec<Inst>,
    ) -> Value {
        if let Some(&copy) = copies.get(&c) {
            return copy;
        }
        let Some(def) = body.iter().find(|i| i.outs == [c]) else {
            return c;
        };
        let mut kind = def.kind.clone();
        if let InstKind::Op(_, args) = &mut kind {
            for a in args.iter_mut() {
                *a = self.outside(*a, body, copies, after);
            }
        }
        let copy = self.func.new_derived(Role::Primal, c);
        after.push(Inst::new(vec![copy], kind, def.span));
        copies.insert(c, copy);
        copy
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
/// nothing else with, when each is at a shift of the index and two are near (differ by a
/// literal: `i − 1` and `i + 1`, not `i` and `i + lag`, which may never meet).
fn runs(lp: &Loop, index: Value, is_float: impl Fn(Value) -> bool) -> Vec<Addition> {
    let (additions, terms) = additions(lp, index, is_float);
    let uses = lp.body.uses();
    let buffers: HashSet<Value> = additions.iter().map(|a| a.buffer).collect();
    let qualifies = |b: Value| {
        let of_b = || additions.iter().filter(move |a| a.buffer == b);
        let shifts: Vec<Shift> = of_b().filter_map(|a| a.shift.clone()).collect();
        of_b().all(|a| a.shift.is_some())
            && terms.near(&shifts)
            && uses.iter().filter(|&&u| u == b).count() == of_b().count()
            && !lp.inits.contains(&b)
    };
    let moved: HashSet<Value> = buffers.into_iter().filter(|&b| qualifies(b)).collect();
    additions
        .into_iter()
        .filter(|a| moved.contains(&a.buffer))
        .collect()
}

/// The additions at indices into plain buffers in `lp`'s body, with their shifts from
/// `index` where they have one and add a float.
fn additions(
    lp: &Loop,
    index: Value,
    is_float: impl Fn(Value) -> bool,
) -> (Vec<Addition>, Terms<'_>) {
    let terms = Terms::of(lp, index);
    let additions = lp
        .body
        .insts
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
                shift: terms.shift(i).filter(|_| is_float(value)),
                value,
            }),
            _ => None,
        })
        .collect();
    (additions, terms)
}

/// The integer terms of a loop adjoint's body (`insts`, the top level; `defined`, every
/// value it or the loop defines).
pub(super) struct Terms<'a> {
    insts: &'a [Inst],
    index: Value,
    defined: Vec<Value>,
}

impl<'a> Terms<'a> {
    /// The terms of `lp`, a loop adjoint with index `index`.
    pub(super) fn of(lp: &'a Loop, index: Value) -> Self {
        // The index, params and records vary by iteration, as what the body computes.
        let mut defined = lp.body_defs();
        lp.body.defs(&mut defined);
        Terms {
            insts: &lp.body.insts,
            index,
            defined,
        }
    }

    fn def(&self, v: Value) -> Option<(&Op, &[Value])> {
        match &self.insts.iter().find(|i| i.outs == [v])?.kind {
            InstKind::Op(op, args) => Some((op, args)),
            _ => None,
        }
    }

    /// `at` as the index plus and minus invariant terms: sums and differences down to
    /// the index.
    pub(super) fn shift(&self, at: Value) -> Option<Shift> {
        if at == self.index {
            return Some(Shift::default());
        }
        let (op, args) = self.def(at)?;
        let (mut shift, term, up) = match op {
            Op::Add if self.invariant(args[1]) => (self.shift(args[0])?, args[1], true),
            Op::Add if self.invariant(args[0]) => (self.shift(args[1])?, args[0], true),
            Op::Sub if self.invariant(args[1]) => (self.shift(args[0])?, args[1], false),
            _ => return None,
        };
        let terms = if up { &mut shift.up } else { &mut shift.down };
        terms.push(term);
        // In order, so that equal shifts compare equal.
        terms.sort();
        Some(shift)
    }

    /// `at` as the index plus a literal (`i`, `i + 1`, `i − 2`): that literal.
    pub(super) fn offset(&self, at: Value) -> Option<i128> {
        let ((up, down), offset) = self.split(&self.shift(at)?);
        (up.is_empty() && down.is_empty()).then_some(offset)
    }

    /// Whether two of `shifts` differ by a literal only.
    fn near(&self, shifts: &[Shift]) -> bool {
        let split: Vec<_> = shifts.iter().map(|s| self.split(s)).collect();
        split.iter().enumerate().any(|(k, (terms, offset))| {
            split[k + 1..]
                .iter()
                .any(|(t, o)| t == terms && o != offset)
        })
    }

    /// A shift's terms other than integer literals, and the literals' sum.
    fn split(&self, shift: &Shift) -> ((Vec<Value>, Vec<Value>), i128) {
        let mut offset = 0;
        let mut rest = |terms: &[Value], sign: i128| {
            let mut kept = Vec::new();
            for &t in terms {
                match self.literal(t) {
                    Some(n) => offset += sign * n,
                    None => kept.push(t),
                }
            }
            kept
        };
        let terms = (rest(&shift.up, 1), rest(&shift.down, -1));
        (terms, offset)
    }

    fn literal(&self, v: Value) -> Option<i128> {
        let (Op::Const(crate::ir::Const::Int(lit)), _) = self.def(v)? else {
            return None;
        };
        // Decimal digits, then perhaps a suffix (`1`, `2usize`); not `0x10` or `1e3`.
        let text = lit.to_string().replace('_', "");
        let end = text
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len());
        let suffix = &text[end..];
        (suffix.is_empty() || suffix.starts_with(['u', 'i']))
            .then(|| text[..end].parse().ok())
            .flatten()
    }

    /// Whether `v` is the same in every iteration: defined outside the body, or by
    /// integer arithmetic on such values (computed again after the loop).
    fn invariant(&self, v: Value) -> bool {
        if !self.defined.contains(&v) {
            return true;
        }
        match self.def(v) {
            Some((Op::Const(_), _)) => true,
            Some((Op::Add | Op::Sub | Op::Mul, args)) => args.iter().all(|&a| self.invariant(a)),
            _ => false,
        }
    }
}
