//! Expressions: operators, literals, paths, array writes and casts.

use super::*;

impl Lower<'_> {
    // -------------------- expressions --------------------

    /// Lowers an expression whose value is required.
    pub(super) fn need(&mut self, e: &Expr) -> Value {
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
    pub(super) fn lower_expr(&mut self, e: &Expr) -> Option<Value> {
        let span = e.span();
        match e {
            Expr::Lit(l) => Some(self.literal(&l.lit)),
            // A local struct value used whole is built from its fields.
            Expr::Path(p) => Some(self.struct_value(e).unwrap_or_else(|| self.path(&p.path))),
            Expr::Struct(_) => Some(self.struct_value(e).unwrap_or_else(|| self.undef(span))),
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
            Expr::Call(c) => Some(self.struct_value(e).unwrap_or_else(|| self.call(c))),
            Expr::If(i) => self.lower_if(i, i.else_branch.is_some()),
            Expr::Match(m) => self.lower_match(m, true),
            Expr::Block(b) => self.lower_block(&b.block),
            Expr::ForLoop(f) => {
                self.lower_for(f);
                None
            }
            Expr::Break(_) | Expr::Continue(_) => {
                self.jump(matches!(e, Expr::Break(_)), span);
                None
            }
            Expr::Loop(l) => {
                // `loop { .. }` is `while true { .. }`: it ends by `break` or `return`.
                let always: Expr = syn::parse_quote!(true);
                self.lower_loop(
                    LoopHead::While { cond: &always },
                    &l.body,
                    l.loop_token.span,
                    false,
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
                    None if self.returns_nothing => {
                        let nothing = self.env[&self.ret_val];
                        self.set_return(nothing, span);
                    }
                    None => self.cx.push(diag::needs_value(r)),
                }
                None
            }
            Expr::Assign(a) => {
                self.lower_assign(a);
                None
            }
            Expr::Field(f) => Some(self.field_value(e, f)),
            Expr::Repeat(r) => Some(self.new_array(&r.expr, &r.len, true, span)),
            Expr::Array(a) => Some(self.array_literal(a.elems.iter(), true, span)),
            Expr::Macro(m) => {
                if let Some((fill, len)) = crate::fence::vec_repeat(&m.mac) {
                    return Some(self.new_array(&fill, &len, false, span));
                }
                if let Some(elems) = crate::fence::vec_list(&m.mac) {
                    return Some(self.array_literal(elems.iter(), false, span));
                }
                self.unsupported(diag::internal(span, "macro passed the fence"));
                Some(self.undef(span))
            }
            Expr::Index(ix) => Some(self.index(ix)),
            _ => {
                self.unsupported(diag::internal(span, "expression passed the fence"));
                Some(self.undef(span))
            }
        }
    }

    /// `break` (or `continue` when not `brk`) sets the innermost loop's flag.
    fn jump(&mut self, brk: bool, span: Span) {
        let frame = self.loop_frames.last();
        let flag = if brk {
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
    }

    /// `xs[i]` of an array, or an element of a matrix or vector: `v[i]` or `m[(i, j)]`,
    /// as `resolve` decides from what the base is.
    fn index(&mut self, ix: &syn::ExprIndex) -> Value {
        let span = ix.span();
        if let Expr::Range(r) = crate::fence::strip(&ix.index) {
            return self.sub_slice(&ix.expr, r, span);
        }
        let written = self.index_base(&ix.expr);
        let base = self.need(&ix.expr);
        let indices = match crate::fence::index_pair(&ix.index) {
            Some((i, j)) => vec![self.need(i), self.need(j)],
            None => vec![self.need(&ix.index)],
        };
        let mut args = vec![base];
        args.extend(&indices);
        let pending = Pending::Index {
            base,
            indices,
            written,
        };
        self.emit_pending(Op::Index, args, span, pending)
    }

    /// `xs[a..b]` (`a..=b`, `a..`, `..b`, `..`) as a value: a new array of those elements,
    /// a view of a borrowed parameter (`SubSlice`).
    fn sub_slice(&mut self, array: &Expr, r: &syn::ExprRange, span: Span) -> Value {
        let xs = self.need(array);
        let int = |l: &mut Self, v: usize| {
            let lit = Const::Int(proc_macro2::Literal::usize_unsuffixed(v));
            l.emit(Op::Const(lit), vec![], span, Ty::Int)
        };
        let lo = match &r.start {
            Some(a) => self.need(a),
            None => int(self, 0),
        };
        let hi = match (&r.end, &r.limits) {
            (Some(b), syn::RangeLimits::Closed(_)) => {
                let b = self.need(b);
                let one = int(self, 1);
                self.emit(Op::Add, vec![b, one], span, Ty::Int)
            }
            (Some(b), _) => self.need(b),
            (None, _) => self.emit(Op::Len, vec![xs], span, Ty::Int),
        };
        let len = self.emit(Op::Sub, vec![hi, lo], span, Ty::Int);
        let view = self.borrowed_params.contains(&xs);
        let out = self.emit(
            Op::SubSlice { view },
            vec![xs, lo, hi, len],
            span,
            Ty::Unknown,
        );
        self.constraints.same(out, xs);
        out
    }

    /// What the base of an index is as written: a field (an object), a variable (an
    /// object if its value is one), or anything else.
    fn index_base(&self, e: &Expr) -> IndexBase {
        match e {
            Expr::Paren(p) => self.index_base(&p.expr),
            Expr::Group(g) => self.index_base(&g.expr),
            Expr::Field(_) => IndexBase::Field,
            Expr::Path(p) => {
                let bound = p
                    .path
                    .get_ident()
                    .and_then(|i| self.lookup(&i.to_string()))
                    .is_some_and(|id| self.env.contains_key(&id));
                if bound {
                    IndexBase::Variable
                } else {
                    IndexBase::Other
                }
            }
            _ => IndexBase::Other,
        }
    }

    /// `*v` is only meaningful for the element `v` of `for v in xs.iter()` or of an
    /// iterator chain's closure (a reference in Rust, a value here; `**v` in `filter`);
    /// anything else behind a reference is not supported.
    fn deref(&mut self, u: &syn::ExprUnary) -> Value {
        let mut inner = &*u.expr;
        while let Expr::Unary(syn::ExprUnary {
            op: UnOp::Deref(_),
            expr,
            ..
        }) = inner
        {
            inner = expr;
        }
        let id = match inner {
            Expr::Path(p) => p.path.get_ident().and_then(|i| self.lookup(&i.to_string())),
            _ => None,
        };
        if id.is_some_and(|id| self.deref_ok.contains(&id)) {
            return self.need(inner);
        }
        self.cx.push(diag::reference(u));
        self.undef(u.span())
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

    pub(super) fn path(&mut self, path: &syn::Path) -> Value {
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

    /// `target = value`; a local struct value takes each field of the value.
    fn lower_assign(&mut self, a: &syn::ExprAssign) {
        if !self.assign_struct(&a.left, &a.right) {
            let v = self.need(&a.right);
            self.store(&a.left, v);
        }
    }

    /// `base.member`: a field of a local struct value, or of a parameter (`field`).
    fn field_value(&mut self, e: &Expr, f: &syn::ExprField) -> Value {
        if let Some(id) = self.struct_field(e) {
            return self.env[&id];
        }
        // A struct field of a local struct value, used whole (`norm(&b.pos)`).
        if let Some(v) = self.struct_value(e) {
            return v;
        }
        self.literal_field(f).unwrap_or_else(|| self.field(f))
    }

    fn store(&mut self, target: &Expr, v: Value) {
        if let Expr::Index(ix) = target {
            return self.store_element(ix, v);
        }
        if let Expr::Field(_) = target {
            match self.struct_field(target) {
                Some(id) => self.assign(id, v),
                None => self.unsupported(diag::assign_target(target)),
            }
            return;
        }
        let id = match strip_ref(target) {
            Expr::Path(p) => p.path.get_ident().and_then(|i| self.lookup(&i.to_string())),
            _ => None,
        };
        match id {
            // `*out = ..` or `out = ..` of an output: the caller's array is not written.
            Some(id) if self.outputs.contains(&id) => self.cx.push(diag::output_assigned(target)),
            Some(id) if matches!(target, Expr::Path(_)) => self.assign(id, v),
            Some(_) => self.unsupported(diag::assign_target(target)),
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
    pub(super) fn push_element(&mut self, m: &syn::ExprMethodCall, span: Span) -> Value {
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
        let ty = match self.func.ty(fill_v) {
            Ty::F64 => Ty::ArrayF64,
            Ty::F32 => Ty::ArrayF32,
            Ty::Int => Ty::ArrayInt,
            _ => Ty::Unknown,
        };
        let array = self.emit(Op::NewArray { fixed }, vec![fill_v, len_v], span, ty);
        // The fill must be a constant: `resolve` checks it is not varied.
        let tokens = fill.to_token_stream();
        self.pending.insert(array, Pending::Fill { tokens });
        array
    }

    /// `[a, b, c]` or `vec![a, b, c]`: a new array of zeros (integers if every element
    /// is one) with the elements written in order, as a person would write it out.
    fn array_literal<'e>(
        &mut self,
        elems: impl Iterator<Item = &'e Expr>,
        fixed: bool,
        span: Span,
    ) -> Value {
        let values: Vec<Value> = elems.map(|e| self.need(e)).collect();
        let ints = values.iter().all(|&v| self.func.ty(v) == Ty::Int);
        let (zero, ty) = if ints {
            let zero = Const::Int(proc_macro2::Literal::usize_unsuffixed(0));
            (zero, Ty::Int)
        } else {
            let lit = proc_macro2::Literal::f64_unsuffixed(0.0);
            (Const::Float { value: 0.0, lit }, Ty::Float)
        };
        let fill = self.emit(Op::Const(zero), vec![], span, ty);
        let len = self.usize_const(values.len(), span);
        let mut array = self.emit(Op::NewArray { fixed }, vec![fill, len], span, ty.array_of());
        for (i, v) in values.into_iter().enumerate() {
            let index = self.usize_const(i, span);
            let out = self.emit(Op::Store, vec![array, index, v], span, Ty::Unknown);
            self.constraints.same(out, array);
            array = out;
        }
        array
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
}
