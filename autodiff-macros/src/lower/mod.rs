//! Lowering: the checked function body to SSA IR.
//!
//! Every expression becomes one instruction per operation, with the user's span. Local
//! variables disappear: each `let`, assignment and compound assignment just rebinds a name
//! to a new value, and an `if` merges the bindings its branches changed into its results.
//!
//! Early `return` is lowered with a flag, in structured form: `return e` sets the bindings
//! `returned = true` and `result = e`; after a statement that may have returned, the rest
//! of the block runs under `if returned { .. } else { rest }`. The tail of the function
//! body is a `return` too, so the function's result is `result` at the end.
//!
//! `&&` and `||` keep Rust's short-circuit order: `a && b` is `if a { b } else { false }`.
//!
//! What an operation is may depend on whether its operands are varied (depend on an
//! active parameter) or objects, which inside a loop is known only after the loop: such
//! operations are emitted neutral and noted, and `resolve` decides them once the whole
//! function is lowered. So every statement is lowered once.
//!
//! Files: this one holds the builder (values, bindings and scopes, instructions);
//! `control` statements, branches and early exits; `expr` expressions; `call` calls,
//! methods and fields; `loops` loops; `resolve` the decisions that wait for activity;
//! `syntax` questions about the syntax tree.

use crate::ast::{class_of_name, classify, DiffFn, FloatTy, TypeClass};
use crate::ctxt::Ctxt;
use crate::diag;
use crate::ir::{
    Adapter, Block, CallForm, CmpOp, Const, Fun, Func, Inst, InstKind, Lin, Loop, LoopKind, Op,
    Range, Ty, Value,
};
use crate::rules;
use crate::types::{self, Constraints};
use proc_macro2::Span;
use quote::ToTokens;
use std::collections::{BTreeMap, HashMap};
use syn::spanned::Spanned;
use syn::{BinOp, Expr, Stmt, UnOp};

mod call;
mod control;
mod expr;
mod loops;

pub use loops::{check_checkpoints, first_exit};
mod patterns;
mod resolve;
mod structs;
mod syntax;

use loops::LoopHead;
use resolve::{IndexBase, LoweredMap, Pending};
use syntax::*;

/// Methods of floats that return `bool` and so never carry a derivative.
const PREDICATES: &[&str] = &[
    "is_nan",
    "is_finite",
    "is_infinite",
    "is_normal",
    "is_subnormal",
    "is_sign_positive",
    "is_sign_negative",
];

/// `fenced`: the fence has reported unsupported syntax, which lowering then skips quietly.
pub fn lower(cx: &Ctxt, f: &DiffFn, fenced: bool) -> Func {
    let mut l = Lower::new(cx, f.name().to_string());
    l.fenced = fenced;
    // An output parameter is varied from the start, so that all its versions have
    // tangents and cotangents (its initial content is a constant: a zero tangent).
    let mut outputs = Vec::new();
    for p in &f.params {
        let id = l.add_param(&p.ident, p.class, p.active || p.output, p.by_ref());
        if p.output {
            outputs.push(id);
        }
    }
    l.outputs = outputs.iter().copied().collect();
    // An output is written: a sub-slice of it is a copy.
    for id in &outputs {
        let v = l.env[id];
        l.borrowed_params.remove(&v);
    }
    let span = f.original.block.span();
    let no = l.bool_const(false, span);
    let parts = f.result_parts();
    // The result before any `return`: never observed, but typed like the result.
    let declared = parts.first().map_or(Ty::Unknown, |t| ty_of(classify(t)));
    let undef = l.emit(Op::Undef, vec![], span, declared);
    l.ret_flag = l.bind("<returned>".into(), no);
    l.ret_val = l.bind("<result>".into(), undef);
    l.returns_nothing = parts.is_empty();
    let mut results = match parts.len() {
        0 => {
            l.lower_stmts(&f.body.stmts, false);
            Vec::new()
        }
        1 => {
            l.lower_stmts(&f.body.stmts, true);
            let result = l.env.get(&l.ret_val).copied().unwrap_or(undef);
            // The result has the declared type (a float behind a field or call is one).
            l.constraints.same(result, undef);
            vec![result]
        }
        _ => l.tuple_result(&f.body.stmts, f.ret_ty, &parts, span),
    };
    // Then the outputs' final versions.
    results.extend(outputs.iter().map(|id| l.env[id]));
    l.finish(results)
}

type BindingId = usize;

/// Whether control may have left the statement list being lowered.
enum Diverted {
    No,
    Maybe(Value),
    Yes,
}

