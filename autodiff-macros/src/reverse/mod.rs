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
//! guards by need); `tape` what a loop's adjoint recomputes and what it records.

use crate::activity::Activity;
use crate::ir::{
    Adapter, Block, Func, Inst, InstKind, Loop, LoopKind, Op, Record, Request, Role, Ty, Value,
};
use crate::rules::{self, Mode, Partial, Rule};
use proc_macro2::Span;
use std::collections::{BTreeMap, HashMap, HashSet};

mod passes;
mod primal;
mod sweep;
mod tape;

use passes::*;
use tape::*;

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
