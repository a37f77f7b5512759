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
//!
//! Files: this one builds the function and holds the sweep's state; `primal` the primal
//! sweep (pullbacks of calls, records of loops); `sweep` the adjoint of each instruction,
//! branch and loop; `passes` the passes over the pullback (first writes as assignments,
//! guards by need); `tape` what a loop's adjoint recomputes and what it records;
//! `scatter` the additions to neighbouring elements a loop's adjoint makes after it;
//! `order` the loop adjoints that run forwards.

use crate::activity::Activity;
use crate::ir::{
    Adapter, Block, Func, Inst, InstKind, Loop, LoopKind, Op, Range, Record, Request, Role, Run,
    Shift, Ty, Value,
};
use crate::rules::{self, Builder, Mode, Operands, Partial, Rule, RuntimeRule};
use proc_macro2::Span;
use std::collections::{BTreeMap, HashMap, HashSet};

mod buffers;
mod calls;
mod order;
mod passes;
mod primal;
mod scatter;
mod segments;
mod sweep;
mod tape;
mod windows;
mod written;

pub use written::partials;

use passes::*;
use tape::*;

/// `outputs`: the output parameters (`out: &mut [f64]`), whose final versions are the last
/// results; the pullback takes their cotangents after the result's.
pub fn vjp(func: &Func, act: &Activity, active_params: &[Value], outputs: &[Value]) -> Func {
    let mut out = func.derived("_vjp");
    let arrays: Vec<Value> = active_params.iter().chain(outputs).copied().collect();
    let mut rev = Reverse::new(&mut out, func, act, &arrays, Target::Pullback);
    let swept = rev.sweep(func, active_params, outputs);
    let span = rev.func.info(func.results[0]).span;
    let (body, pullback) = rev.package(swept, span, active_params);
    out.body = body;
    out.results = func.results.clone();
    out.results.push(pullback);
    out
}

/// What the adjoint is built for: the pullback closure of `f_vjp` (runtime rules, calls
/// through their pullbacks, loop records on tapes), or the written-out sweep of `nested`,
/// which must be ordinary IR that can be differentiated again (`written`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Target {
    Pullback,
    Ordinary,
}

/// The primal sweep and the adjoint sweep, seeded at the result: the one construction
/// both targets package.
struct Swept {
    primal: Block,
    adjoint: Vec<Inst>,
    /// The results' cotangents the adjoint starts from.
    d_ret: Vec<Value>,
    grads: Vec<Value>,
    /// Cotangent buffers made in the primal (so the pullback need not capture what they
    /// are shaped like).
    hoisted: Vec<Inst>,
}

impl<'a> Reverse<'a> {
    fn new(
        out: &'a mut Func,
        func: &Func,
        act: &'a Activity,
        active_params: &[Value],
        target: Target,
    ) -> Self {
        Reverse {
            func: out,
            act,
            target,
            unsupported: false,
            records: HashMap::new(),
            buffers: HashMap::new(),
            families: Families::of(func, active_params),
            exports: HashMap::new(),
            joint: HashMap::new(),
            segments: HashMap::new(),
            indices: HashSet::new(),
            feeds_vertical: crate::activity::feeds_vertical_tangent(func),
            windows: HashMap::new(),
            windows_read: HashSet::new(),
            branch_depth: 0,
        }
    }

    /// The primal, then the adjoint seeded at the result, ending with the parameters'
    /// cotangents. The seed `d_ret` is the pullback's parameter, or `1` written out; an
    /// output parameter's seed `d_out` too.
    fn sweep(&mut self, func: &Func, active_params: &[Value], outputs: &[Value]) -> Swept {
        let mut primal = self.primal_block(&func.body);
        let mut adjoint = Vec::new();
        let mut adj = Adjoints::default();
        let mut d_ret = Vec::new();
        let parts = func.results.len() - outputs.len();
        for (k, &result) in func.results.iter().enumerate() {
            let span = self.func.info(result).span;
            let d = match self.target {
                Target::Pullback => {
                    let name = match (k.checked_sub(parts), parts) {
                        (Some(j), _) => format!(
                            "d_{}",
                            func.info(outputs[j]).name.as_deref().unwrap_or("out")
                        ),
                        (None, 1) => "d_ret".to_string(),
                        (None, _) => format!("d_ret{k}"),
                    };
                    let ty = self.func.ty(result);
                    self.func.new_value(Some(name), span, ty)
                }
                Target::Ordinary => self.func.push_float(1.0, result, span, &mut adjoint),
            };
            self.seed(result, d, &mut adj);
            d_ret.push(d);
        }
        adjoint.extend(self.array_buffers(active_params));
        let hoisted = self.field_buffers(func, active_params);
        adjoint.extend(self.adjoint(&primal.insts, &mut adj));
        let grads = self.gradients(active_params, &mut adj, &mut adjoint);
        self.drop_unused_windows(&mut primal.insts);
        self.drop_unused_windows(&mut adjoint);
        Swept {
            primal,
            adjoint,
            d_ret,
            grads,
            hoisted,
        }
    }
}

