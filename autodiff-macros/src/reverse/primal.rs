//! The primal sweep: the function again, with the pullbacks of active calls and the
//! records that the adjoint of a loop reads.

use super::*;

impl Reverse<'_> {
    // -------------------- primal sweep --------------------

    /// The primal with every active call made through `_vjp`, keeping its pullback.
    pub(super) fn primal_block(&mut self, block: &Block) -> Block {
        let insts = block
            .insts
            .iter()
            .map(|inst| self.primal_inst(inst))
            .collect();
        Block {
            insts,
            yields: block.yields.clone(),
        }
    }

    fn primal_inst(&mut self, inst: &Inst) -> Inst {
        match &inst.kind {
            // The written-out sweep calls the callee's partials instead (`sweep::op`).
            InstKind::Op(Op::Call { path, form }, args)
                if self.target == Target::Pullback && self.act.is_active(inst.outs[0]) =>
            {
                let y = inst.outs[0];
                let pb = self.func.new_derived(Role::Pullback(y), y);
                self.func.values[pb.index()].ty = Ty::Unknown;
                // Bit i: the i-th differentiable argument needs its cotangent.
                let (mut mask, mut n) = (0u64, 0);
                for &a in args
                    .iter()
                    .filter(|&&a| self.func.ty(a).is_differentiable())
                {
                    if self.act.is_active(a) && n < 64 {
                        mask |= 1 << n;
                    }
                    n += 1;
                }
                let all = if n >= 64 { u64::MAX } else { (1u64 << n) - 1 };
                Inst::new(
                    vec![y, pb],
                    InstKind::CallVjp {
                        path: path.clone(),
                        args: args.clone(),
                        form: form.clone(),
                        request: (mask != all).then_some(Request { mask, needs: None }),
                    },
                    inst.span,
                )
            }
            InstKind::If { cond, then, els } => {
                let (mut then, mut els) = (self.primal_block(then), self.primal_block(els));
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
            InstKind::Loop(lp) => self.primal_loop(inst, lp),
            _ => inst.clone(),
        }
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
                    matches!(i.kind, InstKind::Op(Op::Fun(_), _)) && costly(i)
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
                    || inst.uses().iter().any(|&v| self.families.is_written(v))))
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
    fn primal_loop(&mut self, inst: &Inst, lp: &Loop) -> Inst {
        let mut lp = lp.clone();
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
