//! One statement per instruction, one small function per family of instructions:
//! operations and rules, zeros, cotangent accumulation, calls and their requests, guards,
//! closures.

use super::*;
use crate::ir::{Request, Run};

/// What an instruction emits: an expression bound to its results (`let pat = expr;`), or
/// a whole statement.
enum Emitted {
    Expr(TokenStream),
    Stmt(TokenStream),
}

use Emitted::{Expr, Stmt};

impl Emitter<'_> {
    pub(super) fn inst(&self, inst: &Inst) -> TokenStream {
        if inst.outs.len() == 1 && self.inline.contains_key(&inst.outs[0]) {
            return TokenStream::new();
        }
        if let Some(stmt) = self.array_stmt(inst) {
            return stmt;
        }
        let span = inst.span;
        let pat = self.inst_pattern(inst);
        let emitted = match &inst.kind {
            InstKind::Op(op, args) => Expr(self.op(op, args, &inst.outs, span)),
            InstKind::If { cond, then, els } => self.if_expr(inst, *cond, then, els),
            InstKind::Rule { name, args } => Expr(self.rule_call(name, args, span)),
            InstKind::Sum(parts) => Expr(self.sum(parts, span)),
            InstKind::Zero => Expr(quote_spanned!(span=> ::autodiff::__private::zero())),
            InstKind::ZeroLike(v) => Expr(self.zero_like(*v, span)),
            InstKind::Buffer { like } => {
                let (buffer, like) = (self.names.ident(inst.outs[0]), self.by_ref_operand(*like));
                Stmt(
                    quote_spanned!(span=> let mut #buffer = ::autodiff::__private::zero_like(#like);),
                )
            }
            InstKind::TakeAt {
                buffer,
                index,
                grow,
            } => Expr(self.take_at(*buffer, *index, *grow, span)),
            InstKind::AddElem {
                buffer,
                indices,
                value,
            } => Stmt(self.add_elem(*buffer, indices, *value, span)),
            InstKind::AddField {
                buffer,
                member,
                value,
                assign,
            } => Stmt(self.add_field(*buffer, member, *value, *assign, span)),
            InstKind::AddAt {
                buffer,
                index,
                value,
                grow,
            } => Stmt(self.add_at(*buffer, *index, *value, *grow, span)),
            InstKind::AddAll {
                buffer,
                value,
                grow,
                range,
            } => Stmt(self.add_all(*buffer, *value, *grow, *range, span)),
            InstKind::AddRun(run) => Stmt(self.add_run(run, span)),
            InstKind::Window {
                array,
                lo,
                hi,
                inclusive,
                before,
                after,
            } => Expr(self.window(*array, (*lo, *hi, *inclusive), (*before, *after), span)),
            InstKind::CallJvp { path, args, form } => {
                Expr(self.call(path, form, "_jvp", args, span))
            }
            InstKind::CallVjp {
                path,
                args,
                form,
                request,
            } => {
                let call = self.call(path, form, "_vjp", args, span);
                match request {
                    None => Expr(call),
                    Some(request) => Stmt(self.requested(&pat, call, path, args, request, span)),
                }
            }
            InstKind::Needs => {
                let id = self.needs_id.clone().unwrap_or_default();
                Expr(quote!(::autodiff::__private::needs(#id)))
            }
            InstKind::Guard { needs, mask, inner } => self.guard(inst, *needs, *mask, inner),
            InstKind::Pullback { pullback, seeds } => {
                let (pb, seed) = (self.operand(*pullback), self.tuple(seeds));
                Expr(quote_spanned!(span=> #pb(#seed)))
            }
            InstKind::Closure { params, body } => Stmt(self.closure_stmt(&pat, params, body, span)),
            InstKind::Loop(lp) => Stmt(self.loop_stmt(&inst.outs, lp, span)),
        };
        match emitted {
            Expr(rhs) => quote!(let #pat = #rhs;),
            Stmt(stmt) => stmt,
        }
    }

    /// The binding pattern of an instruction's results; a call of a function returning a
    /// tuple binds `((a, b), pullback)` or `((a, b), (d_a, d_b))`.
    fn inst_pattern(&self, inst: &Inst) -> TokenStream {
        let parts = match &inst.kind {
            InstKind::CallJvp { form, .. } | InstKind::CallVjp { form, .. } => form.parts,
            _ => 0,
        };
        match inst.outs.split_at_checked(parts) {
            Some((values, rest)) if parts > 1 => {
                let (values, rest) = (self.pattern(values), self.pattern(rest));
                quote!((#values, #rest))
            }
            _ => self.pattern(&inst.outs),
        }
    }

    fn if_expr(&self, inst: &Inst, cond: Value, then: &Block, els: &Block) -> Emitted {
        let span = inst.span;
        let (cond, then, els) = (
            self.operand(cond),
            self.block_value(then),
            self.block_value(els),
        );
        let expr = quote_spanned!(span=> if #cond { #then } else { #els });
        if inst.outs.is_empty() {
            Stmt(quote!(#expr;))
        } else {
            Expr(expr)
        }
    }

    /// A runtime rule; objects (matrices, floats of a type the macro cannot see) take the
    /// rules of `autodiff_runtime::rules::linalg`, by reference.
    fn rule_call(&self, name: &str, args: &[Value], span: Span) -> TokenStream {
        let name = format_ident!("{}", name, span = span);
        if args.iter().any(|&a| self.is_obj(a)) {
            let args: Vec<_> = args.iter().map(|&a| self.by_ref_operand(a)).collect();
            quote_spanned!(span=> ::autodiff::__private::obj::#name(#(#args),*))
        } else {
            let args = self.operands(args);
            quote_spanned!(span=> ::autodiff::__private::#name(#(#args),*))
        }
    }

    /// Cotangent contributions added: floats with `+`; objects (matrices, derived
    /// structs, floats behind fields) through `Differentiable::accumulate`, which every
    /// cotangent type has (a derived struct has no `+`).
    fn sum(&self, parts: &[Value], span: Span) -> TokenStream {
        if let (true, Some((&first, rest))) =
            (parts.iter().any(|&a| self.is_obj(a)), parts.split_first())
        {
            let first = self.by_ref_operand(first);
            let rest = rest.iter().map(|&a| self.by_ref_operand(a));
            return quote_spanned!(span=> ::autodiff::__private::obj::sum(#first, &[#(#rest),*]));
        }
        let parts = self.operands(parts);
        quote_spanned!(span=> #(#parts)+*)
    }

    fn zero_like(&self, v: Value, span: Span) -> TokenStream {
        if let Some(lanes) = &self.lanes {
            // In `f_jvp_lanes` every `zero_like` makes a tangent.
            if self.func.ty(v).is_float() {
                return lanes.zero();
            }
            let (elem, k, v) = (&lanes.elem, &lanes.k, self.by_ref_operand(v));
            return quote_spanned!(span=> ::autodiff::lanes::zero_like::<#elem, #k, _>(#v));
        }
        match self.func.ty(v) {
            Ty::F64 => quote_spanned!(span=> 0.0_f64),
            Ty::F32 => quote_spanned!(span=> 0.0_f32),
            _ if self.by_ref(v) => {
                let v = self.raw_operand(v);
                quote_spanned!(span=> ::autodiff::__private::zero_like(#v))
            }
            _ => {
                let v = self.typed_operand(v);
                quote_spanned!(span=> ::autodiff::__private::zero_like(&#v))
            }
        }
    }

    /// The cotangent of an overwritten element, which becomes zero.
    fn take_at(&self, buffer: Value, index: Value, grow: bool, span: Span) -> TokenStream {
        let (b, i) = (self.operand(buffer), self.operand(index));
        if grow {
            quote_spanned!(span=> ::autodiff::__private::take_at_grow(&mut #b, #i))
        } else {
            quote_spanned!(span=> ::core::mem::take(&mut #b[#i]))
        }
    }

    /// `buffer[i] += value` or `buffer[(i, j)] += value`: into a matrix's cotangent.
    fn add_elem(&self, buffer: Value, indices: &[Value], value: Value, span: Span) -> TokenStream {
        let (b, v) = (self.raw_operand(buffer), self.operand(value));
        let ix: Vec<TokenStream> = indices.iter().map(|&i| self.operand(i)).collect();
        match ix.as_slice() {
            [i] => quote_spanned!(span=> #b[#i] += #v;),
            _ => quote_spanned!(span=> #b[(#(#ix),*)] += #v;),
        }
    }

    /// `buffer[index] += value` into an array's cotangent; a `grow` buffer (of a `Vec`
    /// built by `push`) is lengthened first.
    fn add_at(
        &self,
        buffer: Value,
        index: Value,
        value: Value,
        grow: bool,
        span: Span,
    ) -> TokenStream {
        let (b, i, v) = (
            self.operand(buffer),
            self.operand(index),
            self.operand(value),
        );
        if grow {
            quote_spanned!(span=> ::autodiff::__private::add_at_grow(&mut #b, #i, #v);)
        } else {
            quote_spanned!(span=> #b[#i] += #v;)
        }
    }

    /// A callee's cotangent of a whole array added into the caller's buffer for it.
    fn add_all(
        &self,
        buffer: Value,
        value: Value,
        grow: bool,
        range: Option<(Value, Value)>,
        span: Span,
    ) -> TokenStream {
        let (b, v) = (self.raw_operand(buffer), self.by_ref_operand(value));
        match range {
            Some((lo, _)) if grow => {
                let lo = self.operand(lo);
                return quote_spanned!(span=> ::autodiff::__private::add_all_grow_at(&mut #b, #lo, #v););
            }
            Some((lo, hi)) => {
                let (lo, hi) = (self.operand(lo), self.operand(hi));
                return quote_spanned!(span=> ::autodiff::__private::add_all(&mut #b[#lo..#hi], #v););
            }
            None => {}
        }
        let add = if grow {
            quote!(add_all_grow)
        } else {
            quote!(add_all)
        };
        quote_spanned!(span=> ::autodiff::__private::#add(&mut #b, #v);)
    }

    /// A loop adjoint's recorded additions to elements at an offset from its index, made
    /// after it, one run of elements at a time.
    fn add_run(&self, run: &Run, span: Span) -> TokenStream {
        let (b, r, first, backwards) = (
            self.raw_operand(run.buffer),
            self.by_ref_operand(run.records),
            self.operand(run.first),
            run.backwards,
        );
        let value = if run.fields == 1 {
            quote!(|r| *r)
        } else {
            let k = syn::Index::from(run.field);
            quote!(|r| r.#k)
        };
        let sum = |terms: &[Value]| match terms {
            [] => quote!(0usize),
            _ => {
                let terms = self.operands(terms);
                quote!(#(#terms)+*)
            }
        };
        let (up, down) = (sum(&run.shift.up), sum(&run.shift.down));
        quote_spanned!(span=> ::autodiff::__private::add_run(&mut #b, #r, #value, (#first, #up, #down), #backwards);)
    }

    /// The elements a counted loop over `lo..hi` reads of `array` around its index.
    fn window(
        &self,
        array: Value,
        (lo, hi, inclusive): (Value, Value, bool),
        (before, after): (usize, usize),
        span: Span,
    ) -> TokenStream {
        let (a, lo, hi) = (
            self.by_ref_operand(array),
            self.operand(lo),
            self.operand(hi),
        );
        let end = if inclusive {
            quote!((#hi).saturating_add(1))
        } else {
            hi
        };
        quote_spanned!(span=> ::autodiff::__private::window(#a, #lo, #end, #before, #after))
    }

    /// A contribution added into a field of a parameter's cotangent (the whole cotangent
    /// for an empty `member`), or assigned for the first write.
    fn add_field(
        &self,
        buffer: Value,
        member: &TokenStream,
        value: Value,
        assign: bool,
        span: Span,
    ) -> TokenStream {
        let b = self.raw_operand(buffer);
        let place = if member.is_empty() {
            quote!(#b)
        } else {
            quote!(#b.#member)
        };
        if assign {
            let v = self.operand(value);
            quote_spanned!(span=> #place = #v;)
        } else {
            let v = self.by_ref_operand(value);
            quote_spanned!(span=> ::autodiff::__private::accumulate(&mut #place, #v);)
        }
    }

    /// A callee's pullback requested with the cotangents the caller needs: bit `i` of the
    /// mask also needs one of the parameters argument `i`'s cotangent reaches. The callee
    /// is addressed as it names itself (see `needs_id`): its name and the types of its
    /// first two differentiable arguments.
    fn requested(
        &self,
        pat: &TokenStream,
        call: TokenStream,
        path: &TokenStream,
        args: &[Value],
        request: &Request,
        span: Span,
    ) -> TokenStream {
        let mask = request.mask;
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
        quote_spanned! {span=>
            ::autodiff::__private::request_needs([#name, #(#types),*], #mask);
            let #pat = #call;
            ::autodiff::__private::withdraw_request();
        }
    }

    /// `inner` only when the caller needs one of the cotangents in `mask`; otherwise its
    /// used results are placeholders.
    fn guard(&self, inst: &Inst, needs: Value, mask: u64, inner: &Inst) -> Emitted {
        let (needs, stmt) = (self.raw_operand(needs), self.inst(inner));
        let cond = quote!(#needs & #mask != 0);
        if inst.outs.is_empty() {
            return Stmt(quote!(if #cond { #stmt }));
        }
        let used = |o: &Value| self.used.contains(o);
        let kept: Vec<TokenStream> = inst
            .outs
            .iter()
            .map(|o| match used(o) {
                true => self.names.ident(*o).into_token_stream(),
                false => quote!(()),
            })
            .collect();
        let holders: Vec<TokenStream> = inst
            .outs
            .iter()
            .map(|o| match used(o) {
                true => quote!(::autodiff::__private::placeholder()),
                false => quote!(()),
            })
            .collect();
        Expr(match (kept.as_slice(), holders.as_slice()) {
            ([kept], [holder]) => quote!(if #cond { #stmt #kept } else { #holder }),
            _ => quote!(if #cond { #stmt (#(#kept),*) } else { (#(#holders),*) }),
        })
    }

    /// The pullback closure, after the clones it captures.
    fn closure_stmt(
        &self,
        pat: &TokenStream,
        params: &[Value],
        body: &Block,
        span: Span,
    ) -> TokenStream {
        let closure = self.closure(params, body, span);
        let aliases = self.aliases.iter().map(|(&v, alias)| {
            let v = self.raw_operand(v);
            quote!(let #alias = ::core::clone::Clone::clone(&#v);)
        });
        let owned = self.owned.iter().map(|(v, owned)| {
            let v = self.raw_operand(*v);
            quote!(let #owned = ::core::clone::Clone::clone(#v);)
        });
        quote!(#(#aliases)* #(#owned)* let #pat = #closure;)
    }
}
