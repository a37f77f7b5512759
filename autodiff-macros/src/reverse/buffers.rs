//! Cotangent buffers of arrays: made where an array is made (a new array, a copy, a
//! call's result), and the adjoints of writes and copies, which move cotangents between
//! buffers.

use super::*;

impl Reverse<'_> {
    /// Cotangent buffers for the active arrays created in `insts`, zero to start with.
    pub(super) fn new_buffers(&mut self, insts: &[Inst]) -> Vec<Inst> {
        let mut out = Vec::new();
        for inst in insts {
            if let InstKind::CallVjp { .. } | InstKind::Op(Op::Call { .. }, _) = &inst.kind {
                self.returned_buffers(inst, &mut out);
                continue;
            }
            let (
                InstKind::Op(
                    Op::NewArray { .. } | Op::EmptyVec | Op::CopyArray { .. } | Op::SubSlice { .. },
                    args,
                ),
                Some(&array),
            ) = (&inst.kind, inst.outs.first())
            else {
                continue;
            };
            let root = self.families.root(array);
            if self.buffers.contains_key(&root) || !self.family_active(root) {
                continue;
            }
            if let InstKind::Op(Op::CopyArray { .. } | Op::SubSlice { .. }, _) = &inst.kind {
                // A copy's buffer: zeros, as many as the elements copied (the last argument).
                let zero = self.func.push_float(0.0, array, inst.span, &mut out);
                self.func.values[zero.index()].ty = self.func.ty(array).elem();
                let buffer = self.cotangent_value(array);
                let len = args[args.len() - 1];
                let kind = InstKind::Op(Op::NewArray { fixed: false }, vec![zero, len]);
                out.push(Inst::new(vec![buffer], kind, inst.span));
                self.buffers.insert(root, buffer);
                continue;
            }
            let InstKind::Op(Op::NewArray { fixed }, _) = &inst.kind else {
                // A `Vec` built by `push`: its buffer starts empty and grows.
                let buffer = self.cotangent_value(array);
                out.push(Inst::new(
                    vec![buffer],
                    InstKind::Op(Op::EmptyVec, Vec::new()),
                    inst.span,
                ));
                self.buffers.insert(root, buffer);
                continue;
            };
            let zero = self.cotangent_value(args[0]);
            out.push(Inst::new(
                vec![zero],
                InstKind::ZeroLike(args[0]),
                inst.span,
            ));
            let buffer = self.cotangent_value(inst.outs[0]);
            out.push(Inst::new(
                vec![buffer],
                InstKind::Op(Op::NewArray { fixed: *fixed }, vec![zero, args[1]]),
                inst.span,
            ));
            self.buffers.insert(root, buffer);
        }
        out
    }

    /// Buffers for the arrays a call returns: `zero_like` of each.
    fn returned_buffers(&mut self, inst: &Inst, out: &mut Vec<Inst>) {
        for &o in &inst.outs {
            let root = self.families.root(o);
            if !self.families.is_array(o)
                || self.buffers.contains_key(&root)
                || !self.family_active(root)
            {
                continue;
            }
            let buffer = self.cotangent_value(o);
            out.push(Inst::new(
                vec![buffer],
                InstKind::Buffer { like: o },
                inst.span,
            ));
            self.buffers.insert(root, buffer);
        }
    }

    /// `y = x.to_vec()`: what reached the copy's elements reaches `x`'s; `y = &x[lo..hi]`
    /// (`range`): those of `x` from `lo` to `hi`.
    pub(super) fn copy_adjoint(
        &mut self,
        y: Value,
        x: Value,
        range: Option<(Value, Value)>,
        span: Span,
        out: &mut Vec<Inst>,
    ) {
        let from = self.buffers.get(&self.families.root(y));
        let x_root = self.families.root(x);
        if let (Some(&value), Some(&buffer)) = (from, self.buffers.get(&x_root)) {
            let grow = self.families.growable.contains(&x_root);
            let kind = InstKind::AddAll {
                buffer,
                value,
                grow,
                range,
            };
            out.push(Inst::new(Vec::new(), kind, span));
        }
    }

    pub(super) fn family_active(&self, root: Value) -> bool {
        self.families
            .parent
            .iter()
            .any(|(&v, _)| self.families.root(v) == root && self.act.is_active(v))
            || self.act.is_active(root)
    }

    /// `a' = store(a, i, v)`: `v` takes the cotangent of element `i`, which then becomes
    /// zero (the element before the write did not reach the result).
    pub(super) fn store_adjoint(
        &mut self,
        args: &[Value],
        span: Span,
        adj: &mut Adjoints,
        out: &mut Vec<Inst>,
    ) {
        let Some(&buffer) = self.buffers.get(&self.families.root(args[0])) else {
            return;
        };
        let d_v = self.cotangent_value(args[2]);
        out.push(Inst::new(
            vec![d_v],
            InstKind::TakeAt {
                buffer,
                index: args[1],
                grow: self
                    .families
                    .growable
                    .contains(&self.families.root(args[0])),
            },
            span,
        ));
        if self.act.is_active(args[2]) {
            adj.add(args[2], d_v);
        }
    }
}
