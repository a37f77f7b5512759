//! The primal sweep: the function again, with the pullbacks of active calls and the
//! records that the adjoint of a loop reads.

use super::*;

impl Reverse<'_> {
    // -------------------- primal sweep --------------------

    /// The primal with every active call made through `_vjp`, keeping its pullback.
    pub(super) fn primal_block(&mut self, block: &Block) -> Block {
        let mut insts = Vec::new();
        for inst in &block.insts {
            let inst = self.primal_inst(inst, &mut insts);
            insts.push(inst);
        }
        Block {
            insts,
            yields: block.yields.clone(),
        }
    }

    /// `inst` in the primal; what it needs computed first goes to `before`.
    fn primal_inst(&mut self, inst: &Inst, before: &mut Vec<Inst>) -> Inst {
        match &inst.kind {
            // The written-out sweep calls the callee's partials instead (`sweep::op`).
            InstKind::Op(Op::Call { path, form }, args)
                if self.target == Target::Pullback
                    && inst.outs.iter().any(|&o| self.act.is_active(o)) =>
            {
                if args.iter().any(|&a| self.local_array(a)) {
                    return self.joint_call(inst, path, form, args, before);
                }
                // The results (the parts of a tuple result), then the pullback.
                let y = inst.outs[0];
                let pb = self.func.new_derived(Role::Pullback(y), y);
                self.func.values[pb.index()].ty = Ty::Unknown;
                let mut outs = inst.outs.clone();
                outs.push(pb);
                Inst::new(
                    outs,
                    self.call_vjp(path, form, args.clone(), args),
                    inst.span,
                )
            }
            InstKind::If { cond, then, els } => {
                self.branch_depth += 1;
                let (mut then, mut els) = (self.primal_block(then), self.primal_block(els));
                self.branch_depth -= 1;
                let mut outs = inst.outs.clone();
                // Exports need placeholders (`Undef`) that have no derivative: not in code
                // that is differentiated again.
                if self.target == Target::Pullback {
                    let (from_then, from_els) = (self.exportable(&then), self.exportable(&els));
                    self.export(&from_then, &mut then, &mut els, &mut outs, inst.span);
                    self.export(&from_els, &mut els, &mut then, &mut outs, inst.span);
                }
                Inst::new(
                    outs,
                    InstKind::If {
                        cond: *cond,
                        then,
                        els,
                    },
                    inst.span,
                )
            }
            InstKind::Loop(lp) if lp.recompute && self.target == Target::Pullback => {
                self.segment_loop(inst, lp, before)
            }
            InstKind::Loop(lp) => {
                let windows = self.windows_before(inst, lp, before);
                let looped = self.primal_loop(inst, lp);
                if let InstKind::Loop(l) = &looped.kind {
                    if let Some(record) = &l.record {
                        self.windows.insert(record.tape, windows);
                    }
                }
                looped
            }
            _ => inst.clone(),
        }
    }

    /// `path_vjp(args)`, asking only for the cotangents of the arguments active here
    /// (`active_args`: the call's own arguments, where `args` may hold copies of them).
    pub(super) fn call_vjp(
        &self,
        path: &proc_macro2::TokenStream,
        form: &crate::ir::CallForm,
        args: Vec<Value>,
        active_args: &[Value],
    ) -> InstKind {
        // Bit i: the i-th differentiable argument needs its cotangent.
        let (mut mask, mut n) = (0u64, 0);
        for &a in active_args
            .iter()
            .filter(|&&a| self.func.ty(a).is_differentiable())
        {
            if self.act.is_active(a) && n < 64 {
                mask |= 1 << n;
            }
            n += 1;
        }
        let all = if n >= 64 { u64::MAX } else { (1u64 << n) - 1 };
        InstKind::CallVjp {
            path: path.clone(),
            args,
            form: form.clone(),
            request: (mask != all).then_some(Request { mask, needs: None }),
        }
    }

    /// The copies of local arrays that joint calls pass to `g_vjp` in the adjoint, that
    /// segments start from, and the windows adjoints read.
    pub(super) fn snapshots(&self) -> HashSet<Value> {
        let args = self.joint.values().flat_map(|j| j.args.iter().copied());
        let joint = args.filter(|&a| self.local_array(a));
        joint
            .chain(self.segment_copies())
            .chain(self.windows_read.iter().copied())
            .collect()
    }

    /// An array made in the function (not a parameter): a callee's pullback may not
    /// borrow it, since the pullback outlives the function's locals.
    pub(super) fn local_array(&self, a: Value) -> bool {
        let root = self.families.root(a);
        self.func.ty(a).elem() != Ty::Unknown
            && !self.func.params.contains(&root)
            && !self.families.views.contains(&root)
    }

    /// `y = g(.., &u, ..)` with `u` a local array: the primal calls `g` plainly and copies
    /// `u` (it may be written later); the adjoint calls `g_vjp` on the copy and applies its
    /// pullback (`sweep::adjoint`). The callee's primal runs twice, as in Tapenade's joint
    /// mode, because a pullback borrowing a local could not be returned.
    fn joint_call(
        &mut self,
        inst: &Inst,
        path: &proc_macro2::TokenStream,
        form: &crate::ir::CallForm,
        args: &[Value],
        insts: &mut Vec<Inst>,
    ) -> Inst {
        let mut copies = Vec::new();
        for &a in args {
            if !self.local_array(a) {
                copies.push(a);
                continue;
            }
            let len = self.func.push_op(Op::Len, vec![a], a, inst.span, insts);
            self.func.values[len.index()].ty = Ty::Int;
            let copy = self.func.push_op(
                Op::CopyArray { same: true },
                vec![a, len],
                a,
                inst.span,
                insts,
            );
            copies.push(copy);
        }
        let joint = JointCall {
            path: path.clone(),
            form: form.clone(),
            args: copies,
        };
        self.joint.insert(inst.outs[0], joint);
        inst.clone()
    }

    /// Makes every value computed at the top of `from` (a branch) a result of the `if` too,
    /// `other` yielding a placeholder, so that the adjoint reads it instead of recomputing
    /// it after arrays changed. Arrays and call pullbacks stay inside.
    fn export(
        &mut self,
        values: &[Value],
        from: &mut Block,
        other: &mut Block,
        outs: &mut Vec<Value>,
        span: Span,
    ) {
        for &v in values {
            let out = self
                .func
                .new_value(self.func.info(v).name.clone(), span, self.func.ty(v));
            let placeholder = self.func.new_value(None, span, self.func.ty(v));
            other.insts.push(Inst::new(
                vec![placeholder],
                InstKind::Op(Op::Undef, Vec::new()),
                span,
            ));
            from.yields.push(v);
            other.yields.push(placeholder);
            outs.push(out);
            self.exports.insert(v, out);
        }
    }

    /// What a branch exports (but arrays and pullbacks): what must be recorded, in a
    /// function that writes arrays; otherwise the results of costly functions, cheaper to
    /// keep than to compute again in the adjoint.
    fn exportable(&self, block: &Block) -> Vec<Value> {
        let written = self.families.written;
        block
            .insts
            .iter()
            .filter(|i| {
                if written {
                    self.must_record(i)
                } else {
                    matches!(
                        i.kind,
                        InstKind::Op(Op::Fun(_) | Op::Matches { .. } | Op::Bound { .. }, _)
                    ) && costly(i)
                }
            })
            .flat_map(|i| i.outs.iter().copied())
            .filter(|&v| {
                !self.families.is_array(v) && !matches!(self.func.info(v).role, Role::Pullback(_))
            })
            .collect()
    }

    /// Whether the adjoint must read `inst`'s results from a tape rather than compute them
    /// again: costly instructions, and in a function that writes arrays, anything that
    /// reads a written array (it may have changed since) or holds a block (it may write).
    pub(super) fn must_record(&self, inst: &Inst) -> bool {
        costly(inst)
            || (self.families.written
                && (!inst.blocks().is_empty()
                    || inst.uses().iter().any(|&v| self.families.may_change(v))))
    }

    /// Whether a loop's adjoint reads the `wanted` results of `inst` from its tape: what
    /// must be recorded, and in the written-out sweep only scalars (its records are one
    /// `Vec` per item, so an inner loop and its tape are computed again instead).
    pub(super) fn recordable(&self, inst: &Inst, wanted: &[Value]) -> bool {
        let scalar = |&v: &Value| self.func.ty(v).is_float() || self.func.ty(v) == Ty::Int;
        self.must_record(inst) && (self.target == Target::Pullback || wanted.iter().all(scalar))
    }

    /// A loop whose adjoint will run: it records each iteration on a tape (its last out).
    /// What it records is known once the adjoint is built; `fill_records` fills it in.
    pub(super) fn primal_loop(&mut self, inst: &Inst, lp: &Loop) -> Inst {
        let mut lp = lp.clone();
        if let LoopKind::For { index, .. } = lp.kind {
            self.indices.insert(index);
        }
        lp.body = self.primal_block(&lp.body);
        let mut outs = inst.outs.clone();
        if (0..lp.params.len()).any(|i| self.act.slot_active(&lp, &inst.outs, i)) {
            let tape = self
                .func
                .new_value(Some("tape".into()), inst.span, crate::ir::Ty::Unknown);
            lp.record = Some(Record {
                tape,
                items: Vec::new(),
            });
            outs.push(tape);
        }
        Inst::new(outs, InstKind::Loop(Box::new(lp)), inst.span)
    }
}