/// The flags of a loop being lowered: set by `break` (carried, ends the loop) and by
/// `continue` (reset each iteration, ends the iteration).
struct LoopFrame {
    brk: Option<BindingId>,
    cont: Option<BindingId>,
}

struct Lower<'a> {
    cx: &'a Ctxt,
    func: Func,
    /// Instruction lists under construction; the last one is where new instructions go.
    blocks: Vec<Vec<Inst>>,
    /// Names in scope, innermost last.
    scopes: Vec<Vec<(String, BindingId)>>,
    /// The current value of every binding.
    env: BTreeMap<BindingId, Value>,
    binding_names: Vec<String>,
    /// Whether each parameter is active.
    active: Vec<bool>,
    /// The decisions that wait for activity and objects (see `resolve`).
    pending: HashMap<Value, Pending>,
    bool_consts: HashMap<Value, bool>,
    constraints: Constraints,
    ret_flag: BindingId,
    ret_val: BindingId,
    /// The function returns nothing (it has output parameters): `return;` is allowed.
    returns_nothing: bool,
    fenced: bool,
    /// The loops being lowered, innermost last.
    loop_frames: Vec<LoopFrame>,
    /// Bindings of iterator elements, on which `*v` is allowed.
    deref_ok: std::collections::HashSet<BindingId>,
    /// Local struct values, whose fields are bindings of their own (`structs`).
    shapes: HashMap<BindingId, structs::Shape>,
    /// The output parameters' bindings.
    outputs: std::collections::HashSet<BindingId>,
    /// Parameters that are borrowed arrays (`&[f64]`), never written: a sub-slice of one
    /// is a view.
    borrowed_params: std::collections::HashSet<Value>,
}

impl<'a> Lower<'a> {
    fn new(cx: &'a Ctxt, name: String) -> Self {
        Lower {
            cx,
            func: Func {
                name,
                values: Vec::new(),
                params: Vec::new(),
                body: Block::default(),
                results: Vec::new(),
            },
            blocks: vec![Vec::new()],
            scopes: vec![Vec::new()],
            env: BTreeMap::new(),
            binding_names: Vec::new(),
            active: Vec::new(),
            pending: HashMap::new(),
            bool_consts: HashMap::new(),
            constraints: Constraints::default(),
            ret_flag: 0,
            ret_val: 0,
            returns_nothing: false,
            fenced: false,
            loop_frames: Vec::new(),
            deref_ok: std::collections::HashSet::new(),
            shapes: HashMap::new(),
            outputs: std::collections::HashSet::new(),
            borrowed_params: std::collections::HashSet::new(),
        }
    }

    /// A function returning a tuple ends with the tuple `(a, b, ..)`: each part is one of
    /// its results, of the declared type.
    fn tuple_result(
        &mut self,
        stmts: &[syn::Stmt],
        ret: Option<&syn::Type>,
        parts: &[&syn::Type],
        span: Span,
    ) -> Vec<Value> {
        let tail = match (stmts.last(), ret) {
            (Some(syn::Stmt::Expr(e, None)), Some(ty)) => crate::ast::leaf_exprs(e, ty),
            _ => None,
        };
        let Some(tail) = tail else {
            self.cx.push(diag::tuple_tail(span, parts.len()));
            return Vec::new();
        };
        self.lower_stmts(&stmts[..stmts.len() - 1], false);
        let mut results = Vec::new();
        for (e, ty) in tail.into_iter().zip(parts) {
            let v = self.need(e);
            let declared = self.emit(Op::Undef, vec![], e.span(), ty_of(classify(ty)));
            self.constraints.same(v, declared);
            results.push(v);
        }
        results
    }

    fn finish(mut self, results: Vec<Value>) -> Func {
        self.func.body.insts = self.blocks.pop().unwrap_or_default();
        self.func.results = results;
        let varied = resolve::resolve(
            self.cx,
            &mut self.func,
            &self.pending,
            &self.active,
            self.fenced,
            &mut self.constraints,
        );
        types::infer(&mut self.func, &self.constraints);
        let types: Vec<Ty> = self.func.values.iter().map(|v| v.ty).collect();
        call::type_captures(&mut self.func.body, &types);
        // After a fence error, unsupported expressions are placeholders of unknown type.
        if !self.fenced {
            self.check_call_args(&self.func.body, &varied);
        }
        self.func
    }

    // -------------------- values and bindings --------------------

