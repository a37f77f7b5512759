//! Reverse mode: the primal, then a pullback closure that runs the adjoint.
//!
//! Input: `fn f(x, n) -> y` (optimised IR) and its activity. Output:
//!
//! ```text
//! fn f_vjp(x, n) -> (y, pullback) {
//!     <primal; an active call g(a) becomes (v, v_pullback) = g_vjp(a)>
//!     pullback = move |d_ret| { <adjoint>; (d_x, ..) }
//! }
//! ```
//!
//! The adjoint visits instructions last to first. Each active value `v` collects
//! cotangent contributions from its uses; when its definition `v = op(a, b)` is reached,
//! they are summed into `d_v` and each active operand receives `vjp_i(a, b, v, d_v)`.
//!
//! Storage: the closure captures the primal values the adjoint reads and nothing else;
//! values computed inside an `if` branch are not visible to it, so the adjoint of an `if`
//! is an `if` on the same (captured) condition that recomputes what it needs of that
//! branch and then runs the branch's adjoint, yielding its contributions to values defined
//! outside the branch. A call's pullback is captured and applied to the call's cotangent.

use crate::activity::Activity;
use crate::ir::{
    Adapter, Block, Func, Inst, InstKind, Loop, LoopKind, Op, Record, Request, Role, Ty, Value,
};
use crate::rules::{self, Mode, Partial, Rule};
use proc_macro2::Span;
use std::collections::{BTreeMap, HashMap, HashSet};

pub fn vjp(func: &Func, act: &Activity, active_params: &[Value]) -> Func {
    let mut out = func.derived("_vjp");
    let mut rev = Reverse {
        func: &mut out,
        act,
        records: HashMap::new(),
        buffers: HashMap::new(),
        families: Families::of(func, active_params),
        exports: HashMap::new(),
    };
    let primal = rev.primal_block(&func.body);
    let result = func.results[0];
    let d_ret = rev.func.new_value(
        Some("d_ret".into()),
        rev.func.info(result).span,
        rev.func.ty(result),
    );
    let mut adj = Adjoints::default();
    // An array result's cotangent is its family's buffer to start with.
    let result_array = rev.families.is_array(result);
    if result_array {
        let root = rev.families.root(result);
        rev.buffers.insert(root, d_ret);
    } else if act.is_active(result) {
        adj.add(result, d_ret);
    }
    // Arrays get mutable cotangent buffers, declared first; elements are added in place.
    let mut adjoint = Vec::new();
    let arrays: Vec<Value> = active_params
        .iter()
        .copied()
        .filter(|&p| rev.func.ty(p).elem() != Ty::Unknown)
        .collect();
    for p in arrays {
        if rev.buffers.contains_key(&rev.families.root(p)) {
            continue;
        }
        let buffer = rev.func.new_derived(Role::Derivative(p), p);
        adjoint.push(Inst::new(
            vec![buffer],
            InstKind::Buffer { like: p },
            rev.func.info(p).span,
        ));
        rev.buffers.insert(rev.families.root(p), buffer);
    }
    // Parameters whose fields are read get a cotangent of their type, filled field by
    // field. It is made in the primal, so that the pullback need not capture the parameter.
    let mut hoisted = Vec::new();
    for p in fields_read(func, active_params) {
        let buffer = rev.func.new_derived(Role::Derivative(p), p);
        rev.func.values[buffer.index()].by_ref = false;
        hoisted.push(Inst::new(
            vec![buffer],
            InstKind::Buffer { like: p },
            rev.func.info(p).span,
        ));
        rev.buffers.insert(p, buffer);
    }
    adjoint.extend(rev.adjoint(&primal.insts, &mut adj));
    let grads: Vec<Value> = active_params
        .iter()
        .map(|&p| match rev.buffers.get(&rev.families.root(p)) {
            Some(&buffer) => {
                // Uses of the whole parameter add to the fields' cotangents.
                if let Some(whole) = rev.take(&mut adj, p, &mut adjoint) {
                    let kind = InstKind::AddField {
                        buffer,
                        member: proc_macro2::TokenStream::new(),
                        value: whole,
                        assign: false,
                    };
                    adjoint.push(Inst::new(Vec::new(), kind, rev.func.info(p).span));
                }
                buffer
            }
            None => rev.take_or_zero(&mut adj, p, &mut adjoint),
        })
        .collect();
    let closure_span = rev.func.info(result).span;
    // With several active parameters, the caller may need only some cotangents; worth
    // asking when one is an array or an object (a float's cotangent costs less than the
    // asking).
    let costly = active_params.iter().any(|&p| !rev.func.ty(p).is_float());
    let needs = (costly && (2..=64).contains(&grads.len())).then(|| {
        rev.func
            .new_value(Some("needs".into()), closure_span, Ty::Int)
    });
    let mut passed = false;
    let mut primal = primal;
    if let Some(needs) = needs {
        let (guarded, reach) = guard_by_need(adjoint, &grads, needs);
        adjoint = guarded;
        passed = pass_needs_on(&mut primal, &adjoint, &reach, needs);
    }
    assign_first_writes(&mut adjoint);
    let guarded = adjoint
        .iter()
        .any(|i| matches!(i.kind, InstKind::Guard { .. }));
    let needs = needs.filter(|_| guarded || passed);
    let pullback = rev.func.new_value(
        Some("pullback".into()),
        closure_span,
        crate::ir::Ty::Unknown,
    );
    let closure = InstKind::Closure {
        params: vec![d_ret],
        body: Block {
            insts: adjoint,
            yields: grads,
        },
    };
    let records = std::mem::take(&mut rev.records);
    let mut body = primal;
    if let Some(needs) = needs {
        // First: a call made in the primal may address a request to another callee.
        body.insts
            .insert(0, Inst::new(vec![needs], InstKind::Needs, closure_span));
    }
    body.insts.extend(hoisted);
    body.insts
        .push(Inst::new(vec![pullback], closure, closure_span));
    fill_records(&mut body, &records);
    out.body = body;
    out.results = vec![result, pullback];
    out
}

