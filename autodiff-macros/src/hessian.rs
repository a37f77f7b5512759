//! `#[differentiable(hessian)]`: `f_hvp` and `f_hessian`, second derivatives for users.
//!
//! Input: the optimised IR of `f(x) -> y` (one float result) and its activity. Output:
//!
//! ```text
//! fn f_jvp_vjp(x, d_x) -> ((y, d_y), pullback)   // reverse mode of the forward mode
//! fn f_hvp(x, d_x) -> (y, ∇f(x), H·d_x)           // one forward and one reverse sweep
//! fn f_hessian(x) -> (y, ∇f(x), H)                // n products, one per unit tangent
//! ```
//!
//! The forward mode is written as ordinary operations (`forward::symbolic`), `g(x, v) =
//! (f(x), ∇f(x)·v)`, and differentiated by the one reverse engine: with the seed `(0, 1)`,
//! `∂g₂/∂x = H v` and, because `g₂` is linear in `v`, `∂g₂/∂v = ∇f(x)`. So one sweep
//! gives the value, the gradient and the product, at a constant multiple of `f`'s cost,
//! through loops, branches, arrays, matrices and calls (whose callees have `f_dir`, from
//! `nested` or `hessian`). This is reverse over forward (Pearlmutter's R-operator), which
//! computes the same numbers as forward over reverse; it is the order here because the
//! forward mode writes array and matrix tangents as ordinary IR, which the reverse engine
//! takes whole, while the written-out reverse sweep has no active arrays.

use crate::ast::{classify, DiffFn, TypeClass};
use crate::ir::Func;
use crate::wrappers::{as_ref, locals, passed, Flat};
use crate::{activity, args, ctxt::Ctxt, diag, emit, forward, names, opt, reverse};
use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};
use syn::ItemFn;

/// `f_jvp_vjp`, `f_hvp` and `f_hessian` for `f`, whose IR is `func`.
pub fn hessian(f: &DiffFn, func: &Func) -> Result<TokenStream, syn::Error> {
    let float =
        f.result_parts().len() == 1 && matches!(f.ret_ty.map(classify), Some(TypeClass::Float(_)));
    if f.is_method() || !float || f.outputs().next().is_some() || f.active_params().count() == 0 {
        return Err(diag::hessian_shape(f.name().span()));
    }
    let active = crate::expand::active_params(f, func);
    let act = activity::analyze(func, &active);
    let mut tangent = forward::symbolic(func, &act, &active).map_err(|missing| {
        let (rule, span) = &missing[0];
        diag::nested_rule(*span, rule, "hessian")
    })?;
    let item = jvp_item(f);
    let cx = Ctxt::new();
    let mut wrt: Vec<_> = f.active_params().map(|p| p.ident.clone()).collect();
    wrt.extend(f.active_params().map(|p| names::tangent_param(&p.ident)));
    let args = args::Args {
        wrt: Some(wrt),
        ..Default::default()
    };
    let jvp_fn = DiffFn::from_syn(&cx, &args, &item)
        .ok_or_else(|| diag::internal(f.name().span(), "f_jvp signature"))?;
    cx.check()?;
    // Every parameter of `g` is active: the primal's and the tangents.
    opt::optimize(&mut tangent);
    let all = crate::expand::active_params(&jvp_fn, &tangent);
    let act = activity::analyze(&tangent, &all);
    let vjp = reverse::vjp(&tangent, &act, &all, &[]);
    let mut tokens = emit::vjp_only(&jvp_fn, &vjp);
    tokens.extend(hvp_fn(f));
    tokens.extend(hessian_fn(f));
    Ok(tokens)
}

/// `fn f_jvp(<f's parameters>, d_p: P, ..) -> (R, R)`, the signature `g` is emitted
/// under (its body is never emitted: `f_jvp` is the first-order one).
fn jvp_item(f: &DiffFn) -> ItemFn {
    let sig = &f.original.sig;
    let name = names::jvp_fn(&sig.ident);
    let (vis, generics, inputs) = (&f.original.vis, &sig.generics, &sig.inputs);
    let ret = f.ret_ty;
    let tangents = f.active_params().map(|p| {
        let (d, ty) = (names::tangent_param(&p.ident), p.ty);
        quote!(#d: #ty)
    });
    syn::parse_quote! {
        #vis fn #name #generics (#inputs, #(#tangents),*) -> (#ret, #ret) {
            ::core::unreachable!()
        }
    }
}

/// The head of a generated function: `f`'s visibility and generics, `params`, `ret`.
fn head(
    f: &DiffFn,
    name: &syn::Ident,
    params: TokenStream,
    ret: TokenStream,
    doc: &str,
) -> TokenStream {
    let sig = &f.original.sig;
    let (vis, generics, where_clause) =
        (&f.original.vis, &sig.generics, &sig.generics.where_clause);
    quote! {
        #[doc = #doc]
        #[allow(clippy::too_many_arguments, clippy::type_complexity)]
        #vis fn #name #generics (#params) -> #ret #where_clause
    }
}

