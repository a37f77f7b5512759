//! The SSA intermediate representation shared by every stage after lowering.
//!
//! A [`Func`] is a tree of [`Block`]s: control flow stays structured (an `if` owns its two
//! blocks, and its results are the values its branches `yield`), because the emitted
//! derivative must be structured Rust and because the adjoint of an `if` is an `if` that
//! replays the same branch. Every value is defined exactly once; a value defined inside a
//! block is visible only inside that block and the blocks nested in it. (The pullback
//! closure is the exception: it computes parts of branches and iterations again under the
//! same values, each copy in its own Rust scope; `ssa` renames them where code is
//! analysed again.)
//!
//! No `syn` type survives lowering: operations keep the user's `Span` (for error
//! positions) and, where the emitted code must repeat the user's tokens (a path, a cast
//! type, a literal), those tokens.

mod display;
mod dot;
mod op;
mod ssa;

pub use dot::graph;
pub use op::{CmpOp, Const, Fun, Lin, Mode, Op};
use proc_macro2::{Span, TokenStream};

/// An SSA value: an index into [`Func::values`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Value(pub u32);

impl Value {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// What rustc will find the type of a value to be, as far as the macro can tell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ty {
    F32,
    F64,
    /// A float whose width the macro cannot see (an unsuffixed literal used alone).
    Float,
    Int,
    Bool,
    /// A slice, array or `Vec` of `f32`, `f64` or integers.
    ArrayF32,
    ArrayF64,
    ArrayInt,
    /// A differentiable value the macro cannot see into: a matrix or vector, a parameter
    /// struct, or a float behind a field or call. It is handled by reference and its
    /// rules are dispatched by traits, so rustc decides what it is.
    Obj,
    Unknown,
}

impl Ty {
    pub fn is_float(self) -> bool {
        matches!(self, Ty::F32 | Ty::F64 | Ty::Float)
    }

    /// Whether a value of this type has a tangent and cotangent (floats, objects and
    /// arrays of floats): what a call passes tangents for and its pullback returns.
    pub fn is_differentiable(self) -> bool {
        self.is_float() || self.elem().is_float() || self == Ty::Obj
    }

    /// The type of an element, for an array type.
    pub fn elem(self) -> Ty {
        match self {
            Ty::ArrayF32 => Ty::F32,
            Ty::ArrayF64 => Ty::F64,
            Ty::ArrayInt => Ty::Int,
            _ => Ty::Unknown,
        }
    }

    /// The array of elements of this type, if there is one.
    pub fn array_of(self) -> Ty {
        match self {
            Ty::F32 => Ty::ArrayF32,
            Ty::F64 => Ty::ArrayF64,
            Ty::Int => Ty::ArrayInt,
            _ => Ty::Unknown,
        }
    }
}

/// Per-value facts: the user's name for it (if it was bound by `let` or is a parameter),
/// where it came from, and its type.
#[derive(Clone, Debug)]
pub struct ValueInfo {
    pub name: Option<String>,
    pub span: Span,
    pub ty: Ty,
    pub role: Role,
    /// The variable holds a reference to the value (`&T` parameters, field reads).
    pub by_ref: bool,
}

/// What a value is to the derivative, which decides its generated name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Primal,
    /// The tangent or cotangent of a value (`d_y`).
    Derivative(Value),
    /// The pullback of a call's result (`y_pullback`).
    Pullback(Value),
}

/// A function: parameters, a body, and the values it returns.
#[derive(Clone, Debug)]
pub struct Func {
    pub name: String,
    pub values: Vec<ValueInfo>,
    pub params: Vec<Value>,
    pub body: Block,
    pub results: Vec<Value>,
}

/// A straight sequence of instructions; `yields` are the block's results when it is a
/// branch of an `if` or the body of a closure.
#[derive(Clone, Debug, Default)]
pub struct Block {
    pub insts: Vec<Inst>,
    pub yields: Vec<Value>,
}

