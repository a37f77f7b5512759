//! Ownership in the generated code: how often each value is moved, which objects are
//! cloned, and what the pullback closure captures.

use super::*;

impl<'a> Emitter<'a> {
    pub(super) fn new(
        func: &'a Func,
        params: &[(Value, proc_macro2::Ident)],
        closure: Option<ClosureSig>,
    ) -> Self {
        let mut names = Names::assign(func, params);
        let nests = Nests::of(func, &mut names);
        let mut e = Emitter {
            func,
            names,
            nests,
            inline: HashMap::new(),
            used: HashSet::new(),
            moves: HashMap::new(),
            aliases: HashMap::new(),
            owned: Vec::new(),
            inactive: HashSet::new(),
            field_reads: HashSet::new(),
            lanes: None,
            needs_id: None,
            f_returns_vector: false,
            result_ty: None,
            closure,
        };
        e.scan(&func.body);
        e.used.extend(&func.results);
        e.count_moves(&func.body);
        for &r in &func.results {
            *e.moves.entry(r).or_default() += 1;
        }
        e
    }

    pub(super) fn is_obj(&self, v: Value) -> bool {
        self.func.ty(v) == Ty::Obj
    }

    pub(super) fn by_ref(&self, v: Value) -> bool {
        self.func.info(v).by_ref
    }

    /// Counts the uses of every value, so that an object is moved only where that is its
    /// only use (and cloned elsewhere). Writes into cotangent buffers do not count: they
    /// all come before the buffer is yielded.
    fn count_moves(&mut self, block: &Block) {
        for &y in &block.yields {
            *self.moves.entry(y).or_default() += 1;
        }
        for inst in &block.insts {
            for v in own_uses(inst) {
                *self.moves.entry(v).or_default() += 1;
            }
            for b in inst.blocks() {
                self.count_moves(b);
            }
        }
    }

    /// Plans what the pullback closure captures: a result it also captures is cloned
    /// before the closure moves it; an object it would capture by reference (a borrowed
    /// parameter, a field of one) is cloned into the closure instead, so that the pullback
    /// does not borrow from the caller (who may pass a reference to a local of its own).
    /// `self` and its fields are captured as they are.
    pub(super) fn plan_closure(&mut self) {
        let captured = captured(self.func);
        for &r in &self.func.results {
            if self.is_obj(r) && !self.by_ref(r) && captured.contains(&r) {
                let alias = format_ident!("{}_value", self.names.ident(r));
                self.aliases.insert(r, alias);
            }
        }
        let receiver = self_and_fields(self.func);
        let mut owned: Vec<Value> = captured
            .into_iter()
            .filter(|&v| {
                // A float field read by reference (`&s.x`) is copied too, so that the
                // pullback does not borrow the parameter.
                (self.is_obj(v) || self.func.ty(v).is_float())
                    && self.by_ref(v)
                    && !receiver.contains(&v)
                    && !self.inactive.contains(&v)
            })
            .collect();
        owned.sort();
        self.owned = owned
            .into_iter()
            .map(|v| (v, format_ident!("{}_owned", self.names.ident(v))))
            .collect();
    }