impl Reverse<'_> {
    /// The result's cotangent: an array result's is its family's buffer to start with.
    fn seed(&mut self, result: Value, d_ret: Value, adj: &mut Adjoints) {
        if self.families.is_array(result) {
            let root = self.families.root(result);
            self.buffers.insert(root, d_ret);
        } else if self.act.is_active(result) {
            adj.add(result, d_ret);
        }
    }

    /// Arrays get mutable cotangent buffers, declared first; elements are added in place.
    fn array_buffers(&mut self, active_params: &[Value]) -> Vec<Inst> {
        let mut decls = Vec::new();
        for &p in active_params {
            let root = self.families.root(p);
            if self.func.ty(p).elem() == Ty::Unknown || self.buffers.contains_key(&root) {
                continue;
            }
            let buffer = self.func.new_derived(Role::Derivative(p), p);
            let span = self.func.info(p).span;
            decls.push(Inst::new(vec![buffer], InstKind::Buffer { like: p }, span));
            self.buffers.insert(root, buffer);
        }
        decls
    }

    /// Parameters whose fields are read get a cotangent of their type, filled field by
    /// field. It is made in the primal, so that the pullback need not capture the parameter.
    fn field_buffers(&mut self, func: &Func, active_params: &[Value]) -> Vec<Inst> {
        let mut hoisted = Vec::new();
        for p in fields_read(func, active_params) {
            let buffer = self.func.new_derived(Role::Derivative(p), p);
            self.func.values[buffer.index()].by_ref = false;
            let span = self.func.info(p).span;
            hoisted.push(Inst::new(vec![buffer], InstKind::Buffer { like: p }, span));
            self.buffers.insert(p, buffer);
        }
        hoisted
    }

    /// The parameters' cotangents at the end of the sweep; uses of a whole parameter that
    /// has a buffer add to its fields' cotangents.
    fn gradients(
        &mut self,
        active_params: &[Value],
        adj: &mut Adjoints,
        adjoint: &mut Vec<Inst>,
    ) -> Vec<Value> {
        let mut grads = Vec::new();
        for &p in active_params {
            let Some(&buffer) = self.buffers.get(&self.families.root(p)) else {
                grads.push(self.take_or_zero(adj, p, adjoint));
                continue;
            };
            if let Some(whole) = self.take(adj, p, adjoint) {
                let kind = InstKind::AddField {
                    buffer,
                    member: proc_macro2::TokenStream::new(),
                    value: whole,
                    assign: false,
                };
                adjoint.push(Inst::new(Vec::new(), kind, self.func.info(p).span));
            }
            grads.push(buffer);
        }
        grads
    }

    /// The primal with the pullback closure at its end, after the passes over the adjoint:
    /// guards by need, first writes as assignments, and the records loops fill. Returns
    /// the body and the pullback value.
    fn package(&mut self, swept: Swept, span: Span, active_params: &[Value]) -> (Block, Value) {
        let Swept {
            mut primal,
            mut adjoint,
            d_ret,
            grads,
            hoisted,
        } = swept;
        // With several active parameters, the caller may need only some cotangents; worth
        // asking when one is an array or an object (a float's cotangent costs less than
        // the asking).
        let costly = active_params.iter().any(|&p| !self.func.ty(p).is_float());
        let needs = (costly && (2..=64).contains(&grads.len()))
            .then(|| self.func.new_value(Some("needs".into()), span, Ty::Int));
        let mut passed = false;
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
        let pullback = self
            .func
            .new_value(Some("pullback".into()), span, Ty::Unknown);
        let closure = InstKind::Closure {
            params: d_ret,
            body: Block {
                insts: adjoint,
                yields: grads,
            },
        };
        if let Some(needs) = needs {
            // First: a call made in the primal may address a request to another callee.
            primal
                .insts
                .insert(0, Inst::new(vec![needs], InstKind::Needs, span));
        }
        primal.insts.extend(hoisted);
        primal.insts.push(Inst::new(vec![pullback], closure, span));
        fill_records(&mut primal, &std::mem::take(&mut self.records));
        forget_segment_records(&mut primal);
        (primal, pullback)
    }
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
    target: Target,
    /// Set when the `Ordinary` target meets what it has no ordinary IR for (a method
    /// call, a partial without a formula): then no written-out sweep is made.
    unsupported: bool,
    /// What each loop's adjoint reads of an iteration, by the loop's tape.
    records: HashMap<Value, Vec<Value>>,
    /// The cotangent buffer of each active array, by the root of its family.
    buffers: HashMap<Value, Value>,
    /// Which values are versions of the same array.
    families: Families,
    /// Values computed in an `if` branch and exported as results of the `if`, so that the
    /// adjoint does not recompute them (in functions that write arrays).
    exports: HashMap<Value, Value>,
    /// Active calls with a local array argument, by result: made again through `_vjp` in
    /// the adjoint, on copies of those arrays taken at the call (see `primal::joint_call`).
    joint: HashMap<Value, JointCall>,
    /// `#[checkpoint]` segments that use local arrays, by tape: the copies taken at their
    /// start (see `segments`).
    segments: HashMap<Value, Vec<segments::SegmentCopy>>,
    /// The indices of the primal's counted loops (`order`: a loop over `0..j`, `j` an
    /// enclosing loop's index, is short on average).
    indices: HashSet<Value>,
    /// By value, whether it reaches an operation with a vertical tangent
    /// (`activity::feeds_vertical_tangent`). A product whose result does not is
    /// differentiated plainly, without the `0 · ∞` test (`sweep`).
    feeds_vertical: Vec<bool>,
    /// The windows made before each loop, by its tape, and those an adjoint reads
    /// (`windows`).
    windows: HashMap<Value, Vec<windows::WindowCopy>>,
    windows_read: HashSet<Value>,
    /// How many `if`s the primal sweep is inside: a branch exports what its loops
    /// record before the adjoint says which windows it reads, so no loop in a branch
    /// makes windows.
    branch_depth: usize,
}

