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
    for p in &f.params {
        l.add_param(&p.ident, p.class, p.active, p.by_ref());
    }
    let span = f.original.block.span();
    let no = l.bool_const(false, span);
    // The result before any `return`: never observed, but typed like the result.
    let undef = l.emit(Op::Undef, vec![], span, ty_of(classify(f.ret_ty)));
    l.ret_flag = l.bind("<returned>".into(), no);
    l.ret_val = l.bind("<result>".into(), undef);
    l.lower_stmts(&f.original.block.stmts, true);
    let result = l.env.get(&l.ret_val).copied().unwrap_or(undef);
    // The result has the declared type (a float behind a field or call is one).
    l.constraints.same(result, undef);
    l.finish(result)
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
    /// Whether a value depends on an active parameter through differentiable operations.
    varied: Vec<bool>,
    bool_consts: HashMap<Value, bool>,
    constraints: Constraints,
    ret_flag: BindingId,
    ret_val: BindingId,
    fenced: bool,
    /// The loops being lowered, innermost last.
    loop_frames: Vec<LoopFrame>,
    /// Bindings of iterator elements, on which `*v` is allowed.
    deref_ok: std::collections::HashSet<BindingId>,
    /// Field reads of active parameters: the parameter and the member path.
    field_paths: HashMap<Value, (Value, proc_macro2::TokenStream)>,
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
            varied: Vec::new(),
            bool_consts: HashMap::new(),
            constraints: Constraints::default(),
            ret_flag: 0,
            ret_val: 0,
            fenced: false,
            loop_frames: Vec::new(),
            deref_ok: std::collections::HashSet::new(),
            field_paths: HashMap::new(),
        }
    }

    fn finish(mut self, result: Value) -> Func {
        self.func.body.insts = self.blocks.pop().unwrap_or_default();
        self.func.results = vec![result];
        types::infer(&mut self.func, &self.constraints);
        // After a fence error, unsupported expressions are placeholders of unknown type.
        if !self.fenced {
            self.check_call_args(&self.func.body.clone());
        }
        self.func
    }

    // -------------------- values and bindings --------------------

    fn add_param(&mut self, ident: &syn::Ident, class: TypeClass, active: bool, by_ref: bool) {
        let ty = ty_of(class);
        let v = self.new_value(Some(ident.to_string()), ident.span(), ty, active);
        self.func.values[v.index()].by_ref = by_ref && ty == Ty::Obj;
        self.func.params.push(v);
        self.bind(ident.to_string(), v);
    }

    fn new_value(&mut self, name: Option<String>, span: Span, ty: Ty, varied: bool) -> Value {
        self.varied.push(varied);
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

    fn is_varied(&self, v: Value) -> bool {
        self.varied.get(v.index()).copied().unwrap_or(false)
    }

    // -------------------- instructions --------------------

    /// Appends `op(args)` to the current block; `ty` is what is known of the result's type.
    fn emit(&mut self, op: Op, args: Vec<Value>, span: Span, ty: Ty) -> Value {
        let varied = self.result_varied(&op, &args);
        // Arithmetic on an object (a matrix, a field) gives an object.
        let arithmetic = matches!(op, Op::Add | Op::Sub | Op::Mul | Op::Div | Op::Neg);
        let ty = if arithmetic && args.iter().any(|&a| self.func.ty(a) == Ty::Obj) {
            Ty::Obj
        } else {
            ty
        };
        let out = self.new_value(None, span, ty, varied);
        self.constrain(&op, &args, out);
        self.push(Inst::new(vec![out], InstKind::Op(op, args), span));
        out
    }

    fn push(&mut self, inst: Inst) {
        if let Some(block) = self.blocks.last_mut() {
            block.push(inst);
        }
    }

    fn result_varied(&self, op: &Op, args: &[Value]) -> bool {
        let rule = rules::rule(op);
        args.iter()
            .enumerate()
            .any(|(i, &a)| self.is_varied(a) && rule.carries(i))
    }

    /// Records which operands share the result's type.
    fn constrain(&mut self, op: &Op, args: &[Value], out: Value) {
        // A matrix times (or over) a scalar: the operands' types differ.
        let objects = args.iter().any(|&a| self.func.ty(a) == Ty::Obj);
        if objects && matches!(op, Op::Mul | Op::Div) {
            return;
        }
        let same_as_out: &[Value] = match op {
            Op::Add | Op::Sub | Op::Mul | Op::Div | Op::Rem | Op::Neg | Op::Not => args,
            Op::BitAnd | Op::BitOr | Op::BitXor => args,
            Op::Shl | Op::Shr | Op::Fun(Fun::Powi) => &args[..1.min(args.len())],
            Op::Fun(_) => args,
            Op::Cmp(_) => {
                if let [a, b] = args {
                    self.constraints.same(*a, *b);
                }
                &[]
            }
            _ => &[],
        };
        for &a in same_as_out {
            self.constraints.same(a, out);
        }
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

    // -------------------- control flow --------------------

    /// `if cond { then } else { els }`: lowers both arms, then merges every binding either
    /// arm changed into a result of the `if`. Returns the `if`'s own value if `want_value`.
    fn branch(
        &mut self,
        cond: Value,
        span: Span,
        want_value: bool,
        then: impl FnOnce(&mut Self) -> Option<Value>,
        els: impl FnOnce(&mut Self) -> Option<Value>,
    ) -> Option<Value> {
        let before = self.env.clone();
        let (mut then_block, then_env) = self.arm(then, want_value, span);
        self.env = before.clone();
        let (mut else_block, else_env) = self.arm(els, want_value, span);
        self.env = before.clone();
        let changed: Vec<BindingId> = before
            .iter()
            .filter(|&(id, v)| then_env.get(id) != Some(v) || else_env.get(id) != Some(v))
            .map(|(&id, _)| id)
            .collect();
        for &id in &changed {
            then_block
                .yields
                .push(then_env.get(&id).copied().unwrap_or(before[&id]));
            else_block
                .yields
                .push(else_env.get(&id).copied().unwrap_or(before[&id]));
        }
        let outs = self.merge_outs(&then_block.yields, &else_block.yields, span);
        self.push(Inst::new(
            outs.clone(),
            InstKind::If {
                cond,
                then: then_block,
                els: else_block,
            },
            span,
        ));
        let offset = usize::from(want_value);
        for (&id, &out) in changed.iter().zip(&outs[offset..]) {
            self.assign(id, out);
        }
        want_value.then(|| outs[0])
    }

    fn arm(
        &mut self,
        f: impl FnOnce(&mut Self) -> Option<Value>,
        want_value: bool,
        span: Span,
    ) -> (Block, BTreeMap<BindingId, Value>) {
        self.blocks.push(Vec::new());
        let value = f(self);
        let value = want_value.then(|| value.unwrap_or_else(|| self.undef(span)));
        let insts = self.blocks.pop().unwrap_or_default();
        (
            Block {
                insts,
                yields: value.into_iter().collect(),
            },
            self.env.clone(),
        )
    }

    /// One result per pair of yields, typed like them and varied if either is.
    fn merge_outs(&mut self, then: &[Value], els: &[Value], span: Span) -> Vec<Value> {
        then.iter()
            .zip(els)
            .map(|(&t, &e)| {
                let varied = self.is_varied(t) || self.is_varied(e);
                let out = self.new_value(None, span, Ty::Unknown, varied);
                self.constraints.same(t, out);
                self.constraints.same(e, out);
                out
            })
            .collect()
    }

    // -------------------- statements --------------------

    /// Lowers statements in order; returns the value of the tail expression. With
    /// `tail_returns`, the tail is the function's result, lowered as a `return`.
    fn lower_stmts(&mut self, stmts: &[Stmt], tail_returns: bool) -> Option<Value> {
        for (i, stmt) in stmts.iter().enumerate() {
            let last = i + 1 == stmts.len();
            let value = self.lower_stmt(stmt, last, tail_returns);
            if last {
                return value;
            }
            let rest = &stmts[i + 1..];
            let span = rest[0].span();
            match self.diverted(span) {
                Diverted::No => {}
                Diverted::Yes => return None,
                Diverted::Maybe(flag) => {
                    return self.branch(
                        flag,
                        span,
                        true,
                        |_| None,
                        |l| l.lower_stmts(rest, tail_returns),
                    );
                }
            }
        }
        None
    }

    fn lower_stmt(&mut self, stmt: &Stmt, last: bool, tail_returns: bool) -> Option<Value> {
        match stmt {
            Stmt::Local(local) => {
                self.lower_let(local);
                None
            }
            Stmt::Expr(e, None) if last && tail_returns => {
                let v = self.lower_expr(e);
                if let Some(v) = v {
                    self.set_return(v, e.span());
                }
                None
            }
            Stmt::Expr(e, None) if last => self.lower_expr(e),
            Stmt::Expr(e, _) => {
                self.lower_effect(e);
                None
            }
            Stmt::Item(_) | Stmt::Macro(_) => {
                self.unsupported(diag::internal(stmt.span(), "statement passed the fence"));
                None
            }
        }
    }

    fn lower_let(&mut self, local: &syn::Local) {
        if let Some(parts) = crate::fence::tuple_let(local) {
            // All right-hand sides first, then the bindings, as Rust evaluates them.
            let values: Vec<Value> = parts.iter().map(|(_, e)| self.need(e)).collect();
            for ((pat, _), v) in parts.into_iter().zip(values) {
                self.bind_pattern(pat, v);
            }
            return;
        }
        let Some(init) = &local.init else { return };
        let v = self.need(&init.expr);
        self.bind_pattern(&local.pat, v);
    }

    /// Binds a simple pattern (`x`, `mut x`, `x: T`) to a value.
    fn bind_pattern(&mut self, pat: &syn::Pat, v: Value) {
        let (ident, annotation) = binding_of(pat);
        if let Some(ty) = annotation {
            let seed = self.undef_typed(ty);
            self.constraints.same(v, seed);
        }
        if let Some(ident) = ident {
            let name = ident.to_string();
            self.name_value(v, &name);
            self.bind(name, v);
        }
    }

    /// A value that only carries the type `ty` into inference; dead code afterwards.
    fn undef_typed(&mut self, ty: &syn::Type) -> Value {
        let seed = self.undef(ty.span());
        self.func.values[seed.index()].ty = ty_of(classify(ty));
        seed
    }

    /// An expression evaluated for its effect on bindings (a statement).
    fn lower_effect(&mut self, e: &Expr) {
        match e {
            Expr::If(i) => {
                self.lower_if(i, false);
            }
            _ => {
                self.lower_expr(e);
            }
        }
    }

    fn set_return(&mut self, v: Value, span: Span) {
        let yes = self.bool_const(true, span);
        let (flag, result) = (self.ret_flag, self.ret_val);
        self.env.insert(result, v);
        self.env.insert(flag, yes);
    }

    // -------------------- expressions --------------------

    /// Lowers an expression whose value is required.
    fn need(&mut self, e: &Expr) -> Value {
        match self.lower_expr(e) {
            Some(v) => v,
            None => {
                if !self.definitely_diverted() {
                    self.unsupported(diag::needs_value(e));
                }
                self.undef(e.span())
            }
        }
    }

    /// Lowers an expression; `None` if it has no value (`()`) or never finishes (`return`).
    fn lower_expr(&mut self, e: &Expr) -> Option<Value> {
        let span = e.span();
        match e {
            Expr::Lit(l) => Some(self.literal(&l.lit)),
            Expr::Path(p) => Some(self.path(&p.path)),
            Expr::Paren(p) => self.lower_expr(&p.expr),
            Expr::Group(g) => self.lower_expr(&g.expr),
            // `&a` is `a`: how a value is passed is decided where it is used (calls keep the
            // borrow, see `borrowed`).
            Expr::Reference(r) => self.lower_expr(&r.expr),
            Expr::Unary(u) if matches!(u.op, UnOp::Deref(_)) => Some(self.deref(u)),
            Expr::Unary(u) => {
                let a = self.need(&u.expr);
                let op = if matches!(u.op, UnOp::Not(_)) {
                    Op::Not
                } else {
                    Op::Neg
                };
                Some(self.emit(op, vec![a], span, Ty::Unknown))
            }
            Expr::Binary(b) => self.binary(b),
            Expr::Cast(c) => Some(self.cast(c)),
            Expr::MethodCall(m) => Some(self.method(m)),
            Expr::Call(c) => Some(self.call(c)),
            Expr::If(i) => self.lower_if(i, i.else_branch.is_some()),
            Expr::Block(b) => self.lower_block(&b.block),
            Expr::ForLoop(f) => {
                self.lower_for(f);
                None
            }
            Expr::Break(_) | Expr::Continue(_) => {
                let frame = self.loop_frames.last();
                let flag = if matches!(e, Expr::Break(_)) {
                    frame.and_then(|f| f.brk)
                } else {
                    frame.and_then(|f| f.cont)
                };
                match flag {
                    Some(id) => {
                        let yes = self.bool_const(true, span);
                        self.env.insert(id, yes);
                    }
                    None => self.unsupported(diag::internal(span, "`break` outside a loop")),
                }
                None
            }
            Expr::Loop(l) => {
                // `loop { .. }` is `while true { .. }`: it ends by `break` or `return`.
                let always: Expr = syn::parse_quote!(true);
                self.lower_loop(
                    LoopHead::While { cond: &always },
                    &l.body,
                    l.loop_token.span,
                );
                None
            }
            Expr::While(w) => {
                self.lower_while(w);
                None
            }
            Expr::Return(r) => {
                match &r.expr {
                    Some(value) => {
                        let v = self.need(value);
                        self.set_return(v, span);
                    }
                    None => self.cx.push(diag::needs_value(r)),
                }
                None
            }
            Expr::Assign(a) => {
                let v = self.need(&a.right);
                self.store(&a.left, v);
                None
            }
            Expr::Field(f) => Some(self.field(f)),
            Expr::Repeat(r) => Some(self.new_array(&r.expr, &r.len, true, span)),
            Expr::Macro(m) => match crate::fence::vec_repeat(&m.mac) {
                Some((fill, len)) => Some(self.new_array(&fill, &len, false, span)),
                None => {
                    self.unsupported(diag::internal(span, "macro passed the fence"));
                    Some(self.undef(span))
                }
            },
            Expr::Index(ix) if self.object(&ix.expr) => {
                // An element of a matrix or vector: `v[i]` or `m[(i, j)]`.
                let base = self.need(&ix.expr);
                let mut args = vec![base];
                match crate::fence::index_pair(&ix.index) {
                    Some((i, j)) => args.extend([self.need(i), self.need(j)]),
                    None => args.push(self.need(&ix.index)),
                }
                Some(self.emit(Op::At, args, span, Ty::Float))
            }
            Expr::Index(ix) => {
                let base = self.need(&ix.expr);
                let index = self.need(&ix.index);
                let ty = self.func.ty(base).elem();
                Some(self.emit(Op::Index, vec![base, index], span, ty))
            }
            _ => {
                self.unsupported(diag::internal(span, "expression passed the fence"));
                Some(self.undef(span))
            }
        }
    }

    /// Whether `e` is a variable, field or parenthesised expression holding an object (a
    /// matrix), without lowering it.
    fn object(&self, e: &Expr) -> bool {
        match e {
            Expr::Paren(p) => self.object(&p.expr),
            Expr::Group(g) => self.object(&g.expr),
            Expr::Field(_) => true,
            Expr::Path(p) => p
                .path
                .get_ident()
                .and_then(|i| self.lookup(&i.to_string()))
                .and_then(|id| self.env.get(&id))
                .is_some_and(|&v| self.func.ty(v) == Ty::Obj),
            _ => false,
        }
    }

    /// `*v` is only meaningful for the element `v` of `for v in xs.iter()` (a reference in
    /// Rust, a value here); anything else behind a reference is not supported.
    fn deref(&mut self, u: &syn::ExprUnary) -> Value {
        let id = match &*u.expr {
            Expr::Path(p) => p.path.get_ident().and_then(|i| self.lookup(&i.to_string())),
            _ => None,
        };
        if id.is_some_and(|id| self.deref_ok.contains(&id)) {
            return self.need(&u.expr);
        }
        self.cx.push(diag::reference(u));
        self.undef(u.span())
    }

    fn lower_block(&mut self, block: &syn::Block) -> Option<Value> {
        self.scopes.push(Vec::new());
        let v = self.lower_stmts(&block.stmts, false);
        self.scopes.pop();
        v
    }

    fn lower_if(&mut self, i: &syn::ExprIf, want_value: bool) -> Option<Value> {
        let cond = self.need(&i.cond);
        let span = i.if_token.span;
        match &i.else_branch {
            Some((_, els)) => self.branch(
                cond,
                span,
                want_value,
                |l| l.lower_block(&i.then_branch),
                |l| l.lower_expr(els),
            ),
            None => self.branch(
                cond,
                span,
                false,
                |l| l.lower_block(&i.then_branch),
                |_| None,
            ),
        }
    }

    fn literal(&mut self, lit: &syn::Lit) -> Value {
        let span = lit.span();
        let (c, ty) = match lit {
            syn::Lit::Float(f) => (
                float_const(f.base10_parse(), f.token()),
                float_suffix(f.suffix()),
            ),
            syn::Lit::Int(i) if matches!(i.suffix(), "f32" | "f64") => (
                float_const(i.base10_parse::<u64>().map(|n| n as f64), i.token()),
                float_suffix(i.suffix()),
            ),
            syn::Lit::Int(i) => (Const::Int(i.token()), Ty::Int),
            syn::Lit::Bool(b) => return self.bool_const(b.value, span),
            _ => {
                self.unsupported(diag::internal(span, "literal passed the fence"));
                return self.undef(span);
            }
        };
        self.emit(Op::Const(c), vec![], span, ty)
    }

    fn path(&mut self, path: &syn::Path) -> Value {
        if let Some(id) = path.get_ident().and_then(|i| self.lookup(&i.to_string())) {
            if let Some(&v) = self.env.get(&id) {
                return v;
            }
        }
        let ty = path_float_ty(path);
        self.emit(Op::Extern(path.to_token_stream()), vec![], path.span(), ty)
    }

    fn binary(&mut self, b: &syn::ExprBinary) -> Option<Value> {
        let span = b.op.span();
        match b.op {
            BinOp::And(_) | BinOp::Or(_) => return Some(self.short_circuit(b)),
            _ if crate::fence::is_compound_assign(&b.op) => {
                let current = self.need(&b.left);
                let rhs = self.need(&b.right);
                let v = self.binary_inst(b.op, current, rhs, span);
                self.store(&b.left, v);
                return None;
            }
            _ => {}
        }
        let l = self.need(&b.left);
        let r = self.need(&b.right);
        Some(self.binary_inst(b.op, l, r, span))
    }

    fn binary_inst(&mut self, op: BinOp, l: Value, r: Value, span: Span) -> Value {
        match binary_op(op) {
            Some(op) => {
                let ty = if matches!(op, Op::Cmp(_)) {
                    Ty::Bool
                } else {
                    Ty::Unknown
                };
                self.emit(op, vec![l, r], span, ty)
            }
            None => {
                self.unsupported(diag::internal(span, "unknown binary operator"));
                self.undef(span)
            }
        }
    }

    /// `a && b` is `if a { b } else { false }`; `a || b` is `if a { true } else { b }`.
    fn short_circuit(&mut self, b: &syn::ExprBinary) -> Value {
        let span = b.op.span();
        let a = self.need(&b.left);
        let out = if matches!(b.op, BinOp::And(_)) {
            self.branch(
                a,
                span,
                true,
                |l| Some(l.need(&b.right)),
                |l| Some(l.bool_const(false, span)),
            )
        } else {
            self.branch(
                a,
                span,
                true,
                |l| Some(l.bool_const(true, span)),
                |l| Some(l.need(&b.right)),
            )
        };
        out.unwrap_or_else(|| self.undef(span))
    }

    fn store(&mut self, target: &Expr, v: Value) {
        if let Expr::Index(ix) = target {
            return self.store_element(ix, v);
        }
        let id = match target {
            Expr::Path(p) => p.path.get_ident().and_then(|i| self.lookup(&i.to_string())),
            _ => None,
        };
        match id {
            Some(id) => self.assign(id, v),
            None => self.unsupported(diag::unknown_variable(target)),
        }
    }

    /// `a[i] = v`: the array variable `a` is rebound to a new version with the element set.
    fn store_element(&mut self, ix: &syn::ExprIndex, v: Value) {
        let id = match &*ix.expr {
            Expr::Path(p) => p.path.get_ident().and_then(|i| self.lookup(&i.to_string())),
            _ => None,
        };
        let Some(id) = id else {
            self.unsupported(diag::array_write(ix));
            return;
        };
        let array = self.env[&id];
        let index = self.need(&ix.index);
        let ty = self.func.ty(array);
        let out = self.emit(Op::Store, vec![array, index, v], ix.span(), ty);
        self.constraints.same(out, array);
        self.assign(id, out);
    }

    /// `v.push(e)`: `v` is rebound to a new version with `e` at index `v.len()`.
    fn push_element(&mut self, m: &syn::ExprMethodCall, span: Span) -> Value {
        let id = match &*m.receiver {
            Expr::Path(p) => p.path.get_ident().and_then(|i| self.lookup(&i.to_string())),
            _ => None,
        };
        let args: Vec<&Expr> = m.args.iter().collect();
        let (Some(id), [arg]) = (id, args.as_slice()) else {
            self.cx.push(diag::push(&m.method));
            return self.undef(span);
        };
        let value = self.need(arg);
        let array = self.env[&id];
        let index = self.emit(Op::Len, vec![array], span, Ty::Int);
        let ty = self.func.ty(array);
        let out = self.emit(Op::Push, vec![array, index, value], span, ty);
        self.constraints.same(out, array);
        self.assign(id, out);
        self.undef(span)
    }

    /// `vec![fill; len]` or `[fill; len]`: a new local array filled with a constant.
    fn new_array(&mut self, fill: &Expr, len: &Expr, fixed: bool, span: Span) -> Value {
        let fill_v = self.need(fill);
        let len_v = self.need(len);
        if self.is_varied(fill_v) {
            self.cx.push(diag::active_fill(fill));
        }
        let ty = match self.func.ty(fill_v) {
            Ty::F64 => Ty::ArrayF64,
            Ty::F32 => Ty::ArrayF32,
            Ty::Int => Ty::ArrayInt,
            _ => Ty::Unknown,
        };
        self.emit(Op::NewArray { fixed }, vec![fill_v, len_v], span, ty)
    }

    fn cast(&mut self, c: &syn::ExprCast) -> Value {
        let a = self.need(&c.expr);
        let to = ty_of(classify(&c.ty));
        if !matches!(to, Ty::F32 | Ty::F64 | Ty::Int) {
            self.cx.push(diag::unsupported_cast(&c.ty));
        }
        self.emit(
            Op::Cast {
                ty: c.ty.to_token_stream(),
                to,
            },
            vec![a],
            c.ty.span(),
            to,
        )
    }

    fn method(&mut self, m: &syn::ExprMethodCall) -> Value {
        let recv = self.need(&m.receiver);
        if let Some((param, body)) = crate::fence::map_closure(m) {
            if self.func.ty(recv) == Ty::Obj {
                return self.map(recv, m, param, body);
            }
            self.cx.push(diag::closure(&m.args[0]));
            return self.undef(m.span());
        }
        let mut args = vec![recv];
        args.extend(m.args.iter().map(|a| self.need(a)));
        let span = m.method.span();
        let name = m.method.to_string();
        if name == "push" {
            return self.push_element(m, span);
        }
        if name == "len" && args.len() == 1 {
            return self.emit(Op::Len, args, span, Ty::Int);
        }
        // `v.is_empty()` is `v.len() == 0`.
        if name == "is_empty" && args.len() == 1 {
            let len = self.emit(Op::Len, args, span, Ty::Int);
            let zero = Const::Int(proc_macro2::Literal::usize_unsuffixed(0));
            let zero = self.emit(Op::Const(zero), vec![], span, Ty::Int);
            return self.emit(Op::Cmp(CmpOp::Eq), vec![len, zero], span, Ty::Bool);
        }
        // A copy is the same value; the emitted code copies where it needs to.
        if name == "clone" && args.len() == 1 {
            return recv;
        }
        let object = self.func.ty(recv) == Ty::Obj;
        if let Some(l) = Lin::from_name(&name).filter(|_| object) {
            return self.lin(l, args, &m.method);
        }
        if let Some(f) = Fun::from_name(&name) {
            return self.fun(f, args, &m.method);
        }
        if object && args.iter().any(|&a| self.is_varied(a)) {
            // A method of a differentiable value: through `recv.<name>_vjp(..)` / `_jvp`.
            let form = CallForm {
                method: true,
                borrowed: std::iter::once(true)
                    .chain(m.args.iter().map(borrowed))
                    .collect(),
            };
            let path = m.method.to_token_stream();
            return self.emit(Op::Call { path, form }, args, span, Ty::Obj);
        }
        if PREDICATES.contains(&name.as_str()) {
            return self.emit(
                Op::Method {
                    name: m.method.clone(),
                },
                args,
                span,
                Ty::Bool,
            );
        }
        if args.iter().any(|&a| self.is_varied(a)) {
            self.cx.push(diag::unknown_method(&m.method));
            return self.undef(span);
        }
        self.emit(
            Op::Method {
                name: m.method.clone(),
            },
            args,
            span,
            Ty::Unknown,
        )
    }

    fn fun(&mut self, f: Fun, args: Vec<Value>, method: &syn::Ident) -> Value {
        if args.len() != f.arity() {
            self.cx.push(diag::wrong_arity(method, f.arity()));
            return self.undef(method.span());
        }
        // Only floats (and integers) have these methods: an object they are applied to
        // (a field, a call's result) is a float.
        let ty = if args.iter().any(|&a| self.func.ty(a) == Ty::Obj) {
            Ty::Float
        } else {
            Ty::Unknown
        };
        self.emit(Op::Fun(f), args, method.span(), ty)
    }

    /// `m.map(|v| body)`: the body is lowered as a function of one float and differentiated
    /// in forward mode on its own; it may use its parameter and constants only (a local of
    /// the enclosing function would be invisible to its derivative).
    fn map(
        &mut self,
        recv: Value,
        m: &syn::ExprMethodCall,
        param: &syn::Ident,
        body: &Expr,
    ) -> Value {
        let span = m.method.span();
        for used in free_names(body) {
            if used != *param && self.lookup(&used.to_string()).is_some() {
                self.cx.push(diag::map_capture(&used));
                return self.undef(span);
            }
        }
        let mut sub = Lower::new(self.cx, format!("{}_map", self.func.name));
        sub.fenced = self.fenced;
        sub.add_param(param, TypeClass::Float(FloatTy::F64), true, false);
        // The element type (f32 or f64) is the matrix's: rustc infers it.
        let p = sub.func.params[0];
        sub.func.values[p.index()].ty = Ty::Float;
        let result = sub.need(body);
        let closure_fn = sub.finish(result);
        let jvp = crate::expand::scalar_jvp(closure_fn);
        let closure = m.args[0].to_token_stream();
        let op = Op::Map {
            closure,
            jvp: Box::new(jvp),
        };
        self.emit(op, vec![recv], span, Ty::Obj)
    }

    /// A matrix method with a rule: a matrix (`transpose`, `component_mul`, ..) or a
    /// scalar of the element type (`dot`, `sum`, `norm`, ..).
    fn lin(&mut self, l: Lin, args: Vec<Value>, method: &syn::Ident) -> Value {
        if args.len() != l.arity() {
            self.cx.push(diag::wrong_arity(method, l.arity()));
            return self.undef(method.span());
        }
        let ty = if l.scalar() { Ty::Float } else { Ty::Obj };
        self.emit(Op::Lin(l), args, method.span(), ty)
    }

    fn call(&mut self, c: &syn::ExprCall) -> Value {
        let span = c.span();
        let Expr::Path(p) = &*c.func else {
            self.unsupported(diag::internal(span, "call target passed the fence"));
            return self.undef(span);
        };
        let args: Vec<Value> = c.args.iter().map(|a| self.need(a)).collect();
        let form = CallForm {
            method: false,
            borrowed: c.args.iter().map(borrowed).collect(),
        };
        if is_vec_constructor(&p.path) && args.len() <= 1 {
            return self.emit(Op::EmptyVec, args, p.path.span(), Ty::Unknown);
        }
        if let Some((float, name)) = float_assoc_fn(&p.path) {
            return self.float_assoc_call(float, name, args, &p.path);
        }
        if is_matrix_constructor(&p.path) {
            let path = p.path.to_token_stream();
            return self.emit(Op::Construct { path }, args, p.path.span(), Ty::Obj);
        }
        let varied = args.iter().any(|&a| self.is_varied(a));
        // A call with an object argument may return anything: rustc knows.
        let ty = if args.iter().any(|&a| self.func.ty(a) == Ty::Obj) {
            Ty::Obj
        } else if varied {
            Ty::Float
        } else {
            Ty::Unknown
        };
        self.emit(
            Op::Call {
                path: p.path.to_token_stream(),
                form,
            },
            args,
            p.path.span(),
            ty,
        )
    }

    /// `f64::sin(x)`, `f32::max(a, b)`, `f64::from(x)`: the method forms, typed by the path.
    fn float_assoc_call(
        &mut self,
        float: Ty,
        name: &syn::Ident,
        args: Vec<Value>,
        path: &syn::Path,
    ) -> Value {
        if let Some(&first) = args.first() {
            let seed = self.undef(path.span());
            self.func.values[seed.index()].ty = float;
            if name != "from" {
                self.constraints.same(first, seed);
            }
        }
        if name == "from" {
            let ty = if float == Ty::F32 {
                quote::quote!(f32)
            } else {
                quote::quote!(f64)
            };
            let a = args
                .first()
                .copied()
                .unwrap_or_else(|| self.undef(path.span()));
            return self.emit(Op::Cast { ty, to: float }, vec![a], path.span(), float);
        }
        match Fun::from_name(&name.to_string()) {
            Some(f) => self.fun(f, args, name),
            None => {
                self.cx.push(diag::unknown_method(name));
                self.undef(path.span())
            }
        }
    }

    fn field(&mut self, f: &syn::ExprField) -> Value {
        let base = self.need(&f.base);
        if self.is_varied(base) {
            // An active part of `f_grad(..)`: the partials are reached by destructuring.
            if crate::fence::reads_grad_call(f) {
                self.cx.push(diag::grad_field(f));
                return self.undef(f.span());
            }
            return self.active_field(f, base);
        }
        self.emit(
            Op::Field {
                member: f.member.to_token_stream(),
            },
            vec![base],
            f.span(),
            Ty::Unknown,
        )
    }

    /// `p.w` or `p.layer.w` on an active parameter `p`: one field read from the parameter
    /// (a nested read is one path), held by reference.
    fn active_field(&mut self, f: &syn::ExprField, base: Value) -> Value {
        let member = &f.member;
        let (root, path) = match self.field_paths.get(&base) {
            Some((root, prefix)) => (*root, quote::quote!(#prefix . #member)),
            None => (base, member.to_token_stream()),
        };
        if !self.func.params.contains(&root) || self.func.ty(root) != Ty::Obj {
            self.cx.push(diag::active_field(f));
            return self.undef(f.span());
        }
        let v = self.emit(
            Op::Field {
                member: path.clone(),
            },
            vec![root],
            f.span(),
            Ty::Obj,
        );
        self.func.values[v.index()].by_ref = true;
        self.field_paths.insert(v, (root, path));
        v
    }

    // -------------------- checks after inference --------------------

    /// A call with an active argument maps the callee's cotangents to its float
    /// arguments in order, so every argument's float-ness must be known.
    fn check_call_args(&self, block: &Block) {
        for inst in &block.insts {
            match &inst.kind {
                InstKind::Op(Op::Call { .. }, args) if args.iter().any(|&a| self.is_varied(a)) => {
                    for &a in args {
                        if self.func.ty(a) == Ty::Unknown {
                            self.cx.push(diag::unknown_arg_type(self.func.info(a).span));
                        }
                    }
                }
                InstKind::If { then, els, .. } => {
                    self.check_call_args(then);
                    self.check_call_args(els);
                }
                _ => {}
            }
        }
    }
}

/// The single names a closure body reads (`x` in `x * 2.0`), to check that it uses no
/// local of the enclosing function.
fn free_names(body: &Expr) -> Vec<syn::Ident> {
    struct Names(Vec<syn::Ident>);
    impl<'ast> syn::visit::Visit<'ast> for Names {
        fn visit_expr_path(&mut self, p: &'ast syn::ExprPath) {
            if let Some(i) = p.path.get_ident() {
                self.0.push(i.clone());
            }
        }
    }
    let mut names = Names(Vec::new());
    syn::visit::Visit::visit_expr(&mut names, body);
    names.0
}

/// Whether a call argument is written `&a`.
fn borrowed(e: &Expr) -> bool {
    match e {
        Expr::Reference(_) => true,
        Expr::Paren(p) => borrowed(&p.expr),
        Expr::Group(g) => borrowed(&g.expr),
        _ => false,
    }
}

fn binding_of(pat: &syn::Pat) -> (Option<&syn::Ident>, Option<&syn::Type>) {
    match pat {
        syn::Pat::Ident(pi) => (Some(&pi.ident), None),
        syn::Pat::Type(pt) => (binding_of(&pt.pat).0, Some(&pt.ty)),
        _ => (None, None),
    }
}

fn ty_of(class: TypeClass) -> Ty {
    match class {
        TypeClass::Float(FloatTy::F32) => Ty::F32,
        TypeClass::Float(FloatTy::F64) => Ty::F64,
        TypeClass::Int => Ty::Int,
        TypeClass::Bool => Ty::Bool,
        TypeClass::FloatContainer(FloatTy::F32) => Ty::ArrayF32,
        TypeClass::FloatContainer(FloatTy::F64) => Ty::ArrayF64,
        TypeClass::IntContainer => Ty::ArrayInt,
        TypeClass::Linear => Ty::Obj,
        TypeClass::Inert | TypeClass::Other => Ty::Unknown,
    }
}

fn float_const(value: syn::Result<f64>, lit: proc_macro2::Literal) -> Const {
    Const::Float {
        value: value.unwrap_or(f64::NAN),
        lit,
    }
}

fn float_suffix(suffix: &str) -> Ty {
    match suffix {
        "f32" => Ty::F32,
        "f64" => Ty::F64,
        _ => Ty::Float,
    }
}

/// `f64` for paths such as `std::f64::consts::PI` or `f64::EPSILON`.
fn path_float_ty(path: &syn::Path) -> Ty {
    let mut segments = path.segments.iter().rev().skip(1);
    if segments.any(|s| s.ident == "f64") {
        return Ty::F64;
    }
    if path.segments.iter().rev().skip(1).any(|s| s.ident == "f32") {
        return Ty::F32;
    }
    Ty::Unknown
}

/// `Vector3::new`, `Matrix2::new`, `RowVector4::new`, `Matrix2x3::new`, `Point3::new`
/// (possibly behind a path): nalgebra's constructors from elements in row-major order.
fn is_matrix_constructor(path: &syn::Path) -> bool {
    let names: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    let [.., ty, f] = names.as_slice() else {
        return false;
    };
    let dims = ["RowVector", "Vector", "Matrix", "Point"]
        .iter()
        .find_map(|prefix| ty.strip_prefix(prefix));
    f == "new"
        && dims.is_some_and(|d| !d.is_empty() && d.chars().all(|c| c.is_ascii_digit() || c == 'x'))
}

/// `Vec::new` or `Vec::with_capacity`.
fn is_vec_constructor(path: &syn::Path) -> bool {
    let names: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    matches!(names.as_slice(), [.., v, f] if v == "Vec" && (f == "new" || f == "with_capacity"))
}

/// `f64::name` / `f32::name` (possibly behind `std::` or `core::`): the float and the name.
fn float_assoc_fn(path: &syn::Path) -> Option<(Ty, &syn::Ident)> {
    let n = path.segments.len();
    if n < 2 {
        return None;
    }
    let name = &path.segments[n - 1].ident;
    let float = match class_of_name(&path.segments[n - 2].ident.to_string()) {
        TypeClass::Float(FloatTy::F32) => Ty::F32,
        TypeClass::Float(FloatTy::F64) => Ty::F64,
        _ => return None,
    };
    Some((float, name))
}

fn binary_op(op: BinOp) -> Option<Op> {
    Some(match op {
        BinOp::Add(_) | BinOp::AddAssign(_) => Op::Add,
        BinOp::Sub(_) | BinOp::SubAssign(_) => Op::Sub,
        BinOp::Mul(_) | BinOp::MulAssign(_) => Op::Mul,
        BinOp::Div(_) | BinOp::DivAssign(_) => Op::Div,
        BinOp::Rem(_) | BinOp::RemAssign(_) => Op::Rem,
        BinOp::BitAnd(_) | BinOp::BitAndAssign(_) => Op::BitAnd,
        BinOp::BitOr(_) | BinOp::BitOrAssign(_) => Op::BitOr,
        BinOp::BitXor(_) | BinOp::BitXorAssign(_) => Op::BitXor,
        BinOp::Shl(_) | BinOp::ShlAssign(_) => Op::Shl,
        BinOp::Shr(_) | BinOp::ShrAssign(_) => Op::Shr,
        BinOp::Eq(_) => Op::Cmp(CmpOp::Eq),
        BinOp::Ne(_) => Op::Cmp(CmpOp::Ne),
        BinOp::Lt(_) => Op::Cmp(CmpOp::Lt),
        BinOp::Le(_) => Op::Cmp(CmpOp::Le),
        BinOp::Gt(_) => Op::Cmp(CmpOp::Gt),
        BinOp::Ge(_) => Op::Cmp(CmpOp::Ge),
        // `&&` and `||` are lowered as branches; `BinOp` is non-exhaustive.
        _ => return None,
    })
}

// -------------------- loops --------------------

/// What a loop needs besides its carried values: how it iterates.
enum LoopHead<'s> {
    For {
        index: Option<&'s syn::Ident>,
        range: Range,
        span: Span,
        elem: Option<Elem<'s>>,
    },
    While {
        cond: &'s Expr,
    },
}

/// The element bound in `for v in xs.iter()`: `v` is `&xs[i]` (`by_ref`) or, with the
/// pattern `&v`, `xs[i]`.
struct Elem<'s> {
    array: Value,
    pat: Option<(&'s syn::Ident, bool)>,
}

/// `xs.iter()` or `xs.iter().enumerate()`: the array and whether it is enumerated.
fn iterated_array(e: &Expr) -> Option<(&Expr, bool)> {
    match e {
        Expr::Paren(p) => iterated_array(&p.expr),
        Expr::Group(g) => iterated_array(&g.expr),
        Expr::MethodCall(m) if m.method == "iter" && m.args.is_empty() => {
            Some((&m.receiver, false))
        }
        Expr::MethodCall(m) if m.method == "enumerate" && m.args.is_empty() => {
            let (array, enumerated) = iterated_array(&m.receiver)?;
            (!enumerated).then_some((array, true))
        }
        _ => None,
    }
}

/// The index name and element binding of the pattern of an iterator loop.
fn split_pattern(
    pat: &syn::Pat,
    enumerated: bool,
) -> (Option<&syn::Ident>, Option<(&syn::Ident, bool)>) {
    fn elem(p: &syn::Pat) -> Option<(&syn::Ident, bool)> {
        match p {
            syn::Pat::Ident(pi) => Some((&pi.ident, true)),
            syn::Pat::Reference(r) => match &*r.pat {
                syn::Pat::Ident(pi) => Some((&pi.ident, false)),
                _ => None,
            },
            _ => None,
        }
    }
    match (pat, enumerated) {
        (syn::Pat::Tuple(t), true) if t.elems.len() == 2 => {
            let index = match &t.elems[0] {
                syn::Pat::Ident(pi) => Some(&pi.ident),
                _ => None,
            };
            (index, elem(&t.elems[1]))
        }
        (p, false) => (None, elem(p)),
        _ => (None, None),
    }
}

/// The lowering state a loop body may have to be lowered again from.
struct Snapshot {
    values: usize,
    errors: usize,
    constraints: usize,
    bindings: usize,
    env: BTreeMap<BindingId, Value>,
    scopes: Vec<Vec<(String, BindingId)>>,
}

impl Lower<'_> {
    /// `for i in range { body }`: the bindings the body assigns are carried through the loop.
    /// `for i in range { body }`, or `for v in xs.iter()` / `for (i, v) in
    /// xs.iter().enumerate()`, which run over `0..xs.len()` reading `xs[i]`. The bindings
    /// the body assigns are carried through the loop.
    fn lower_for(&mut self, f: &syn::ExprForLoop) {
        let span = f.for_token.span;
        let head = match iterated_array(&f.expr) {
            Some((array, enumerated)) => {
                let array = self.need(array);
                let (index, elem) = split_pattern(&f.pat, enumerated);
                if elem.is_none() && !matches!(&*f.pat, syn::Pat::Wild(_)) {
                    self.cx.push(diag::loop_pattern(&f.pat));
                }
                let zero = self.emit(
                    Op::Const(Const::Int(proc_macro2::Literal::usize_unsuffixed(0))),
                    vec![],
                    span,
                    Ty::Int,
                );
                let len = self.emit(Op::Len, vec![array], span, Ty::Int);
                let range = Range {
                    lo: zero,
                    hi: len,
                    inclusive: false,
                    adapters: Vec::new(),
                };
                LoopHead::For {
                    index,
                    range,
                    span,
                    elem: Some(Elem { array, pat: elem }),
                }
            }
            None => {
                let Some(range) = self.range(&f.expr) else {
                    return;
                };
                let index = match &*f.pat {
                    syn::Pat::Ident(pi) => Some(&pi.ident),
                    _ => None,
                };
                LoopHead::For {
                    index,
                    range,
                    span,
                    elem: None,
                }
            }
        };
        self.lower_loop(head, &f.body, span);
    }

    fn lower_while(&mut self, w: &syn::ExprWhile) {
        self.lower_loop(
            LoopHead::While { cond: &w.cond },
            &w.body,
            w.while_token.span,
        );
    }

    /// `lo..hi`, `lo..=hi`, then `.rev()` and `.step_by(k)` in any order.
    fn range(&mut self, e: &Expr) -> Option<Range> {
        match e {
            Expr::Paren(p) => self.range(&p.expr),
            Expr::Group(g) => self.range(&g.expr),
            Expr::Range(r) => {
                let (Some(start), Some(end)) = (&r.start, &r.end) else {
                    self.cx.push(diag::loop_range(e));
                    return None;
                };
                let lo = self.need(start);
                let hi = self.need(end);
                self.constraints.same(lo, hi);
                let inclusive = matches!(r.limits, syn::RangeLimits::Closed(_));
                Some(Range {
                    lo,
                    hi,
                    inclusive,
                    adapters: Vec::new(),
                })
            }
            Expr::MethodCall(m) if m.method == "rev" && m.args.is_empty() => {
                let mut range = self.range(&m.receiver)?;
                range.adapters.push(Adapter::Rev);
                Some(range)
            }
            Expr::MethodCall(m) if m.method == "step_by" && m.args.len() == 1 => {
                let mut range = self.range(&m.receiver)?;
                let step = self.need(&m.args[0]);
                range.adapters.push(Adapter::StepBy(step));
                Some(range)
            }
            _ => {
                self.cx.push(diag::loop_range(e));
                None
            }
        }
    }

    /// Lowers a loop. The carried bindings become the loop's params (at the start of an
    /// iteration), inits (before the loop), yields (at the end of an iteration) and outs
    /// (after the loop). Whether a param is varied depends on the body, so the body is
    /// lowered again when a yield turns out varied but its param was not (a fixpoint; at
    /// most one more pass per carried binding).
    fn lower_loop(&mut self, head: LoopHead, body: &syn::Block, span: Span) {
        let exits = ExitScan::of(body);
        let brk = exits.brk.then(|| {
            let no = self.bool_const(false, span);
            self.bind("<broken>".into(), no)
        });
        let mut carried = self.carried_bindings(body, &head);
        carried.extend(brk);
        if exits.ret {
            carried.extend([self.ret_flag, self.ret_val]);
        }
        carried.sort_unstable();
        carried.dedup();
        let exits = LoopExits {
            brk,
            cont: exits.cont,
            ret: exits.ret,
        };
        let inits: Vec<Value> = carried.iter().map(|id| self.env[id]).collect();
        let mut varied: Vec<bool> = inits.iter().map(|&v| self.is_varied(v)).collect();
        let snapshot = self.snapshot();
        loop {
            let (lp, yields_varied) =
                self.loop_pass(&head, body, &carried, &inits, &varied, &exits, span);
            let more: Vec<bool> = varied
                .iter()
                .zip(&yields_varied)
                .map(|(&p, &y)| p || y)
                .collect();
            if more == varied {
                self.finish_loop(lp, &carried, &varied, span);
                return;
            }
            varied = more;
            self.rollback(&snapshot);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn loop_pass(
        &mut self,
        head: &LoopHead,
        body: &syn::Block,
        carried: &[BindingId],
        inits: &[Value],
        varied: &[bool],
        exits: &LoopExits,
        span: Span,
    ) -> (Loop, Vec<bool>) {
        let params: Vec<Value> = carried
            .iter()
            .zip(inits)
            .zip(varied)
            .map(|((&id, &init), &v)| {
                let p = self.new_value(Some(self.binding_names[id].clone()), span, Ty::Unknown, v);
                self.constraints.same(p, init);
                p
            })
            .collect();
        for (&id, &p) in carried.iter().zip(&params) {
            self.env.insert(id, p);
        }
        self.scopes.push(Vec::new());
        let mut elem_insts = Vec::new();
        let kind = match head {
            LoopHead::For {
                index,
                range,
                span,
                elem,
            } => {
                let i = self.new_value(index.map(ToString::to_string), *span, Ty::Unknown, false);
                self.constraints.same(i, range.lo);
                if let Some(name) = index {
                    self.bind(name.to_string(), i);
                }
                if let Some(Elem {
                    array,
                    pat: Some((name, by_ref)),
                }) = elem
                {
                    self.blocks.push(Vec::new());
                    let ty = self.func.ty(*array).elem();
                    let v = self.emit(Op::Index, vec![*array, i], name.span(), ty);
                    elem_insts = self.blocks.pop().unwrap_or_default();
                    let id = self.bind(name.to_string(), v);
                    if *by_ref {
                        self.deref_ok.insert(id);
                    }
                }
                LoopKind::For {
                    index: i,
                    range: range.clone(),
                }
            }
            LoopHead::While { cond } => {
                self.blocks.push(Vec::new());
                // After a `break` or `return`, the condition is not evaluated again.
                let c = match self.exit_value(exits, span) {
                    Some(exit) => {
                        let no = |l: &mut Self| Some(l.bool_const(false, span));
                        let c = self.branch(exit, span, true, no, |l| Some(l.need(cond)));
                        c.unwrap_or_else(|| self.undef(span))
                    }
                    None => self.need(cond),
                };
                let insts = self.blocks.pop().unwrap_or_default();
                LoopKind::While {
                    cond: Block {
                        insts,
                        yields: vec![c],
                    },
                }
            }
        };
        self.blocks.push(elem_insts);
        let cont = exits.cont.then(|| {
            let no = self.bool_const(false, span);
            self.bind("<continued>".into(), no)
        });
        self.loop_frames.push(LoopFrame {
            brk: exits.brk,
            cont,
        });
        // A `for` loop after a `break` or `return` runs its remaining iterations empty.
        match (&kind, self.exit_value(exits, span)) {
            (LoopKind::For { .. }, Some(exit)) => {
                self.branch(
                    exit,
                    span,
                    false,
                    |_| None,
                    |l| l.lower_block(body).and(None),
                );
            }
            _ => {
                self.lower_block(body);
            }
        }
        self.loop_frames.pop();
        let insts = self.blocks.pop().unwrap_or_default();
        self.scopes.pop();
        let yields: Vec<Value> = carried.iter().map(|id| self.env[id]).collect();
        let yields_varied = yields.iter().map(|&y| self.is_varied(y)).collect();
        for (&p, &y) in params.iter().zip(&yields) {
            self.constraints.same(p, y);
        }
        let lp = Loop {
            kind,
            params,
            inits: inits.to_vec(),
            body: Block { insts, yields },
            record: None,
        };
        (lp, yields_varied)
    }

    fn finish_loop(&mut self, lp: Loop, carried: &[BindingId], varied: &[bool], span: Span) {
        let outs: Vec<Value> = lp
            .params
            .iter()
            .zip(varied)
            .map(|(&p, &v)| {
                let out = self.new_value(None, span, Ty::Unknown, v);
                self.constraints.same(p, out);
                out
            })
            .collect();
        self.push(Inst::new(outs.clone(), InstKind::Loop(Box::new(lp)), span));
        for (&id, &out) in carried.iter().zip(&outs) {
            self.assign(id, out);
        }
    }

    /// The bindings in scope that the loop assigns (`x = ..`, `x += ..`), in binding order.
    fn carried_bindings(&self, body: &syn::Block, head: &LoopHead) -> Vec<BindingId> {
        let mut names = AssignedNames(Vec::new());
        syn::visit::Visit::visit_block(&mut names, body);
        if let LoopHead::While { cond } = head {
            syn::visit::Visit::visit_expr(&mut names, cond);
        }
        let mut ids: Vec<BindingId> = names.0.iter().filter_map(|n| self.lookup(n)).collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// `broken || returned` at the start of an iteration, if the loop can be left early.
    fn exit_value(&mut self, exits: &LoopExits, span: Span) -> Option<Value> {
        let mut flags: Vec<Value> = exits.brk.iter().map(|id| self.env[id]).collect();
        if exits.ret {
            flags.push(self.env[&self.ret_flag]);
        }
        let (&first, rest) = flags.split_first()?;
        Some(rest.iter().fold(first, |acc, &v| {
            self.emit(Op::BitOr, vec![acc, v], span, Ty::Bool)
        }))
    }

    fn snapshot(&self) -> Snapshot {
        Snapshot {
            values: self.func.values.len(),
            errors: self.cx.len(),
            constraints: self.constraints.same.len(),
            bindings: self.binding_names.len(),
            env: self.env.clone(),
            scopes: self.scopes.clone(),
        }
    }

    fn rollback(&mut self, s: &Snapshot) {
        self.func.values.truncate(s.values);
        self.varied.truncate(s.values);
        self.bool_consts.retain(|v, _| v.index() < s.values);
        self.cx.truncate(s.errors);
        self.constraints.same.truncate(s.constraints);
        self.binding_names.truncate(s.bindings);
        self.env.clone_from(&s.env);
        self.scopes.clone_from(&s.scopes);
    }
}

/// How a loop body can leave early.
struct LoopExits {
    /// The binding `break` sets (carried through the loop).
    brk: Option<BindingId>,
    cont: bool,
    ret: bool,
}

/// Finds `break` and `continue` of this loop (not of loops nested in it) and `return`.
#[derive(Default)]
struct ExitScan {
    brk: bool,
    cont: bool,
    ret: bool,
    depth: usize,
}

impl ExitScan {
    fn of(body: &syn::Block) -> ExitScan {
        let mut scan = ExitScan::default();
        syn::visit::Visit::visit_block(&mut scan, body);
        scan
    }
}

impl<'ast> syn::visit::Visit<'ast> for ExitScan {
    fn visit_expr(&mut self, e: &'ast Expr) {
        match e {
            Expr::Break(_) if self.depth == 0 => self.brk = true,
            Expr::Continue(_) if self.depth == 0 => self.cont = true,
            Expr::Return(_) => self.ret = true,
            Expr::ForLoop(_) | Expr::While(_) | Expr::Loop(_) => {
                self.depth += 1;
                syn::visit::visit_expr(self, e);
                self.depth -= 1;
                return;
            }
            _ => {}
        }
        syn::visit::visit_expr(self, e);
    }
}

/// Collects the names assigned to in a loop body.
struct AssignedNames(Vec<String>);

impl<'ast> syn::visit::Visit<'ast> for AssignedNames {
    fn visit_expr(&mut self, e: &'ast Expr) {
        let target = match e {
            Expr::Assign(a) => Some(&*a.left),
            Expr::Binary(b) if crate::fence::is_compound_assign(&b.op) => Some(&*b.left),
            _ => None,
        };
        // A write `buf[i] = ..` or `buf.push(..)` assigns (a new version of) `buf`.
        let target = match (target, e) {
            (Some(Expr::Index(ix)), _) => Some(&*ix.expr),
            (None, Expr::MethodCall(m)) if m.method == "push" => Some(&*m.receiver),
            (t, _) => t,
        };
        if let Some(Expr::Path(p)) = target {
            if let Some(ident) = p.path.get_ident() {
                self.0.push(ident.to_string());
            }
        }
        syn::visit::visit_expr(self, e);
    }
}
