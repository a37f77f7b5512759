//! The adjoint sweep: each instruction last to first, branches replayed on their condition,
//! loops run backwards over their records.

use super::*;

impl Reverse<'_> {
    // -------------------- adjoint sweep --------------------

    /// The adjoint of `insts` (in primal form), last to first; contributions to values
    /// defined outside `insts` are left in `adj`.
    pub(super) fn adjoint(&mut self, insts: &[Inst], adj: &mut Adjoints) -> Vec<Inst> {
        let mut out = self.new_buffers(insts);
        for inst in insts.iter().rev() {
            match &inst.kind {
                InstKind::Op(Op::Store | Op::Push, args) if self.act.is_active(inst.outs[0]) => {
                    self.store_adjoint(args, inst.span, adj, &mut out);
                }
                InstKind::Op(Op::CopyArray { .. }, args) if self.act.is_active(inst.outs[0]) => {
                    self.copy_adjoint(inst.outs[0], args[0], None, inst.span, &mut out);
                }
                InstKind::Op(Op::SubSlice { .. }, args) if self.act.is_active(inst.outs[0]) => {
                    let range = Some((args[1], args[2]));
                    self.copy_adjoint(inst.outs[0], args[0], range, inst.span, &mut out);
                }
                InstKind::Op(Op::Call { .. }, args) if self.joint.contains_key(&inst.outs[0]) => {
                    self.joint_adjoint(inst, args, adj, &mut out);
                }
                InstKind::Op(op, args) if self.act.is_active(inst.outs[0]) => {
                    if let Some(d) = self.take(adj, inst.outs[0], &mut out) {
                        self.op(op, args, inst.outs[0], d, inst.span, adj, &mut out);
                    }
                }
                InstKind::CallVjp { args, .. } => {
                    let (results, pullback) = inst.outs.split_at(inst.outs.len() - 1);
                    if let Some(seeds) = self.seeds(results, adj, &mut out) {
                        self.call(args, pullback[0], seeds, inst.span, adj, &mut out);
                    }
                }
                InstKind::If { cond, then, els } => {
                    self.branch(inst, *cond, then, els, adj, &mut out)
                }
                InstKind::Loop(lp) => self.loop_adjoint(inst, lp, adj, &mut out),
                _ => {}
            }
        }
        out
    }

    /// The summed cotangent of `v`, if anything contributed to it.
    pub(super) fn take(
        &mut self,
        adj: &mut Adjoints,
        v: Value,
        out: &mut Vec<Inst>,
    ) -> Option<Value> {
        let parts = adj.contributions.remove(&v)?;
        match parts.as_slice() {
            [] => None,
            [one] => Some(*one),
            _ => {
                let d = self.cotangent_value(v);
                out.push(Inst::new(
                    vec![d],
                    InstKind::Sum(parts),
                    self.func.info(v).span,
                ));
                Some(d)
            }
        }
    }

    pub(super) fn take_or_zero(
        &mut self,
        adj: &mut Adjoints,
        v: Value,
        out: &mut Vec<Inst>,
    ) -> Value {
        match self.take(adj, v, out) {
            Some(d) => d,
            None => self.zero_of(v, out),
        }
    }

    /// A zero cotangent for `v`: an object's or an array's has its shape.
    pub(super) fn zero_of(&mut self, v: Value, out: &mut Vec<Inst>) -> Value {
        let z = self.cotangent_value(v);
        let ty = self.func.ty(v);
        let kind = if ty == Ty::Obj || ty.elem() != Ty::Unknown {
            InstKind::ZeroLike(v)
        } else {
            InstKind::Zero
        };
        out.push(Inst::new(vec![z], kind, self.func.info(v).span));
        z
    }

    pub(super) fn cotangent_value(&mut self, v: Value) -> Value {
        self.func.new_derived(Role::Derivative(v), v)
    }

    /// Each active operand `a` of `y = op(args)` receives `vjp_a(args, y, d_y)`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn op(
        &mut self,
        op: &Op,
        args: &[Value],
        y: Value,
        d_y: Value,
        span: Span,
        adj: &mut Adjoints,
        out: &mut Vec<Inst>,
    ) {
        let rule = rules::rule(op);
        if let Op::Struct { members, .. } = op {
            return self.struct_adjoint(members, args, d_y, span, adj, out);
        }
        if let Rule::Construct = rule {
            return self.construct_adjoint(args, d_y, span, adj, out);
        }
        if let (Rule::Call, Op::Call { path, form }) = (&rule, op) {
            // Only the written-out sweep keeps active calls as ops (the pullback's primal
            // makes them through `_vjp`).
            let site = (args, y, d_y, span);
            return self.call_partials(path, form, site, adj, out);
        }
        let site = Site {
            op,
            args,
            y,
            d_y,
            span,
        };
        for (i, &a) in args.iter().enumerate() {
            if !self.act.is_active(a) {
                continue;
            }
            if let Some(contribution) = self.contribution(rule.partial(i), (i, a), &site, out) {
                adj.add(a, contribution);
            }
        }
    }

    /// What operand `a` of `site` receives by `partial`: a value to add to its cotangent,
    /// or `None` when nothing is due or it went into a cotangent buffer in place.
    fn contribution(
        &mut self,
        partial: Partial,
        (i, a): (usize, Value),
        site: &Site<'_>,
        out: &mut Vec<Inst>,
    ) -> Option<Value> {
        let Site {
            op,
            args,
            d_y,
            span,
            ..
        } = *site;
        let v = match partial {
            Partial::Zero => return None,
            Partial::Identity => return Some(d_y),
            Partial::Map => {
                let Op::Map { body, elements, .. } = op else {
                    return None;
                };
                let rule = Op::MapRule {
                    mode: Mode::Vjp,
                    jvp: Box::new(crate::forward::scalar_jvp(body)),
                    wrt: i,
                    elements: *elements,
                };
                let mut operands = args[..*elements].to_vec();
                operands.push(d_y);
                operands.extend(&args[*elements..]);
                self.push_cotangent(a, InstKind::Op(rule, operands), span, out)
            }
            Partial::At => return self.at_adjoint(a, site, out),
            // The copy's buffer goes into the array's where the copy is made (`adjoint`).
            Partial::Copied => return None,
            Partial::Negate => self.push_cotangent(a, InstKind::Op(Op::Neg, vec![d_y]), span, out),
            Partial::Field => {
                if let (Some(&buffer), Op::Field { member }) = (self.buffers.get(&a), op) {
                    let kind = InstKind::AddField {
                        buffer,
                        member: member.clone(),
                        value: d_y,
                        assign: false,
                    };
                    out.push(Inst::new(Vec::new(), kind, span));
                }
                return None;
            }
            Partial::Indexed => {
                let root = self.families.root(a);
                if let Some(&buffer) = self.buffers.get(&root) {
                    let grow = self.families.growable.contains(&root);
                    let kind = InstKind::AddAt {
                        buffer,
                        index: args[1],
                        value: d_y,
                        grow,
                    };
                    out.push(Inst::new(Vec::new(), kind, span));
                } else if self.act.is_active(a) && self.func.ty(a).elem().is_float() {
                    // The element's cotangent would be lost: a wrong derivative. The
                    // expansion's panic guard reports it as an internal error instead.
                    panic!("an active array read has no cotangent buffer");
                }
                return None;
            }
            Partial::Runtime(rule) if self.target == Target::Ordinary => {
                return self.formula(rule, site, out);
            }
            // This product's cotangent is not infinite where the primal is finite, so a
            // zero factor needs no test: the product rule's formula, a plain multiplication.
            Partial::Runtime(rule) if self.plain_product(&rule, site) => {
                let v = self.formula(rule, site, out)?;
                self.func.values[v.index()].role = Role::Derivative(a);
                v
            }
            Partial::Runtime(rule) => {
                let (args, y) = self.read_operands(&rule, site, out);
                let kind = rules::rule_call(&rule, Mode::Vjp, &args, y, d_y);
                self.push_cotangent(a, kind, span, out)
            }
        };
        Some(v)
    }

    /// Whether `site` is a product of floats whose result's cotangent cannot be infinite
    /// where the primal is finite (`Reverse::feeds_vertical`), so needs no `0 · ∞` test.
    fn plain_product(&self, rule: &rules::RuntimeRule, site: &Site<'_>) -> bool {
        let float = |v: &Value| self.func.ty(*v).is_float();
        let feeds = self.feeds_vertical.get(site.y.index()).copied();
        feeds == Some(false)
            && rule.prim == rules::Prim::Mul
            && site.args.iter().all(float)
            && float(&site.y)
    }

    /// The operands of a scalar runtime rule with those it does not read replaced by a
    /// zero, so that the pullback needs (records, recomputes) only what the partial reads.
    fn read_operands(
        &mut self,
        rule: &rules::RuntimeRule,
        site: &Site<'_>,
        out: &mut Vec<Inst>,
    ) -> (Vec<Value>, Value) {
        let scalar = |v: &Value| self.func.ty(*v).is_float();
        if !(site.args.iter().all(scalar) && scalar(&site.y)) {
            return (site.args.to_vec(), site.y);
        }
        let reads = rule.reads();
        let mut zero = None;
        let mut operand = |read: bool, v: Value| {
            if read {
                v
            } else {
                *zero.get_or_insert_with(|| self.func.push_float(0.0, site.y, site.span, out))
            }
        };
        let args = site
            .args
            .iter()
            .enumerate()
            .map(|(k, &v)| operand(reads.arg(k), v))
            .collect();
        (args, operand(reads.y(), site.y))
    }

    /// A new cotangent value of `a`, computed by `kind`.
    fn push_cotangent(
        &mut self,
        a: Value,
        kind: InstKind,
        span: Span,
        out: &mut Vec<Inst>,
    ) -> Value {
        let v = self.cotangent_value(a);
        out.push(Inst::new(vec![v], kind, span));
        v
    }

    /// `y = m[i]` or `m[(i, j)]`: into the parameter's cotangent in place, or as a matrix
    /// that is zero but there.
    fn at_adjoint(&mut self, a: Value, site: &Site<'_>, out: &mut Vec<Inst>) -> Option<Value> {
        if let Some(&buffer) = self.buffers.get(&a) {
            let kind = InstKind::AddElem {
                buffer,
                indices: site.args[1..].to_vec(),
                value: site.d_y,
            };
            out.push(Inst::new(Vec::new(), kind, site.span));
            return None;
        }
        let mut all = site.args.to_vec();
        all.extend([site.y, site.d_y]);
        let kind = InstKind::Rule {
            name: crate::names::at_rule(site.args.len() - 1),
            args: all,
        };
        Some(self.push_cotangent(a, kind, site.span, out))
    }

    /// `y = M::new(a, b, ..)`: argument `k` gets element `k` (row-major) of `d_y`.
    fn construct_adjoint(
        &mut self,
        args: &[Value],
        d_y: Value,
        span: Span,
        adj: &mut Adjoints,
        out: &mut Vec<Inst>,
    ) {
        for (k, &a) in args.iter().enumerate() {
            if !self.act.is_active(a) {
                continue;
            }
            let index = self.func.new_value(None, span, Ty::Int);
            let lit = proc_macro2::Literal::usize_suffixed(k);
            out.push(Inst::new(
                vec![index],
                InstKind::Op(Op::Const(crate::ir::Const::Int(lit)), Vec::new()),
                span,
            ));
            let v = self.cotangent_value(a);
            let kind = InstKind::Rule {
                name: crate::names::ELEMENT_RULE.into(),
                args: vec![d_y, index],
            };
            out.push(Inst::new(vec![v], kind, span));
            adj.add(a, v);
        }
    }

    /// `y = S { m: a, .. }`: each field's value receives that field of `d_y`.
    fn struct_adjoint(
        &mut self,
        members: &[proc_macro2::TokenStream],
        args: &[Value],
        d_y: Value,
        span: Span,
        adj: &mut Adjoints,
        out: &mut Vec<Inst>,
    ) {
        for (member, &a) in members.iter().zip(args) {
            if self.act.is_active(a) {
                let field = Op::Field {
                    member: member.clone(),
                };
                let v = self.func.push_op(field, vec![d_y], a, span, out);
                adj.add(a, v);
            }
        }
    }

    /// The adjoint of an `if`: an `if` on the same condition whose branches recompute what
    /// they need, run the branch's adjoint, and yield contributions to outer values.
    pub(super) fn branch(
        &mut self,
        inst: &Inst,
        cond: Value,
        then: &Block,
        els: &Block,
        adj: &mut Adjoints,
        out: &mut Vec<Inst>,
    ) {
        let mut seeds = Vec::new();
        for (i, &o) in inst.outs.iter().enumerate() {
            if self.act.is_active(o) {
                if let Some(d) = self.take(adj, o, out) {
                    seeds.push((i, d));
                }
            }
        }
        let writes = inst
            .outs
            .iter()
            .any(|&o| self.act.is_active(o) && self.families.is_array(o));
        if seeds.is_empty() && !writes {
            return;
        }
        let (mut then_adj, then_parts) = self.branch_adjoint(then, &seeds);
        let (mut els_adj, els_parts) = self.branch_adjoint(els, &seeds);
        let outer = crate::ir::union_keys(&then_parts, &els_parts);
        let mut outs = Vec::new();
        for &v in &outer {
            let t = self.part_or_zero(&then_parts, v, &mut then_adj.insts);
            then_adj.yields.push(t);
            let e = self.part_or_zero(&els_parts, v, &mut els_adj.insts);
            els_adj.yields.push(e);
            let d = self.cotangent_value(v);
            outs.push(d);
            adj.add(v, d);
        }
        out.push(Inst::new(
            outs,
            InstKind::If {
                cond,
                then: then_adj,
                els: els_adj,
            },
            inst.span,
        ));
    }

    fn part_or_zero(
        &mut self,
        parts: &BTreeMap<Value, Value>,
        v: Value,
        insts: &mut Vec<Inst>,
    ) -> Value {
        match parts.get(&v) {
            Some(&d) => d,
            None => {
                let z = self.cotangent_value(v);
                insts.push(Inst::new(vec![z], InstKind::Zero, self.func.info(v).span));
                z
            }
        }
    }

    /// The adjoint of a loop: a loop over its tape, last iteration first. Each iteration
    /// restores what it recorded, recomputes what it needs of the body, and runs the body's
    /// adjoint with the carried cotangents as seeds of the yields; contributions to the
    /// params become the next carried cotangents, contributions to values from outside the
    /// loop are summed in accumulators.
    fn loop_adjoint(&mut self, inst: &Inst, lp: &Loop, adj: &mut Adjoints, out: &mut Vec<Inst>) {
        let Some(record) = &lp.record else { return };
        let active = |i: &usize| self.act.slot_active(lp, &inst.outs, *i);
        // Arrays carry no cotangent through the loop: their buffers are updated in place.
        let arrays = (0..lp.params.len())
            .filter(active)
            .any(|i| self.families.is_array(lp.params[i]));
        let slots: Vec<usize> = (0..lp.params.len())
            .filter(active)
            .filter(|&i| !self.families.is_array(lp.params[i]))
            .collect();
        let seeds: Vec<Option<Value>> = slots
            .iter()
            .map(|&i| self.take(adj, inst.outs[i], out))
            .collect();
        if seeds.iter().all(Option::is_none) && !arrays {
            return;
        }
        let inits: Vec<Value> = slots
            .iter()
            .zip(seeds)
            .map(|(&i, d)| d.unwrap_or_else(|| self.zero_like(inst.outs[i], out)))
            .collect();
        let params: Vec<Value> = slots
            .iter()
            .map(|&i| self.cotangent_value(lp.params[i]))
            .collect();
        let mut body_adj = Adjoints::default();
        for (&i, &dp) in slots.iter().zip(&params) {
            if self.act.is_active(lp.body.yields[i]) {
                body_adj.add(lp.body.yields[i], dp);
            }
        }
        let adjoint = self.adjoint(&lp.body.insts, &mut body_adj);
        // Results of nested loops (their tapes included) are recorded, not recomputed:
        // recomputing them would rerun the inner loop once per enclosing level.
        let exported: HashSet<Value> = self.exports.values().copied().collect();
        let snapshots = self.snapshots();
        // Segments of `#[checkpoint]` loops run again on copies of the arrays they use.
        let body = self.with_working_copies(&lp.body.insts);
        let is_float = |v: Value| self.func.ty(v).is_float();
        let must_record = |inst: &Inst, wanted: &[Value]| {
            // A `#[checkpoint]` segment runs again, from the state recorded at its start.
            let segment = matches!(&inst.kind, InstKind::Loop(l) if l.recompute);
            !segment
                && (self.recordable(inst, wanted)
                    || wanted
                        .iter()
                        .all(|o| exported.contains(o) || snapshots.contains(o)))
        };
        let (mut insts, stored, windows) =
            self.plan_with_windows(record.tape, &body, &adjoint, must_record, is_float);
        self.windows_read.extend(windows);
        // Arrays are not recorded (their cotangents live in buffers), but for the copies
        // joint calls make: the array may have changed since, and nothing writes a copy.
        let stored: Vec<Value> = stored
            .into_iter()
            .filter(|&v| !self.families.is_array(v) || snapshots.contains(&v))
            .collect();
        insts.extend(adjoint);
        let yields: Vec<Value> = slots
            .iter()
            .map(|&i| self.take_or_zero_like(&mut body_adj, lp.params[i], &mut insts))
            .collect();
        // A cotangent each iteration passes on unchanged (of `s += ..`) is no recurrence.
        let recurrent = params.iter().zip(&yields).any(|(p, y)| p != y);
        let mut al = AdjointLoop {
            params,
            inits,
            insts,
            yields,
        };
        let outer = self.outer_accumulators(lp, &mut body_adj, &mut al, out, inst.span);
        let AdjointLoop {
            params,
            inits,
            insts,
            yields,
        } = al;
        let mut items = recorded_items(lp, &insts);
        items.extend(stored);
        let kind = self.reversed(lp, record.tape, items);
        let mut tape_loop = Loop {
            kind,
            params,
            inits,
            body: Block { insts, yields },
            record: None,
            recompute: false,
        };
        let mut outs = self.loop_cotangents(lp, &slots, &outer, adj);
        // A float summed over the iterations keeps the loop scalar whichever way it runs.
        let sums = outer.iter().any(|&o| self.func.ty(o).is_float());
        self.run_forward(&mut tape_loop, recurrent || sums);
        let runs = self.scatter_runs(&mut tape_loop, (&mut outs, recurrent), inst.span);
        out.push(Inst::new(
            outs,
            InstKind::Loop(Box::new(tape_loop)),
            inst.span,
        ));
        out.extend(runs);
    }

    /// Contributions of the body to values from outside the loop, summed in accumulators
    /// carried by the adjoint loop (from zero); returns those values.
    fn outer_accumulators(
        &mut self,
        lp: &Loop,
        body_adj: &mut Adjoints,
        al: &mut AdjointLoop,
        out: &mut Vec<Inst>,
        span: Span,
    ) -> Vec<Value> {
        let mut defined = lp.body_defs();
        lp.body.defs(&mut defined);
        let outer: Vec<Value> = body_adj
            .contributions
            .keys()
            .copied()
            .filter(|v| !defined.contains(v))
            .collect();
        for &o in &outer {
            let acc = self.cotangent_value(o);
            al.params.push(acc);
            let zero = self.zero_like(o, out);
            al.inits.push(zero);
            let next = match self.take(body_adj, o, &mut al.insts) {
                Some(part) => {
                    let next = self.cotangent_value(o);
                    let sum = InstKind::Sum(vec![acc, part]);
                    al.insts.push(Inst::new(vec![next], sum, span));
                    next
                }
                None => acc,
            };
            al.yields.push(next);
        }
        outer
    }

    /// How the adjoint loop runs: over the tape backwards, with the index of a counted
    /// loop replayed from its range backwards rather than recorded; with nothing recorded
    /// but the index, over the range alone. (A `for` loop runs its whole range: after a
    /// `break` its iterations are empty. `step_by` is reversible only over some integer
    /// types, so it records its index.)
    fn reversed(&mut self, lp: &Loop, tape: Value, items: Vec<Value>) -> LoopKind {
        let replay = match &lp.kind {
            LoopKind::For { index, range }
                if range.adapters.iter().all(|a| matches!(a, Adapter::Rev)) =>
            {
                let mut range = range.clone();
                range.adapters.push(Adapter::Rev);
                Some((*index, range))
            }
            LoopKind::For { .. } | LoopKind::While { .. } | LoopKind::Tape { .. } => None,
        };
        match replay {
            Some((index, range)) if items.iter().all(|&v| v == index) => {
                LoopKind::For { index, range }
            }
            // The written-out sweep replays its records by index (`written`).
            Some((index, range)) if self.target == Target::Pullback => {
                let items: Vec<Value> = items.into_iter().filter(|&v| v != index).collect();
                self.records.insert(tape, items.clone());
                LoopKind::Tape {
                    tape,
                    items,
                    index: Some((index, range)),
                    forward: false,
                }
            }
            _ => {
                self.records.insert(tape, items.clone());
                LoopKind::Tape {
                    tape,
                    items,
                    index: None,
                    forward: false,
                }
            }
        }
    }

    /// The adjoint loop's results: the cotangents of the carried values' initial values,
    /// then of the outer values; each is added where it belongs.
    fn loop_cotangents(
        &mut self,
        lp: &Loop,
        slots: &[usize],
        outer: &[Value],
        adj: &mut Adjoints,
    ) -> Vec<Value> {
        let mut outs = Vec::new();
        for &i in slots {
            let d = self.cotangent_value(lp.inits[i]);
            outs.push(d);
            if self.act.is_active(lp.inits[i]) {
                adj.add(lp.inits[i], d);
            }
        }
        for &o in outer {
            let d = self.cotangent_value(o);
            outs.push(d);
            adj.add(o, d);
        }
        outs
    }

    fn zero_like(&mut self, like: Value, out: &mut Vec<Inst>) -> Value {
        let z = self.cotangent_value(like);
        out.push(Inst::new(
            vec![z],
            InstKind::ZeroLike(like),
            self.func.info(like).span,
        ));
        z
    }

    fn take_or_zero_like(&mut self, adj: &mut Adjoints, v: Value, out: &mut Vec<Inst>) -> Value {
        match self.take(adj, v, out) {
            Some(d) => d,
            None => self.zero_like(v, out),
        }
    }

    /// One branch of an `if` adjoint: the recomputed primal it needs, its adjoint seeded
    /// with the `if`'s result cotangents, and its summed contributions to outer values.
    fn branch_adjoint(
        &mut self,
        block: &Block,
        seeds: &[(usize, Value)],
    ) -> (Block, BTreeMap<Value, Value>) {
        let mut adj = Adjoints::default();
        for &(i, d) in seeds {
            if self.act.is_active(block.yields[i]) {
                adj.add(block.yields[i], d);
            }
        }
        let adjoint = self.adjoint(&block.insts, &mut adj);
        let exported: Vec<Value> = block
            .insts
            .iter()
            .flat_map(|i| i.outs.iter().copied())
            .filter(|v| self.exports.contains_key(v))
            .collect();
        let mut insts = recompute(&block.insts, &adjoint, &exported);
        insts.extend(adjoint);
        // Values exported from this branch are read from the `if`'s results, not recomputed.
        let map: HashMap<Value, Value> = exported.iter().map(|v| (*v, self.exports[v])).collect();
        for inst in &mut insts {
            inst.map_uses(&mut |v| map.get(&v).copied().unwrap_or(v));
        }
        let mut defined = Vec::new();
        block.defs(&mut defined);
        let mut parts = BTreeMap::new();
        let pending: Vec<Value> = adj.contributions.keys().copied().collect();
        for v in pending {
            if defined.contains(&v) {
                continue;
            }
            if let Some(d) = self.take(&mut adj, v, &mut insts) {
                parts.insert(v, d);
            }
        }
        (
            Block {
                insts,
                yields: Vec::new(),
            },
            parts,
        )
    }
}

/// An instruction `y = op(args)` in the adjoint sweep, with the cotangent `d_y` of `y`.
#[derive(Clone, Copy)]
pub(super) struct Site<'i> {
    pub(super) op: &'i Op,
    pub(super) args: &'i [Value],
    pub(super) y: Value,
    pub(super) d_y: Value,
    pub(super) span: Span,
}

/// The adjoint of a loop being built: its carried cotangents, their initial values, its
/// body and what each iteration yields.
struct AdjointLoop {
    params: Vec<Value>,
    inits: Vec<Value>,
    insts: Vec<Inst>,
    yields: Vec<Value>,
}
