//! Elements written through: `for o in out.iter_mut() { *o = .. }` and `xs.fill(v)`.
//!
//! A loop over `xs.iter_mut()` runs over positions like any chain; its item is the place
//! `xs[p]`, and the body's `*o` becomes `xs[p]`, so that `*o = e` and `*o += e` are
//! element writes the lowering already knows. `xs.fill(v)` is a loop writing `v`.

use super::chain::Item;
use super::Desugar;
use proc_macro2::TokenStream;
use syn::visit_mut::VisitMut;
use syn::{Expr, Pat};

/// The loop's pattern with each place it binds replaced by `_`, and its body with `*o`
/// of each such `o` replaced by the place; `None` if the body uses `o` otherwise (the
/// fence then reports the loop).
pub(super) fn substitute(pat: &Pat, item: &Item, body: &syn::Block) -> Option<(Pat, syn::Block)> {
    let mut places = Vec::new();
    let pat = take_places(pat, item, &mut places)?;
    let mut body = body.clone();
    let mut rewrite = Rewrite {
        places,
        stray: false,
    };
    rewrite.visit_block_mut(&mut body);
    (!rewrite.stray).then_some((pat, body))
}

/// `pat` with the identifiers bound to places replaced by `_`, collecting them.
fn take_places(pat: &Pat, item: &Item, places: &mut Vec<(syn::Ident, TokenStream)>) -> Option<Pat> {
    match (pat, item) {
        (Pat::Ident(i), Item::Place(tokens)) if i.subpat.is_none() && i.by_ref.is_none() => {
            places.push((i.ident.clone(), tokens.clone()));
            Some(syn::parse_quote!(_))
        }
        (Pat::Tuple(t), Item::Tuple(items)) if t.elems.len() == items.len() => {
            let mut t = t.clone();
            for (p, item) in t.elems.iter_mut().zip(items) {
                *p = take_places(p, item, places)?;
            }
            Some(Pat::Tuple(t))
        }
        (Pat::Paren(p), _) => take_places(&p.pat, item, places),
        (_, Item::Place(_)) => None,
        _ => Some(pat.clone()),
    }
}

struct Rewrite {
    places: Vec<(syn::Ident, TokenStream)>,
    /// A place's name used other than as `*o`.
    stray: bool,
}

impl Rewrite {
    fn place(&self, e: &Expr) -> Option<&TokenStream> {
        let Expr::Path(p) = super::strip(e) else {
            return None;
        };
        let ident = p.path.get_ident()?;
        self.places.iter().find(|(n, _)| n == ident).map(|(_, t)| t)
    }
}

impl VisitMut for Rewrite {
    fn visit_expr_mut(&mut self, e: &mut Expr) {
        if let Expr::Unary(u) = &*e {
            if let (syn::UnOp::Deref(_), Some(place)) = (u.op, self.place(&u.expr)) {
                *e = syn::parse_quote!(#place);
                return;
            }
        }
        // A method call auto-derefs its receiver: `o.sin()`.
        if let Expr::MethodCall(m) = e {
            if let Some(place) = self.place(&m.receiver) {
                *m.receiver = syn::parse_quote!((#place));
            }
        }
        if self.place(e).is_some() {
            self.stray = true;
        }
        syn::visit_mut::visit_expr_mut(self, e);
    }
}

impl Desugar {
    /// `xs.fill(v)` as `{ let v_ = v; for p in 0..xs.len() { xs[p] = v_; } }`.
    pub(super) fn fill(&mut self, m: &syn::ExprMethodCall) -> Option<Expr> {
        if m.method != "fill" || m.args.len() != 1 {
            return None;
        }
        let Expr::Path(xs) = super::strip(&m.receiver) else {
            return None;
        };
        xs.path.get_ident()?;
        let (v, p) = (
            self.fresh("v", m.method.span()),
            self.fresh("p", m.method.span()),
        );
        let value = &m.args[0];
        Some(syn::parse_quote_spanned! {m.method.span()=> {
            let #v = #value;
            for #p in 0..#xs.len() { #xs[#p] = #v; }
        }})
    }
}