#[derive(Clone, Debug)]
pub struct Inst {
    pub outs: Vec<Value>,
    pub kind: InstKind,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub enum InstKind {
    /// A primal operation of the user's code.
    Op(Op, Vec<Value>),
    /// `outs = if cond { then } else { els }`: out `i` is yield `i` of the branch taken.
    If {
        cond: Value,
        then: Block,
        els: Block,
    },
    // ---- produced by the forward and reverse transforms ----
    /// A derivative rule of the runtime, `::autodiff::__private::<name>(args)`.
    Rule { name: String, args: Vec<Value> },
    /// The sum of tangent or cotangent contributions.
    Sum(Vec<Value>),
    /// The zero tangent or cotangent, of whatever type its use asks for.
    Zero,
    /// The zero tangent or cotangent of the type of a value.
    ZeroLike(Value),
    /// A mutable cotangent for an array, zero to start with: `let mut d_x = zeros of x`.
    Buffer { like: Value },
    /// `out = buffer[index]; buffer[index] = 0`: the cotangent of an overwritten element.
    /// A `grow` buffer (of a `Vec` built by `push`) may be shorter: then it is 0.
    TakeAt {
        buffer: Value,
        index: Value,
        grow: bool,
    },
    /// `buffer[i] += value[i]` for every `i`: the cotangent of a whole array (from a
    /// call's pullback) added into the array's buffer (no result). A `grow` buffer may be
    /// shorter: it grows.
    AddAll {
        buffer: Value,
        value: Value,
        grow: bool,
        /// Into `buffer[lo..hi]` only (the cotangent of a sub-slice).
        range: Option<(Value, Value)>,
    },
    /// `buffer[index] += value`, an effect on a cotangent buffer (no result).
    AddAt {
        buffer: Value,
        index: Value,
        value: Value,
        /// The buffer grows to hold `index` (a `Vec` built by `push`).
        grow: bool,
    },
    /// `(y, dy) = <path>_jvp(args.., tangents..)`.
    CallJvp {
        path: TokenStream,
        args: Vec<Value>,
        form: CallForm,
    },
    /// `(y, pullback) = <path>_vjp(args..)`.
    CallVjp {
        path: TokenStream,
        args: Vec<Value>,
        form: CallForm,
        /// The cotangents needed, bit `i` for the `i`-th differentiable argument, when
        /// not all of them are (see `autodiff_runtime`'s `needs`).
        request: Option<Request>,
    },
    /// `out = needs(this function)`: which cotangents the caller needs (a bit mask).
    Needs,
    /// `inner`, run only if `needs & mask != 0`; otherwise its results are placeholders.
    Guard {
        needs: Value,
        mask: u64,
        inner: Box<Inst>,
    },
    /// `buffer.member += value` (`buffer += value` without a member): a contribution to
    /// a field of a parameter's cotangent (no result).
    AddField {
        buffer: Value,
        member: TokenStream,
        value: Value,
        /// The first write to this part of a fresh (zero) buffer: `buffer.member = value`.
        assign: bool,
    },
    /// `buffer[index] += value` or `buffer[(i, j)] += value` on a parameter's cotangent
    /// (a matrix or vector), for an element read of the parameter (no result).
    AddElem {
        buffer: Value,
        indices: Vec<Value>,
        value: Value,
    },
    /// `buffer[i ± shift] += field of r` for each index `i` of a counted loop's range and
    /// the record `r` its adjoint made at `i` (`records`, that loop's tape): additions
    /// to elements at a fixed offset from the index, made after the loop, where they
    /// vectorise (`reverse::scatter`). No result.
    AddRun(Run),
    /// `out = window(array, lo..hi)`: a copy of the elements of `array` that a counted
    /// loop over `lo..hi` (`lo..=hi` if `inclusive`) reads at its index minus `before` to
    /// plus `after`, indexed as the array is; its adjoint reads them there instead of
    /// records (`reverse::windows`).
    Window {
        array: Value,
        lo: Value,
        hi: Value,
        inclusive: bool,
        before: usize,
        after: usize,
    },
    /// `(d_arg0, d_arg1, ..) = pullback(seed)`: one out per float argument of the call;
    /// the seed is a tuple of the cotangents of a tuple result's parts.
    Pullback { pullback: Value, seeds: Vec<Value> },
    /// `out = move |params| { body }`: the body's yields are the closure's result.
    Closure { params: Vec<Value>, body: Block },
    /// A loop; its outs are the carried values after the last iteration (and the filled
    /// tape, when the loop records one).
    Loop(Box<Loop>),
}

/// The operands of `InstKind::AddRun`.
#[derive(Clone, Debug)]
pub struct Run {
    pub buffer: Value,
    pub records: Value,
    /// Field `field` of records of `fields` values (a record of one is the value).
    pub field: usize,
    pub fields: usize,
    /// The range's lowest index.
    pub first: Value,
    pub shift: Shift,
    /// The adjoint ran from the range's end to its start.
    pub backwards: bool,
}

/// An element's index from its loop's index `i`: `i + Σ up − Σ down`, each term the same
/// in every iteration (`c[i − 1]`, `x[row + j + 1]`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Shift {
    pub up: Vec<Value>,
    pub down: Vec<Value>,
}

