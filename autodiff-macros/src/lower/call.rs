//! Calls, float and matrix methods, `map` closures and fields; the checks on call
//! arguments that need inferred types.

use super::*;

/// Gives the captured locals of each `map` closure the types inference found for them
/// outside (an integer loop index is not known to be one where the closure is lowered):
/// integers have no tangent in the closure's derivative.
pub(super) fn type_captures(block: &mut Block, types: &[Ty]) {
    for inst in &mut block.insts {
        if let InstKind::Op(Op::Map { body, elements, .. }, args) = &mut inst.kind {
            for (k, &a) in args.iter().enumerate().skip(*elements) {
                if types[a.index()] == Ty::Int {
                    let p = body.params[k];
                    body.values[p.index()].ty = Ty::Int;
                }
            }
        }
        for b in inst.blocks_mut() {
            type_captures(b, types);
        }
    }
}

impl Lower<'_> {
    pub(super) fn method(&mut self, m: &syn::ExprMethodCall) -> Value {
        let recv = self.need(&m.receiver);
        if let Some(mc) = crate::fence::map_closure(m) {
            return self.map(recv, m, &mc);
        }
        let mut args = vec![recv];
        self.check_no_output(&m.args);
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
        // A new array with the same elements, which may be written.
        if name == "to_vec" && args.len() == 1 {
            let len = self.emit(Op::Len, vec![recv], span, Ty::Int);
            return self.emit(
                Op::CopyArray { same: false },
                vec![recv, len],
                span,
                Ty::Unknown,
            );
        }
        // A copy is the same value; the emitted code copies where it needs to.
        if name == "clone" && args.len() == 1 {
            return recv;
        }
        // What the method is depends on whether the receiver is an object and the
        // operands are varied: `resolve` decides.
        let form = CallForm {
            method: true,
            borrowed: std::iter::once(true)
                .chain(m.args.iter().map(borrowed))
                .collect(),
            parts: 0,
        };
        let pending = Pending::Method {
            name: m.method.clone(),
            args: args.clone(),
            form,
            map: None,
        };
        let opaque = Op::Method {
            name: m.method.clone(),
        };
        self.emit_pending(opaque, args, span, pending)
    }

    /// `f64::sin(x)`: a float method by its path.
    fn fun(&mut self, f: Fun, args: Vec<Value>, method: &syn::Ident) -> Value {
        if args.len() != f.arity() {
            self.cx.push(diag::wrong_arity(method, f.arity()));
            return self.undef(method.span());
        }
        self.emit(Op::Fun(f), args, method.span(), Ty::Unknown)
    }

    /// `m.map(|v| body)` or `a.zip_map(&b, |x, y| body)`: the body is lowered as a
    /// function of the elements (and of the float and integer locals it captures) and
    /// differentiated in forward mode on its own.
    pub(super) fn map(
        &mut self,
        recv: Value,
        m: &syn::ExprMethodCall,
        mc: &crate::fence::MapClosure,
    ) -> Value {
        let span = m.method.span();
        let others: Vec<Value> = mc.others.iter().map(|o| self.need(o)).collect();
        let Some(captures) = self.captures(&mc.params, mc.body) else {
            return self.undef(span);
        };
        // The body's errors wait for `resolve`, which knows whether a captured local is a
        // matrix (then that is the error to report).
        let sub_cx = Ctxt::new();
        let mut sub = Lower::new(&sub_cx, format!("{}_map", self.func.name));
        sub.fenced = self.fenced;
        for param in &mc.params {
            sub.add_param(param, TypeClass::Float(FloatTy::F64), true, false);
            // The element type (f32 or f64) is the matrix's: rustc infers it.
            let p = sub.func.params[sub.func.params.len() - 1];
            sub.func.values[p.index()].ty = Ty::Float;
        }
        // Captured locals are parameters of the closure's function too.
        for (name, v) in &captures {
            let ty = self.func.ty(*v);
            let class = match ty {
                Ty::Int => TypeClass::Int,
                _ => TypeClass::Float(FloatTy::F64),
            };
            sub.add_param(name, class, ty != Ty::Int, false);
            let c = sub.func.params[sub.func.params.len() - 1];
            sub.func.values[c.index()].ty = if ty == Ty::Int { ty } else { Ty::Float };
        }
        let result = sub.need(mc.body);
        let body = Box::new(sub.finish(vec![result]));
        let errors = sub_cx.check().err();
        let closure = m.args[m.args.len() - 1].to_token_stream();
        let mut args = vec![recv];
        args.extend(others);
        args.extend(captures.iter().map(|(_, v)| *v));
        // A `map` of anything but an object is a closure, which `resolve` reports.
        let pending = Pending::Method {
            name: m.method.clone(),
            args: args.clone(),
            form: CallForm::default(),
            map: Some(LoweredMap {
                closure,
                body,
                errors,
                elements: mc.params.len(),
            }),
        };
        let opaque = Op::Method {
            name: m.method.clone(),
        };
        self.emit_pending(opaque, args, span, pending)
    }

    /// The locals a `map` closure uses, with their values: floats and integers (their
    /// values now, as a closure captures them); anything else is reported.
    fn captures(&self, params: &[&syn::Ident], body: &Expr) -> Option<Vec<(syn::Ident, Value)>> {
        let mut out: Vec<(syn::Ident, Value)> = Vec::new();
        for used in free_names(body) {
            let own = params.contains(&&used);
            let Some(id) = self.lookup(&used.to_string()).filter(|_| !own) else {
                continue;
            };
            let v = self.env[&id];
            let ty = self.func.ty(v);
            // An unknown type is decided by `resolve` (a matrix is reported there).
            if !(ty.is_float() || ty == Ty::Int || ty == Ty::Unknown) {
                self.cx.push(diag::map_capture(&used));
                return None;
            }
            if !out.iter().any(|(n, _)| *n == used) {
                out.push((used, v));
            }
        }
        Some(out)
    }

    /// An output parameter passed on to a call would be written by the callee, whose
    /// derivative takes its content at the start as a constant: reported.
    fn check_no_output(&self, args: &syn::punctuated::Punctuated<Expr, syn::Token![,]>) {
        for a in args {
            let Expr::Path(p) = strip_ref(a) else {
                continue;
            };
            let id = p.path.get_ident().and_then(|i| self.lookup(&i.to_string()));
            if id.is_some_and(|id| self.outputs.contains(&id)) {
                self.cx.push(diag::output_passed(a));
            }
        }
    }

    /// `g(args)` of a function returning a tuple of `parts` values: one instruction whose
    /// outs are the parts.
    pub(super) fn call_parts(&mut self, c: &syn::ExprCall, parts: usize) -> Vec<Value> {
        let span = c.span();
        let Expr::Path(p) = &*c.func else {
            self.unsupported(diag::internal(span, "call target passed the fence"));
            return (0..parts).map(|_| self.undef(span)).collect();
        };
        self.check_no_output(&c.args);
        let args: Vec<Value> = c.args.iter().map(|a| self.need(a)).collect();
        let form = CallForm {
            method: false,
            borrowed: c.args.iter().map(borrowed).collect(),
            parts,
        };
        let outs: Vec<Value> = (0..parts)
            .map(|_| self.new_value(None, span, Ty::Unknown))
            .collect();
        let op = Op::Call {
            path: p.path.to_token_stream(),
            form,
        };
        self.push(Inst::new(
            outs.clone(),
            InstKind::Op(op, args),
            p.path.span(),
        ));
        outs
    }

    pub(super) fn call(&mut self, c: &syn::ExprCall) -> Value {
        let span = c.span();
        let Expr::Path(p) = &*c.func else {
            self.unsupported(diag::internal(span, "call target passed the fence"));
            return self.undef(span);
        };
        self.check_no_output(&c.args);
        let args: Vec<Value> = c.args.iter().map(|a| self.need(a)).collect();
        let form = CallForm {
            method: false,
            borrowed: c.args.iter().map(borrowed).collect(),
            parts: 0,
        };
        if is_stop_gradient(&p.path) && args.len() == 1 {
            let v = self.emit(Op::StopGradient, args.clone(), p.path.span(), Ty::Unknown);
            self.constraints.same(args[0], v);
            return v;
        }
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
        // Its type (an object with an object argument, a float with a varied one) is
        // `resolve`'s.
        self.emit(
            Op::Call {
                path: p.path.to_token_stream(),
                form,
            },
            args,
            p.path.span(),
            Ty::Unknown,
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

    /// `base.member`: a read of an active parameter's field or an opaque one, as
    /// `resolve` decides.
    pub(super) fn field(&mut self, f: &syn::ExprField) -> Value {
        let base = self.need(&f.base);
        let member = f.member.to_token_stream();
        let pending = Pending::Field {
            member: member.clone(),
            base,
            tokens: f.to_token_stream(),
            grad_read: crate::fence::reads_grad_call(f),
        };
        self.emit_pending(Op::Field { member }, vec![base], f.span(), pending)
    }

    // -------------------- checks after inference --------------------

    /// A call with an active argument maps the callee's cotangents to its float
    /// arguments in order, so every argument's float-ness must be known; `stop_gradient`
    /// takes a float.
    pub(super) fn check_call_args(&self, block: &Block, varied: &[bool]) {
        for inst in &block.insts {
            match &inst.kind {
                InstKind::Op(Op::Call { .. }, args) if args.iter().any(|&a| varied[a.index()]) => {
                    for &a in args {
                        if self.func.ty(a) == Ty::Unknown {
                            self.cx.push(diag::unknown_arg_type(self.func.info(a).span));
                        }
                    }
                }
                // A float of a type the macro cannot see (behind a field) is rustc's to check.
                InstKind::Op(Op::StopGradient, args)
                    if args.iter().any(|&a| {
                        !matches!(self.func.ty(a), Ty::Unknown | Ty::Obj)
                            && !self.func.ty(a).is_float()
                    }) =>
                {
                    self.cx.push(diag::stop_gradient_arg(inst.span));
                }
                _ => {}
            }
            // Calls in branches and loops too.
            for b in inst.blocks() {
                self.check_call_args(b, varied);
            }
        }
    }
}
