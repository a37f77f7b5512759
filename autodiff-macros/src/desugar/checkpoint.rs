//! `#[checkpoint]` and `#[checkpoint(snapshots = K)]` on `for i in lo..hi { .. }`: the
//! loop split into segments, the inner loop marked to be run again by the reverse mode:
//!
//! ```text
//! { let len = segment_len(lo, hi, K);            // K = 0: about √(hi − lo)
//!   for s in 0..segment_count(lo, hi, len) {
//!       let a = segment_start(lo, s, len); let b = segment_end(a, len, hi);
//!       #[recompute] for i in a..b { .. }
//!   } }
//! ```
//!
//! The outer loop's tape holds the carried state at each segment's start (K snapshots);
//! its adjoint runs each segment again, recording that segment's tape, then the
//! segment's adjoint. So a loop of T iterations keeps K states and T/K iterations'
//! records instead of T iterations' (√T and √T by default), for one more run of the
//! primal. (Binomial checkpointing, Griewank's revolve, would keep fewer snapshots for
//! more runs; √T segments keep the run count at two whatever T.)

use syn::{Expr, ExprForLoop};

/// The marker the rewrite puts on the inner loop, which lowering reads.
pub const RECOMPUTE: &str = "__autodiff_recompute";

/// Whether `attrs` hold the rewrite's marker.
pub fn is_recompute(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| a.path().is_ident(RECOMPUTE))
}

/// The `#[checkpoint]` attribute among `attrs`.
pub fn attr(attrs: &[syn::Attribute]) -> Option<&syn::Attribute> {
    attrs.iter().find(|a| a.path().is_ident("checkpoint"))
}

/// For a loop with `#[checkpoint]`: its snapshot count (`None` for the default), or why
/// the loop cannot take it. `None` for a loop without the attribute.
pub fn spec(f: &ExprForLoop) -> Option<Result<Option<Expr>, syn::Error>> {
    let attr = attr(&f.attrs)?;
    Some(check(f, attr))
}

fn check(f: &ExprForLoop, attr: &syn::Attribute) -> Result<Option<Expr>, syn::Error> {
    let snapshots = snapshots(attr)?;
    let range = match crate::fence::strip(&f.expr) {
        Expr::Range(r) => Some(r),
        _ => None,
    };
    let half_open = range.is_some_and(|r| {
        matches!(r.limits, syn::RangeLimits::HalfOpen(_)) && r.start.is_some() && r.end.is_some()
    });
    if !half_open {
        return Err(crate::diag::checkpoint_range(&f.expr));
    }
    if let Some(span) = crate::lower::first_exit(&f.body) {
        return Err(crate::diag::checkpoint_exit(span));
    }
    Ok(snapshots)
}

/// `#[checkpoint]` (none) or `#[checkpoint(snapshots = K)]`.
fn snapshots(attr: &syn::Attribute) -> Result<Option<Expr>, syn::Error> {
    match &attr.meta {
        syn::Meta::Path(_) => Ok(None),
        syn::Meta::List(list) => {
            let nv: syn::MetaNameValue =
                syn::parse2(list.tokens.clone()).map_err(|_| crate::diag::checkpoint_args(attr))?;
            if !nv.path.is_ident("snapshots") {
                return Err(crate::diag::checkpoint_args(attr));
            }
            Ok(Some(nv.value))
        }
        syn::Meta::NameValue(_) => Err(crate::diag::checkpoint_args(attr)),
    }
}

/// The segmented loops for `f`, whose attribute `spec` accepted.
pub fn rewrite(f: &ExprForLoop, snapshots: Option<Expr>, names: [syn::Ident; 6]) -> Expr {
    let Expr::Range(range) = crate::fence::strip(&f.expr) else {
        return Expr::ForLoop(f.clone());
    };
    let (lo, hi) = (&range.start, &range.end);
    let [lo_v, hi_v, len, s, a, b] = &names;
    let k = snapshots.unwrap_or_else(|| syn::parse_quote!(0));
    let (pat, body, span) = (&f.pat, &f.body, f.for_token.span);
    let marker = quote::format_ident!("{}", RECOMPUTE, span = span);
    let p = quote::quote_spanned!(span=> ::autodiff::__private);
    syn::parse_quote_spanned! {span=> {
        let #lo_v = #lo;
        let #hi_v = #hi;
        let #len = #p::segment_len(#lo_v, #hi_v, #k);
        for #s in 0..#p::segment_count(#lo_v, #hi_v, #len) {
            let #a = #p::segment_start(#lo_v, #s, #len);
            let #b = #p::segment_end(#a, #len, #hi_v);
            #[#marker]
            for #pat in #a..#b #body
        }
    }}
}
