//! Passes over the pullback: first writes into cotangent buffers as assignments, and guards
//! that skip the adjoint of what the caller does not need.

use super::*;

/// Marks the first write to each part of a parameter's cotangent buffer in the pullback's
/// straight-line code as an assignment (the buffer is zero there, so adding is moving):
/// a write is first when no write before it, at any depth, touched an overlapping path.
pub(super) fn assign_first_writes(insts: &mut [Inst]) {
    fn paths(inst: &Inst, out: &mut Vec<(Value, String)>) {
        match &inst.kind {
            InstKind::AddField { buffer, member, .. } => out.push((*buffer, member.to_string())),
            InstKind::AddElem { buffer, .. }
            | InstKind::AddAt { buffer, .. }
            | InstKind::AddRun(Run { buffer, .. })
            | InstKind::AddAll { buffer, .. } => out.push((*buffer, String::new())),
            InstKind::Guard { inner, .. } => paths(inner, out),
            _ => {
                for b in inst.blocks() {
                    for i in &b.insts {
                        paths(i, out);
                    }
                }
            }
        }
    }
    // `a` and `b` overlap when one is a prefix of the other, member by member.
    let overlap = |a: &str, b: &str| {
        let (x, y): (Vec<&str>, Vec<&str>) = (a.split('.').collect(), b.split('.').collect());
        a.is_empty() || b.is_empty() || x.iter().zip(&y).all(|(p, q)| p.trim() == q.trim())
    };
    let mut written: Vec<(Value, String)> = Vec::new();
    for inst in insts.iter_mut() {
        let target = match &mut inst.kind {
            InstKind::Guard { inner, .. } => &mut inner.kind,
            kind => kind,
        };
        if let InstKind::AddField {
            buffer,
            member,
            assign,
            ..
        } = target
        {
            let path = member.to_string();
            *assign = !written
                .iter()
                .any(|(b, p)| b == buffer && overlap(p, &path));
            written.push((*buffer, path));
            continue;
        }
        paths(inst, &mut written);
    }
}

/// Wraps each instruction of the pullback body that leads only to some of the cotangents
/// `grads` in a guard on `needs` (bit `i` for `grads[i]`), so that it runs only if the
/// caller needs one of them. What leads to a guarded instruction leads to no more
/// cotangents than it does, so a skipped result is never read by an instruction that runs;
/// a skipped cotangent is returned as a placeholder. Loops and branches always run.
pub(super) fn guard_by_need(
    insts: Vec<Inst>,
    grads: &[Value],
    needs: Value,
) -> (Vec<Inst>, HashMap<Value, u64>) {
    let all: u64 = if grads.len() >= 64 {
        u64::MAX
    } else {
        (1 << grads.len()) - 1
    };
    let mut reach: HashMap<Value, u64> = HashMap::new();
    for (i, &g) in grads.iter().enumerate() {
        *reach.entry(g).or_default() |= 1 << i;
    }
    let mut masks = vec![all; insts.len()];
    for (k, inst) in insts.iter().enumerate().rev() {
        let written = match &inst.kind {
            InstKind::AddField { buffer, .. }
            | InstKind::AddAt { buffer, .. }
            | InstKind::AddAll { buffer, .. }
            | InstKind::AddRun(Run { buffer, .. })
            | InstKind::AddElem { buffer, .. } => Some(*buffer),
            _ => None,
        };
        let simple = inst.blocks().is_empty();
        let mask = if simple {
            inst.outs
                .iter()
                .chain(&written)
                .map(|v| reach.get(v).copied().unwrap_or(0))
                .fold(0, |a, b| a | b)
        } else {
            all
        };
        masks[k] = mask;
        for u in inst.uses() {
            *reach.entry(u).or_default() |= mask;
        }
    }
    let insts = insts
        .into_iter()
        .zip(masks)
        .map(|(inst, mask)| {
            if mask == all || !guardable(&inst) {
                return inst;
            }
            let (outs, span) = (inst.outs.clone(), inst.span);
            let kind = InstKind::Guard {
                needs,
                mask,
                inner: Box::new(inst),
            };
            Inst::new(outs, kind, span)
        })
        .collect();
    (insts, reach)
}

