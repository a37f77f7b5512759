//! The pipeline, from the attribute's tokens to the emitted items, and its error path.

use crate::ir::Func;
use crate::{
    activity, args, ast::DiffFn, ctxt::Ctxt, diag, emit, fence, forward, lower, opt, reverse,
};
use proc_macro2::{Span, TokenStream};
use quote::quote;
use std::panic::{catch_unwind, AssertUnwindSafe};
use syn::spanned::Spanned;
use syn::ItemFn;

/// Expands `#[differentiable(args)] item`. Never panics: a malformed input is a compile
/// error next to the unchanged item, and a bug in the macro is reported as one too.
pub fn differentiable(args: TokenStream, item: TokenStream) -> TokenStream {
    let item_fn: ItemFn = match syn::parse2(item.clone()) {
        Ok(f) => f,
        Err(_) => {
            let span = item
                .clone()
                .into_iter()
                .next()
                .map_or_else(Span::call_site, |t| t.span());
            let error = diag::not_a_function(span).into_compile_error();
            return quote!(#error #item);
        }
    };
    // `#[checkpoint]` is ours to read: the function is emitted without it (rustc has no
    // such attribute on statements).
    let emitted = without_checkpoints(&item_fn);
    match catch_unwind(AssertUnwindSafe(|| try_expand(args, &item_fn, &emitted))) {
        Ok(Ok(tokens)) => tokens,
        Ok(Err(failure)) => fallback(&emitted, failure),
        Err(_) => fallback(
            &emitted,
            Failure {
                error: diag::internal(item_fn.sig.ident.span(), "panic"),
                stubs: None,
            },
        ),
    }
}

struct Failure {
    error: syn::Error,
    stubs: Option<TokenStream>,
}

/// On error, the user's function is still emitted unchanged (with stub derivatives when
/// the signature allows), so the only errors the user sees are ours.
fn fallback(item: &ItemFn, failure: Failure) -> TokenStream {
    let error = failure.error.into_compile_error();
    let stubs = failure.stubs.unwrap_or_default();
    quote!(#error #item #stubs)
}

/// `item` without the `#[checkpoint]` attributes of its loops.
fn without_checkpoints(item: &ItemFn) -> ItemFn {
    struct Strip;
    impl syn::visit_mut::VisitMut for Strip {
        fn visit_attributes_mut(&mut self, attrs: &mut Vec<syn::Attribute>) {
            attrs.retain(|a| !a.path().is_ident("checkpoint"));
        }
    }
    let mut item = item.clone();
    syn::visit_mut::VisitMut::visit_block_mut(&mut Strip, &mut item.block);
    item
}

/// `item` as written is what the pipeline reads (its `#[checkpoint]`s included);
/// `emitted` is the function emitted unchanged (without them).
fn try_expand(args: TokenStream, item: &ItemFn, emitted: &ItemFn) -> Result<TokenStream, Failure> {
    let cx = Ctxt::new();
    let args = args::parse(&cx, args);
    let Some(mut f) = DiffFn::from_syn(&cx, &args, emitted) else {
        let error = cx.check().err();
        let error = error.unwrap_or_else(|| diag::internal(item.span(), "no signature"));
        return Err(Failure { error, stubs: None });
    };
    f.body = crate::desugar::body(&item.block);
    fence::check(&cx, &f);
    // Lowering finds the mistakes that depend on activity (an unknown method on an active
    // value); it runs even past fence errors, so that every mistake is reported at once.
    let mut func = lower::lower(&cx, &f, cx.has_errors());
    lower::check_checkpoints(&cx, &func, f.outputs().next().is_some());
    cx.check().map_err(|error| Failure {
        error,
        stubs: Some(emit::stubs(&f)),
    })?;
    let d = differentiate(&f, &mut func);
    let mut tokens = emit::emit(&f, &d.jvp, &d.vjp);
    if args.jacobian {
        match crate::jacobian::jacobian(&f, &d.jvp, &d.vjp, args.lanes) {
            Ok(more) => tokens.extend(more),
            Err(error) => tokens.extend(error.into_compile_error()),
        }
    }
    if args.graph {
        let dot = crate::ir::graph(&f.name().to_string(), &func, &d.vjp);
        tokens.extend(emit::graph_fn(&f, &dot));
    }
    // `hessian` implies `nested`: the callees of a function with `f_hvp` need `f_dir`.
    let mut second_order = args.nested || args.hessian;
    if second_order {
        // A function `nested` cannot take keeps its first derivatives.
        // Errors name the argument the user wrote.
        let attr = if args.nested { "nested" } else { "hessian" };
        match nested(&f, &func, attr) {
            Ok(more) => tokens.extend(more),
            Err(failure) => {
                tokens.extend(failure.error.into_compile_error());
                second_order = false;
            }
        }
    }
    if args.hessian && second_order {
        match crate::hessian::hessian(&f, &func) {
            Ok(more) => tokens.extend(more),
            Err(error) => tokens.extend(error.into_compile_error()),
        }
    }
    Ok(tokens)
}

/// For `nested`: `f_dir(x, n, d_x) = f_jvp(x, n, d_x).1`, the directional derivative, as a
/// function `#[differentiable]` differentiates like any other (`f_dir_grad`, `f_dir_vjp`,
/// `f_dir_jvp`): second derivatives, and derivatives of functions that use `f_dir` inside.
fn nested(f: &DiffFn, func: &Func, attr: &str) -> Result<TokenStream, Failure> {
    let fail = |error| Failure { error, stubs: None };
    // A float, or a tuple of floats (whose `f_dir` returns a tuple of tangents).
    let floats = f
        .result_parts()
        .iter()
        .all(|t| matches!(crate::ast::classify(t), crate::ast::TypeClass::Float(_)));
    if f.is_method() || !floats || f.outputs().next().is_some() || f.ret_ty.is_none() {
        let shape = match attr {
            "nested" => diag::nested_shape(f.name().span()),
            _ => diag::hessian_shape(f.name().span()),
        };
        return Err(fail(shape));
    }
    let active = active_params(f, func);
    let activity = activity::analyze(func, &active);
    let mut dir = forward::directional(func, &activity, &active).map_err(|missing| {
        let (rule, span) = &missing[0];
        fail(diag::nested_rule(*span, rule, attr))
    })?;
    let item = dir_item(f);
    let cx = Ctxt::new();
    let mut wrt: Vec<_> = f.active_params().map(|p| p.ident.clone()).collect();
    wrt.extend(
        f.active_params()
            .map(|p| crate::names::tangent_param(&p.ident)),
    );
    let args = args::Args {
        wrt: Some(wrt),
        ..Default::default()
    };
    let dir_fn = DiffFn::from_syn(&cx, &args, &item)
        .ok_or_else(|| fail(diag::internal(f.name().span(), "f_dir signature")))?;
    cx.check().map_err(fail)?;
    let d = differentiate(&dir_fn, &mut dir);
    let mut tokens = emit::emit(&dir_fn, &d.jvp, &d.vjp);
    // `f_grad` is for a float result only.
    if !f.returns_vector() {
        tokens.extend(reverse_partials(f, func, &activity, &active)?);
    }
    Ok(tokens)
}

/// For `nested`: `f_grad_k_of_n(x..) = f_grad(x..).1.k`, the `k`-th partial by reverse mode, with
/// its own derivatives, so that a differentiable function may call `f_grad` (see
/// `fence::tuple_let`). Only for float parameters and code the sweep can write (see
/// `reverse::written`: no active arrays); otherwise none is generated, and a caller's `f_grad` is reported by rustc
/// as a missing `f_grad_k_of_n`.
fn reverse_partials(
    f: &DiffFn,
    func: &Func,
    activity: &activity::Activity,
    active: &[crate::ir::Value],
) -> Result<TokenStream, Failure> {
    let fail = |error| Failure { error, stubs: None };
    if active.iter().any(|&p| !func.ty(p).is_float()) {
        return Ok(TokenStream::new());
    }
    let Ok(partials) = reverse::partials(func, activity, active) else {
        return Ok(TokenStream::new());
    };
    let mut tokens = TokenStream::new();
    let n = partials.len();
    for (k, mut partial) in partials.into_iter().enumerate() {
        let item = partial_item(f, k, n);
        let cx = Ctxt::new();
        let args = args::Args {
            wrt: Some(f.active_params().map(|p| p.ident.clone()).collect()),
            ..Default::default()
        };
        let partial_fn = DiffFn::from_syn(&cx, &args, &item)
            .ok_or_else(|| fail(diag::internal(f.name().span(), "f_grad_k_of_n signature")))?;
        cx.check().map_err(fail)?;
        let d = differentiate(&partial_fn, &mut partial);
        tokens.extend(emit::emit(&partial_fn, &d.jvp, &d.vjp));
    }
    Ok(tokens)
}

/// `fn f_grad_k_of_n(<f's parameters>) -> R { f_grad(..).1.k }` (`.1` alone for one).
fn partial_item(f: &DiffFn, k: usize, n: usize) -> ItemFn {
    let sig = &f.original.sig;
    let name = quote::format_ident!("{}{}", sig.ident, crate::names::partial_suffix(k, n));
    let grad = quote::format_ident!("{}_grad", sig.ident);
    let (vis, generics, inputs, output) =
        (&f.original.vis, &sig.generics, &sig.inputs, &sig.output);
    let call = f.params.iter().map(|p| &p.ident);
    let select = (n > 1).then(|| syn::Index::from(k));
    let select = select.map(|k| quote!(.#k));
    let param = f.active_params().nth(k).map(|p| p.ident.to_string());
    let doc = format!(
        " The partial derivative of [`{}`] with respect to `{}` by reverse mode (`{grad}(..).1`), \
         generated by `#[differentiable(nested)]` as the reverse sweep written out, and \
         differentiated again: `{name}_grad`, `{name}_vjp`, `{name}_jvp`. A differentiable \
         function that destructures `{grad}(..)` calls it.",
        sig.ident,
        param.unwrap_or_default()
    );
    syn::parse_quote! {
        #[doc = #doc]
        #[allow(clippy::too_many_arguments)]
        #vis fn #name #generics (#inputs) #output {
            #grad(#(#call),*).1 #select
        }
    }
}

/// `fn f_dir(<f's parameters>, d_p: P, ..) -> R { f_jvp(.., d_p, ..).1 }`.
fn dir_item(f: &DiffFn) -> ItemFn {
    let sig = &f.original.sig;
    let name = quote::format_ident!("{}_dir", sig.ident);
    let jvp = quote::format_ident!("{}_jvp", sig.ident);
    let (vis, generics, inputs, output) =
        (&f.original.vis, &sig.generics, &sig.inputs, &sig.output);
    let tangents: Vec<_> = f
        .active_params()
        .map(|p| {
            let (d, ty) = (crate::names::tangent_param(&p.ident), p.ty);
            quote!(#d: #ty)
        })
        .collect();
    let mut call: Vec<_> = f.params.iter().map(|p| p.ident.clone()).collect();
    call.extend(
        f.active_params()
            .map(|p| crate::names::tangent_param(&p.ident)),
    );
    let doc = format!(
        " The derivative of [`{}`] along the tangents `d_..` of its active parameters \
         (`{jvp}(..).1`), generated by `#[differentiable(nested)]` and differentiated again: \
         `{name}_grad`, `{name}_vjp`, `{name}_jvp`.",
        sig.ident
    );
    syn::parse_quote! {
        #[doc = #doc]
        #[allow(clippy::too_many_arguments)]
        #vis fn #name #generics (#inputs, #(#tangents),*) #output {
            #jvp(#(#call),*).1
        }
    }
}

/// The IR parameters of `f`'s active parameters.
pub fn active_params(f: &DiffFn, func: &Func) -> Vec<crate::ir::Value> {
    params_where(f, func, |p| p.active)
}

/// The IR parameters of `f`'s parameters that `select` picks.
fn params_where(
    f: &DiffFn,
    func: &Func,
    select: impl Fn(&crate::ast::Param) -> bool,
) -> Vec<crate::ir::Value> {
    func.params
        .iter()
        .zip(&f.params)
        .filter(|(_, p)| select(p))
        .map(|(&v, _)| v)
        .collect()
}

/// The forward and reverse derivatives of a function.
pub struct Derivatives {
    pub jvp: Func,
    pub vjp: Func,
}

/// Optimises the lowered IR of `f` (in place), analyses activity, and differentiates in
/// both modes.
pub fn differentiate(f: &DiffFn, func: &mut Func) -> Derivatives {
    opt::optimize(func);
    // Output parameters are varied from the start and have tangents, like active ones,
    // but no cotangent of their own: the pullback takes their final content's.
    let with_tangents = params_where(f, func, |p| p.active || p.output);
    let activity = activity::analyze(func, &with_tangents);
    let jvp = forward::jvp(func, &activity, &with_tangents);
    let (active, outputs) = (active_params(f, func), params_where(f, func, |p| p.output));
    let vjp = reverse::vjp(func, &activity, &active, &outputs);
    Derivatives { jvp, vjp }
}