impl Shift {
    pub fn values(&self) -> impl Iterator<Item = Value> + '_ {
        self.up.iter().chain(&self.down).copied()
    }
}

/// Which cotangents a call's pullback is asked for: the arguments active here (`mask`)
/// and, in a function that itself takes its caller's request (`needs`), only those whose
/// cotangent reaches a needed parameter: bit `i` also needs `needs & reach[i] != 0`.
#[derive(Clone, Debug)]
pub struct Request {
    pub mask: u64,
    pub needs: Option<(Value, Vec<u64>)>,
}

/// How a call is written: `path(args)` or, for a method, `args[0].path(args[1..])`; and
/// which arguments the user borrowed (`&a`), by position (tangents follow their primal).
#[derive(Clone, Debug, Default)]
pub struct CallForm {
    pub method: bool,
    pub borrowed: Vec<bool>,
    /// The number of results of a callee that returns a tuple (`let (a, b) = g(..)`, the
    /// call's outs); 0 for a callee that returns one value.
    pub parts: usize,
}

impl CallForm {
    pub fn borrowed(&self, i: usize) -> bool {
        self.borrowed.get(i).copied().unwrap_or(false)
    }
}

/// `outs = loop (params = inits) { body; params = body.yields }`.
#[derive(Clone, Debug)]
pub struct Loop {
    pub kind: LoopKind,
    /// The carried values at the start of an iteration, defined by the loop.
    pub params: Vec<Value>,
    /// Their values before the first iteration.
    pub inits: Vec<Value>,
    /// One iteration; its yields are the carried values of the next.
    pub body: Block,
    /// In the primal of a reverse-mode function: the tape the loop fills (its last out)
    /// and what it pushes at the start of each iteration.
    pub record: Option<Record>,
    /// A segment of a `#[checkpoint]` loop: the adjoint of the enclosing loop runs it
    /// again (recording its tape) rather than keeping its tape from the primal.
    pub recompute: bool,
}

#[derive(Clone, Debug)]
pub struct Record {
    pub tape: Value,
    pub items: Vec<Value>,
}

#[derive(Clone, Debug)]
pub enum LoopKind {
    /// `for index in range { .. }`.
    For { index: Value, range: Range },
    /// `while cond { .. }`: `cond` computes the condition from the params and yields it.
    While { cond: Block },
    /// The adjoint of a loop: walks a tape backwards, binding `items` each iteration, and,
    /// with `index`, the index of a counted loop from its range replayed backwards (a
    /// `for` loop runs its whole range, so the index need not be recorded). `forward`:
    /// the tape is walked first to last with `range` as the primal ran it, for an adjoint
    /// whose iterations may run in any order (`reverse::order`).
    Tape {
        tape: Value,
        items: Vec<Value>,
        index: Option<(Value, Range)>,
        forward: bool,
    },
}

/// `lo..hi` or `lo..=hi`, then iterator adapters in order.
#[derive(Clone, Debug)]
pub struct Range {
    pub lo: Value,
    pub hi: Value,
    pub inclusive: bool,
    pub adapters: Vec<Adapter>,
}

#[derive(Clone, Copy, Debug)]
pub enum Adapter {
    Rev,
    StepBy(Value),
}

impl Loop {
    /// Values the loop reads from outside its body: inits, range bounds, the tape.
    pub fn header_uses(&self) -> Vec<Value> {
        let mut out = self.inits.clone();
        match &self.kind {
            LoopKind::For { range, .. } => out.extend(range.uses()),
            LoopKind::While { .. } => {}
            LoopKind::Tape { tape, index, .. } => {
                out.push(*tape);
                out.extend(index.iter().flat_map(|(_, range)| range.uses()));
            }
        }
        out
    }

