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
    match catch_unwind(AssertUnwindSafe(|| try_expand(args, &item_fn))) {
        Ok(Ok(tokens)) => tokens,
        Ok(Err(failure)) => fallback(&item_fn, failure),
        Err(_) => fallback(
            &item_fn,
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

fn try_expand(args: TokenStream, item: &ItemFn) -> Result<TokenStream, Failure> {
    let cx = Ctxt::new();
    let args = args::parse(&cx, args);
    let Some(f) = DiffFn::from_syn(&cx, &args, item) else {
        let error = cx.check().err();
        let error = error.unwrap_or_else(|| diag::internal(item.span(), "no signature"));
        return Err(Failure { error, stubs: None });
    };
    fence::check(&cx, &f);
    // Lowering finds the mistakes that depend on activity (an unknown method on an active
    // value); it runs even past fence errors, so that every mistake is reported at once.
    let mut func = lower::lower(&cx, &f, cx.has_errors());
    cx.check().map_err(|error| Failure {
        error,
        stubs: Some(emit::stubs(&f)),
    })?;
    let d = differentiate(&f, &mut func);
    Ok(emit::emit(&f, &d.jvp, &d.vjp))
}

/// The forward derivative of a function of one float (the closure of `m.map(|v| ..)`),
/// a function of the parameter and its tangent.
pub fn scalar_jvp(mut func: Func) -> Func {
    opt::optimize(&mut func);
    let active = func.params.clone();
    let activity = activity::analyze(&func, &active);
    forward::jvp(&func, &activity, &active)
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
    let active: Vec<_> = func
        .params
        .iter()
        .zip(&f.params)
        .filter(|(_, p)| p.active)
        .map(|(&v, _)| v)
        .collect();
    let activity = activity::analyze(func, &active);
    let jvp = forward::jvp(func, &activity, &active);
    let vjp = reverse::vjp(func, &activity, &active);
    Derivatives { jvp, vjp }
}
