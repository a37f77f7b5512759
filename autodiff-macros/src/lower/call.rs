//! Calls, float and matrix methods, `map` closures and fields; the checks on call
//! arguments that need inferred types.

use super::*;

impl Lower<'_> {
    pub(super) fn method(&mut self, m: &syn::ExprMethodCall) -> Value {
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
    pub(super) fn map(
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
        let body = Box::new(sub.finish(result));
        let closure = m.args[0].to_token_stream();
        let op = Op::Map { closure, body };
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

    pub(super) fn call(&mut self, c: &syn::ExprCall) -> Value {
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

    pub(super) fn field(&mut self, f: &syn::ExprField) -> Value {
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
    pub(super) fn check_call_args(&self, block: &Block) {
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