    fn add_param(
        &mut self,
        ident: &syn::Ident,
        class: TypeClass,
        active: bool,
        by_ref: bool,
    ) -> BindingId {
        let ty = ty_of(class);
        let v = self.new_value(Some(ident.to_string()), ident.span(), ty);
        self.func.values[v.index()].by_ref = by_ref && ty == Ty::Obj;
        self.func.params.push(v);
        self.active.push(active);
        let id = self.bind(ident.to_string(), v);
        // `*p` of `p: &[f64; N]` is the array, as `p` is.
        if by_ref && ty.elem() != Ty::Unknown {
            self.deref_ok.insert(id);
            self.borrowed_params.insert(v);
        }
        id
    }

    fn new_value(&mut self, name: Option<String>, span: Span, ty: Ty) -> Value {
        self.func.new_value(name, span, ty)
    }

    fn bind(&mut self, name: String, v: Value) -> BindingId {
        let id = self.binding_names.len();
        self.binding_names.push(name.clone());
        if let Some(scope) = self.scopes.last_mut() {
            scope.push((name, id));
        }
        self.env.insert(id, v);
        id
    }

    fn lookup(&self, name: &str) -> Option<BindingId> {
        self.scopes
            .iter()
            .rev()
            .flat_map(|s| s.iter().rev())
            .find(|(n, _)| n == name)
            .map(|&(_, id)| id)
    }

    /// Rebinds an existing binding (assignment); the new value takes the variable's name.
    fn assign(&mut self, id: BindingId, v: Value) {
        self.name_value(v, &self.binding_names[id].clone());
        self.env.insert(id, v);
    }

    fn name_value(&mut self, v: Value, name: &str) {
        let info = &mut self.func.values[v.index()];
        if info.name.is_none() && !self.func.params.contains(&v) {
            info.name = Some(name.to_string());
        }
    }

    /// Reports syntax the fence should have rejected, unless the fence already reported.
    fn unsupported(&self, error: syn::Error) {
        if !self.fenced {
            self.cx.push(error);
        }
    }

    // -------------------- instructions --------------------

    /// Appends `op(args)` to the current block; `ty` is what is known of the result's type
    /// (`resolve` adds what objects and activity tell).
    fn emit(&mut self, op: Op, args: Vec<Value>, span: Span, ty: Ty) -> Value {
        let out = self.new_value(None, span, ty);
        self.push(Inst::new(vec![out], InstKind::Op(op, args), span));
        out
    }

    /// Appends a neutral `op(args)` whose decision waits for `resolve`.
    fn emit_pending(&mut self, op: Op, args: Vec<Value>, span: Span, pending: Pending) -> Value {
        let out = self.emit(op, args, span, Ty::Unknown);
        self.pending.insert(out, pending);
        out
    }

    fn push(&mut self, inst: Inst) {
        if let Some(block) = self.blocks.last_mut() {
            block.push(inst);
        }
    }

    fn usize_const(&mut self, n: usize, span: Span) -> Value {
        let c = Const::Int(proc_macro2::Literal::usize_unsuffixed(n));
        self.emit(Op::Const(c), vec![], span, Ty::Int)
    }

    fn bool_const(&mut self, b: bool, span: Span) -> Value {
        let v = self.emit(Op::Const(Const::Bool(b)), vec![], span, Ty::Bool);
        self.bool_consts.insert(v, b);
        v
    }

    fn undef(&mut self, span: Span) -> Value {
        self.emit(Op::Undef, vec![], span, Ty::Unknown)
    }

    /// The flags that divert control at this point: `return`, and the innermost loop's
    /// `break` and `continue`.
    fn exit_flags(&self) -> Vec<BindingId> {
        let mut flags = vec![self.ret_flag];
        if let Some(frame) = self.loop_frames.last() {
            flags.extend(frame.brk);
            flags.extend(frame.cont);
        }
        flags
    }

    fn definitely_diverted(&self) -> bool {
        self.exit_flags()
            .iter()
            .any(|id| self.env.get(id).and_then(|v| self.bool_consts.get(v)) == Some(&true))
    }

    /// Whether control may have left the current statement list (by `return`, `break` or
    /// `continue`), with the condition when it depends on the path taken.
    fn diverted(&mut self, span: Span) -> Diverted {
        if self.definitely_diverted() {
            return Diverted::Yes;
        }
        let maybe: Vec<Value> = self
            .exit_flags()
            .iter()
            .filter_map(|id| self.env.get(id).copied())
            .filter(|v| self.bool_consts.get(v) != Some(&false))
            .collect();
        let Some((&first, rest)) = maybe.split_first() else {
            return Diverted::No;
        };
        Diverted::Maybe(rest.iter().fold(first, |acc, &v| {
            self.emit(Op::BitOr, vec![acc, v], span, Ty::Bool)
        }))
    }
}