    /// `v` where a reference is wanted: `&v`, or `v` if it holds one.
    pub(super) fn by_ref_operand(&self, v: Value) -> TokenStream {
        let t = self.raw_operand(v);
        if self.by_ref(v) {
            t
        } else {
            quote!(&#t)
        }
    }

    fn scan(&mut self, block: &Block) {
        self.used.extend(&block.yields);
        for inst in &block.insts {
            self.used.extend(inst.uses());
            match &inst.kind {
                InstKind::Op(op, _) => {
                    if matches!(op, Op::Field { .. }) && self.by_ref(inst.outs[0]) {
                        self.field_reads.insert(inst.outs[0]);
                    }
                    if let Some(tokens) = inline_op(op, inst.span) {
                        self.inline.insert(inst.outs[0], tokens);
                    }
                }
                InstKind::Zero => {
                    let zero = match &self.lanes {
                        Some(lanes) => lanes.zero(),
                        None => quote_spanned!(inst.span=> ::autodiff::__private::zero()),
                    };
                    self.inline.insert(inst.outs[0], zero);
                }
                _ => {
                    for b in inst.blocks() {
                        self.scan(b);
                    }
                }
            }
        }
    }
}

/// The pullback closure of `func` (its last instruction): its parameters and body.
fn pullback_closure(func: &Func) -> Option<(&Vec<Value>, &Block)> {
    match func.body.insts.last().map(|i| &i.kind) {
        Some(InstKind::Closure { params, body }) => Some((params, body)),
        _ => None,
    }
}

/// The values the pullback closure of `func` reads from outside.
pub(super) fn captured(func: &Func) -> HashSet<Value> {
    let Some((params, body)) = pullback_closure(func) else {
        return HashSet::new();
    };
    let mut inside = params.clone();
    body.defs(&mut inside);
    let inside: HashSet<Value> = inside.into_iter().collect();
    body.uses()
        .into_iter()
        .filter(|v| !inside.contains(v))
        .collect()
}

/// `self` and the fields read from it (`&self.w`): values the pullback may keep borrowed,
/// since a receiver is normally part of the caller's own parameters.
fn self_and_fields(func: &Func) -> HashSet<Value> {
    let mut out: HashSet<Value> = func
        .params
        .iter()
        .copied()
        .filter(|&p| func.info(p).name.as_deref() == Some("self"))
        .collect();
    fn scan(block: &Block, out: &mut HashSet<Value>) {
        for inst in &block.insts {
            if let InstKind::Op(Op::Field { .. }, args) = &inst.kind {
                if args.iter().any(|a| out.contains(a)) {
                    out.extend(&inst.outs);
                }
            }
            for b in inst.blocks() {
                scan(b, out);
            }
        }
    }
    scan(&func.body, &mut out);
    out
}

/// The values `inst` reads itself (not in its blocks), but for the buffers it writes.
fn own_uses(inst: &Inst) -> Vec<Value> {
    match &inst.kind {
        InstKind::AddField { value, .. } | InstKind::AddAll { value, .. } => vec![*value],
        InstKind::AddElem { indices, value, .. } => {
            let mut out = indices.clone();
            out.push(*value);
            out
        }
        InstKind::AddAt { index, value, .. } => vec![*index, *value],
        InstKind::TakeAt { index, .. } => vec![*index],
        InstKind::AddRun(crate::ir::Run {
            records,
            first,
            shift,
            ..
        }) => [*records, *first]
            .into_iter()
            .chain(shift.values())
            .collect(),
        InstKind::If { cond, .. } => vec![*cond],
        InstKind::Loop(lp) => {
            let mut out = lp.header_uses();
            if let Some(r) = &lp.record {
                out.extend(&r.items);
            }
            out
        }
        InstKind::Closure { .. } => Vec::new(),
        InstKind::Guard { needs, inner, .. } => {
            let mut out = own_uses(inner);
            out.push(*needs);
            out
        }
        _ => inst.uses(),
    }
}

/// How often `f_vjp`'s pullback may be called.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reuse {
    /// Once (`impl FnOnce`): it consumes what it captured (tapes of records other than
    /// numbers, calls' pullbacks, arrays it moves).
    Once,
    /// Any number of times (`impl Fn`, as a JAX `vjp` function): it reads its tapes by
    /// reference, copying their records (numbers) out, and its arrays in place.
    Many,
    /// Any number of times, and copied (`impl Fn + Copy`): it captures only numbers and
    /// borrowed parameters.
    Copies,
}

/// How often `vjp`'s pullback may be called: more than once when it calls no call's
/// pullback (`FnOnce`) and captures only numbers, borrowed parameters, tapes of numbers
/// and arrays, all of which it then reads by reference. Then `f_jacobian` runs the primal
/// once for all its rows.
pub fn pullback_reuse(f: &DiffFn, vjp: &Func) -> Reuse {
    let Some((_, body)) = pullback_closure(vjp) else {
        return Reuse::Once;
    };
    let nests = Nests::of(vjp, &mut Names::assign(vjp, &[]));
    if !copies_records(body, &nests) {
        return Reuse::Once;
    }
    // Shared references, but active objects (cloned into the pullback) and `self`.
    let borrowed: HashSet<Value> = (vjp.params.iter().zip(&f.params))
        .filter(|(_, p)| {
            let shared = matches!(p.ty, syn::Type::Reference(r) if r.mutability.is_none());
            let cloned = p.active && p.class == TypeClass::Linear;
            shared && !cloned && !p.receiver && !p.output
        })
        .map(|(&v, _)| v)
        .collect();
    let mut reuse = Reuse::Copies;
    for v in captured(vjp) {
        let ty = vjp.ty(v);
        if ty.is_float() || matches!(ty, Ty::Int | Ty::Bool) || borrowed.contains(&v) {
            continue;
        }
        // A tape read by reference, or an array read where it stands.
        let array = ty.elem() != Ty::Unknown;
        if !(nests.copyable(v) || array && reads_in_place(body, v)) {
            return Reuse::Once;
        }
        reuse = Reuse::Many;
    }
    reuse
}

