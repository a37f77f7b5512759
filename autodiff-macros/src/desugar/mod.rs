//! Desugaring, before the fence and lowering see the body: iterator chains become the
//! index loops a person would write (so the loop IR, its tape and its adjoint serve them
//! and no closure or iterator object exists at run time), local closures are inlined,
//! and a `match` on numbers becomes an `if` chain.
//!
//! A chain is a source, adapters and a consumer:
//! - sources: `xs.iter()`, `xs.into_iter()`, `&xs` and `xs` (in `for` and `zip`) of an
//!   array variable or field, and ranges `a..b`, `a..=b`;
//! - adapters: `copied`, `cloned`, `map`, `filter`, `enumerate`, `zip`, `rev`, `skip`,
//!   `take`, `step_by` (those that move positions only before any `filter`);
//! - consumers: `sum`, `product`, `count`, `fold` (with a closure or a path such as
//!   `f64::max`), `collect` into a `Vec`, and `for` loops.
//!
//! The chain runs over positions `p = 0..count`: each source gives the element at a
//! position (`xs[p]`, `a + p`), `rev`, `skip`, `step_by` remap positions and `take`, `zip`
//! shorten the count. So `xs.iter().zip(ys).map(|(a, b)| a * b).sum::<f64>()` becomes
//!
//! ```text
//! { let n = xs.len().min(ys.len()); let mut acc = 0.0_f64;
//!   for p in 0..n { let m = { let (a, b) = (&xs[p], &ys[p]); a * b }; acc = acc + m; }
//!   acc }
//! ```
//!
//! (tuples bound component by component). A closure parameter bound to a slice element
//! is a reference, as in Rust: `*x` reads it. Local closures are inlined first
//! (`closures`), and a `match` on numbers becomes an `if` chain (`matches`). What does
//! not fit is left as written, and the fence reports it.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::visit_mut::VisitMut;
use syn::{Expr, Pat};

mod chain;
pub mod checkpoint;
mod closures;
mod matches;
mod places;

use crate::fence::strip;
use chain::{bind_pattern, bind_value, Chain};

/// `block` with its iterator chains written as loops.
pub fn body(block: &syn::Block) -> syn::Block {
    let mut block = block.clone();
    Desugar { next: 0 }.visit_block_mut(&mut block);
    block
}

struct Desugar {
    /// The next number for a generated name.
    next: usize,
}

impl VisitMut for Desugar {
    fn visit_block_mut(&mut self, b: &mut syn::Block) {
        // Closures first: a closure passed to an adapter becomes part of its chain.
        closures::inline(b);
        syn::visit_mut::visit_block_mut(self, b);
    }

    fn visit_expr_mut(&mut self, e: &mut Expr) {
        // Inner expressions first: a closure body may hold a chain of its own.
        syn::visit_mut::visit_expr_mut(self, e);
        let replaced = match &*e {
            Expr::MethodCall(m) => self.consumer(m).or_else(|| self.fill(m)),
            // A loop `#[checkpoint]` rejects stays as written, for the fence to report.
            Expr::ForLoop(f) => match checkpoint::spec(f) {
                Some(Ok(segments)) => Some(self.segmented(f, segments)),
                Some(Err(_)) => None,
                None => self.for_loop(f),
            },
            Expr::While(w) => match checkpoint::spec_while(w) {
                Some(Ok(every)) => {
                    let span = w.while_token.span;
                    let names = ["ck_len", "ck_go", "ck_k"].map(|n| self.fresh(n, span));
                    Some(checkpoint::rewrite_while(w, every, names))
                }
                _ => None,
            },
            Expr::Match(m) => self.match_expr(m),
            Expr::Field(f) => sin_cos_part(f),
            _ => None,
        };
        if let Some(r) = replaced {
            *e = r;
        }
    }

