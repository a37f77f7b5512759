//! Statements, blocks and operands: one `let` per instruction.

use super::*;

impl Emitter<'_> {
    pub(super) fn block(&self, block: &Block) -> TokenStream {
        block.insts.iter().map(|i| self.inst(i)).collect()
    }

    /// The block's statements followed by its yields as a tail expression.
    pub(super) fn block_value(&self, block: &Block) -> TokenStream {
        let stmts = self.block(block);
        let value = self.tuple(&block.yields);
        quote!(#stmts #value)
    }

    /// The variable (or inline expression) as it is.
    pub(super) fn raw_operand(&self, v: Value) -> TokenStream {
        match self.inline.get(&v) {
            Some(tokens) => tokens.clone(),
            None => self.names.ident(v).into_token_stream(),
        }
    }

    /// `v` where a value is wanted: a float behind a reference is copied out (`*v`); an
    /// object is moved where this is its only move, cloned otherwise.
    pub(super) fn operand(&self, v: Value) -> TokenStream {
        let t = self.raw_operand(v);
        match (self.by_ref(v), self.is_obj(v)) {
            (true, true) => quote!(::core::clone::Clone::clone(#t)),
            (true, false) => quote!((*#t)),
            (false, true) if self.moves.get(&v).copied().unwrap_or(0) > 1 => {
                quote!(::core::clone::Clone::clone(&#t))
            }
            _ => t,
        }
    }

    pub(super) fn operands(&self, vs: &[Value]) -> Vec<TokenStream> {
        vs.iter().map(|&v| self.operand(v)).collect()
    }

    /// The function's results, read from their aliases where the pullback captured them.
    pub(super) fn results_tuple(&self, vs: &[Value]) -> TokenStream {
        let items: Vec<TokenStream> = vs
            .iter()
            .map(|v| match self.aliases.get(v) {
                Some(alias) => alias.to_token_stream(),
                None => self.operand(*v),
            })
            .collect();
        match items.as_slice() {
            [one] => one.clone(),
            _ => quote!((#(#items),*)),
        }
    }

    /// `v`, `(a, b)`, or `()` for no values.
    pub(super) fn tuple(&self, vs: &[Value]) -> TokenStream {
        let items = self.operands(vs);
        match items.as_slice() {
            [one] => one.clone(),
            _ => quote!((#(#items),*)),
        }
    }

    /// The binding pattern for an instruction's results; unused results are `_`.
    pub(super) fn pattern(&self, outs: &[Value]) -> TokenStream {
        let items: Vec<TokenStream> = outs
            .iter()
            .map(|&v| {
                if self.used.contains(&v) {
                    self.names.ident(v).into_token_stream()
                } else {
                    quote!(_)
                }
            })
            .collect();
        match items.as_slice() {
            [one] => one.clone(),
            _ => quote!((#(#items),*)),
        }
    }

    pub(super) fn inst(&self, inst: &Inst) -> TokenStream {
        if inst.outs.len() == 1 && self.inline.contains_key(&inst.outs[0]) {
            return TokenStream::new();
        }
        let span = inst.span;
        if let Some(stmt) = self.array_stmt(inst) {
            return stmt;
        }
        let pat = self.pattern(&inst.outs);
        let rhs = match &inst.kind {
            InstKind::Op(op, args) => self.op(op, args, &inst.outs, span),
            InstKind::If { cond, then, els } => {
                let (cond, then, els) = (
                    self.operand(*cond),
                    self.block_value(then),
                    self.block_value(els),
                );
                let expr = quote_spanned!(span=> if #cond { #then } else { #els });
                if inst.outs.is_empty() {
                    return quote!(#expr;);
                }
                expr
            }
            InstKind::Rule { name, args } if args.iter().any(|&a| self.is_obj(a)) => {
                // Objects: the rules of `autodiff_runtime::rules::linalg`, by reference.
                let name = format_ident!("{}", name, span = span);
                let args: Vec<_> = args.iter().map(|&a| self.by_ref_operand(a)).collect();
                quote_spanned!(span=> ::autodiff::__private::obj::#name(#(#args),*))
            }
            InstKind::Rule { name, args } => {
                let name = format_ident!("{}", name, span = span);
                let args = self.operands(args);
                quote_spanned!(span=> ::autodiff::__private::#name(#(#args),*))
            }
            InstKind::Sum(parts) if parts.iter().any(|&a| self.is_obj(a)) => {
                let parts: Vec<_> = parts.iter().map(|&a| self.by_ref_operand(a)).collect();
                quote_spanned!(span=> #(#parts)+*)
            }
            InstKind::Sum(parts) => {
                let parts = self.operands(parts);
                quote_spanned!(span=> #(#parts)+*)
            }
            InstKind::AddElem {
                buffer,
                indices,
                value,
            } => {
                let (b, v) = (self.raw_operand(*buffer), self.operand(*value));
                let ix: Vec<TokenStream> = indices.iter().map(|&i| self.operand(i)).collect();
                return match ix.as_slice() {
                    [i] => quote_spanned!(span=> #b[#i] += #v;),
                    _ => quote_spanned!(span=> #b[(#(#ix),*)] += #v;),
                };
            }
            InstKind::AddField {
                buffer,
                member,
                value,
                assign: true,
            } => {
                let (b, v) = (self.raw_operand(*buffer), self.operand(*value));
                let place = if member.is_empty() {
                    quote!(#b)
                } else {
                    quote!(#b.#member)
                };
                return quote_spanned!(span=> #place = #v;);
            }
            InstKind::AddField {
                buffer,
                member,
                value,
                assign: false,
            } => {
                let (b, v) = (self.raw_operand(*buffer), self.by_ref_operand(*value));
                let place = if member.is_empty() {
                    quote!(#b)
                } else {
                    quote!(#b.#member)
                };
                return quote_spanned!(span=> ::autodiff::__private::accumulate(&mut #place, #v););
            }
            InstKind::Zero => quote_spanned!(span=> ::autodiff::__private::zero()),
            InstKind::ZeroLike(v) => match self.func.ty(*v) {
                Ty::F64 => quote_spanned!(span=> 0.0_f64),
                Ty::F32 => quote_spanned!(span=> 0.0_f32),
                _ if self.by_ref(*v) => {
                    let v = self.raw_operand(*v);
                    quote_spanned!(span=> ::autodiff::__private::zero_like(#v))
                }
                _ => {
                    let v = self.typed_operand(*v);
                    quote_spanned!(span=> ::autodiff::__private::zero_like(&#v))
                }
            },
            InstKind::Buffer { like } => {
                let (buffer, like) = (self.names.ident(inst.outs[0]), self.by_ref_operand(*like));
                return quote_spanned!(span=> let mut #buffer = ::autodiff::__private::zero_like(#like););
            }
            InstKind::TakeAt {
                buffer,
                index,
                grow: false,
            } => {
                let (b, i) = (self.operand(*buffer), self.operand(*index));
                quote_spanned!(span=> ::core::mem::take(&mut #b[#i]))
            }
            InstKind::TakeAt {
                buffer,
                index,
                grow: true,
            } => {
                let (b, i) = (self.operand(*buffer), self.operand(*index));
                quote_spanned!(span=> ::autodiff::__private::take_at_grow(&mut #b, #i))
            }
            InstKind::AddAt {
                buffer,
                index,
                value,
                grow: true,
            } => {
                let (b, i, v) = (
                    self.operand(*buffer),
                    self.operand(*index),
                    self.operand(*value),
                );
                return quote_spanned!(span=> ::autodiff::__private::add_at_grow(&mut #b, #i, #v););
            }
            InstKind::AddAt {
                buffer,
                index,
                value,
                grow: false,
            } => {
                let (b, i, v) = (
                    self.operand(*buffer),
                    self.operand(*index),
                    self.operand(*value),
                );
                return quote_spanned!(span=> #b[#i] += #v;);
            }
            InstKind::CallJvp { path, args, form } => self.call(path, form, "_jvp", args, span),
            InstKind::CallVjp {
                path,
                args,
                form,
                request,
            } => {
                let call = self.call(path, form, "_vjp", args, span);
                let Some(request) = request else {
                    return quote!(let #pat = #call;);
                };
                let mask = request.mask;
                // Bit i also needs one of the parameters argument i's cotangent reaches.
                let mask = match &request.needs {
                    None => quote!(#mask),
                    Some((needs, reaches)) => {
                        let needs = self.raw_operand(*needs);
                        let bits = reaches.iter().enumerate().map(|(i, &r)| {
                            let bit = 1u64 << i;
                            quote!((if #needs & #r != 0 { #bit } else { 0 }))
                        });
                        quote!(#mask & (0 #(| #bits)*))
                    }
                };
                // Addressed as the callee names itself (see `needs_id`): its name and the
                // types of its first two differentiable arguments.
                let name = path
                    .clone()
                    .into_iter()
                    .last()
                    .map(|t| t.to_string())
                    .unwrap_or_default();
                let mut types: Vec<TokenStream> = args
                    .iter()
                    .filter(|&&a| self.func.ty(a).is_differentiable())
                    .take(2)
                    .map(|&a| {
                        let a = self.by_ref_operand(a);
                        quote!(::autodiff::__private::type_name_of(#a))
                    })
                    .collect();
                types.resize(2, quote!(""));
                return quote_spanned! {span=>
                    ::autodiff::__private::request_needs([#name, #(#types),*], #mask);
                    let #pat = #call;
                    ::autodiff::__private::withdraw_request();
                };
            }
            InstKind::Needs => {
                let id = self.needs_id.clone().unwrap_or_default();
                quote!(::autodiff::__private::needs(#id))
            }
            InstKind::Guard { needs, mask, inner } => {
                let (needs, stmt) = (self.raw_operand(*needs), self.inst(inner));
                let cond = quote!(#needs & #mask != 0);
                if inst.outs.is_empty() {
                    return quote!(if #cond { #stmt });
                }
                let kept: Vec<TokenStream> = inst
                    .outs
                    .iter()
                    .map(|&o| {
                        if self.used.contains(&o) {
                            self.names.ident(o).into_token_stream()
                        } else {
                            quote!(())
                        }
                    })
                    .collect();
                let holders: Vec<TokenStream> = inst
                    .outs
                    .iter()
                    .map(|&o| {
                        if self.used.contains(&o) {
                            quote!(::autodiff::__private::placeholder())
                        } else {
                            quote!(())
                        }
                    })
                    .collect();
                if let ([kept], [holder]) = (kept.as_slice(), holders.as_slice()) {
                    quote!(if #cond { #stmt #kept } else { #holder })
                } else {
                    quote!(if #cond { #stmt (#(#kept),*) } else { (#(#holders),*) })
                }
            }
            InstKind::Pullback { pullback, seed } => {
                let (pb, seed) = (self.operand(*pullback), self.operand(*seed));
                quote_spanned!(span=> #pb(#seed))
            }
            InstKind::Closure { params, body } => {
                let closure = self.closure(params, body, span);
                let aliases = self.aliases.iter().map(|(&v, alias)| {
                    let v = self.raw_operand(v);
                    quote!(let #alias = ::core::clone::Clone::clone(&#v);)
                });
                let owned = self.owned.iter().map(|(v, owned)| {
                    let v = self.raw_operand(*v);
                    quote!(let #owned = ::core::clone::Clone::clone(#v);)
                });
                return quote!(#(#aliases)* #(#owned)* let #pat = #closure;);
            }
            InstKind::Loop(lp) => return self.loop_stmt(&inst.outs, lp, span),
        };
        quote!(let #pat = #rhs;)
    }

    /// Arrays are written in place: a new array is a `mut` variable, and a write
    /// `store(a, i, v)` moves the old version into the new one and sets the element:
    /// `let mut a_2 = a_1; a_2[i] = v;`.
    fn array_stmt(&self, inst: &Inst) -> Option<TokenStream> {
        let span = inst.span;
        let InstKind::Op(op, args) = &inst.kind else {
            return None;
        };
        let out = self.names.ident(inst.outs[0]);
        match (op, args.as_slice()) {
            (Op::NewArray { .. }, _) => {
                let value = self.op(op, args, &inst.outs, span);
                Some(quote_spanned!(span=> let mut #out = #value;))
            }
            (Op::Store, [a, i, v]) => {
                let (a, i, v) = (self.operand(*a), self.operand(*i), self.operand(*v));
                Some(quote_spanned!(span=> let mut #out = #a; #out[#i] = #v;))
            }
            (Op::Push, [a, _, v]) => {
                let (a, v) = (self.operand(*a), self.operand(*v));
                Some(quote_spanned!(span=> let mut #out = #a; #out.push(#v);))
            }
            (Op::EmptyVec, []) => {
                Some(quote_spanned!(span=> let mut #out = ::std::vec::Vec::new();))
            }
            (Op::EmptyVec, [capacity]) => {
                let capacity = self.operand(*capacity);
                Some(
                    quote_spanned!(span=> let mut #out = ::std::vec::Vec::with_capacity(#capacity);),
                )
            }
            _ => None,
        }
    }
}