    /// Values defined by the loop for its body: params, the index or tape items.
    pub fn body_defs(&self) -> Vec<Value> {
        let mut out = self.params.clone();
        match &self.kind {
            LoopKind::For { index, .. } => out.push(*index),
            LoopKind::While { .. } => {}
            LoopKind::Tape { items, index, .. } => {
                out.extend(index.iter().map(|(i, _)| *i));
                out.extend(items);
            }
        }
        out
    }
}

impl Range {
    /// The bounds and steps the range reads.
    pub fn uses(&self) -> Vec<Value> {
        let mut out = vec![self.lo, self.hi];
        out.extend(self.adapters.iter().filter_map(|a| match a {
            Adapter::StepBy(k) => Some(*k),
            Adapter::Rev => None,
        }));
        out
    }

    /// Rewrites the values the range reads.
    pub fn map_uses(&mut self, f: &mut impl FnMut(Value) -> Value) {
        self.lo = f(self.lo);
        self.hi = f(self.hi);
        for a in &mut self.adapters {
            if let Adapter::StepBy(k) = a {
                *k = f(*k);
            }
        }
    }
}

/// The values either branch of an `if` adds a cotangent to (the keys of both maps), in
/// order: the results of the adjoint `if`.
pub fn union_keys<T>(
    a: &std::collections::BTreeMap<Value, T>,
    b: &std::collections::BTreeMap<Value, T>,
) -> Vec<Value> {
    let all: std::collections::BTreeSet<Value> = a.keys().chain(b.keys()).copied().collect();
    all.into_iter().collect()
}

impl Func {
    /// An empty function `<name><suffix>` sharing this one's values and parameters: the
    /// starting point of a derivative.
    pub fn derived(&self, suffix: &str) -> Func {
        Func {
            name: format!("{}{suffix}", self.name),
            values: self.values.clone(),
            params: self.params.clone(),
            body: Block::default(),
            results: Vec::new(),
        }
    }

    /// Adds a value and returns it.
    pub fn new_value(&mut self, name: Option<String>, span: Span, ty: Ty) -> Value {
        let index = u32::try_from(self.values.len()).unwrap_or(u32::MAX);
        self.values.push(ValueInfo {
            name,
            span,
            ty,
            role: Role::Primal,
            by_ref: false,
        });
        Value(index)
    }

    /// `v = op(args)` appended to `out`, `v` a new value with the span and type of `like`.
    pub fn push_op(
        &mut self,
        op: Op,
        args: Vec<Value>,
        like: Value,
        span: Span,
        out: &mut Vec<Inst>,
    ) -> Value {
        let v = self.new_derived(Role::Primal, like);
        out.push(Inst::new(vec![v], InstKind::Op(op, args), span));
        v
    }

    /// A float constant of `like`'s type, appended to `out`. The literal is the magnitude;
    /// the sign is in `value` (as for folded constants: emitted as `-lit`).
    pub fn push_float(
        &mut self,
        value: f64,
        like: Value,
        span: Span,
        out: &mut Vec<Inst>,
    ) -> Value {
        let lit = proc_macro2::Literal::f64_unsuffixed(value.abs());
        self.push_op(
            Op::Const(Const::Float { value, lit }),
            vec![],
            like,
            span,
            out,
        )
    }

    /// A new value with the span and type of `of`, in the given role.
    pub fn new_derived(&mut self, role: Role, of: Value) -> Value {
        let info = self.info(of);
        let (span, ty) = (info.span, info.ty);
        let v = self.new_value(None, span, ty);
        self.values[v.index()].role = role;
        v
    }

    /// The name a value is shown with: its own, or derived from the value it belongs to.
    pub fn display_name(&self, v: Value) -> Option<String> {
        let info = self.info(v);
        match info.role {
            Role::Primal => info.name.clone(),
            Role::Derivative(p) => Some(format!(
                "d_{}",
                self.display_name(p).unwrap_or_else(|| format!("v{}", p.0))
            )),
            Role::Pullback(p) => Some(format!(
                "{}_pullback",
                self.display_name(p).unwrap_or_else(|| format!("v{}", p.0))
            )),
        }
    }

    pub fn info(&self, v: Value) -> &ValueInfo {
        &self.values[v.index()]
    }