/// Marks the first write to each part of a parameter's cotangent buffer in the pullback's
/// straight-line code as an assignment (the buffer is zero there, so adding is moving):
/// a write is first when no write before it, at any depth, touched an overlapping path.
fn assign_first_writes(insts: &mut [Inst]) {
    fn paths(inst: &Inst, out: &mut Vec<(Value, String)>) {
        match &inst.kind {
            InstKind::AddField { buffer, member, .. } => out.push((*buffer, member.to_string())),
            InstKind::AddElem { buffer, .. } | InstKind::AddAt { buffer, .. } => {
                out.push((*buffer, String::new()))
            }
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
fn guard_by_need(
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
fn pass_needs_on(
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
        | InstKind::AddField { .. }
        | InstKind::AddElem { .. }
        | InstKind::Pullback { .. } => true,
        InstKind::If { .. }
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
fn fields_read(func: &Func, active_params: &[Value]) -> Vec<Value> {
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

/// Cotangent contributions collected so far, by value.
#[derive(Default)]
struct Adjoints {
    contributions: BTreeMap<Value, Vec<Value>>,
}

impl Adjoints {
    fn add(&mut self, v: Value, contribution: Value) {
        self.contributions.entry(v).or_default().push(contribution);
    }
}

struct Reverse<'a> {
    func: &'a mut Func,
    act: &'a Activity,
    /// What each loop's adjoint reads of an iteration, by the loop's tape.
    records: HashMap<Value, Vec<Value>>,
    /// The cotangent buffer of each active array, by the root of its family.
    buffers: HashMap<Value, Value>,
    /// Which values are versions of the same array.
    families: Families,
    /// Values computed in an `if` branch and exported as results of the `if`, so that the
    /// adjoint does not recompute them (in functions that write arrays).
    exports: HashMap<Value, Value>,
}

/// Array values that are versions of one array (a write makes a new version; loops and
/// `if`s merge them) share one cotangent buffer. Union-find over values.
struct Families {
    parent: HashMap<Value, Value>,
    /// Roots of families that hold arrays (parameters, new arrays).
    arrays: HashSet<Value>,
    /// Whether any array is written.
    written: bool,
    /// Roots of the families that are written (after `of` returns): what was read from
    /// them cannot be recomputed in the adjoint, since the array has changed since.
    written_roots: HashSet<Value>,
    /// Arrays built by `push` (their buffers grow as elements are reached); roots after
    /// `of` returns.
    growable: HashSet<Value>,
}

impl Families {
    fn of(func: &Func, active_params: &[Value]) -> Families {
        let mut f = Families {
            parent: HashMap::new(),
            arrays: HashSet::new(),
            written: false,
            written_roots: HashSet::new(),
            growable: HashSet::new(),
        };
        let arrays: Vec<Value> = active_params
            .iter()
            .copied()
            .filter(|&p| func.ty(p).elem() != Ty::Unknown)
            .collect();
        f.block(&func.body);
        f.growable = f.growable.iter().map(|&v| f.root(v)).collect();
        f.written_roots = f.written_roots.iter().map(|&v| f.root(v)).collect();
        for p in arrays {
            let r = f.root(p);
            f.arrays.insert(r);
        }
        f
    }

    fn root(&self, mut v: Value) -> Value {
        while let Some(&p) = self.parent.get(&v) {
            v = p;
        }
        v
    }

    fn union(&mut self, a: Value, b: Value) {
        let (ra, rb) = (self.root(a), self.root(b));
        if ra != rb {
            self.parent.insert(ra, rb);
            if self.arrays.remove(&ra) {
                self.arrays.insert(rb);
            }
        }
    }

    fn is_array(&self, v: Value) -> bool {
        self.arrays.contains(&self.root(v))
    }

    /// Whether `v` is a version of an array that is written somewhere.
    fn is_written(&self, v: Value) -> bool {
        self.written_roots.contains(&self.root(v))
    }

    fn block(&mut self, block: &Block) {
        for inst in &block.insts {
            match &inst.kind {
                InstKind::Op(Op::NewArray { .. }, _) => {
                    let r = self.root(inst.outs[0]);
                    self.arrays.insert(r);
                }
                InstKind::Op(Op::EmptyVec, _) => {
                    let r = self.root(inst.outs[0]);
                    self.arrays.insert(r);
                    self.growable.insert(inst.outs[0]);
                }
                InstKind::Op(Op::Store | Op::Push, args) => {
                    self.written = true;
                    self.written_roots.insert(args[0]);
                    self.union(inst.outs[0], args[0]);
                }
                InstKind::If { then, els, .. } => {
                    for (i, &o) in inst.outs.iter().enumerate() {
                        self.union(o, then.yields[i]);
                        self.union(o, els.yields[i]);
                    }
                }
                InstKind::Loop(lp) => {
                    for (i, &p) in lp.params.iter().enumerate() {
                        self.union(p, lp.inits[i]);
                        self.union(p, lp.body.yields[i]);
                        self.union(p, inst.outs[i]);
                    }
                }
                _ => {}
            }
            for b in inst.blocks() {
                self.block(b);
            }
        }
    }
}

impl Reverse<'_> {
    // -------------------- primal sweep --------------------

    /// The primal with every active call made through `_vjp`, keeping its pullback.
    fn primal_block(&mut self, block: &Block) -> Block {
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
            InstKind::Op(Op::Call { path, form }, args) if self.act.is_active(inst.outs[0]) => {
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
                {
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
    fn must_record(&self, inst: &Inst) -> bool {
        costly(inst)
            || (self.families.written
                && (!inst.blocks().is_empty()
                    || inst.uses().iter().any(|&v| self.families.is_written(v))))
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

    // -------------------- adjoint sweep --------------------

    /// The adjoint of `insts` (in primal form), last to first; contributions to values
    /// defined outside `insts` are left in `adj`.
    fn adjoint(&mut self, insts: &[Inst], adj: &mut Adjoints) -> Vec<Inst> {
        let mut out = self.new_buffers(insts);
        for inst in insts.iter().rev() {
            match &inst.kind {
                InstKind::Op(Op::Store | Op::Push, args) if self.act.is_active(inst.outs[0]) => {
                    self.store_adjoint(args, inst.span, adj, &mut out);
                }
                InstKind::Op(op, args) if self.act.is_active(inst.outs[0]) => {
                    if let Some(d) = self.take(adj, inst.outs[0], &mut out) {
                        self.op(op, args, inst.outs[0], d, inst.span, adj, &mut out);
                    }
                }
                InstKind::CallVjp { args, .. } => {
                    if let Some(d) = self.take(adj, inst.outs[0], &mut out) {
                        self.call(args, inst.outs[1], d, inst.span, adj, &mut out);
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

    /// Cotangent buffers for the active arrays created in `insts`, zero to start with.
    fn new_buffers(&mut self, insts: &[Inst]) -> Vec<Inst> {
        let mut out = Vec::new();
        for inst in insts {
            let (InstKind::Op(Op::NewArray { .. } | Op::EmptyVec, args), Some(&array)) =
                (&inst.kind, inst.outs.first())
            else {
                continue;
            };
            let root = self.families.root(array);
            if self.buffers.contains_key(&root) || !self.family_active(root) {
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

    fn family_active(&self, root: Value) -> bool {
        self.families
            .parent
            .iter()
            .any(|(&v, _)| self.families.root(v) == root && self.act.is_active(v))
            || self.act.is_active(root)
    }

    /// `a' = store(a, i, v)`: `v` takes the cotangent of element `i`, which then becomes
    /// zero (the element before the write did not reach the result).
    fn store_adjoint(
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

    /// The summed cotangent of `v`, if anything contributed to it.
    fn take(&mut self, adj: &mut Adjoints, v: Value, out: &mut Vec<Inst>) -> Option<Value> {
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

    fn take_or_zero(&mut self, adj: &mut Adjoints, v: Value, out: &mut Vec<Inst>) -> Value {
        match self.take(adj, v, out) {
            Some(d) => d,
            None => {
                let z = self.cotangent_value(v);
                // An object's zero has its shape.
                let kind = if self.func.ty(v) == Ty::Obj {
                    InstKind::ZeroLike(v)
                } else {
                    InstKind::Zero
                };
                out.push(Inst::new(vec![z], kind, self.func.info(v).span));
                z
            }
        }
    }

    fn cotangent_value(&mut self, v: Value) -> Value {
        self.func.new_derived(Role::Derivative(v), v)
    }

    /// Each active operand `a` of `y = op(args)` receives `vjp_a(args, y, d_y)`.
    #[allow(clippy::too_many_arguments)]
    fn op(
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
        if let Rule::Construct = rule {
            return self.construct_adjoint(args, d_y, span, adj, out);
        }
        for (i, &a) in args.iter().enumerate() {
            if !self.act.is_active(a) {
                continue;
            }
            let contribution = match rule.partial(i) {
                Partial::Zero => continue,
                Partial::Map => {
                    let Op::Map { jvp, .. } = op else { continue };
                    let v = self.cotangent_value(a);
                    let rule = Op::MapRule {
                        mode: Mode::Vjp,
                        jvp: jvp.clone(),
                    };
                    out.push(Inst::new(vec![v], InstKind::Op(rule, vec![a, d_y]), span));
                    v
                }
                // Into the parameter's cotangent in place, or as a matrix zero but there.
                Partial::At => {
                    if let Some(&buffer) = self.buffers.get(&a) {
                        let kind = InstKind::AddElem {
                            buffer,
                            indices: args[1..].to_vec(),
                            value: d_y,
                        };
                        out.push(Inst::new(Vec::new(), kind, span));
                        continue;
                    }
                    let v = self.cotangent_value(a);
                    let name = if args.len() == 3 { "at2_vjp" } else { "at_vjp" };
                    let mut all = args.to_vec();
                    all.extend([y, d_y]);
                    let kind = InstKind::Rule {
                        name: name.into(),
                        args: all,
                    };
                    out.push(Inst::new(vec![v], kind, span));
                    v
                }
                Partial::Identity => d_y,
                Partial::Negate => {
                    let v = self.cotangent_value(a);
                    out.push(Inst::new(vec![v], InstKind::Op(Op::Neg, vec![d_y]), span));
                    v
                }
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
                    continue;
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
                    }
                    continue;
                }
                Partial::Runtime(rule) => {
                    let v = self.cotangent_value(a);
                    let kind = rules::rule_call(&rule, Mode::Vjp, args, y, d_y);
                    out.push(Inst::new(vec![v], kind, span));
                    v
                }
            };
            adj.add(a, contribution);
        }
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
                name: "element_vjp".into(),
                args: vec![d_y, index],
            };
            out.push(Inst::new(vec![v], kind, span));
            adj.add(a, v);
        }
    }

    /// `(d_a, d_b, ..) = pullback(d_y)`: one cotangent per float argument, in order.
    fn call(
        &mut self,
        args: &[Value],
        pullback: Value,
        d_y: Value,
        span: Span,
        adj: &mut Adjoints,
        out: &mut Vec<Inst>,
    ) {
        let mut outs = Vec::new();
        let floats: Vec<Value> = args
            .iter()
            .copied()
            .filter(|&a| self.func.ty(a).is_differentiable())
            .collect();
        for a in floats {
            let d = self.cotangent_value(a);
            outs.push(d);
            if self.act.is_active(a) {
                adj.add(a, d);
            }
        }
        out.push(Inst::new(
            outs,
            InstKind::Pullback {
                pullback,
                seed: d_y,
            },
            span,
        ));
    }

    /// The adjoint of an `if`: an `if` on the same condition whose branches recompute what
    /// they need, run the branch's adjoint, and yield contributions to outer values.
    fn branch(
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
        let mut inits: Vec<Value> = slots
            .iter()
            .zip(seeds)
            .map(|(&i, d)| d.unwrap_or_else(|| self.zero_like(inst.outs[i], out)))
            .collect();
        let mut params: Vec<Value> = slots
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
        let (mut insts, stored) = recompute_or_record(&lp.body.insts, &adjoint, |inst, wanted| {
            self.must_record(inst) || wanted.iter().all(|o| exported.contains(o))
        });
        // Arrays are never recorded: their cotangents live in buffers.
        let stored: Vec<Value> = stored
            .into_iter()
            .filter(|&v| !self.families.is_array(v))
            .collect();
        insts.extend(adjoint);
        let mut yields: Vec<Value> = slots
            .iter()
            .map(|&i| self.take_or_zero_like(&mut body_adj, lp.params[i], &mut insts))
            .collect();
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
            params.push(acc);
            let zero = self.zero_like(o, out);
            inits.push(zero);
            let next = match self.take(&mut body_adj, o, &mut insts) {
                Some(part) => {
                    let next = self.cotangent_value(o);
                    insts.push(Inst::new(
                        vec![next],
                        InstKind::Sum(vec![acc, part]),
                        inst.span,
                    ));
                    next
                }
                None => acc,
            };
            yields.push(next);
        }
        let mut items = recorded_items(lp, &insts);
        items.extend(stored);
        let kind = match &lp.kind {
            // Nothing to record but the index: run the same range backwards, no tape.
            // (`step_by` is reversible only over some integer types, so it keeps its tape.)
            LoopKind::For { index, range }
                if items.iter().all(|v| v == index)
                    && range.adapters.iter().all(|a| matches!(a, Adapter::Rev)) =>
            {
                let mut range = range.clone();
                range.adapters.push(Adapter::Rev);
                LoopKind::For {
                    index: *index,
                    range,
                }
            }
            _ => {
                self.records.insert(record.tape, items.clone());
                LoopKind::Tape {
                    tape: record.tape,
                    items,
                }
            }
        };
        let tape_loop = Loop {
            kind,
            params,
            inits,
            body: Block { insts, yields },
            record: None,
        };
        let mut outs = Vec::new();
        for &i in &slots {
            let d = self.cotangent_value(lp.inits[i]);
            outs.push(d);
            if self.act.is_active(lp.inits[i]) {
                adj.add(lp.inits[i], d);
            }
        }
        for &o in &outer {
            let d = self.cotangent_value(o);
            outs.push(d);
            adj.add(o, d);
        }
        out.push(Inst::new(
            outs,
            InstKind::Loop(Box::new(tape_loop)),
            inst.span,
        ));
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

/// The instructions of `primal` that `adjoint` reads, directly or through each other, in
/// their original order.
fn recompute(primal: &[Inst], adjoint: &[Inst], available: &[Value]) -> Vec<Inst> {
    let mut needed: HashSet<Value> = adjoint.iter().flat_map(Inst::uses).collect();
    let mut keep = vec![false; primal.len()];
    for (i, inst) in primal.iter().enumerate().rev() {
        if inst
            .outs
            .iter()
            .any(|o| needed.contains(o) && !available.contains(o))
        {
            keep[i] = true;
            needed.extend(inst.uses());
        }
    }
    primal
        .iter()
        .zip(keep)
        .filter(|(_, k)| *k)
        .map(|(inst, _)| inst.clone())
        .collect()
}

/// Splits what a loop iteration's `adjoint` needs of `body` into instructions to recompute
/// (in body order) and values to record (in body order): the needed results of the
/// instructions `record` picks (given the results wanted of it), e.g. costly ones, nested
/// loops with their tapes, reads of written arrays, values exported from branches. The need
/// is transitive: a cheap value recomputed from a loop's result makes that result recorded,
/// so no inner loop ever runs again in the adjoint.
fn recompute_or_record(
    body: &[Inst],
    adjoint: &[Inst],
    record: impl Fn(&Inst, &[Value]) -> bool,
) -> (Vec<Inst>, Vec<Value>) {
    let mut needed: HashSet<Value> = adjoint.iter().flat_map(Inst::uses).collect();
    let mut keep = vec![false; body.len()];
    let mut recorded = Vec::new();
    for (i, inst) in body.iter().enumerate().rev() {
        let wanted: Vec<Value> = inst
            .outs
            .iter()
            .copied()
            .filter(|o| needed.contains(o))
            .collect();
        if wanted.is_empty() {
            continue;
        }
        if record(inst, &wanted) {
            recorded.extend(wanted.iter().rev());
        } else {
            keep[i] = true;
            needed.extend(inst.uses());
        }
    }
    recorded.reverse();
    let insts = body
        .iter()
        .zip(keep)
        .filter(|(_, k)| *k)
        .map(|(inst, _)| inst.clone())
        .collect();
    (insts, recorded)
}

/// Loops, and the float functions that cost more than a few multiplications: recording
/// their result (8 bytes) is cheaper than computing it again.
fn costly(inst: &Inst) -> bool {
    use crate::ir::Fun;
    match &inst.kind {
        InstKind::Loop(_) => true,
        InstKind::Op(Op::Fun(f), _) => !matches!(
            f,
            Fun::Abs
                | Fun::Signum
                | Fun::Recip
                | Fun::Floor
                | Fun::Ceil
                | Fun::Round
                | Fun::Trunc
                | Fun::Fract
                | Fun::ToDegrees
                | Fun::ToRadians
                | Fun::Powi
                | Fun::Max
                | Fun::Min
                | Fun::Clamp
                | Fun::MulAdd
        ),
        _ => false,
    }
}

fn recorded_items(lp: &Loop, adjoint: &[Inst]) -> Vec<Value> {
    let used: HashSet<Value> = adjoint.iter().flat_map(Inst::uses).collect();
    lp.body_defs()
        .into_iter()
        .filter(|v| used.contains(v))
        .collect()
}

/// Sets what each recording loop pushes per iteration, now that its adjoint is known;
/// a loop whose adjoint never ran records nothing (and loses its tape).
fn fill_records(block: &mut Block, records: &HashMap<Value, Vec<Value>>) {
    for inst in &mut block.insts {
        if let InstKind::Loop(lp) = &mut inst.kind {
            if let Some(r) = &mut lp.record {
                match records.get(&r.tape) {
                    Some(items) => r.items.clone_from(items),
                    None => {
                        let tape = r.tape;
                        lp.record = None;
                        inst.outs.retain(|&o| o != tape);
                    }
                }
            }
        }
        for b in inst.blocks_mut() {
            fill_records(b, records);
        }
    }
}
