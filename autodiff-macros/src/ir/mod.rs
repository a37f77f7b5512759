//! The SSA intermediate representation shared by every stage after lowering.
//!
//! A [`Func`] is a tree of [`Block`]s: control flow stays structured (an `if` owns its two
//! blocks, and its results are the values its branches `yield`), because the emitted
//! derivative must be structured Rust and because the adjoint of an `if` is an `if` that
//! replays the same branch. Every value is defined exactly once; a value defined inside a
//! block is visible only inside that block and the blocks nested in it.
//!
//! No `syn` type survives lowering: operations keep the user's `Span` (for error
//! positions) and, where the emitted code must repeat the user's tokens (a path, a cast
//! type, a literal), those tokens.

mod display;
mod op;

pub use op::{CmpOp, Const, Fun, Op};
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
    Unknown,
}

impl Ty {
    pub fn is_float(self) -> bool {
        matches!(self, Ty::F32 | Ty::F64 | Ty::Float)
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
    /// `(y, dy) = <path>_jvp(args.., tangents..)`.
    CallJvp { path: TokenStream, args: Vec<Value> },
    /// `(y, pullback) = <path>_vjp(args..)`.
    CallVjp { path: TokenStream, args: Vec<Value> },
    /// `(d_arg0, d_arg1, ..) = pullback(seed)`: one out per float argument of the call.
    Pullback { pullback: Value, seed: Value },
    /// `out = move |params| { body }`: the body's yields are the closure's result.
    Closure { params: Vec<Value>, body: Block },
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
        });
        Value(index)
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
            | InstKind::CallJvp { args, .. }
            | InstKind::CallVjp { args, .. } => out.extend(args),
            InstKind::Zero => {}
            InstKind::Pullback { pullback, seed } => out.extend([*pullback, *seed]),
            InstKind::If { cond, then, els } => {
                out.push(*cond);
                then.collect_uses(out);
                els.collect_uses(out);
            }
            InstKind::Closure { body, .. } => body.collect_uses(out),
        }
    }
}

impl Block {
    fn collect_uses(&self, out: &mut Vec<Value>) {
        for inst in &self.insts {
            inst.collect_uses(out);
        }
        out.extend(&self.yields);
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
                _ => {}
            }
        }
    }
}
