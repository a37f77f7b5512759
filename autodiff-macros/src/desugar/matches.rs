//! `match` on numbers, `bool`s and `char`s as the `if` / `else if` chain it means: each
//! arm's pattern (literals, ranges, `|` alternatives, `_`, a binding) and guard become a
//! condition on the scrutinee, evaluated once, and the adjoint takes the same arm. The
//! last arm is the final `else`: rustc has checked that the match is exhaustive, so when
//! no earlier arm matches, the last one does.

use super::Desugar;
use proc_macro2::TokenStream;
use quote::quote;
use syn::spanned::Spanned;
use syn::{Expr, Pat};

impl Desugar {
    /// `{ let s = scrutinee; if c1 { b1 } else if .. else { last } }`, if every pattern
    /// is one this stage writes as a condition.
    pub(super) fn match_expr(&mut self, m: &syn::ExprMatch) -> Option<Expr> {
        let s = self.fresh("s", m.expr.span());
        let (last, rest) = m.arms.split_last()?;
        let mut chain = arm_body(&s, &last.pat, &last.body)?;
        for arm in rest.iter().rev() {
            let cond = condition(&s, &arm.pat)?;
            let bind = binding(&s, &arm.pat);
            let cond = match &arm.guard {
                Some((_, guard)) => quote!((#cond) && { #bind #guard }),
                None => cond,
            };
            let body = arm_body(&s, &arm.pat, &arm.body)?;
            chain = quote!(if #cond #body else #chain);
        }
        let scrutinee = &m.expr;
        syn::parse2(quote::quote_spanned!(m.span()=> { let #s = #scrutinee; #chain })).ok()
    }
}

/// `{ let x = s; body }` for an arm whose pattern binds `x`, `{ body }` otherwise.
fn arm_body(s: &syn::Ident, pat: &Pat, body: &Expr) -> Option<TokenStream> {
    condition(s, pat)?;
    let bind = binding(s, pat);
    Some(quote!({ #bind #body }))
}

/// `let x = s;` for a pattern `x` (or `x @ ..`).
fn binding(s: &syn::Ident, pat: &Pat) -> TokenStream {
    match pat {
        Pat::Ident(p) => {
            let x = &p.ident;
            quote!(let #x = #s;)
        }
        _ => TokenStream::new(),
    }
}

/// The condition under which `s` matches `pat`.
fn condition(s: &syn::Ident, pat: &Pat) -> Option<TokenStream> {
    Some(match pat {
        Pat::Wild(_) => quote!(true),
        Pat::Ident(p) => match &p.subpat {
            Some((_, sub)) => condition(s, sub)?,
            None if p.by_ref.is_none() && p.mutability.is_none() => quote!(true),
            None => return None,
        },
        Pat::Lit(l) => quote!(#s == #l),
        Pat::Range(r) => {
            let lo = r.start.as_ref().map(|lo| quote!(#s >= #lo));
            let hi = r.end.as_ref().map(|hi| match r.limits {
                syn::RangeLimits::HalfOpen(_) => quote!(#s < #hi),
                syn::RangeLimits::Closed(_) => quote!(#s <= #hi),
            });
            match (lo, hi) {
                (Some(lo), Some(hi)) => quote!(#lo && #hi),
                (Some(one), None) | (None, Some(one)) => one,
                (None, None) => return None,
            }
        }
        Pat::Or(alternatives) => {
            let conds: Option<Vec<TokenStream>> =
                alternatives.cases.iter().map(|p| condition(s, p)).collect();
            let conds = conds?;
            quote!(#((#conds))||*)
        }
        Pat::Paren(p) => condition(s, &p.pat)?,
        _ => return None,
    })
}
