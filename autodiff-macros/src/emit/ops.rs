//! Operations, calls, loops and closures.

use super::*;
use crate::ir::Role;
use proc_macro2::Ident;

impl Emitter<'_> {
    /// A loop, with its carried values in `mut` variables named after its results:
    ///
    /// ```text
    /// let (s, tape) = {
    ///     let mut tape = Vec::new();
    ///     let mut s = s_0;
    ///     for i in 0..n {
    ///         let s_1 = s;
    ///         tape.push((i, s_1));
    ///         ..;
    ///         s = v3;
    ///     }
    ///     (s, tape)
    /// };
    /// ```
    pub(super) fn loop_stmt(&self, outs: &[Value], lp: &Loop, span: Span) -> TokenStream {
        let vars: Vec<_> = outs[..lp.params.len()]
            .iter()
            .map(|&o| self.names.ident(o))
            .collect();
        let carried: Vec<_> = lp
            .params
            .iter()
            .zip(&vars)
            .filter(|(p, _)| self.used.contains(*p))
            .collect();
        let bind: Vec<_> = carried
            .iter()
            .map(|(&p, var)| {
                let p = self.names.ident(p);
                quote!(let #p = #var;)
            })
            .collect();
        let updates: Vec<_> = lp
            .params
            .iter()
            .zip(&lp.body.yields)
            .zip(&vars)
            .filter(|((p, y), _)| p != y)
            .map(|((_, &y), var)| {
                let y = self.operand(y);
                quote!(#var = #y;)
            })
            .collect();
        let decls = self.carried_decls(outs, &vars, &lp.inits);
        let push = lp.record.as_ref().map(|r| {
            let items = self.tuple(&r.items);
            match &lp.kind {
                // Its tape (or chunk) holds the trip count (`tape_decl`).
                LoopKind::For { .. } | LoopKind::Tape { index: Some(_), .. } => {
                    let tape = self.record_target(r.tape);
                    quote!(::autodiff::__private::push_reserved(#tape, #items);)
                }
                LoopKind::While { .. } | LoopKind::Tape { index: None, .. } => {
                    let tape = self.names.ident(r.tape);
                    match self.nests.stack(r.tape) {
                        Some(Flat { stack, chunk }) => {
                            quote!(#stack.push(&mut #chunk, &mut #tape, #items);)
                        }
                        None => quote!(#tape.push(#items);),
                    }
                }
            }
        });
        let iter = names::local("iteration_range", span);
        let tape_decl = self.tape_decl(lp, &iter);
        let tape_done = self.tape_done(lp);
        let walked = match &lp.kind {
            LoopKind::Tape { tape, .. } => self.unbundle(*tape),
            _ => None,
        };
        let body = self.block(&lp.body);
        // Recorded at the end of the iteration: results computed in it may be recorded.
        let iteration = quote!(#(#bind)* #body #push #(#updates)*);
        let looped = match &lp.kind {
            LoopKind::For { index, range } => {
                let index = self.pattern(&[*index]);
                let range = if lp.record.is_some() {
                    iter.to_token_stream()
                } else {
                    self.range(range)
                };
                quote_spanned!(span=> for #index in #range { #iteration })
            }
            LoopKind::While { cond } => {
                let stmts = self.block(cond);
                let c = self.tuple(&cond.yields);
                // The carried values were moved into the iteration's bindings: on leaving,
                // they move back (arrays are not `Copy`).
                let restore = carried.iter().map(|(&p, var)| {
                    let p = self.names.ident(p);
                    quote!(#var = #p;)
                });
                quote_spanned!(span=> loop { #(#bind)* #stmts if !#c { #(#restore)* break; } #body #push #(#updates)* })
            }
            LoopKind::Tape {
                tape,
                items,
                index: None,
                forward,
            } => {
                let (walk, items) = (self.tape_walk(*tape, *forward), self.pattern(items));
                quote_spanned!(span=> for #items in #walk { #iteration })
            }
            LoopKind::Tape {
                tape,
                items,
                index: Some((index, range)),
                forward,
            } => {
                let (walk, items) = (self.tape_walk(*tape, *forward), self.pattern(items));
                let index = self.pattern(&[*index]);
                let range = match (lp.record.is_some(), range.adapters.is_empty()) {
                    (true, _) => iter.to_token_stream(),
                    // `(lo..hi).zip(..)`, not `lo..hi.zip(..)`.
                    (false, true) => {
                        let range = self.range(range);
                        quote!((#range))
                    }
                    (false, false) => self.range(range),
                };
                quote_spanned!(span=> for (#index, #items) in #range.zip(#walk) { #iteration })
            }
        };
        let results = self.tuple(outs);
        let pat = self.pattern(outs);
        let stmts = quote!(#walked #tape_decl #(#decls)* #looped #tape_done);
        if outs.is_empty() {
            return quote!({ #stmts });
        }
        quote!(let #pat = { #stmts #results };)
    }

    /// `let mut s: f64 = s_0;` for each carried value, annotated where the type is known:
    /// a later `x.sin()` on a carried `0.0` needs it.
    fn carried_decls(&self, outs: &[Value], vars: &[Ident], inits: &[Value]) -> Vec<TokenStream> {
        outs.iter()
            .zip(vars)
            .zip(inits)
            .map(|((&o, var), &init)| {
                let init = self.operand(init);
                let lanes = self.lanes.as_ref().filter(|l| l.tangents.contains(&o));
                if let (Some(lanes), true) = (lanes, self.func.ty(o).is_float()) {
                    let ty = lanes.ty();
                    return quote!(let mut #var: #ty = #init;);
                }
                match self.func.ty(o) {
                    Ty::F64 => quote!(let mut #var: f64 = #init;),
                    Ty::F32 => quote!(let mut #var: f32 = #init;),
                    Ty::Bool => quote!(let mut #var: bool = #init;),
                    _ => quote!(let mut #var = #init;),
                }
            })
            .collect()
    }

    /// The tape a loop records into; a counted loop knows its trip count, so the tape is
    /// allocated once (over `iter`, the loop's range bound to a name). (A loop adjoint
    /// that replays a counted loop's index records for `reverse::scatter`.) A loop
    /// flattened into its nest's stack (`nests`) reserves room on the stack and notes
    /// where its segment starts instead; a nest's root makes the nest's stacks too.
    fn tape_decl(&self, lp: &Loop, iter: &Ident) -> Option<TokenStream> {
        let record = lp.record.as_ref()?;
        let tape = self.names.ident(record.tape);
        let stacks = self.nests.bundle(record.tape);
        let counted = match &lp.kind {
            LoopKind::For { range, .. }
            | LoopKind::Tape {
                index: Some((_, range)),
                ..
            } => Some(self.range(range)),
            LoopKind::While { .. } | LoopKind::Tape { index: None, .. } => None,
        };
        let new_stacks = stacks.iter().map(|Flat { stack, chunk }| {
            quote!(let mut #stack = ::autodiff::__private::Stack::new(); let mut #chunk = ::std::vec::Vec::new();)
        });
        let new_stacks = quote!(#(#new_stacks)*);
        Some(match (self.nests.stack(record.tape), counted) {
            (Some(Flat { stack, chunk }), Some(range)) => {
                quote!(let #iter = #range; let #tape = #stack.open(&mut #chunk, #iter.size_hint().0);)
            }
            // The run's length is not known: its pushes make room (`Stack::push`).
            (Some(Flat { stack, chunk }), None) => {
                quote!(let mut #tape = #stack.open(&mut #chunk, 0);)
            }
            // Kept for the next call when it drops (`Pooled`).
            (None, Some(range)) => {
                quote!(let #iter = #range; let mut #tape = ::autodiff::__private::Pooled::with_capacity(#iter.size_hint().0); #new_stacks)
            }
            (None, None) => quote!(let mut #tape = ::std::vec::Vec::new(); #new_stacks),
        })
    }

    /// Where a counted loop pushes its records: its tape, or the chunk of its nest's stack
    /// that `tape_decl` opened (room for the trip count).
    fn record_target(&self, tape: Value) -> TokenStream {
        let records = match self.nests.stack(tape) {
            Some(flat) => flat.chunk.clone(),
            None => self.names.ident(tape),
        };
        quote!(&mut #records)
    }

    /// The tape a recording loop leaves: the segment of the stack it pushed, or, for a
    /// nest's root, its records with the nest's stacks.
    fn tape_done(&self, lp: &Loop) -> Option<TokenStream> {
        let tape = lp.record.as_ref()?.tape;
        let ident = self.names.ident(tape);
        if let Some(Flat { chunk, .. }) = self.nests.stack(tape) {
            return Some(quote!(let #ident = #ident.close(&#chunk);));
        }
        let stacks = self.nests.bundle(tape);
        let finished = stacks
            .iter()
            .map(|Flat { stack, chunk }| quote!(#stack.finish(#chunk)));
        (!stacks.is_empty()).then(|| quote!(let #ident = (#ident, #(#finished),*);))
    }

    /// A nest's root's tape, taken apart into its records and the nest's stacks before its
    /// adjoint walks it (the inner loops' adjoints read the stacks).
    fn unbundle(&self, tape: Value) -> Option<TokenStream> {
        let stacks = self.nests.bundle(tape);
        if stacks.is_empty() {
            return None;
        }
        let (ident, whole) = (self.names.ident(tape), self.operand(tape));
        let stacks = stacks.iter().map(|f| &f.stack);
        let by_ref = self.nests.copyable(tape).then(|| quote!(&));
        Some(quote!(let (#ident, #(#stacks),*) = #by_ref #whole;))
    }

    /// The records of a tape, last first (first first when `forward`): copied out where
    /// they are numbers (the tape stays, so the pullback may run again, and a slice's
    /// iterator zipped with the range vectorises where `vec::IntoIter` did not: `lse`'s
    /// gradient took 1.35× as long), otherwise moved out of its `Vec`; a flattened loop's
    /// from its segment of its stack.
    fn tape_walk(&self, tape: Value, forward: bool) -> TokenStream {
        let rev = (!forward).then(|| quote!(.rev()));
        if let Some(Flat { stack, .. }) = self.nests.stack(tape) {
            let segment = self.operand(tape);
            return quote!(#stack.records(#segment).iter().copied()#rev);
        }
        // A root's records are under its tape's name once `unbundle` took it apart.
        let records = match self.nests.bundle(tape) {
            [] => self.operand(tape),
            _ => self.names.ident(tape).into_token_stream(),
        };
        if self.nests.copyable(tape) {
            return quote!(#records.iter().copied()#rev);
        }
        quote!(#records.into_iter()#rev)
    }

    fn range(&self, range: &Range) -> TokenStream {
        let (lo, hi) = (self.operand(range.lo), self.operand(range.hi));
        let mut tokens = if range.inclusive {
            quote!(#lo..=#hi)
        } else {
            quote!(#lo..#hi)
        };
        for adapter in &range.adapters {
            tokens = match adapter {
                Adapter::Rev => quote!((#tokens).rev()),
                Adapter::StepBy(k) => {
                    let k = self.operand(*k);
                    quote!((#tokens).step_by(#k))
                }
            };
        }
        tokens
    }

    /// `m.map(closure)` / `a.zip_map(&b, closure)` with the captured locals bound, or the
    /// runtime rule of a `MapRule` with the derivative closure (`a`: the operands' tokens).
    fn map_op(&self, op: &Op, args: &[Value], a: &[TokenStream], span: Span) -> TokenStream {
        match op {
            Op::Map {
                closure,
                body,
                elements,
            } => {
                let m = self.raw_operand(args[0]);
                let others = args[1..*elements].iter().map(|&o| self.by_ref_operand(o));
                let captured = &a[*elements..];
                // The closure as written, its captured locals bound to their values here.
                let names = (body.params[*elements..].iter()).map(|&p| param_ident(body, p));
                let method = if *elements == 1 {
                    quote!(map)
                } else {
                    quote!(zip_map)
                };
                quote_spanned!(span=> { #(let #names = #captured;)* #m.#method(#(#others,)* #closure) })
            }
            Op::MapRule {
                mode,
                jvp,
                wrt,
                elements,
            } => {
                let zip = if *elements == 1 { "" } else { "zip_" };
                let capture = if wrt < elements { "" } else { "_capture" };
                let name = format_ident!("{zip}map_{}{capture}", mode.name(), span = span);
                // The matrices and the seed, by reference.
                let operands = args[..=*elements].iter().map(|&o| self.by_ref_operand(o));
                let closure = scalar_closure(jvp, &a[*elements + 1..], *wrt, *elements);
                quote_spanned!(span=> ::autodiff::__private::obj::#name(#(#operands,)* #closure))
            }
            _ => {
                quote_spanned!(span=> ::core::compile_error!("internal error in #[differentiable]: not a map"))
            }
        }
    }

    pub(super) fn closure(&self, params: &[Value], body: &Block, span: Span) -> TokenStream {
        let params: Vec<_> = params.iter().map(|&p| self.names.ident(p)).collect();
        let borrow_again = self.owned.iter().map(|(v, owned)| {
            let v = self.names.ident(*v);
            quote!(let #v = &#owned;)
        });
        let body = self.block_value(body);
        let body = quote!(#(#borrow_again)* #body);
        let Some(ClosureSig { arg, outputs, ret }) = &self.closure else {
            return quote_spanned!(span=> move |#(#params),*| { #body });
        };
        let (parts, outs) = params.split_at(params.len() - outputs.len());
        let mut decls = Vec::new();
        match parts {
            [] => {}
            // An array cotangent is a buffer the pullback updates in place.
            [one] if self.f_returns_vector => decls.push(quote!(mut #one: #arg)),
            [one] => decls.push(quote!(#one: #arg)),
            // The cotangent of a tuple result is a tuple (nested as the result), one
            // cotangent per part.
            many => {
                let muts = many.iter().map(|p| quote!(mut #p));
                let pattern = match &self.result_ty {
                    Some(ty) => nest(ty, &mut muts.into_iter()),
                    None => quote!((#(#muts),*)),
                };
                decls.push(quote!(#pattern: #arg));
            }
        }
        // An output's cotangent is a buffer too.
        decls.extend(outs.iter().zip(outputs).map(|(d, ty)| quote!(mut #d: #ty)));
        quote_spanned!(span=> move |#(#decls),*| -> #ret { #body })
    }

    /// `g<suffix>(..)` for a call of `g` (last path segment suffixed), or
    /// `recv.g<suffix>(..)` for a method; arguments passed as the user passed them.
    pub(super) fn call(
        &self,
        path: &TokenStream,
        form: &CallForm,
        suffix: &str,
        args: &[Value],
        span: Span,
    ) -> TokenStream {
        let path = suffixed_path(path, suffix);
        let passed: Vec<TokenStream> = args
            .iter()
            .enumerate()
            .map(|(i, &a)| {
                // A variable holding a reference is passed on as it is, like in the source;
                // a field written without `&` is copied (or cloned), like in the source.
                let variable = !self.field_reads.contains(&a);
                if form.borrowed(i) || (self.by_ref(a) && self.is_obj(a) && variable) {
                    self.by_ref_operand(a)
                } else {
                    self.operand(a)
                }
            })
            .collect();
        match (form.method, args.first()) {
            // The receiver as it is: method calls borrow it themselves.
            (true, Some(&recv)) => {
                let (recv, rest) = (self.raw_operand(recv), &passed[1..]);
                quote_spanned!(span=> #recv.#path(#(#rest),*))
            }
            _ => quote_spanned!(span=> #path(#(#passed),*)),
        }
    }

    pub(super) fn op(&self, op: &Op, args: &[Value], outs: &[Value], span: Span) -> TokenStream {
        let a = self.op_operands(op, args);
        let objects = args.iter().all(|&v| self.is_obj(v));
        match (op, a.as_slice()) {
            // Two objects may be a matrix and a float (a field, a call's result), which
            // nalgebra does not multiply by reference: through the rule's own product.
            (Op::Mul, [x, y]) if objects => {
                quote_spanned!(span=> ::autodiff::__private::obj::mul(#x, #y))
            }
            (Op::Div, [x, y]) if objects => {
                quote_spanned!(span=> ::autodiff::__private::obj::div(#x, #y))
            }
            // A field of a parameter, by reference: `&p.layer.w`.
            (Op::Field { member }, [_]) if outs.first().is_some_and(|&o| self.by_ref(o)) => {
                let recv = self.raw_operand(args[0]);
                quote_spanned!(span=> &#recv.#member)
            }
            (Op::At, [_, i]) => {
                let m = self.raw_operand(args[0]);
                quote_spanned!(span=> #m[#i])
            }
            (Op::At, [_, i, j]) => {
                let m = self.raw_operand(args[0]);
                quote_spanned!(span=> #m[(#i, #j)])
            }
            (Op::Construct { path }, _) => quote_spanned!(span=> #path(#(#a),*)),
            (Op::Struct { path, members }, _) => {
                quote_spanned!(span=> #path { #(#members: #a),* })
            }
            // The scrutinee as a place, matched where it is (not moved, not cloned).
            (Op::Matches { pat }, [_]) => {
                let s = self.raw_operand(args[0]);
                quote_spanned!(span=> ::core::matches!(#s, #pat))
            }
            (Op::Bound { pat, name }, [_]) => {
                let s = self.raw_operand(args[0]);
                quote_spanned!(span=> match #s {
                    #pat => ::autodiff::__private::own(#name),
                    #[allow(unreachable_patterns)]
                    _ => ::core::default::Default::default(),
                })
            }
            (Op::Map { .. } | Op::MapRule { .. }, _) => self.map_op(op, args, &a, span),
            (Op::Lin(l), [_, ..]) => {
                let name = format_ident!("{}", l.name(), span = span);
                let recv = self.raw_operand(args[0]);
                let rest = args[1..].iter().map(|&v| self.by_ref_operand(v));
                quote_spanned!(span=> #recv.#name(#(#rest),*))
            }
            (Op::Call { path, form }, _) => self.call(path, form, "", args, span),
            (Op::Fun(f), [recv, ..]) if f.is_extension_method() => {
                // By path: std has these methods on nightly only, and a method call would
                // warn (`unstable_name_collisions`) in the generated code.
                let name = format_ident!("{}", f.name(), span = span);
                quote_spanned!(span=> ::autodiff::Erf::#name(#recv))
            }
            (Op::Fun(f), [recv, rest @ ..]) => {
                let name = format_ident!("{}", f.name(), span = span);
                let recv = self.receiver(args[0], recv);
                quote_spanned!(span=> #recv.#name(#(#rest),*))
            }
            (Op::Method { name }, [_, rest @ ..]) => {
                let recv = self.raw_operand(args[0]);
                quote_spanned!(span=> #recv.#name(#(#rest),*))
            }
            (Op::Field { member }, [_]) => {
                let recv = self.raw_operand(args[0]);
                quote_spanned!(span=> #recv.#member)
            }
            _ => operator(op, &a, span),
        }
    }

    /// The operands of an operation; arithmetic on objects borrows them: `&a * &b`
    /// (nalgebra implements both).
    fn op_operands(&self, op: &Op, args: &[Value]) -> Vec<TokenStream> {
        let objects = matches!(op, Op::Add | Op::Sub | Op::Mul | Op::Div | Op::Neg)
            && args.iter().any(|&v| self.is_obj(v));
        if !objects {
            return self.operands(args);
        }
        args.iter()
            .map(|&v| {
                if self.is_obj(v) {
                    self.by_ref_operand(v)
                } else {
                    self.operand(v)
                }
            })
            .collect()
    }

    /// An operand whose type must be known where it stands: an unsuffixed float literal
    /// of known width gets its suffix (`0.0_f32`).
    pub(super) fn typed_operand(&self, v: Value) -> TokenStream {
        let tokens = self.operand(v);
        let text = tokens.to_string();
        let suffix = match self.func.ty(v) {
            Ty::F64 => "_f64",
            Ty::F32 => "_f32",
            _ => return tokens,
        };
        let literal = text.starts_with(|c: char| c.is_ascii_digit() || c == '-');
        let suffixed = text.contains("f32") || text.contains("f64");
        if !literal || suffixed {
            return tokens;
        }
        format!("{text}{suffix}").parse().unwrap_or(tokens)
    }

    /// A method receiver: an unsuffixed float literal gets its type's suffix, since
    /// `2.0.sin()` does not compile where `f64::sin(2.0)` does, and a negative one its
    /// parentheses, since `-0.5.cos()` is `-(0.5.cos())`.
    pub(super) fn receiver(&self, v: Value, tokens: &TokenStream) -> TokenStream {
        if !self.inline.contains_key(&v) {
            return tokens.clone();
        }
        // A negative constant is written `- lit`.
        let text: String = tokens.to_string().split_whitespace().collect();
        if !text.starts_with(|c: char| c.is_ascii_digit() || c == '-') {
            return tokens.clone();
        }
        let unsuffixed = text
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | '_' | 'e' | 'E' | '-' | '+'));
        let suffix = match (self.func.ty(v), unsuffixed) {
            (Ty::F64, true) => "_f64",
            (Ty::F32, true) => "_f32",
            _ => "",
        };
        format!("({text}{suffix})")
            .parse()
            .unwrap_or_else(|_| tokens.clone())
    }
}

/// The forward derivative `func` of a `map` or `zip_map` closure (parameters: the
/// `elements`, the captured locals, then the tangents of the elements and of the captured
/// floats) as a closure whose types rustc infers, with the captured locals bound to
/// `captured`: `|x, y, d_x| { ..; (v, d_v) }` along element `wrt` (the other tangents
/// zero), or `|x, y| { ..; (v, d_v) }` along captured local `wrt` (its tangent 1, the
/// others 0).
fn scalar_closure(
    func: &Func,
    captured: &[TokenStream],
    wrt: usize,
    elements: usize,
) -> TokenStream {
    let params: Vec<(Value, proc_macro2::Ident)> = (func.params.iter())
        .filter(|&&v| func.info(v).role == Role::Primal)
        .map(|&v| (v, param_ident(func, v)))
        .collect();
    let e = Emitter::new(func, &params, None);
    let originals = elements + captured.len();
    let position = |v: Value| func.params.iter().position(|&q| q == v).unwrap_or(0);
    let mut bound = Vec::new();
    let mut open: Vec<proc_macro2::Ident> = func.params[..elements]
        .iter()
        .map(|&p| e.names.ident(p))
        .collect();
    for (k, &p) in func.params.iter().enumerate().skip(elements) {
        let name = e.names.ident(p);
        let value = match func.info(p).role {
            // The tangent of the element or captured float `wrt`, open or 1; others 0.
            Role::Derivative(of) if position(of) == wrt && wrt < elements => {
                open.push(name);
                continue;
            }
            Role::Derivative(of) if position(of) == wrt => quote!(1.0),
            Role::Derivative(_) => quote!(0.0),
            _ if k < originals => captured[k - elements].clone(),
            _ => continue,
        };
        bound.push(quote!(let #name = #value;));
    }
    let body = e.block(&func.body);
    let results = e.results_tuple(&func.results);
    quote!({ #(#bound)* move |#(#open),*| { #body #results } })
}

/// A closure parameter's name as the user wrote it.
fn param_ident(func: &Func, p: Value) -> proc_macro2::Ident {
    let name = func.info(p).name.clone().unwrap_or_else(|| "v".into());
    format_ident!("{}", name)
}

/// The expression of an operation that is written inline at its uses, if it is one.
pub(super) fn inline_op(op: &Op, span: Span) -> Option<TokenStream> {
    Some(match op {
        Op::Const(Const::Float { lit, value }) if value.is_sign_negative() => {
            quote_spanned!(span=> -#lit)
        }
        Op::Const(Const::Float { lit, .. } | Const::Int(lit)) => lit.to_token_stream(),
        Op::Const(Const::Bool(b)) => quote_spanned!(span=> #b),
        Op::Extern(path) => path.clone(),
        Op::Undef => quote_spanned!(span=> ::core::default::Default::default()),
        _ => return None,
    })
}

/// Operators, array reads and constructors, on operands already written.
fn operator(op: &Op, a: &[TokenStream], span: Span) -> TokenStream {
    match (op, a) {
        (Op::Add, [x, y]) => quote_spanned!(span=> #x + #y),
        (Op::Sub, [x, y]) => quote_spanned!(span=> #x - #y),
        (Op::Mul, [x, y]) => quote_spanned!(span=> #x * #y),
        (Op::Div, [x, y]) => quote_spanned!(span=> #x / #y),
        (Op::Rem, [x, y]) => quote_spanned!(span=> #x % #y),
        (Op::BitAnd, [x, y]) => quote_spanned!(span=> #x & #y),
        (Op::BitOr, [x, y]) => quote_spanned!(span=> #x | #y),
        (Op::BitXor, [x, y]) => quote_spanned!(span=> #x ^ #y),
        (Op::Shl, [x, y]) => quote_spanned!(span=> #x << #y),
        (Op::Shr, [x, y]) => quote_spanned!(span=> #x >> #y),
        (Op::Neg, [x]) => quote_spanned!(span=> -#x),
        (Op::Not, [x]) => quote_spanned!(span=> !#x),
        (Op::Cmp(c), [x, y]) => {
            let sym: TokenStream = c.symbol().parse().unwrap_or_default();
            quote_spanned!(span=> #x #sym #y)
        }
        (Op::Cast { ty, .. }, [x]) => quote_spanned!(span=> #x as #ty),
        (Op::StopGradient, [x]) => {
            let f = format_ident!("{}", crate::names::STOP_GRADIENT, span = span);
            quote_spanned!(span=> ::autodiff::#f(#x))
        }
        (Op::Index, [array, index]) => quote_spanned!(span=> #array[#index]),
        (Op::NewArray { fixed: false }, [fill, len]) => quote_spanned!(span=> ::std::vec![#fill; #len]),
        (Op::NewArray { fixed: true }, [fill, len]) => quote_spanned!(span=> [#fill; #len]),
        (Op::Len, [array]) => quote_spanned!(span=> #array.len()),
        (Op::CopyArray { same: false }, [array, _]) => quote_spanned!(span=> #array.to_vec()),
        (Op::CopyArray { same: true }, [array, _]) => quote_spanned!(span=> #array.clone()),
        (Op::SubSlice { view: true }, [array, lo, hi, _]) => quote_spanned!(span=> &#array[#lo..#hi]),
        (Op::SubSlice { view: false }, [array, lo, hi, _]) => quote_spanned!(span=> #array[#lo..#hi].to_vec()),
        (op, _) => inline_op(op, span).unwrap_or_else(|| quote_spanned!(span=> ::core::compile_error!("internal error in #[differentiable]: malformed operation"))),
    }
}
