//! Emission: IR to Rust tokens. The only stage that writes Rust syntax.
//!
//! Input: `#[differentiable] fn f(x: f64, n: i32) -> f64 { .. }` and the IR of its forward
//! and reverse derivatives. Output: the function unchanged, then
//!
//! ```text
//! fn f_grad(x: f64, n: i32) -> (f64, f64) {
//!     let (value, pullback) = f_vjp(x, n);
//!     (value, pullback(1.0))
//! }
//! fn f_vjp(x: f64, n: i32) -> (f64, impl FnOnce(f64) -> f64) {
//!     let y = ..;                                  // the primal
//!     let pullback = move |d_ret: f64| -> f64 { ..; d_x };
//!     (y, pullback)
//! }
//! fn f_jvp(x: f64, n: i32, d_x: f64) -> (f64, f64) { ..; (y, d_y) }
//! ```
//!
//! Each value is one `let`; constants are written inline where they are used. Operations
//! carry the user's span, so a type error in generated code points at the user's code.

use crate::ast::{DiffFn, TypeClass};
use crate::ir::{
    Adapter, Block, CallForm, Const, Func, Inst, InstKind, Loop, LoopKind, Op, Range, Ty, Value,
};
use crate::names::{self, Names};
use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use std::collections::{HashMap, HashSet};
use syn::visit_mut::{self, VisitMut};