/// Makes the requests of the calls at the top of `primal` depend on what this function's
/// caller needs: an argument's cotangent is asked for only if it reaches a needed
/// parameter (`reach` of the matching pullback's results). Returns whether any did.
pub(super) fn pass_needs_on(
    primal: &mut Block,
    adjoint: &[Inst],
    reach: &HashMap<Value, u64>,
    needs: Value,
) -> bool {
    let outs_of: HashMap<Value, &[Value]> = adjoint
        .iter()
        .filter_map(|i| match &i.kind {
            InstKind::Pullback { pullback, .. } => Some((*pullback, i.outs.as_slice())),
            InstKind::Guard { inner, .. } => match &inner.kind {
                InstKind::Pullback { pullback, .. } => Some((*pullback, inner.outs.as_slice())),
                _ => None,
            },
            _ => None,
        })
        .collect();
    let mut any = false;
    for inst in &mut primal.insts {
        let pb = inst.outs.get(1).copied();
        let InstKind::CallVjp { request, .. } = &mut inst.kind else {
            continue;
        };
        // One differentiable argument: its cotangent is needed whenever the pullback runs.
        let Some(outs) = pb.and_then(|pb| outs_of.get(&pb)).filter(|o| o.len() >= 2) else {
            continue;
        };
        let all = if outs.len() >= 64 {
            u64::MAX
        } else {
            (1 << outs.len()) - 1
        };
        let mask = request.as_ref().map_or(all, |r| r.mask);
        let reaches = outs
            .iter()
            .map(|o| reach.get(o).copied().unwrap_or(u64::MAX))
            .collect();
        *request = Some(Request {
            mask,
            needs: Some((needs, reaches)),
        });
        any = true;
    }
    any
}

/// Instructions a guard may skip: computations and additions into buffers, not loops or
/// branches, and not the buffers themselves (they are `mut` variables).
fn guardable(inst: &Inst) -> bool {
    match &inst.kind {
        // Constants are written inline where used.
        InstKind::Op(op, _) => !matches!(
            op,
            Op::NewArray { .. }
                | Op::EmptyVec
                | Op::Store
                | Op::Push
                | Op::Const(_)
                | Op::Extern(_)
                | Op::Undef
        ),
        InstKind::Zero => false,
        InstKind::Rule { .. }
        | InstKind::Sum(_)
        | InstKind::ZeroLike(_)
        | InstKind::AddAt { .. }
        | InstKind::AddAll { .. }
        | InstKind::AddRun(_)
        | InstKind::AddField { .. }
        | InstKind::AddElem { .. }
        | InstKind::Pullback { .. } => true,
        InstKind::If { .. }
        | InstKind::Window { .. }
        | InstKind::Buffer { .. }
        | InstKind::TakeAt { .. }
        | InstKind::CallJvp { .. }
        | InstKind::CallVjp { .. }
        | InstKind::Needs
        | InstKind::Guard { .. }
        | InstKind::Closure { .. }
        | InstKind::Loop(_) => false,
    }
}

/// The active parameters (objects) some field or element of which is read (`p.w`,
/// `m[(i, j)]`): their cotangents are filled in place.
pub(super) fn fields_read(func: &Func, active_params: &[Value]) -> Vec<Value> {
    fn scan(block: &Block, found: &mut HashSet<Value>) {
        for inst in &block.insts {
            if let InstKind::Op(Op::Field { .. } | Op::At, args) = &inst.kind {
                found.extend(args.first());
            }
            for b in inst.blocks() {
                scan(b, found);
            }
        }
    }
    let mut found = HashSet::new();
    scan(&func.body, &mut found);
    active_params
        .iter()
        .copied()
        .filter(|p| found.contains(p) && func.ty(*p) == Ty::Obj)
        .collect()
}
