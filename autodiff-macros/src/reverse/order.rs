//! Loop adjoints that run in the primal's order.
//!
//! A loop's adjoint walks the iterations backwards because an iteration's cotangents may
//! depend on a later iteration's: through a carried cotangent the iteration changes, or
//! through an element's cotangent, taken where the element was written, that another
//! iteration adds to. When neither can happen, each iteration only adds its own terms
//! and the iterations may run in any order. Walked backwards, a loop over indices did not
//! vectorise (rustc 1.95, `for i in (1..n).rev() { d[i] += 2.0 * x[i] }`; forwards it
//! did), so such an adjoint runs forwards: over the range as the primal ran it, its tape
//! first record first. Sums into one cotangent come out in another order.
//!
//! Not a loop that sums a float over its iterations (the cotangent of a parameter read
//! in each): without reassociation that sum keeps the loop scalar either way, and inside
//! a loop adjoint that walks its own tape backwards, walking this one forwards cost RK4
//! over the heat equation 9 % at 1,000 steps (glibc; not profiled further).
//!
//! Nor a loop over `0..j` with `j` an enclosing loop's index: short on average, it gains
//! nothing from vectorising and pays for the vectorised loop's entry tests (GMM's lower
//! triangle at D = 2 and 10: gradients 14–27 % slower walked forwards).

use super::scatter::Terms;
use super::*;

impl Reverse<'_> {
    /// Makes `lp`, a loop adjoint over a counted loop's range reversed, run forwards when
    /// its iterations are independent and it could vectorise (`scalar`: a carried
    /// cotangent changes, or the loop sums a float).
    pub(super) fn run_forward(&self, lp: &mut Loop, scalar: bool) {
        if self.target != Target::Pullback || scalar {
            return;
        }
        let (index, range) = match &lp.kind {
            LoopKind::For { index, range }
            | LoopKind::Tape {
                index: Some((index, range)),
                forward: false,
                ..
            } => (*index, range),
            LoopKind::Tape { .. } | LoopKind::While { .. } => return,
        };
        let only_rev = range.adapters.iter().all(|a| matches!(a, Adapter::Rev));
        let triangular = [range.lo, range.hi]
            .iter()
            .any(|v| self.indices.contains(v));
        if range.adapters.is_empty() || !only_rev || triangular || !independent(lp, index) {
            return;
        }
        match &mut lp.kind {
            LoopKind::For { range, .. } => {
                range.adapters.pop();
            }
            LoopKind::Tape {
                index: Some((_, range)),
                forward,
                ..
            } => {
                range.adapters.pop();
                *forward = true;
            }
            LoopKind::Tape { index: None, .. } | LoopKind::While { .. } => {}
        }
    }
}

/// One use of a cotangent buffer in a loop adjoint's body.
struct Access {
    buffer: Value,
    /// The element taken or added to (`None`: a whole-array, field or matrix addition).
    at: Option<Value>,
    take: bool,
    top: bool,
}

/// Whether no iteration of `lp` takes an element's cotangent that another iteration adds
/// to or takes: every buffer taken from is taken and added to only at the top of the
/// body, at one index that differs in every iteration (the loop's index, shifted).
fn independent(lp: &Loop, index: Value) -> bool {
    let mut accesses = Vec::new();
    collect(&lp.body.insts, true, &mut accesses);
    let mut local = Vec::new();
    lp.body.defs(&mut local);
    let terms = Terms::of(lp, index);
    let taken: HashSet<Value> = accesses
        .iter()
        .filter(|a| a.take && !local.contains(&a.buffer))
        .map(|a| a.buffer)
        .collect();
    taken.into_iter().all(|b| {
        let of_b: Vec<&Access> = accesses.iter().filter(|a| a.buffer == b).collect();
        let at = of_b[0].at;
        at.is_some_and(|at| terms.shift(at).is_some()) && of_b.iter().all(|a| a.top && a.at == at)
    })
}

fn collect(insts: &[Inst], top: bool, out: &mut Vec<Access>) {
    for inst in insts {
        let (buffer, at, take) = match &inst.kind {
            InstKind::TakeAt { buffer, index, .. } => (*buffer, Some(*index), true),
            InstKind::AddAt { buffer, index, .. } => (*buffer, Some(*index), false),
            InstKind::AddAll { buffer, .. }
            | InstKind::AddElem { buffer, .. }
            | InstKind::AddField { buffer, .. }
            | InstKind::AddRun(Run { buffer, .. }) => (*buffer, None, false),
            _ => {
                for b in inst.blocks() {
                    collect(&b.insts, false, out);
                }
                continue;
            }
        };
        out.push(Access {
            buffer,
            at,
            take,
            top,
        });
    }
}