/// `f`'s parameters as declared, then a tangent `d_p` of each active one's type.
fn params_and_tangents(f: &DiffFn) -> (TokenStream, Vec<syn::Ident>) {
    let inputs = &f.original.sig.inputs;
    let tangents: Vec<syn::Ident> = f
        .active_params()
        .map(|p| names::tangent_param(&p.ident))
        .collect();
    let typed = tangents.iter().zip(f.active_params()).map(|(d, p)| {
        let ty = p.ty;
        quote!(#d: #ty)
    });
    (quote!(#inputs, #(#typed),*), tangents)
}

/// `a` alone, or `(a, b, ..)`.
fn group(parts: &[TokenStream]) -> TokenStream {
    match parts {
        [one] => one.clone(),
        _ => quote!((#(#parts),*)),
    }
}

/// `f_hvp(x.., d_x..) = (f(x), ∇f(x), H·d_x)` from `f_jvp_vjp`'s pullback seeded `(0, 1)`.
fn hvp_fn(f: &DiffFn) -> TokenStream {
    let name = f.name();
    let (params, tangents) = params_and_tangents(f);
    let (ret, grad) = (f.ret_ty, emit::gradient_type(f));
    let doc = format!(
        " Value, gradient and Hessian-vector product of [`{name}`]: `(f, ∇f, H·d)` for tangents `d_..` of its active parameters (as `{name}_jvp` takes them; the gradient and the product as `{name}_grad` returns the gradient).\n\n One forward and one reverse sweep (reverse mode over forward mode). Generated by `#[differentiable(hessian)]`."
    );
    let head = head(
        f,
        &format_ident!("{name}_hvp"),
        params,
        quote!((#ret, #grad, #grad)),
        &doc,
    );
    let jvp_vjp = format_ident!("{name}_jvp_vjp");
    let args = f.params.iter().map(|p| &p.ident);
    let (h, g) = (locals(f, "h"), locals(f, "g"));
    let (value, pullback) = (
        names::local("value", Span::call_site()),
        names::local("pullback", Span::call_site()),
    );
    let (hs, gs) = (group(&idents(&h)), group(&idents(&g)));
    quote! {
        #head {
            let ((#value, _), #pullback) = #jvp_vjp(#(#args,)* #(#tangents),*);
            let (#(#h,)* #(#g),*) = #pullback((0.0, 1.0));
            (#value, #gs, #hs)
        }
    }
}

fn idents(ids: &[syn::Ident]) -> Vec<TokenStream> {
    ids.iter().map(|i| quote!(#i)).collect()
}

/// `f_hessian(x..) = (f(x), ∇f(x), H)`: column `j` of `H` is `f_hvp` along the `j`-th unit
/// tangent of the active parameters flattened in order (see `autodiff::flat`).
fn hessian_fn(f: &DiffFn) -> TokenStream {
    let name = f.name();
    let (ret, grad) = (f.ret_ty, emit::gradient_type(f));
    let doc = format!(
        " Value, gradient and Hessian of [`{name}`]: `(f, ∇f, H)`, `H` over the active parameters flattened in order (a float is one entry; slices, arrays and `Vec`s their elements; nalgebra values column-major; derived structs in their `visit` order), one Hessian-vector product (`{name}_hvp`) per column.\n\n Generated by `#[differentiable(hessian)]`."
    );
    let inputs = &f.original.sig.inputs;
    let matrix = quote!(::autodiff::nalgebra::DMatrix<#ret>);
    let head = head(
        f,
        &format_ident!("{name}_hessian"),
        quote!(#inputs),
        quote!((#ret, #grad, #matrix)),
        &doc,
    );
    let local = |s: &str| names::local(s, Span::call_site());
    let (h, j, first, at) = (local("h"), local("j"), local("first"), local("at"));
    let flat = Flat::new(f);
    let (n, count) = (&flat.n, flat.count());
    let (tangents, parts) = (locals(f, "d"), locals(f, "hv"));
    let units = flat.units(&tangents, &j);
    let args = f.params.iter().map(|p| passed(&p.ident, p.by_ref()));
    let directions = f
        .active_params()
        .zip(&tangents)
        .map(|(p, d)| as_ref(d, !p.by_ref()));
    let hvp = format_ident!("{name}_hvp");
    let (all_parts, hv) = (group(&idents(&parts)), local("hv"));
    let grad_fn = names::grad_fn(name);
    let plain = f.params.iter().map(|p| &p.ident);
    let (value, gradient) = (local("value"), local("gradient"));
    quote! {
        #head {
            #count
            let mut #h = <#matrix>::zeros(#n, #n);
            let mut #first = ::core::option::Option::None;
            for #j in 0..#n {
                #units
                let (#value, #gradient, #hv) = #hvp(#(#args,)* #(#directions),*);
                let #all_parts = #hv;
                let mut #at = 0usize;
                #(#at = ::autodiff::flat::column(&mut #h, #j, #at, &#parts);)*
                #first = ::core::option::Option::Some((#value, #gradient));
            }
            let (#value, #gradient) = match #first {
                ::core::option::Option::Some(v) => v,
                ::core::option::Option::None => #grad_fn(#(#plain),*),
            };
            (#value, #gradient, #h)
        }
    }
}
