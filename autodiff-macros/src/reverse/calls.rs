//! The adjoint of a call: its pullback applied to the cotangents of its results, the
//! cotangents it returns added into the caller's (or into buffers, for arrays).

use super::*;

impl Reverse<'_> {
    /// A call made again through `_vjp` on the copies of its local arrays, its pullback
    /// applied to its results' cotangents (`primal::joint_call`).
    pub(super) fn joint_adjoint(
        &mut self,
        inst: &Inst,
        args: &[Value],
        adj: &mut Adjoints,
        out: &mut Vec<Inst>,
    ) {
        let Some(seeds) = self.seeds(&inst.outs, adj, out) else {
            return;
        };
        let Some(joint) = self.joint.get(&inst.outs[0]) else {
            return;
        };
        let (y, span) = (inst.outs[0], inst.span);
        let kind = self.call_vjp(&joint.path, &joint.form, joint.args.clone(), args);
        let pb = self.func.new_derived(Role::Pullback(y), y);
        self.func.values[pb.index()].ty = Ty::Unknown;
        let mut outs: Vec<Value> = (inst.outs.iter())
            .map(|&o| self.func.new_value(None, span, self.func.ty(o)))
            .collect();
        outs.push(pb);
        out.push(Inst::new(outs, kind, span));
        self.call(args, pb, seeds, span, adj, out);
    }

    /// The cotangents of a call's results (a zero for a part nothing reached), or `None`
    /// when nothing reached any of them.
    pub(super) fn seeds(
        &mut self,
        results: &[Value],
        adj: &mut Adjoints,
        out: &mut Vec<Inst>,
    ) -> Option<Vec<Value>> {
        // An array's cotangent is its buffer (element reads added into it).
        let taken: Vec<Option<Value>> = results
            .iter()
            .map(|&y| match self.buffers.get(&self.families.root(y)) {
                Some(&buffer) if self.families.is_array(y) => Some(buffer),
                _ => self.take(adj, y, out),
            })
            .collect();
        if taken.iter().all(Option::is_none) {
            return None;
        }
        let seeds = results
            .iter()
            .zip(taken)
            .map(|(&y, d)| d.unwrap_or_else(|| self.zero_of(y, out)))
            .collect();
        Some(seeds)
    }

    /// `(d_a, d_b, ..) = pullback(d_y)`: one cotangent per float argument, in order.
    pub(super) fn call(
        &mut self,
        args: &[Value],
        pullback: Value,
        seeds: Vec<Value>,
        span: Span,
        adj: &mut Adjoints,
        out: &mut Vec<Inst>,
    ) {
        let mut outs = Vec::new();
        let mut into_buffers = Vec::new();
        let floats: Vec<Value> = args
            .iter()
            .copied()
            .filter(|&a| self.func.ty(a).is_differentiable())
            .collect();
        for a in floats {
            let d = self.cotangent_value(a);
            outs.push(d);
            if !self.act.is_active(a) {
                continue;
            }
            // An array's cotangent goes into its family's buffer, as element reads' do.
            let root = self.families.root(a);
            match self.buffers.get(&root) {
                Some(&buffer) if self.families.is_array(a) => {
                    let grow = self.families.growable.contains(&root);
                    let kind = InstKind::AddAll {
                        buffer,
                        value: d,
                        grow,
                        range: None,
                    };
                    into_buffers.push(Inst::new(Vec::new(), kind, span));
                }
                _ => adj.add(a, d),
            }
        }
        out.push(Inst::new(
            outs,
            InstKind::Pullback { pullback, seeds },
            span,
        ));
        out.extend(into_buffers);
    }
}
