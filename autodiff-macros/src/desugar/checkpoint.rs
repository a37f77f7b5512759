//! `#[checkpoint]`, `#[checkpoint(snapshots = K)]` and `#[checkpoint(every = L)]` on
//! `for i in lo..hi { .. }` and on `while cond { .. }`: the loop split into segments, the
//! inner loop marked to be run again by the reverse mode. A `for` loop:
//!
//! ```text
//! { let len = segment_len(lo, hi, K);            // K = 0: about √(hi − lo)
//!   for s in 0..segment_count(lo, hi, len) {
//!       let a = segment_start(lo, s, len); let b = segment_end(a, len, hi);
//!       #[recompute] for i in a..b { .. }
//!   } }
//! ```
//!
//! A `while` loop, whose trip count is not known in advance, in segments of `L`
//! iterations (1,024 by default):
//!
//! ```text
//! { let mut go = true;
//!   while go {
//!       let mut k = 0;
//!       #[recompute] while k < L && cond { k += 1; .. }
//!       go = k == L;
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

/// A `while` loop's segment length when `every` is not given.
const WHILE_SEGMENT: usize = 1024;

/// Whether `attrs` hold the rewrite's marker.
pub fn is_recompute(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| a.path().is_ident(RECOMPUTE))
}

/// The `#[checkpoint]` attribute among `attrs`.
pub fn attr(attrs: &[syn::Attribute]) -> Option<&syn::Attribute> {
    attrs.iter().find(|a| a.path().is_ident("checkpoint"))
}

/// How a loop is split.
pub enum Segments {
    /// About √n segments of a `for` loop; 1,024 iterations each of a `while` loop.
    Default,
    /// `snapshots = K`: K segments (a `for` loop only).
    Snapshots(Expr),
    /// `every = L`: segments of L iterations.
    Every(Expr),
}

/// For a `for` loop with `#[checkpoint]`: how to split it, or why it cannot be. `None`
/// for a loop without the attribute.
pub fn spec(f: &ExprForLoop) -> Option<Result<Segments, syn::Error>> {
    let attr = attr(&f.attrs)?;
    Some(check(f, attr))
}

fn check(f: &ExprForLoop, attr: &syn::Attribute) -> Result<Segments, syn::Error> {
    let segments = segments(attr)?;
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
    exits(&f.body)?;
    Ok(segments)
}

/// For a `while` loop with `#[checkpoint]`: its segment length, or why it cannot be split.
pub fn spec_while(w: &syn::ExprWhile) -> Option<Result<Option<Expr>, syn::Error>> {
    let attr = attr(&w.attrs)?;
    let every = match segments(attr) {
        Ok(Segments::Default) => Ok(None),
        Ok(Segments::Every(l)) => Ok(Some(l)),
        Ok(Segments::Snapshots(_)) => Err(crate::diag::checkpoint_while_snapshots(attr)),
        Err(e) => Err(e),
    };
    Some(every.and_then(|every| exits(&w.body).map(|()| every)))
}

/// A segmented loop must run to its end: no `break` or `return` leaves it.
fn exits(body: &syn::Block) -> Result<(), syn::Error> {
    match crate::lower::first_exit(body) {
        Some(span) => Err(crate::diag::checkpoint_exit(span)),
        None => Ok(()),
    }
}

/// `#[checkpoint]`, `#[checkpoint(snapshots = K)]` or `#[checkpoint(every = L)]`.
fn segments(attr: &syn::Attribute) -> Result<Segments, syn::Error> {
    let bad = || crate::diag::checkpoint_args(attr);
    match &attr.meta {
        syn::Meta::Path(_) => Ok(Segments::Default),
        syn::Meta::List(list) => {
            let nv: syn::MetaNameValue = syn::parse2(list.tokens.clone()).map_err(|_| bad())?;
            match nv.path.get_ident().map(ToString::to_string).as_deref() {
                Some("snapshots") => Ok(Segments::Snapshots(nv.value)),
                Some("every") => Ok(Segments::Every(nv.value)),
                _ => Err(bad()),
            }
        }
        syn::Meta::NameValue(_) => Err(bad()),
    }
}

/// The segmented loops for `f`, whose attribute `spec` accepted.
pub fn rewrite(f: &ExprForLoop, segments: Segments, names: [syn::Ident; 6]) -> Expr {
    let Expr::Range(range) = crate::fence::strip(&f.expr) else {
        return Expr::ForLoop(f.clone());
    };
    let (lo, hi) = (&range.start, &range.end);
    let [lo_v, hi_v, len, s, a, b] = &names;
    let (pat, body, span) = (&f.pat, &f.body, f.for_token.span);
    let marker = quote::format_ident!("{}", RECOMPUTE, span = span);
    let p = quote::quote_spanned!(span=> ::autodiff::__private);
    let len_expr = match segments {
        Segments::Default => quote::quote_spanned!(span=> #p::segment_len(#lo_v, #hi_v, 0)),
        Segments::Snapshots(k) => quote::quote_spanned!(span=> #p::segment_len(#lo_v, #hi_v, #k)),
        Segments::Every(l) => quote::quote_spanned!(span=> #p::segment_every(#lo_v, #l)),
    };
    syn::parse_quote_spanned! {span=> {
        let #lo_v = #lo;
        let #hi_v = #hi;
        let #len = #len_expr;
        for #s in 0..#p::segment_count(#lo_v, #hi_v, #len) {
            let #a = #p::segment_start(#lo_v, #s, #len);
            let #b = #p::segment_end(#a, #len, #hi_v);
            #[#marker]
            for #pat in #a..#b #body
        }
    }}
}

/// The segmented loops for `w`, whose attribute `spec_while` accepted (`every` iterations
/// a segment, or the default).
pub fn rewrite_while(w: &syn::ExprWhile, every: Option<Expr>, names: [syn::Ident; 3]) -> Expr {
    let [len, go, k] = &names;
    let (cond, body, span) = (&w.cond, &w.body, w.while_token.span);
    let marker = quote::format_ident!("{}", RECOMPUTE, span = span);
    let every = every.unwrap_or_else(|| syn::parse_quote_spanned!(span=> #WHILE_SEGMENT));
    let stmts = &body.stmts;
    syn::parse_quote_spanned! {span=> {
        let #len: usize = #every;
        let mut #go = true;
        while #go {
            let mut #k: usize = 0;
            #[#marker]
            while #k < #len && (#cond) {
                #k += 1;
                #(#stmts)*
            }
            #go = #k == #len;
        }
    }}
}