/// A call made twice: plainly in the primal, and through `_vjp` in the adjoint, on `args`
/// (the call's arguments with local arrays replaced by their copies).
struct JointCall {
    path: proc_macro2::TokenStream,
    form: crate::ir::CallForm,
    args: Vec<Value>,
}

/// The arrays calls return (or parts of their tuple results): their cotangents are
/// buffers, as other arrays' are.
fn call_arrays(func: &Func, block: &Block) -> Vec<Value> {
    let mut out = Vec::new();
    for inst in &block.insts {
        if let InstKind::Op(Op::Call { .. }, _) = &inst.kind {
            out.extend(
                inst.outs
                    .iter()
                    .filter(|&&o| func.ty(o).elem() != Ty::Unknown),
            );
        }
        for b in inst.blocks() {
            out.extend(call_arrays(func, b));
        }
    }
    out
}

/// Whether every use of the array `v` in `block` reads it where it is (an element, its
/// length, a sub-slice or copy, a borrowed call argument), so that the pullback may
/// capture it: a move (a result, a carried value, a call by value) would leave nothing
/// to capture.
fn only_read(block: &Block, v: Value) -> bool {
    block.insts.iter().all(|inst| {
        let reads = match &inst.kind {
            InstKind::Op(
                Op::Index | Op::Len | Op::SubSlice { .. } | Op::CopyArray { .. },
                args,
            ) => args[1..].iter().all(|&a| a != v),
            InstKind::Op(Op::Call { form, .. }, args) => args
                .iter()
                .enumerate()
                .all(|(i, &a)| a != v || form.borrowed(i)),
            InstKind::If { cond, .. } => *cond != v,
            InstKind::Loop(lp) => !lp.header_uses().contains(&v),
            _ if inst.blocks().is_empty() => !inst.uses().contains(&v),
            _ => {
                let mut header = Vec::new();
                inst.clone().map_header_uses(&mut |u| {
                    header.push(u);
                    u
                });
                !header.contains(&v)
            }
        };
        reads
            && inst
                .blocks()
                .into_iter()
                .all(|b| only_read(b, v) && !b.yields.contains(&v))
    })
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
    /// Sub-slices that borrow a parameter (`SubSlice { view: true }`): not local arrays.
    views: HashSet<Value>,
    /// Array versions made at the function's top level (or parameters) that no later
    /// write reaches: what is read from them may be read again in the adjoint, even in a
    /// function that writes arrays (`exp(q)` computed into an array once, then read in a
    /// loop over the points).
    settled: HashSet<Value>,
    /// Each array version's next versions (a write's result, a loop's or `if`'s merge).
    next: HashMap<Value, Vec<Value>>,
    /// The versions a write overwrites.
    overwritten: Vec<Value>,
}