    pub fn ty(&self, v: Value) -> Ty {
        self.info(v).ty
    }
}

impl Inst {
    pub fn new(outs: Vec<Value>, kind: InstKind, span: Span) -> Self {
        Inst { outs, kind, span }
    }

    /// The blocks nested directly in this instruction.
    pub fn blocks(&self) -> Vec<&Block> {
        match &self.kind {
            InstKind::If { then, els, .. } => vec![then, els],
            InstKind::Closure { body, .. } => vec![body],
            InstKind::Loop(lp) => match &lp.kind {
                LoopKind::While { cond } => vec![cond, &lp.body],
                _ => vec![&lp.body],
            },
            _ => Vec::new(),
        }
    }

    /// The blocks nested directly in this instruction, mutably.
    pub fn blocks_mut(&mut self) -> Vec<&mut Block> {
        match &mut self.kind {
            InstKind::If { then, els, .. } => vec![then, els],
            InstKind::Closure { body, .. } => vec![body],
            InstKind::Loop(lp) => match &mut lp.kind {
                LoopKind::While { cond } => vec![cond, &mut lp.body],
                _ => vec![&mut lp.body],
            },
            _ => Vec::new(),
        }
    }

    /// Rewrites the values this instruction reads itself (not those read in its blocks).
    pub fn map_header_uses(&mut self, f: &mut impl FnMut(Value) -> Value) {
        let map = |vs: &mut Vec<Value>, f: &mut dyn FnMut(Value) -> Value| {
            vs.iter_mut().for_each(|v| *v = f(*v))
        };
        match &mut self.kind {
            InstKind::Op(_, args)
            | InstKind::Rule { args, .. }
            | InstKind::Sum(args)
            | InstKind::CallJvp { args, .. } => map(args, f),
            InstKind::CallVjp { args, request, .. } => {
                map(args, f);
                // The caller's own request of cotangents, which the call passes on.
                if let Some(Request {
                    needs: Some((needs, _)),
                    ..
                }) = request
                {
                    *needs = f(*needs);
                }
            }
            InstKind::Zero | InstKind::Closure { .. } | InstKind::Needs => {}
            InstKind::Guard { needs, inner, .. } => {
                *needs = f(*needs);
                inner.map_header_uses(f);
            }
            InstKind::ZeroLike(v) | InstKind::Buffer { like: v } => *v = f(*v),
            InstKind::AddField { buffer, value, .. } => {
                *buffer = f(*buffer);
                *value = f(*value);
            }
            InstKind::AddAll {
                buffer,
                value,
                range,
                ..
            } => {
                *buffer = f(*buffer);
                *value = f(*value);
                if let Some((lo, hi)) = range {
                    (*lo, *hi) = (f(*lo), f(*hi));
                }
            }
            InstKind::AddElem {
                buffer,
                indices,
                value,
            } => {
                *buffer = f(*buffer);
                map(indices, f);
                *value = f(*value);
            }
            InstKind::TakeAt { buffer, index, .. } => {
                *buffer = f(*buffer);
                *index = f(*index);
            }
            InstKind::AddRun(Run {
                buffer,
                records,
                first,
                shift,
                ..
            }) => {
                (*buffer, *records, *first) = (f(*buffer), f(*records), f(*first));
                shift
                    .up
                    .iter_mut()
                    .chain(&mut shift.down)
                    .for_each(|c| *c = f(*c));
            }
            InstKind::AddAt {
                buffer,
                index,
                value,
                ..
            } => {
                *buffer = f(*buffer);
                *index = f(*index);
                *value = f(*value);
            }
            InstKind::Pullback { pullback, seeds } => {
                *pullback = f(*pullback);
                map(seeds, f);
            }
            InstKind::Window { array, lo, hi, .. } => {
                (*array, *lo, *hi) = (f(*array), f(*lo), f(*hi));
            }
            InstKind::If { cond, .. } => *cond = f(*cond),
            InstKind::Loop(lp) => {
                map(&mut lp.inits, f);
                if let Some(r) = &mut lp.record {
                    map(&mut r.items, f);
                }
                match &mut lp.kind {
                    LoopKind::For { range, .. } => range.map_uses(f),
                    LoopKind::While { .. } => {}
                    LoopKind::Tape { tape, index, .. } => {
                        *tape = f(*tape);
                        if let Some((_, range)) = index {
                            range.map_uses(f);
                        }
                    }
                }
            }
        }
    }