    /// `let (s, c) = t.sin_cos();` is `let (s, c) = (t.sin(), t.cos());`.
    fn visit_local_mut(&mut self, local: &mut syn::Local) {
        syn::visit_mut::visit_local_mut(self, local);
        let Some(init) = &mut local.init else { return };
        if let (Pat::Tuple(_), Some(t)) = (&local.pat, sin_cos_of(&init.expr)) {
            let tuple: Expr = syn::parse_quote_spanned!(init.expr.span()=> (#t.sin(), #t.cos()));
            *init.expr = tuple;
        }
    }
}

impl Desugar {
    fn fresh(&mut self, what: &str, span: Span) -> syn::Ident {
        self.next += 1;
        format_ident!("__ad_{}{}", what, self.next, span = span)
    }

    /// A `#[checkpoint]` loop in segments (see `checkpoint`).
    fn segmented(&mut self, f: &syn::ExprForLoop, segments: checkpoint::Segments) -> Expr {
        let span = f.for_token.span;
        let names =
            ["ck_lo", "ck_hi", "ck_len", "ck_s", "ck_a", "ck_b"].map(|n| self.fresh(n, span));
        checkpoint::rewrite(f, segments, names)
    }

    /// `chain.sum()`, `.product()`, `.count()`, `.fold(..)`, `.collect()`, as a block.
    fn consumer(&mut self, m: &syn::ExprMethodCall) -> Option<Expr> {
        let name = m.method.to_string();
        let turbofish = m.turbofish.as_ref().and_then(|t| t.args.first());
        let (init, combine): (TokenStream, fn(&syn::Ident, &TokenStream) -> TokenStream) =
            match (name.as_str(), m.args.len()) {
                ("sum", 0) => (
                    identity(turbofish, 0, m.span()),
                    |acc, x| quote::quote!(#acc = #acc + #x;),
                ),
                ("product", 0) => (
                    identity(turbofish, 1, m.span()),
                    |acc, x| quote::quote!(#acc = #acc * #x;),
                ),
                ("count", 0) => (
                    quote_spanned!(m.span()=> 0usize),
                    |acc, _| quote::quote!(#acc = #acc + 1;),
                ),
                ("collect", 0) => (
                    quote_spanned!(m.span()=> ::std::vec::Vec::new()),
                    |acc, x| quote::quote!(#acc.push(#x);),
                ),
                ("fold", 2) => return self.fold(m),
                _ => return None,
            };
        let chain = self.chain(&m.receiver, false)?;
        let acc = self.fresh("acc", m.span());
        let x = self.fresh("x", m.span());
        let bind = bind_value(&x, &chain.item)?;
        let step = combine(&acc, &x.to_token_stream());
        let body = quote::quote!(#bind #step);
        Some(self.block(chain, &acc, init, body))
    }

    /// `chain.fold(init, |acc, x| body)` or `chain.fold(init, path)`.
    fn fold(&mut self, m: &syn::ExprMethodCall) -> Option<Expr> {
        let chain = self.chain(&m.receiver, false)?;
        let acc = self.fresh("acc", m.span());
        let init = m.args[0].to_token_stream();
        let step = match &m.args[1] {
            Expr::Closure(c) if c.inputs.len() == 2 => {
                let (acc_pat, item_pat, body) = (&c.inputs[0], &c.inputs[1], &c.body);
                let bind = bind_pattern(item_pat, &chain.item)?;
                quote::quote!(#acc = { let #acc_pat = #acc; #bind #body };)
            }
            Expr::Path(f) => {
                let x = self.fresh("x", m.span());
                let bind = bind_value(&x, &chain.item)?;
                quote::quote!(#bind #acc = #f(#acc, #x);)
            }
            _ => return None,
        };
        Some(self.block(chain, &acc, init, step))
    }

    /// `({ before; let mut acc = init; for p in 0..count { stages; body } acc })`, in
    /// parentheses so that it stays one expression where it starts a statement
    /// (`{ .. } / n` would be a block, then a syntax error).
    fn block(
        &mut self,
        chain: Chain,
        acc: &syn::Ident,
        init: TokenStream,
        body: TokenStream,
    ) -> Expr {
        let (span, before, count, p) = (chain.span, &chain.before, &chain.count, &chain.p);
        let inner = chain.iteration(body);
        syn::parse_quote_spanned! {span=> ({
            #(#before)*
            let mut #acc = #init;
            for #p in 0..#count { #inner }
            #acc
        })}
    }

    /// `for pat in chain { body }` as a loop over positions, unless the loop lowering
    /// takes it as it is (ranges, `xs.iter()`, `xs.iter().enumerate()`).
    fn for_loop(&mut self, f: &syn::ExprForLoop) -> Option<Expr> {
        if lowered_as_is(&f.expr) || f.label.is_some() {
            return None;
        }
        let chain = self.chain(&f.expr, true)?;
        // `*o` of an element of `xs.iter_mut()` is the element itself.
        let (pat, body) = places::substitute(&f.pat, &chain.item, &f.body)?;
        let bind = bind_pattern(&pat, &chain.item)?;
        let (span, before, count, p) = (chain.span, &chain.before, &chain.count, &chain.p);
        let inner = chain.iteration(quote::quote!(#bind #body));
        Some(syn::parse_quote_spanned! {span=> {
            #(#before)*
            for #p in 0..#count { #inner }
        }})
    }
}

/// A `for` iterable the loop lowering reads directly.
fn lowered_as_is(e: &Expr) -> bool {
    match e {
        Expr::Paren(p) => lowered_as_is(&p.expr),
        Expr::Range(_) => true,
        Expr::MethodCall(m) => match m.method.to_string().as_str() {
            "rev" | "step_by" => ranges_only(&m.receiver),
            "iter" => m.args.is_empty() && is_place(&m.receiver),
            "enumerate" => {
                matches!(strip(&m.receiver), Expr::MethodCall(r) if r.method == "iter" && is_place(&r.receiver))
            }
            _ => false,
        },
        _ => false,
    }
}

/// `t` of `t.sin_cos()`.
fn sin_cos_of(e: &Expr) -> Option<&Expr> {
    match strip(e) {
        Expr::MethodCall(m) if m.method == "sin_cos" && m.args.is_empty() => Some(&m.receiver),
        _ => None,
    }
}

/// `t.sin_cos().0` is `t.sin()`, `.1` is `t.cos()`.
fn sin_cos_part(f: &syn::ExprField) -> Option<Expr> {
    let t = sin_cos_of(&f.base)?;
    let method = match &f.member {
        syn::Member::Unnamed(i) if i.index == 0 => quote::format_ident!("sin", span = i.span),
        syn::Member::Unnamed(i) if i.index == 1 => quote::format_ident!("cos", span = i.span),
        _ => return None,
    };
    Some(syn::parse_quote_spanned!(f.span()=> #t.#method()))
}

/// A range, with `rev` and `step_by` adapters.
fn ranges_only(e: &Expr) -> bool {
    match strip(e) {
        Expr::Range(_) => true,
        Expr::MethodCall(m) if m.method == "rev" || m.method == "step_by" => {
            ranges_only(&m.receiver)
        }
        _ => false,
    }
}

/// A variable or a field path: read again at every position without a cost.
fn is_place(e: &Expr) -> bool {
    match strip(e) {
        Expr::Path(p) => p.path.get_ident().is_some(),
        Expr::Field(f) => is_place(&f.base),
        _ => false,
    }
}

/// The start of a sum (`0`) or a product (`1`): of the turbofish's type, else a float.
fn identity(ty: Option<&syn::GenericArgument>, digit: u8, span: Span) -> TokenStream {
    let ty = ty.map(|t| quote::quote!(#t).to_string());
    match ty.as_deref() {
        Some(int) if int.starts_with(['i', 'u']) => {
            syn::LitInt::new(&format!("{digit}{int}"), span).to_token_stream()
        }
        Some(t @ ("f64" | "f32")) => {
            syn::LitFloat::new(&format!("{digit}.0_{t}"), span).to_token_stream()
        }
        _ => syn::LitFloat::new(&format!("{digit}.0"), span).to_token_stream(),
    }
}