impl Families {
    fn of(func: &Func, active_params: &[Value]) -> Families {
        let mut f = Families {
            parent: HashMap::new(),
            arrays: HashSet::new(),
            written: false,
            written_roots: HashSet::new(),
            growable: HashSet::new(),
            views: HashSet::new(),
            settled: HashSet::new(),
            next: HashMap::new(),
            overwritten: Vec::new(),
        };
        let arrays: Vec<Value> = active_params
            .iter()
            .copied()
            .filter(|&p| func.ty(p).elem() != Ty::Unknown)
            .collect();
        f.block(&func.body);
        for v in call_arrays(func, &func.body) {
            let r = f.root(v);
            f.arrays.insert(r);
        }
        f.growable = f.growable.iter().map(|&v| f.root(v)).collect();
        f.written_roots = f.written_roots.iter().map(|&v| f.root(v)).collect();
        for p in arrays {
            let r = f.root(p);
            f.arrays.insert(r);
        }
        f.settle(func);
        f
    }

    /// The top-level versions (and parameters) from which no chain of next versions
    /// reaches a write.
    fn settle(&mut self, func: &Func) {
        let mut previous: HashMap<Value, Vec<Value>> = HashMap::new();
        for (&v, nexts) in &self.next {
            for &n in nexts {
                previous.entry(n).or_default().push(v);
            }
        }
        let mut changes: HashSet<Value> = HashSet::new();
        let mut stack = self.overwritten.clone();
        while let Some(v) = stack.pop() {
            if changes.insert(v) {
                stack.extend(previous.get(&v).into_iter().flatten());
            }
        }
        let top = func.body.insts.iter().flat_map(|i| i.outs.iter().copied());
        self.settled = func
            .params
            .iter()
            .copied()
            .chain(top)
            .filter(|v| !changes.contains(v) && func.ty(*v).elem() != Ty::Unknown)
            .filter(|v| !func.results.contains(v) && only_read(&func.body, *v))
            .collect();
    }

    fn follows(&mut self, from: Value, to: Value) {
        self.next.entry(from).or_default().push(to);
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

    /// Whether what is read from `v` may have changed by the time the adjoint runs: `v`
    /// is a version of an array written somewhere, and not a settled one.
    fn may_change(&self, v: Value) -> bool {
        self.written_roots.contains(&self.root(v)) && !self.settled.contains(&v)
    }

    fn block(&mut self, block: &Block) {
        for inst in &block.insts {
            match &inst.kind {
                InstKind::Op(Op::NewArray { .. } | Op::CopyArray { .. }, _) => {
                    let r = self.root(inst.outs[0]);
                    self.arrays.insert(r);
                }
                InstKind::Op(Op::SubSlice { view }, _) => {
                    let r = self.root(inst.outs[0]);
                    self.arrays.insert(r);
                    if *view {
                        self.views.insert(r);
                    }
                }
                InstKind::Op(Op::EmptyVec, _) => {
                    let r = self.root(inst.outs[0]);
                    self.arrays.insert(r);
                    self.growable.insert(inst.outs[0]);
                }

                InstKind::Op(op @ (Op::Store | Op::Push), args) => {
                    // A `Vec` pushed to grows past the buffer made for its first length.
                    if matches!(op, Op::Push) {
                        self.growable.insert(args[0]);
                    }
                    self.written = true;
                    self.written_roots.insert(args[0]);
                    self.overwritten.push(args[0]);
                    self.follows(args[0], inst.outs[0]);
                    self.union(inst.outs[0], args[0]);
                }
                InstKind::If { then, els, .. } => {
                    for (i, &o) in inst.outs.iter().enumerate() {
                        self.follows(then.yields[i], o);
                        self.follows(els.yields[i], o);
                        self.union(o, then.yields[i]);
                        self.union(o, els.yields[i]);
                    }
                }
                InstKind::Loop(lp) => {
                    for (i, &p) in lp.params.iter().enumerate() {
                        self.follows(lp.inits[i], p);
                        self.follows(lp.body.yields[i], p);
                        self.follows(lp.body.yields[i], inst.outs[i]);
                        self.follows(p, inst.outs[i]);
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