/// Whether `block` reads the array `v` only where it stands (`v[i]`, `v.len()`, a copy
/// or a view of it), never moving it: then a pullback that keeps `v` may run again.
fn reads_in_place(block: &Block, v: Value) -> bool {
    !block.yields.contains(&v)
        && block.insts.iter().all(|inst| {
            let own = match &inst.kind {
                InstKind::Loop(lp) => {
                    !lp.header_uses().contains(&v)
                        && lp.record.as_ref().is_none_or(|r| !r.items.contains(&v))
                }
                InstKind::If { cond, .. } => *cond != v,
                _ => inst_reads_in_place(inst, v),
            };
            own && inst.blocks().iter().all(|b| reads_in_place(b, v))
        })
}

/// Whether an instruction without blocks reads `v` only in place, if at all.
fn inst_reads_in_place(inst: &Inst, v: Value) -> bool {
    match &inst.kind {
        InstKind::Op(op, args) if args.first() == Some(&v) => {
            place_read(op) && !args[1..].contains(&v)
        }
        InstKind::Guard { needs, inner, .. } => *needs != v && inst_reads_in_place(inner, v),
        // Added from by reference (`add_run(&mut buffer, &records, ..)`).
        InstKind::AddRun(run) if run.records == v => {
            let mut others = run.shift.values().chain([run.buffer, run.first]);
            others.all(|u| u != v)
        }
        _ => !inst.uses().contains(&v),
    }
}

/// Whether `op` reads its first operand, an array, as a place: `a[i]`, `a.len()`,
/// `a.to_vec()`, `a.clone()`, `&a[lo..hi]`, `a[lo..hi].to_vec()` (`emit::ops::operator`).
fn place_read(op: &Op) -> bool {
    match op {
        Op::Index | Op::Len | Op::CopyArray { .. } | Op::SubSlice { .. } => true,
        Op::Const(_)
        | Op::Extern(_)
        | Op::Undef
        | Op::StopGradient
        | Op::Add
        | Op::Sub
        | Op::Mul
        | Op::Div
        | Op::Rem
        | Op::Neg
        | Op::Fun(_)
        | Op::Cast { .. }
        | Op::Cmp(_)
        | Op::Not
        | Op::BitAnd
        | Op::BitOr
        | Op::BitXor
        | Op::Shl
        | Op::Shr
        | Op::Call { .. }
        | Op::Lin(_)
        | Op::Method { .. }
        | Op::Field { .. }
        | Op::NewArray { .. }
        | Op::EmptyVec
        | Op::Push
        | Op::Store
        | Op::Matches { .. }
        | Op::Bound { .. }
        | Op::At
        | Op::Construct { .. }
        | Op::Struct { .. }
        | Op::Map { .. }
        | Op::MapRule { .. } => false,
    }
}

/// No closures or calls' pullbacks at any depth, and every loop adjoint walks a tape of
/// numbers.
fn copies_records(block: &Block, nests: &Nests) -> bool {
    block.insts.iter().all(|inst| {
        let own = match &inst.kind {
            InstKind::Closure { .. } | InstKind::Pullback { .. } => false,
            InstKind::Loop(lp) => match &lp.kind {
                LoopKind::Tape { tape, .. } => nests.copyable(*tape),
                LoopKind::For { .. } | LoopKind::While { .. } => true,
            },
            _ => true,
        };
        own && inst.blocks().iter().all(|b| copies_records(b, nests))
    })
}