    /// Rewrites every value this instruction reads, inside its blocks too.
    pub fn map_uses(&mut self, f: &mut impl FnMut(Value) -> Value) {
        self.map_header_uses(f);
        for b in self.blocks_mut() {
            b.map_uses(f);
        }
    }

    /// Every value this instruction reads, including those read inside its blocks.
    pub fn uses(&self) -> Vec<Value> {
        let mut out = Vec::new();
        self.collect_uses(&mut out);
        out
    }

    fn collect_uses(&self, out: &mut Vec<Value>) {
        match &self.kind {
            InstKind::Op(_, args)
            | InstKind::Rule { args, .. }
            | InstKind::Sum(args)
            | InstKind::CallJvp { args, .. } => out.extend(args),
            InstKind::CallVjp { args, request, .. } => {
                out.extend(args);
                if let Some(Request {
                    needs: Some((needs, _)),
                    ..
                }) = request
                {
                    out.push(*needs);
                }
            }
            InstKind::Zero | InstKind::Needs => {}
            InstKind::Guard { needs, inner, .. } => {
                out.push(*needs);
                inner.collect_uses(out);
            }
            InstKind::ZeroLike(v) | InstKind::Buffer { like: v } => out.push(*v),
            InstKind::AddField { buffer, value, .. } => out.extend([*buffer, *value]),
            InstKind::AddAll {
                buffer,
                value,
                range,
                ..
            } => {
                out.extend([*buffer, *value]);
                out.extend(range.iter().flat_map(|&(lo, hi)| [lo, hi]));
            }
            InstKind::AddElem {
                buffer,
                indices,
                value,
            } => {
                out.push(*buffer);
                out.extend(indices);
                out.push(*value);
            }
            InstKind::TakeAt { buffer, index, .. } => out.extend([*buffer, *index]),
            InstKind::AddRun(Run {
                buffer,
                records,
                first,
                shift,
                ..
            }) => {
                out.extend([*buffer, *records, *first]);
                out.extend(shift.values());
            }
            InstKind::AddAt {
                buffer,
                index,
                value,
                ..
            } => out.extend([*buffer, *index, *value]),
            InstKind::Pullback { pullback, seeds } => {
                out.push(*pullback);
                out.extend(seeds);
            }
            InstKind::Window { array, lo, hi, .. } => out.extend([*array, *lo, *hi]),
            InstKind::If { cond, then, els } => {
                out.push(*cond);
                then.collect_uses(out);
                els.collect_uses(out);
            }
            InstKind::Closure { body, .. } => body.collect_uses(out),
            InstKind::Loop(lp) => {
                out.extend(lp.header_uses());
                if let LoopKind::While { cond } = &lp.kind {
                    cond.collect_uses(out);
                }
                if let Some(r) = &lp.record {
                    out.extend(&r.items);
                }
                lp.body.collect_uses(out);
            }
        }
    }
}

impl Block {
    /// Every value read in the block (its yields included), nested blocks included.
    pub fn uses(&self) -> Vec<Value> {
        let mut out = Vec::new();
        self.collect_uses(&mut out);
        out
    }

    fn collect_uses(&self, out: &mut Vec<Value>) {
        for inst in &self.insts {
            inst.collect_uses(out);
        }
        out.extend(&self.yields);
    }

    pub fn map_uses(&mut self, f: &mut impl FnMut(Value) -> Value) {
        for inst in &mut self.insts {
            inst.map_uses(f);
        }
        for y in &mut self.yields {
            *y = f(*y);
        }
    }

    /// Every value defined in this block or in blocks nested in it.
    pub fn defs(&self, out: &mut Vec<Value>) {
        for inst in &self.insts {
            out.extend(&inst.outs);
            match &inst.kind {
                InstKind::If { then, els, .. } => {
                    then.defs(out);
                    els.defs(out);
                }
                InstKind::Closure { params, body } => {
                    out.extend(params);
                    body.defs(out);
                }
                InstKind::Loop(lp) => {
                    out.extend(lp.body_defs());
                    if let LoopKind::While { cond } = &lp.kind {
                        cond.defs(out);
                    }
                    lp.body.defs(out);
                }
                _ => {}
            }
        }
    }
}
