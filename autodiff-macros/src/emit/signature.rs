//! The generated signatures: parameters, gradient and pullback types, lifetimes, docs.

use super::*;

/// The parts of the user's signature the generated functions repeat.
pub(super) struct Signature<'a> {
    f: &'a DiffFn<'a>,
    attrs: TokenStream,
    /// For `f_jvp_lanes`: the tangents' lanes.
    lanes: Option<LanesMode>,
}

impl<'a> Signature<'a> {
    pub(super) fn new(f: &'a DiffFn<'a>) -> Self {
        let attrs = quote! {
            #[allow(unused_variables, unused_mut, unused_assignments, unreachable_code, clippy::all, clippy::pedantic, clippy::nursery)]
        };
        Signature {
            f,
            attrs,
            lanes: None,
        }
    }

    /// The declared result, `()` for none.
    pub(super) fn ret(&self) -> TokenStream {
        match self.f.ret_ty {
            Some(ty) => ty.to_token_stream(),
            None => quote!(()),
        }
    }

    /// The pullback's type: `impl FnOnce(<result's cotangent>, <outputs' cotangents>) ->
    /// <gradient>` (a function that returns nothing takes only the outputs').
    /// One that may be called again (`pullback_reuse`) is `impl Fn(..) -> ..`, and `Copy`
    /// where it captures only numbers and references.
    fn pullback_type(&self, capture: TokenStream, reuse: Reuse) -> TokenStream {
        let (grad, args) = (self.gradient_type(), self.pullback_args());
        match reuse {
            Reuse::Once => quote!(impl FnOnce(#(#args),*) -> #grad #capture),
            Reuse::Many => quote!(impl Fn(#(#args),*) -> #grad #capture),
            Reuse::Copies => {
                quote!(impl Fn(#(#args),*) -> #grad + ::core::marker::Copy #capture)
            }
        }
    }

    /// The types the pullback takes: the result's cotangent, then the outputs'.
    pub(super) fn pullback_args(&self) -> Vec<TokenStream> {
        let ret = self.f.ret_ty.iter().map(|t| t.to_token_stream());
        ret.chain(self.output_cotangents()).collect()
    }

    /// The cotangent types of the output parameters, in order.
    pub(super) fn output_cotangents(&self) -> Vec<TokenStream> {
        self.f.outputs().map(|p| cotangent_type(p.ty)).collect()
    }

    /// `(value, x)`, or `x` alone for a function that returns nothing.
    fn with_value(&self, x: TokenStream) -> TokenStream {
        match self.f.ret_ty {
            Some(ty) => quote!((#ty, #x)),
            None => x,
        }
    }

    pub(super) fn params(&self) -> TokenStream {
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
    pub(super) fn gradient_type(&self) -> TokenStream {
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
        let outputs: Vec<String> = self.f.outputs().map(|p| format!("`{}`", p.ident)).collect();
        let doc = text
            .replace("{f}", &self.f.name().to_string())
            .replace("{params}", &names.join(", "))
            .replace("{outputs}", &outputs.join(", "));
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
        // No result: no arrow.
        let arrow = (!ret.is_empty()).then(|| quote!(->));
        quote! { #doc #attrs #vis fn #name #generics (#params) #arrow #ret #where_clause }
    }

    pub(super) fn grad_head(&self) -> TokenStream {
        let (ret, grad) = (self.ret(), self.gradient_type());
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
    pub(super) fn vjp_head(&self, owned: &[bool], reuse: Reuse) -> TokenStream {
        let doc = match self.f.outputs().next() {
            None => " Value of [`{f}`] and its pullback, which maps a cotangent of the result to the cotangents of {params} (reverse mode).\n\n Generated by `#[differentiable]`.",
            Some(_) => " Runs [`{f}`], writing its outputs {outputs}, and returns its pullback (with its value, if it has one), which maps cotangents of the result and of the outputs' final content, in that order, to the cotangents of {params} (reverse mode). The outputs' content at the start is a constant.\n\n Generated by `#[differentiable]`.",
        };
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
                // The pullback never holds an output: the caller reads it meanwhile.
                if !owned.get(i).copied().unwrap_or(false) && !p.output {
                    syn::visit::Visit::visit_type(&mut borrowed, &ty);
                }
                let ident = &p.ident;
                quote!(#ident: #ty)
            })
            .collect();
        let params = quote!(#(#params),*);
        // Lifetimes go before const parameters.
        let first_const = generics.lifetimes().count();
        for (k, lt) in namer.named.iter().enumerate() {
            let param = syn::GenericParam::Lifetime(syn::LifetimeParam::new(lt.clone()));
            generics.params.insert(first_const + k, param);
        }
        let lifetimes: Vec<_> = generics
            .lifetimes()
            .map(|l| &l.lifetime)
            .filter(|l| borrowed.0.contains(&l.ident.to_string()))
            .collect();
        // A `use<..>` bound names every const parameter (the pullback's types use them).
        let consts = generics.const_params().map(|c| &c.ident);
        // Outputs' lifetimes are left out in every edition (2024 would capture them).
        let capture = if lifetimes.is_empty() && self.f.outputs().next().is_none() {
            quote!()
        } else {
            quote!(+ use<#(#lifetimes,)* #(#consts),*>)
        };
        let name = names::vjp_fn(self.f.name());
        let ret = self.with_value(self.pullback_type(capture, reuse));
        self.head_with(&name, &generics, params, ret, doc)
    }

    /// `tangents` are the identifiers of the tangent parameters, one per active parameter
    /// and output. A function that returns nothing returns no tangent either: its
    /// outputs' tangents are written.
    pub(super) fn jvp_head(&self, tangents: &[proc_macro2::Ident]) -> TokenStream {
        let ret = match self.f.ret_ty {
            Some(ty) => quote!((#ty, #ty)),
            None => TokenStream::new(),
        };
        let tangents = tangents
            .iter()
            .zip(self.f.tangent_params())
            .map(|(name, p)| {
                let ty = p.ty;
                quote!(#name: #ty)
            });
        let params = self.params();
        let params = quote!(#params, #(#tangents),*);
        let doc = match self.f.outputs().next() {
            None => " Value of [`{f}`] and its directional derivative along tangents of {params} (forward mode).\n\n Generated by `#[differentiable]`.",
            Some(_) => " Runs [`{f}`], writing its outputs {outputs}, and writes their tangents (`d_..`) along tangents of {params} (forward mode); returns the value and its tangent, if it has a value.\n\n Generated by `#[differentiable]`.",
        };
        self.head(&names::jvp_fn(self.f.name()), params, ret, doc)
    }

    pub(super) fn grad_fn(&self) -> TokenStream {
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

    pub(super) fn vjp_fn(&self, func: &Func) -> TokenStream {
        let reuse = pullback_reuse(self.f, func);
        let closure = ClosureSig {
            arg: self.ret(),
            outputs: self.output_cotangents(),
            ret: self.gradient_type(),
        };
        // Active borrowed objects are cloned into the pullback, but for `self` (and its
        // fields), which stays borrowed: the pullback may hold it, directly or through the
        // pullback of a method called on a field.
        // The same holds for a parameter a method is called on through a field: the
        // method's pullback may hold that field.
        let receivers = method_receivers(func);
        let owned: Vec<bool> = self
            .f
            .params
            .iter()
            .zip(&func.params)
            .map(|(p, v)| {
                p.active
                    && p.class == TypeClass::Linear
                    && p.by_ref()
                    && !p.receiver
                    && !receivers.contains(v)
            })
            .collect();
        self.function(
            self.vjp_head(&owned, reuse),
            TokenStream::new(),
            func,
            Some(closure),
        )
    }

    pub(super) fn jvp_fn(&self, func: &Func) -> TokenStream {
        let names = Names::assign(func, &self.param_values(func));
        let tangents: Vec<_> = func.params[self.f.params.len()..]
            .iter()
            .map(|&v| names.ident(v))
            .collect();
        // An output's tangent is zero but where the function writes it.
        let zeroed = (tangents.iter().zip(self.f.tangent_params()))
            .filter(|(_, p)| p.output)
            .map(|(d, _)| quote!(#d.fill(::core::default::Default::default());));
        let head = self.jvp_head(&tangents);
        self.function(head, quote!(#(#zeroed)*), func, None)
    }

    /// `f_jvp_lanes::<K>(x.., d_x..)`: `f_jvp` with `K` tangents of each active parameter
    /// carried together (`lanes.tangents`, computed in `func`, get `Lanes<T, K>`).
    pub(super) fn jvp_lanes_fn(mut self, func: &Func, lanes: LanesMode) -> TokenStream {
        let names = Names::assign(func, &self.param_values(func));
        let k = lanes.k.clone();
        let tangents = func.params[self.f.params.len()..]
            .iter()
            .zip(self.f.tangent_params())
            .map(|(&v, p)| {
                let (name, ty) = (names.ident(v), lanes_type(p.ty, &k));
                quote!(#name: #ty)
            });
        let params = self.params();
        let params = quote!(#params, #(#tangents),*);
        let ret = self.f.ret_ty.map(|ty| {
            let lanes_ret = lanes_type(ty, &k);
            quote!((#ty, #lanes_ret))
        });
        let mut generics = self.f.original.sig.generics.clone();
        generics.params.push(syn::parse_quote!(const #k: usize));
        let doc = " Value of [`{f}`] and `K` directional derivatives at once, along the `K` lanes of the tangents of {params} (vector forward mode).\n\n Generated by `#[differentiable(jacobian)]` for `{f}_jacobian`.";
        let name = format_ident!("{}_jvp_lanes", self.f.name());
        let head = self.head_with(&name, &generics, params, ret.unwrap_or_default(), doc);
        self.lanes = Some(lanes);
        self.function(quote!(#[doc(hidden)] #head), TokenStream::new(), func, None)
    }

    /// `prologue`: statements before the body.
    pub(super) fn function(
        &self,
        head: TokenStream,
        prologue: TokenStream,
        func: &Func,
        closure: Option<ClosureSig>,
    ) -> TokenStream {
        let mut e = Emitter::new(func, &self.param_values(func), closure);
        e.f_returns_vector = self.f.returns_vector();
        e.result_ty = self.f.ret_ty.cloned();
        e.inactive = func
            .params
            .iter()
            .zip(&self.f.params)
            .filter(|(_, p)| !p.active)
            .map(|(&v, _)| v)
            .collect();
        e.lanes = self.lanes.clone();
        e.plan_closure();
        e.needs_id = Some(self.needs_id());
        let body = e.block(&func.body);
        let results = self.returned(&e, func);
        let name = self.own_path(self.f.name());
        // Using the derivative counts as using the function (no `dead_code` warning).
        let consts: Vec<_> = (self.f.original.sig.generics.const_params())
            .map(|c| &c.ident)
            .collect();
        let name = if consts.is_empty() {
            name
        } else {
            quote!(#name::<#(#consts),*>)
        };
        quote! { #head { let _ = #name; #prologue #body #results } }
    }

    /// How this function names itself to callers' requests of cotangents: its name and the
    /// types of its first two active parameters.
    fn needs_id(&self) -> TokenStream {
        let name = self.f.name().to_string();
        let mut types: Vec<TokenStream> = (self.f.active_params().take(2))
            .map(|p| {
                let ty = referent(p.ty);
                quote!(::core::any::type_name::<#ty>())
            })
            .collect();
        types.resize(2, quote!(""));
        quote!([#name, #(#types),*])
    }

    /// The function's results: a tuple result's parts as a tuple first, then the pullback
    /// or the tangents (as a tuple too). Outputs' final versions and tangents are written,
    /// not returned; a function that returns nothing returns its pullback alone.
    fn returned(&self, e: &Emitter<'_>, func: &Func) -> TokenStream {
        let (parts, outputs) = (self.f.result_parts().len(), self.f.outputs().count());
        let values = &func.results[..parts];
        // Reverse mode: the pullback; forward mode: the parts' tangents (then the outputs').
        let pullback = e.closure.is_some();
        let rest = match pullback {
            true => &func.results[parts + outputs..],
            false => &func.results[parts + outputs..2 * parts + outputs],
        };
        match parts {
            0 if pullback => e.results_tuple(rest),
            0 => TokenStream::new(),
            1 => e.results_tuple(&[values, rest].concat()),
            _ => {
                let values = e.nested_results(values);
                let rest = match pullback {
                    true => e.results_tuple(rest),
                    false => e.nested_results(rest),
                };
                quote!((#values, #rest))
            }
        }
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
pub(super) struct LifetimesIn(HashSet<String>);

impl<'ast> syn::visit::Visit<'ast> for LifetimesIn {
    fn visit_lifetime(&mut self, lt: &'ast syn::Lifetime) {
        self.0.insert(lt.ident.to_string());
    }
}

/// Gives every elided lifetime (`&T`, `'_`) a name of its own.
pub(super) struct NameLifetimes {
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

/// The types of the pullback closure: its arguments (the result's cotangent, then the
/// outputs') and result.
pub(super) struct ClosureSig {
    pub(super) arg: TokenStream,
    pub(super) outputs: Vec<TokenStream>,
    pub(super) ret: TokenStream,
}

/// The parameters that an active method call's receiver is, or is a field of.
fn method_receivers(func: &Func) -> Vec<Value> {
    fn scan(block: &Block, fields: &mut HashMap<Value, Value>, out: &mut Vec<Value>) {
        for inst in &block.insts {
            match &inst.kind {
                InstKind::Op(Op::Field { .. }, args) => {
                    let root = *fields.get(&args[0]).unwrap_or(&args[0]);
                    fields.insert(inst.outs[0], root);
                }
                InstKind::CallVjp { form, args, .. } if form.method => {
                    out.push(*fields.get(&args[0]).unwrap_or(&args[0]));
                }
                _ => {}
            }
            for b in inst.blocks() {
                scan(b, fields, out);
            }
        }
    }
    let mut out = Vec::new();
    scan(&func.body, &mut HashMap::new(), &mut out);
    out
}
