//! Statements, branches and early exits.

use super::*;

impl Lower<'_> {
    // -------------------- control flow --------------------

    /// `if cond { then } else { els }`: lowers both arms, then merges every binding either
    /// arm changed into a result of the `if`. Returns the `if`'s own value if `want_value`.
    pub(super) fn branch(
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

    /// One result per pair of yields, typed like them.
    fn merge_outs(&mut self, then: &[Value], els: &[Value], span: Span) -> Vec<Value> {
        then.iter()
            .zip(els)
            .map(|(&t, &e)| {
                let out = self.new_value(None, span, Ty::Unknown);
                self.constraints.same(t, out);
                self.constraints.same(e, out);
                out
            })
            .collect()
    }

    // -------------------- statements --------------------

    /// Lowers statements in order; returns the value of the tail expression. With
    /// `tail_returns`, the tail is the function's result, lowered as a `return`.
    pub(super) fn lower_stmts(&mut self, stmts: &[Stmt], tail_returns: bool) -> Option<Value> {
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
        if let Some((pats, types, call)) = crate::fence::tuple_call(local) {
            let parts = self.call_parts(call, pats.len());
            for (k, (pat, v)) in pats.into_iter().zip(parts).enumerate() {
                if let Some(ty) = types.get(k) {
                    let declared = self.emit(Op::Undef, vec![], ty.span(), ty_of(classify(ty)));
                    self.constraints.same(v, declared);
                }
                if !matches!(pat, syn::Pat::Wild(_)) {
                    self.bind_pattern(pat, v);
                }
            }
            return;
        }
        let Some(init) = &local.init else { return };
        if init.diverge.is_some() {
            return self.let_else(local, init);
        }
        if let (Some(name), _) = binding_of(&local.pat) {
            if self.bind_struct(name, &init.expr) {
                return;
            }
        }
        let v = self.need(&init.expr);
        if let Some(pats) = crate::fence::array_let(local) {
            return self.bind_elements(&pats, v, init.expr.span());
        }
        let id = self.bind_pattern(&local.pat, v);
        // `let r = &xs[i];` (as iterator chains become): `*r` reads the element.
        if let (Some(id), Expr::Reference(_)) = (id, &*init.expr) {
            self.deref_ok.insert(id);
        }
    }

    /// `let [a, b, _] = v;`: each binding is an element read of `v`.
    fn bind_elements(&mut self, pats: &[&syn::Pat], v: Value, span: Span) {
        for (i, pat) in pats.iter().enumerate() {
            if matches!(pat, syn::Pat::Wild(_)) {
                continue;
            }
            let index = self.usize_const(i, span);
            let pending = Pending::Index {
                base: v,
                indices: vec![index],
                written: IndexBase::Other,
            };
            let e = self.emit_pending(Op::Index, vec![v, index], span, pending);
            self.bind_pattern(pat, e);
        }
    }

    /// Binds a simple pattern (`x`, `mut x`, `x: T`) to a value.
    fn bind_pattern(&mut self, pat: &syn::Pat, v: Value) -> Option<BindingId> {
        let (ident, annotation) = binding_of(pat);
        if let Some(ty) = annotation {
            let seed = self.undef_typed(ty);
            self.constraints.same(v, seed);
            // A float or integer declared is known from here on (a `map` closure may
            // capture it), not only after inference.
            let declared = self.func.ty(seed);
            if self.func.ty(v) == Ty::Unknown && (declared.is_float() || declared == Ty::Int) {
                self.func.values[v.index()].ty = declared;
            }
        }
        let ident = ident?;
        let name = ident.to_string();
        self.name_value(v, &name);
        Some(self.bind(name, v))
    }

    /// A value that only carries the type `ty` into inference; dead code afterwards.
    fn undef_typed(&mut self, ty: &syn::Type) -> Value {
        let seed = self.undef(ty.span());
        self.func.values[seed.index()].ty = ty_of(classify(ty));
        seed
    }

    /// An expression evaluated for its effect on bindings (a statement).
    pub(super) fn lower_effect(&mut self, e: &Expr) {
        match e {
            Expr::If(i) => {
                self.lower_if(i, false);
            }
            Expr::Match(m) => {
                self.lower_match(m, false);
            }
            _ => {
                self.lower_expr(e);
            }
        }
    }

    pub(super) fn set_return(&mut self, v: Value, span: Span) {
        let yes = self.bool_const(true, span);
        let (flag, result) = (self.ret_flag, self.ret_val);
        self.env.insert(result, v);
        self.env.insert(flag, yes);
    }

    pub(super) fn lower_block(&mut self, block: &syn::Block) -> Option<Value> {
        self.scopes.push(Vec::new());
        let v = self.lower_stmts(&block.stmts, false);
        self.scopes.pop();
        v
    }

    pub(super) fn lower_if(&mut self, i: &syn::ExprIf, want_value: bool) -> Option<Value> {
        if let Expr::Let(lt) = &*i.cond {
            let els = i.else_branch.as_ref().map(|(_, e)| &**e);
            return self.if_let(lt, &i.then_branch, els, want_value && els.is_some());
        }
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
}