/// The original function followed by its three derivatives.
pub fn emit(f: &DiffFn, jvp: &Func, vjp: &Func) -> TokenStream {
    let original = f.original;
    let sig = Signature::new(f);
    let grad = if f.returns_array() {
        TokenStream::new()
    } else {
        sig.grad_fn()
    };
    let vjp = sig.vjp_fn(vjp);
    let jvp = sig.jvp_fn(jvp);
    quote! { #original #grad #vjp #jvp }
}

/// Declarations of the derivatives with bodies that are never compiled into a program:
/// emitted next to a compile error so that callers see that error, not a cascade of
/// "cannot find `f_grad`".
pub fn stubs(f: &DiffFn) -> TokenStream {
    let sig = Signature::new(f);
    let msg = "#[differentiable] reported an error for this function";
    let body = quote!({ ::core::unreachable!(#msg) });
    let (ret, gradient) = (f.ret_ty, sig.gradient_type());
    // Not diverging, so that the `impl FnOnce` result has a concrete closure type.
    let vjp_body = quote!({
        let pullback = move |_: #ret| -> #gradient { ::core::unreachable!(#msg) };
        (::core::default::Default::default(), pullback)
    });
    let tangents: Vec<_> = f
        .active_params()
        .map(|p| {
            names::local(
                &format!("d_{}", names::sanitize(&p.ident.to_string())),
                p.ident.span(),
            )
        })
        .collect();
    let (grad, vjp, jvp) = (sig.grad_head(), sig.vjp_head(&[]), sig.jvp_head(&tangents));
    let grad = if f.returns_array() {
        TokenStream::new()
    } else {
        quote!(#grad #body)
    };
    quote! { #grad #vjp #vjp_body #jvp #body }
}

/// The parts of the user's signature the generated functions repeat.
struct Signature<'a> {
    f: &'a DiffFn<'a>,
    attrs: TokenStream,
}

impl<'a> Signature<'a> {
    fn new(f: &'a DiffFn<'a>) -> Self {
        let attrs = quote! {
            #[allow(unused_variables, unused_mut, unused_assignments, clippy::all, clippy::pedantic, clippy::nursery)]
        };
        Signature { f, attrs }
    }

    fn params(&self) -> TokenStream {
        let params = self.f.params.iter().map(|p| {
            let (ident, ty) = (&p.ident, p.ty);
            quote!(#ident: #ty)
        });
        quote!(#(#params),*)
    }

    fn param_values(&self, func: &Func) -> Vec<(Value, proc_macro2::Ident)> {
        func.params
            .iter()
            .zip(&self.f.params)
            .map(|(&v, p)| (v, p.ident.clone()))
            .collect()
    }

    /// `f64` for one active parameter, `(f64, f32)` for several.
    fn gradient_type(&self) -> TokenStream {
        let tys: Vec<_> = self
            .f
            .active_params()
            .map(|p| cotangent_type(p.ty))
            .collect();
        match tys.as_slice() {
            [one] => quote!(#one),
            _ => quote!((#(#tys),*)),
        }
    }

    /// `f` for a function, `Self::f` for a method.
    fn own_path(&self, name: &proc_macro2::Ident) -> TokenStream {
        if self.f.is_method() {
            quote!(Self::#name)
        } else {
            quote!(#name)
        }
    }

    fn doc(&self, text: &str) -> TokenStream {
        let names: Vec<String> = self
            .f
            .active_params()
            .map(|p| format!("`{}`", p.ident))
            .collect();
        let doc = text
            .replace("{f}", &self.f.name().to_string())
            .replace("{params}", &names.join(", "));
        quote!(#[doc = #doc])
    }

    fn head(
        &self,
        name: &proc_macro2::Ident,
        params: TokenStream,
        ret: TokenStream,
        doc: &str,
    ) -> TokenStream {
        self.head_with(name, &self.f.original.sig.generics, params, ret, doc)
    }

    fn head_with(
        &self,
        name: &proc_macro2::Ident,
        generics: &syn::Generics,
        params: TokenStream,
        ret: TokenStream,
        doc: &str,
    ) -> TokenStream {
        let vis = &self.f.original.vis;
        let where_clause = &generics.where_clause;
        let (doc, attrs) = (self.doc(doc), &self.attrs);
        quote! { #doc #attrs #vis fn #name #generics (#params) -> #ret #where_clause }
    }

    fn grad_head(&self) -> TokenStream {
        let (ret, grad) = (self.f.ret_ty, self.gradient_type());
        let doc = " Value and gradient of [`{f}`] with respect to {params}.\n\n Generated by `#[differentiable]`.";
        self.head(
            &names::grad_fn(self.f.name()),
            self.params(),
            quote!((#ret, #grad)),
            doc,
        )
    }

    /// The pullback may capture borrowed parameters, so every lifetime in the parameters
    /// is named and listed in a `use<..>` bound (in edition 2021 an `impl Trait` result
    /// would not capture elided lifetimes):
    /// `fn f_vjp<'__ad0>(x: f64, c: &'__ad0 C) -> (f64, impl FnOnce(f64) -> f64 + use<'__ad0>)`.
    ///
    /// Parameters in `owned` are not borrowed by the pullback (it captures clones of what
    /// it needs of them), so their lifetimes are left out of `use<..>`: a caller may pass
    /// a reference to its own local.
    fn vjp_head(&self, owned: &[bool]) -> TokenStream {
        let (ret, grad) = (self.f.ret_ty, self.gradient_type());
        let doc = " Value of [`{f}`] and its pullback, which maps a cotangent of the result to the cotangents of {params} (reverse mode).\n\n Generated by `#[differentiable]`.";
        let mut generics = self.f.original.sig.generics.clone();
        let mut namer = NameLifetimes { named: Vec::new() };
        let mut borrowed = LifetimesIn::default();
        let params: Vec<TokenStream> = self
            .f
            .params
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let mut ty = p.ty.clone();
                namer.visit_type_mut(&mut ty);
                if !owned.get(i).copied().unwrap_or(false) {
                    syn::visit::Visit::visit_type(&mut borrowed, &ty);
                }
                let ident = &p.ident;
                quote!(#ident: #ty)
            })
            .collect();
        let params = quote!(#(#params),*);
        for lt in &namer.named {
            generics
                .params
                .push(syn::GenericParam::Lifetime(syn::LifetimeParam::new(
                    lt.clone(),
                )));
        }
        let lifetimes: Vec<_> = generics
            .lifetimes()
            .map(|l| &l.lifetime)
            .filter(|l| borrowed.0.contains(&l.ident.to_string()))
            .collect();
        let capture = if lifetimes.is_empty() {
            quote!()
        } else {
            quote!(+ use<#(#lifetimes),*>)
        };
        let name = names::vjp_fn(self.f.name());
        self.head_with(
            &name,
            &generics,
            params,
            quote!((#ret, impl FnOnce(#ret) -> #grad #capture)),
            doc,
        )
    }

    /// `tangents` are the identifiers of the tangent parameters, one per active parameter.
    fn jvp_head(&self, tangents: &[proc_macro2::Ident]) -> TokenStream {
        let ret = self.f.ret_ty;
        let tangents = tangents
            .iter()
            .zip(self.f.active_params())
            .map(|(name, p)| {
                let ty = p.ty;
                quote!(#name: #ty)
            });
        let params = self.params();
        let params = quote!(#params, #(#tangents),*);
        let doc = " Value of [`{f}`] and its directional derivative along tangents of {params} (forward mode).\n\n Generated by `#[differentiable]`.";
        self.head(
            &names::jvp_fn(self.f.name()),
            params,
            quote!((#ret, #ret)),
            doc,
        )
    }

    fn grad_fn(&self) -> TokenStream {
        let head = self.grad_head();
        let vjp = self.own_path(&names::vjp_fn(self.f.name()));
        let args = self.f.params.iter().map(|p| &p.ident);
        let (value, pullback) = (
            names::local("value", Span::call_site()),
            names::local("pullback", Span::call_site()),
        );
        quote! {
            #head {
                let (#value, #pullback) = #vjp(#(#args),*);
                (#value, #pullback(1.0))
            }
        }
    }

    fn vjp_fn(&self, func: &Func) -> TokenStream {
        let closure = ClosureSig {
            arg: self.f.ret_ty.to_token_stream(),
            ret: self.gradient_type(),
        };
        // Active borrowed objects are cloned into the pullback, but for `self` (and its
        // fields), which stays borrowed: the pullback may hold it, directly or through the
        // pullback of a method called on a field.
        let owned: Vec<bool> = self
            .f
            .params
            .iter()
            .map(|p| p.active && p.class == TypeClass::Linear && p.by_ref() && !p.receiver)
            .collect();
        self.function(self.vjp_head(&owned), func, Some(closure))
    }

    fn jvp_fn(&self, func: &Func) -> TokenStream {
        let names = Names::assign(func, &self.param_values(func));
        let tangents: Vec<_> = func.params[self.f.params.len()..]
            .iter()
            .map(|&v| names.ident(v))
            .collect();
        self.function(self.jvp_head(&tangents), func, None)
    }

    fn function(&self, head: TokenStream, func: &Func, closure: Option<ClosureSig>) -> TokenStream {
        let mut e = Emitter::new(func, &self.param_values(func), closure);
        e.f_returns_array = self.f.returns_array();
        e.inactive = func
            .params
            .iter()
            .zip(&self.f.params)
            .filter(|(_, p)| !p.active)
            .map(|(&v, _)| v)
            .collect();
        e.plan_closure();
        let name = self.f.name().to_string();
        let mut types: Vec<TokenStream> = self
            .f
            .active_params()
            .take(2)
            .map(|p| {
                let ty = referent(p.ty);
                quote!(::core::any::type_name::<#ty>())
            })
            .collect();
        types.resize(2, quote!(""));
        e.needs_id = Some(quote!([#name, #(#types),*]));
        let body = e.block(&func.body);
        let results = e.results_tuple(&func.results);
        let name = self.own_path(self.f.name());
        // Using the derivative counts as using the function (no `dead_code` warning).
        quote! { #head { let _ = #name; #body #results } }
    }
}

/// The type behind a reference (`&[f64]` gives `[f64]`, `&self`'s type gives `Self`).
fn referent(ty: &syn::Type) -> &syn::Type {
    match ty {
        syn::Type::Reference(r) => referent(&r.elem),
        syn::Type::Paren(p) => referent(&p.elem),
        syn::Type::Group(g) => referent(&g.elem),
        _ => ty,
    }
}

/// The owned type of a parameter's cotangent: `&[f64]` and `Vec<f64>` give `Vec<f64>`,
/// `&[f64; 3]` gives `[f64; 3]`, a float gives itself.
fn cotangent_type(ty: &syn::Type) -> TokenStream {
    match ty {
        syn::Type::Reference(r) => cotangent_type(&r.elem),
        syn::Type::Paren(p) => cotangent_type(&p.elem),
        syn::Type::Group(g) => cotangent_type(&g.elem),
        syn::Type::Slice(s) => {
            let elem = &s.elem;
            quote!(::std::vec::Vec<#elem>)
        }
        _ => ty.to_token_stream(),
    }
}

/// The names of the lifetimes a type mentions.
#[derive(Default)]
struct LifetimesIn(HashSet<String>);

impl<'ast> syn::visit::Visit<'ast> for LifetimesIn {
    fn visit_lifetime(&mut self, lt: &'ast syn::Lifetime) {
        self.0.insert(lt.ident.to_string());
    }
}

/// Gives every elided lifetime (`&T`, `'_`) a name of its own.
struct NameLifetimes {
    named: Vec<syn::Lifetime>,
}

impl NameLifetimes {
    fn fresh(&mut self) -> syn::Lifetime {
        let lt = syn::Lifetime::new(&format!("'__ad{}", self.named.len()), Span::mixed_site());
        self.named.push(lt.clone());
        lt
    }
}

impl VisitMut for NameLifetimes {
    fn visit_type_reference_mut(&mut self, r: &mut syn::TypeReference) {
        if r.lifetime.is_none() {
            r.lifetime = Some(self.fresh());
        }
        visit_mut::visit_type_reference_mut(self, r);
    }

    fn visit_lifetime_mut(&mut self, lt: &mut syn::Lifetime) {
        if lt.ident == "_" {
            *lt = self.fresh();
        }
    }
}

/// The types of the pullback closure: its argument (the result's cotangent) and result.
struct ClosureSig {
    arg: TokenStream,
    ret: TokenStream,
}

struct Emitter<'a> {
    func: &'a Func,
    names: Names,
    /// Values written inline at their uses (constants, zeros).
    inline: HashMap<Value, TokenStream>,
    used: HashSet<Value>,
    /// How many times each value may be moved (objects are cloned unless moved once).
    moves: HashMap<Value, usize>,
    /// Results the pullback also captures: cloned under this name before the closure.
    aliases: HashMap<Value, proc_macro2::Ident>,
    /// Borrowed objects the pullback captures: cloned under this name into the closure,
    /// which borrows them again under their own name.
    owned: Vec<(Value, proc_macro2::Ident)>,
    /// Inactive parameters: borrowed by the pullback as they are.
    inactive: HashSet<Value>,
    /// How this function names itself when it takes the caller's request of needed
    /// cotangents: `[name, type of the first, of the second differentiable parameter]`.
    needs_id: Option<TokenStream>,
    closure: Option<ClosureSig>,
    f_returns_array: bool,
}

impl<'a> Emitter<'a> {
    fn new(
        func: &'a Func,
        params: &[(Value, proc_macro2::Ident)],
        closure: Option<ClosureSig>,
    ) -> Self {
        let mut e = Emitter {
            func,
            names: Names::assign(func, params),
            inline: HashMap::new(),
            used: HashSet::new(),
            moves: HashMap::new(),
            aliases: HashMap::new(),
            owned: Vec::new(),
            inactive: HashSet::new(),
            needs_id: None,
            f_returns_array: false,
            closure,
        };
        e.scan(&func.body);
        e.used.extend(&func.results);
        e.count_moves(&func.body);
        for &r in &func.results {
            *e.moves.entry(r).or_default() += 1;
        }
        e
    }

    fn is_obj(&self, v: Value) -> bool {
        self.func.ty(v) == Ty::Obj
    }

    fn by_ref(&self, v: Value) -> bool {
        self.func.info(v).by_ref
    }

    /// Counts the uses of every value, so that an object is moved only where that is its
    /// only use (and cloned elsewhere). Writes into cotangent buffers do not count: they
    /// all come before the buffer is yielded.
    fn count_moves(&mut self, block: &Block) {
        for &y in &block.yields {
            *self.moves.entry(y).or_default() += 1;
        }
        for inst in &block.insts {
            for v in own_uses(inst) {
                *self.moves.entry(v).or_default() += 1;
            }
            for b in inst.blocks() {
                self.count_moves(b);
            }
        }
    }

    /// Plans what the pullback closure captures: a result it also captures is cloned
    /// before the closure moves it; an object it would capture by reference (a borrowed
    /// parameter, a field of one) is cloned into the closure instead, so that the pullback
    /// does not borrow from the caller (who may pass a reference to a local of its own).
    /// `self` and its fields are captured as they are.
    fn plan_closure(&mut self) {
        let captured = captured(self.func);
        for &r in &self.func.results {
            if self.is_obj(r) && !self.by_ref(r) && captured.contains(&r) {
                let alias = format_ident!("{}_value", self.names.ident(r));
                self.aliases.insert(r, alias);
            }
        }
        let receiver = self_and_fields(self.func);
        let mut owned: Vec<Value> = captured
            .into_iter()
            .filter(|&v| {
                self.is_obj(v)
                    && self.by_ref(v)
                    && !receiver.contains(&v)
                    && !self.inactive.contains(&v)
            })
            .collect();
        owned.sort();
        self.owned = owned
            .into_iter()
            .map(|v| (v, format_ident!("{}_owned", self.names.ident(v))))
            .collect();
    }

    /// `v` where a reference is wanted: `&v`, or `v` if it holds one.
    fn by_ref_operand(&self, v: Value) -> TokenStream {
        let t = self.raw_operand(v);
        if self.by_ref(v) {
            t
        } else {
            quote!(&#t)
        }
    }

    fn scan(&mut self, block: &Block) {
        self.used.extend(&block.yields);
        for inst in &block.insts {
            self.used.extend(inst.uses());
            match &inst.kind {
                InstKind::Op(op, _) => {
                    if let Some(tokens) = inline_op(op, inst.span) {
                        self.inline.insert(inst.outs[0], tokens);
                    }
                }
                InstKind::Zero => {
                    self.inline.insert(
                        inst.outs[0],
                        quote_spanned!(inst.span=> ::autodiff::__private::zero()),
                    );
                }
                _ => {
                    for b in inst.blocks() {
                        self.scan(b);
                    }
                }
            }
        }
    }

    fn block(&self, block: &Block) -> TokenStream {
        block.insts.iter().map(|i| self.inst(i)).collect()
    }

    /// The block's statements followed by its yields as a tail expression.
    fn block_value(&self, block: &Block) -> TokenStream {
        let stmts = self.block(block);
        let value = self.tuple(&block.yields);
        quote!(#stmts #value)
    }

    /// The variable (or inline expression) as it is.
    fn raw_operand(&self, v: Value) -> TokenStream {
        match self.inline.get(&v) {
            Some(tokens) => tokens.clone(),
            None => self.names.ident(v).into_token_stream(),
        }
    }

    /// `v` where a value is wanted: a float behind a reference is copied out (`*v`); an
    /// object is moved where this is its only move, cloned otherwise.
    fn operand(&self, v: Value) -> TokenStream {
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

    fn operands(&self, vs: &[Value]) -> Vec<TokenStream> {
        vs.iter().map(|&v| self.operand(v)).collect()
    }

    /// The function's results, read from their aliases where the pullback captured them.
    fn results_tuple(&self, vs: &[Value]) -> TokenStream {
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
    fn tuple(&self, vs: &[Value]) -> TokenStream {
        let items = self.operands(vs);
        match items.as_slice() {
            [one] => one.clone(),
            _ => quote!((#(#items),*)),
        }
    }

    /// The binding pattern for an instruction's results; unused results are `_`.
    fn pattern(&self, outs: &[Value]) -> TokenStream {
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

    fn inst(&self, inst: &Inst) -> TokenStream {
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
    fn loop_stmt(&self, outs: &[Value], lp: &Loop, span: Span) -> TokenStream {
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
        // Annotated where the type is known: a later `x.sin()` on a carried `0.0` needs it.
        let decls = outs
            .iter()
            .zip(&vars)
            .zip(&lp.inits)
            .map(|((&o, var), &init)| {
                let init = self.operand(init);
                match self.func.ty(o) {
                    Ty::F64 => quote!(let mut #var: f64 = #init;),
                    Ty::F32 => quote!(let mut #var: f32 = #init;),
                    Ty::Bool => quote!(let mut #var: bool = #init;),
                    _ => quote!(let mut #var = #init;),
                }
            });
        let push = lp.record.as_ref().map(|r| {
            let tape = self.names.ident(r.tape);
            let items = self.tuple(&r.items);
            quote!(#tape.push(#items);)
        });
        // A counted loop knows its trip count: the tape is allocated once.
        let iter = names::local("iteration_range", span);
        let tape_decl = lp.record.as_ref().map(|r| {
            let tape = self.names.ident(r.tape);
            match &lp.kind {
                LoopKind::For { range, .. } => {
                    let range = self.range(range);
                    quote!(let #iter = #range; let mut #tape = ::std::vec::Vec::with_capacity(#iter.size_hint().0);)
                }
                _ => quote!(let mut #tape = ::std::vec::Vec::new();),
            }
        });
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
            LoopKind::Tape { tape, items } => {
                let (tape, items) = (self.operand(*tape), self.pattern(items));

                quote_spanned!(span=> for #items in #tape.into_iter().rev() { #iteration })
            }
        };
        let results = self.tuple(outs);
        let pat = self.pattern(outs);
        if outs.is_empty() {
            return quote!({ #tape_decl #(#decls)* #looped });
        }
        quote!(let #pat = { #tape_decl #(#decls)* #looped #results };)
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

    fn closure(&self, params: &[Value], body: &Block, span: Span) -> TokenStream {
        let params: Vec<_> = params.iter().map(|&p| self.names.ident(p)).collect();
        let borrow_again = self.owned.iter().map(|(v, owned)| {
            let v = self.names.ident(*v);
            quote!(let #v = &#owned;)
        });
        let body = self.block_value(body);
        let body = quote!(#(#borrow_again)* #body);
        match &self.closure {
            // An array cotangent is a buffer the pullback updates in place.
            Some(ClosureSig { arg, ret }) if self.f_returns_array => {
                quote_spanned!(span=> move |#(mut #params: #arg),*| -> #ret { #body })
            }
            Some(ClosureSig { arg, ret }) => {
                quote_spanned!(span=> move |#(#params: #arg),*| -> #ret { #body })
            }
            None => quote_spanned!(span=> move |#(#params),*| { #body }),
        }
    }

    /// `g<suffix>(..)` for a call of `g` (last path segment suffixed), or
    /// `recv.g<suffix>(..)` for a method; arguments passed as the user passed them.
    fn call(
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
                // A variable holding a reference is passed on as it is, like in the source.
                if form.borrowed(i) || (self.by_ref(a) && self.is_obj(a)) {
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

    fn op(&self, op: &Op, args: &[Value], outs: &[Value], span: Span) -> TokenStream {
        // Arithmetic on objects borrows them: `&a * &b` (nalgebra implements both).
        let objects = matches!(op, Op::Add | Op::Sub | Op::Mul | Op::Div | Op::Neg)
            && args.iter().any(|&v| self.is_obj(v));
        let a: Vec<TokenStream> = if objects {
            args.iter()
                .map(|&v| {
                    if self.is_obj(v) {
                        self.by_ref_operand(v)
                    } else {
                        self.operand(v)
                    }
                })
                .collect()
        } else {
            self.operands(args)
        };
        match (op, a.as_slice()) {
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
            (Op::Map { closure, .. }, [_]) => {
                let m = self.raw_operand(args[0]);
                quote_spanned!(span=> #m.map(#closure))
            }
            (Op::MapRule { mode, jvp }, [_, _]) => {
                let name = format_ident!("map_{}", mode.name(), span = span);
                let (m, seed) = (self.by_ref_operand(args[0]), self.by_ref_operand(args[1]));
                let closure = scalar_closure(jvp);
                quote_spanned!(span=> ::autodiff::__private::obj::#name(#m, #seed, #closure))
            }
            (Op::Lin(l), [_, ..]) => {
                let name = format_ident!("{}", l.name(), span = span);
                let recv = self.raw_operand(args[0]);
                let rest = args[1..].iter().map(|&v| self.by_ref_operand(v));
                quote_spanned!(span=> #recv.#name(#(#rest),*))
            }
            (Op::Call { path, form }, _) => self.call(path, form, "", args, span),
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
            (Op::Index, [array, index]) => quote_spanned!(span=> #array[#index]),
            (Op::NewArray { fixed: false }, [fill, len]) => quote_spanned!(span=> ::std::vec![#fill; #len]),
            (Op::NewArray { fixed: true }, [fill, len]) => quote_spanned!(span=> [#fill; #len]),
            (Op::Len, [array]) => quote_spanned!(span=> #array.len()),
            (op, _) => inline_op(op, span).unwrap_or_else(|| quote_spanned!(span=> ::core::compile_error!("internal error in #[differentiable]: malformed operation"))),
        }
    }

    /// An operand whose type must be known where it stands: an unsuffixed float literal
    /// of known width gets its suffix (`0.0_f32`).
    fn typed_operand(&self, v: Value) -> TokenStream {
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
    /// `2.0.sin()` does not compile where `f64::sin(2.0)` does.
    fn receiver(&self, v: Value, tokens: &TokenStream) -> TokenStream {
        if !self.inline.contains_key(&v) {
            return tokens.clone();
        }
        let text = tokens.to_string();
        if !text.starts_with(|c: char| c.is_ascii_digit() || c == '-') {
            return tokens.clone();
        }
        let unsuffixed = text.chars().all(|c| {
            c.is_ascii_digit()
                || c == '.'
                || c == '_'
                || c == 'e'
                || c == 'E'
                || c == '-'
                || c == '+'
        });
        match (self.func.ty(v), unsuffixed) {
            (Ty::F64, true) => format!("({text}_f64)")
                .parse()
                .unwrap_or_else(|_| tokens.clone()),
            (Ty::F32, true) => format!("({text}_f32)")
                .parse()
                .unwrap_or_else(|_| tokens.clone()),
            _ => tokens.clone(),
        }
    }
}

/// `|v, d_v| { ..; (y, d_y) }`: a function of one float and its tangent (the forward
/// derivative of a `map` closure) as a closure whose types rustc infers.
fn scalar_closure(func: &Func) -> TokenStream {
    let params: Vec<(Value, proc_macro2::Ident)> = func
        .params
        .iter()
        .take(1)
        .map(|&v| {
            let name = func.info(v).name.clone().unwrap_or_else(|| "v".into());
            (v, format_ident!("{}", name))
        })
        .collect();
    let e = Emitter::new(func, &params, None);
    let idents: Vec<proc_macro2::Ident> = func.params.iter().map(|&v| e.names.ident(v)).collect();
    let body = e.block(&func.body);
    let results = e.results_tuple(&func.results);
    quote!(|#(#idents),*| { #body #results })
}

/// The values the pullback closure of `func` (its last instruction) reads from outside.
fn captured(func: &Func) -> HashSet<Value> {
    let Some(InstKind::Closure { params, body }) = func.body.insts.last().map(|i| &i.kind) else {
        return HashSet::new();
    };
    let mut inside = params.clone();
    body.defs(&mut inside);
    let inside: HashSet<Value> = inside.into_iter().collect();
    body.uses()
        .into_iter()
        .filter(|v| !inside.contains(v))
        .collect()
}

/// `self` and the fields read from it (`&self.w`): values the pullback may keep borrowed,
/// since a receiver is normally part of the caller's own parameters.
fn self_and_fields(func: &Func) -> HashSet<Value> {
    let mut out: HashSet<Value> = func
        .params
        .iter()
        .copied()
        .filter(|&p| func.info(p).name.as_deref() == Some("self"))
        .collect();
    fn scan(block: &Block, out: &mut HashSet<Value>) {
        for inst in &block.insts {
            if let InstKind::Op(Op::Field { .. }, args) = &inst.kind {
                if args.iter().any(|a| out.contains(a)) {
                    out.extend(&inst.outs);
                }
            }
            for b in inst.blocks() {
                scan(b, out);
            }
        }
    }
    scan(&func.body, &mut out);
    out
}

/// The values `inst` reads itself (not in its blocks), but for the buffers it writes.
fn own_uses(inst: &Inst) -> Vec<Value> {
    match &inst.kind {
        InstKind::AddField { value, .. } => vec![*value],
        InstKind::AddElem { indices, value, .. } => {
            let mut out = indices.clone();
            out.push(*value);
            out
        }
        InstKind::AddAt { index, value, .. } => vec![*index, *value],
        InstKind::TakeAt { index, .. } => vec![*index],
        InstKind::If { cond, .. } => vec![*cond],
        InstKind::Loop(lp) => {
            let mut out = lp.header_uses();
            if let Some(r) = &lp.record {
                out.extend(&r.items);
            }
            out
        }
        InstKind::Closure { .. } => Vec::new(),
        InstKind::Guard { needs, inner, .. } => {
            let mut out = own_uses(inner);
            out.push(*needs);
            out
        }
        _ => inst.uses(),
    }
}

/// The expression of an operation that is written inline at its uses, if it is one.
fn inline_op(op: &Op, span: Span) -> Option<TokenStream> {
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

/// `a::b::g` with `suffix` (`_vjp`, or nothing) appended to `g`, keeping the spans.
pub fn suffixed_path(path: &TokenStream, suffix: &str) -> TokenStream {
    let mut tokens: Vec<proc_macro2::TokenTree> = path.clone().into_iter().collect();
    if let Some(proc_macro2::TokenTree::Ident(last)) = tokens.last_mut() {
        *last = proc_macro2::Ident::new(&format!("{last}{suffix}"), last.span());
    }
    tokens.into_iter().collect()
}
