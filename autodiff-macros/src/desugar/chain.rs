//! Sources and adapters of an iterator chain, and the bindings of their items.

use super::{is_place, strip, Desugar};
use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Expr, Pat};

/// What one position of a chain yields: an expression (a reference to an element when
/// `by_ref`), or a tuple of items.
#[derive(Clone)]
pub(super) enum Item {
    Expr {
        tokens: TokenStream,
        by_ref: bool,
    },
    Tuple(Vec<Item>),
    /// An element written through (`xs.iter_mut()`): `xs[p]`, which a `for` loop's body
    /// reads and writes in place of `*x` (`places`).
    Place(TokenStream),
}

/// A chain up to its consumer.
pub(super) struct Chain {
    pub span: Span,
    /// Statements before the loop: the sources' lengths and the adapters' arguments.
    pub before: Vec<TokenStream>,
    /// The number of positions.
    pub count: syn::Ident,
    /// The loop's position variable.
    pub p: syn::Ident,
    /// `let p_k = ..;` from the loop's position to the positions earlier adapters see,
    /// newest first (`rev`, `skip`, `step_by` remap positions).
    remaps: Vec<TokenStream>,
    pub item: Item,
    /// Per iteration, in order: `let`s of mapped values and `filter` conditions.
    stages: Vec<Stage>,
}

pub(super) enum Stage {
    Let(TokenStream),
    Filter(TokenStream),
}

impl Chain {
    /// The body of one iteration: positions, stages, then `body` under the filters.
    pub fn iteration(&self, body: TokenStream) -> TokenStream {
        let inner = self
            .stages
            .iter()
            .rev()
            .fold(body, |inner, stage| match stage {
                Stage::Let(l) => quote!(#l #inner),
                Stage::Filter(c) => quote!(if #c { #inner }),
            });
        let remaps = &self.remaps;
        quote!(#(#remaps)* #inner)
    }

    fn filtered(&self) -> bool {
        self.stages.iter().any(|s| matches!(s, Stage::Filter(_)))
    }
}

impl Desugar {
    /// The chain `e` (without a consumer), if it is one this stage writes as a loop.
    /// `iterable`: `e` is iterated itself (a `for` loop's or `zip`'s argument), so an
    /// array variable alone is a source; a method's receiver is not (`m.map(..)` of a
    /// matrix is nalgebra's).
    pub(super) fn chain(&mut self, e: &Expr, iterable: bool) -> Option<Chain> {
        let e = strip(e);
        if let Some(chain) = self.source(e, iterable) {
            return Some(chain);
        }
        let Expr::MethodCall(m) = e else { return None };
        let mut chain = self.chain(&m.receiver, false)?;
        let span = m.method.span();
        match (m.method.to_string().as_str(), m.args.len()) {
            ("copied" | "cloned" | "into_iter" | "iter", 0) => {
                chain.item = by_value(chain.item);
            }
            ("map", 1) => self.map(&mut chain, &m.args[0], span)?,
            ("filter", 1) => {
                let (pat, body) = closure(&m.args[0])?;
                let bind = bind_pattern(pat, &reference(chain.item.clone()))?;
                chain.stages.push(Stage::Filter(quote!({ #bind #body })));
            }
            ("enumerate", 0) if !chain.filtered() => {
                let p = &chain.p;
                let index = Item::Expr {
                    tokens: quote!(#p),
                    by_ref: false,
                };
                chain.item = Item::Tuple(vec![index, chain.item]);
            }
            ("zip", 1) if !chain.filtered() => self.zip(&mut chain, &m.args[0], span)?,
            (adapter @ ("rev" | "skip" | "take" | "step_by"), _) if !chain.filtered() => {
                self.reposition(&mut chain, adapter, m.args.first(), span)?;
            }
            _ => return None,
        }
        Some(chain)
    }

    /// Where a chain starts: `xs.iter()`, `xs.into_iter()`, `&xs`, `xs` of an array place;
    /// `xs.windows(K)`, `xs.chunks_exact(K)`; sub-slices; array literals; the array a call
    /// returns; `a..b`, `a..=b`.
    fn source(&mut self, e: &Expr, iterable: bool) -> Option<Chain> {
        if let Some(chain) = self.windows(e) {
            return Some(chain);
        }
        if let Some(chain) = self.sub_slice(e, iterable) {
            return Some(chain);
        }
        if let Some(array) = array_source(e, iterable) {
            return Some(self.indexed(e.span(), array, None));
        }
        if let Some(array) = mut_source(e) {
            let mut chain = self.indexed(e.span(), array, None);
            let p = &chain.p;
            chain.item = Item::Place(quote!(#array[#p]));
            return Some(chain);
        }
        if let Some(value) = computed_source(e, iterable) {
            let array = self.fresh("a", e.span());
            return Some(self.indexed(e.span(), &syn::parse_quote!(#array), Some(value)));
        }
        self.range(e)
    }

    /// The elements `array[p]` (by reference, but those of an array computed first, which
    /// `value` binds to `array`: an array literal's elements are values).
    fn indexed(&mut self, span: Span, array: &Expr, value: Option<&Expr>) -> Chain {
        let (count, p) = (self.fresh("n", span), self.fresh("p", span));
        let bind = value.map(|v| quote_spanned!(span=> let #array = #v;));
        let before = vec![quote_spanned!(span=> #bind let #count = #array.len();)];
        let item = Item::Expr {
            tokens: quote!(#array[#p]),
            by_ref: !matches!(value, Some(Expr::Array(_))),
        };
        self.start(span, before, count, p, item)
    }

    /// `a..b`, `a..=b`.
    fn range(&mut self, e: &Expr) -> Option<Chain> {
        let span = e.span();
        let Expr::Range(r) = e else { return None };
        let (Some(lo), Some(hi)) = (&r.start, &r.end) else {
            return None;
        };
        let (a, b, count, p) = (
            self.fresh("lo", span),
            self.fresh("hi", span),
            self.fresh("n", span),
            self.fresh("p", span),
        );
        let from_zero = matches!(strip(lo), Expr::Lit(syn::ExprLit { lit: syn::Lit::Int(i), .. }) if i.base10_digits() == "0");
        let length = match r.limits {
            // `0..b` has `b` positions (none if `b` is negative).
            syn::RangeLimits::HalfOpen(_) if from_zero => quote!(#b),
            syn::RangeLimits::HalfOpen(_) => quote!(if #b > #a { #b - #a } else { 0 }),
            syn::RangeLimits::Closed(_) => quote!(if #b >= #a { #b - #a + 1 } else { 0 }),
        };
        let before = vec![quote_spanned!(span=> let #a = #lo; let #b = #hi; let #count = #length;)];
        let item = Item::Expr {
            tokens: quote!(#a + #p),
            by_ref: false,
        };
        Some(self.start(span, before, count, p, item))
    }

    /// `xs[a..b].iter()`, `&xs[a..]`, `xs[..=b].iter()`: the elements `a + p` of `xs`.
    fn sub_slice(&mut self, e: &Expr, iterable: bool) -> Option<Chain> {
        let indexed = match e {
            Expr::MethodCall(m)
                if matches!(m.method.to_string().as_str(), "iter" | "into_iter")
                    && m.args.is_empty() =>
            {
                strip(&m.receiver)
            }
            Expr::Reference(r) if iterable => strip(&r.expr),
            _ => return None,
        };
        let Expr::Index(ix) = indexed else {
            return None;
        };
        let Expr::Range(r) = strip(&ix.index) else {
            return None;
        };
        if !is_place(&ix.expr) {
            return None;
        }
        let (span, array) = (e.span(), &ix.expr);
        let (a, b, count, p) = (
            self.fresh("lo", span),
            self.fresh("hi", span),
            self.fresh("n", span),
            self.fresh("p", span),
        );
        let lo = r.start.as_ref().map_or(quote!(0), |s| quote!(#s));
        let hi = match (&r.end, &r.limits) {
            (None, _) => quote!(#array.len()),
            (Some(end), syn::RangeLimits::HalfOpen(_)) => quote!(#end),
            (Some(end), syn::RangeLimits::Closed(_)) => quote!(#end + 1),
        };
        // Out of bounds as the slice would be: the first read past the end panics.
        let before = vec![quote_spanned!(span=> let #a = #lo; let #b = #hi; let #count = #b - #a;)];
        let item = Item::Expr {
            tokens: quote!(#array[#a + #p]),
            by_ref: true,
        };
        Some(self.start(span, before, count, p, item))
    }

    /// `xs.windows(K)` and `xs.chunks_exact(K)` with a literal `K`: each item is the array
    /// `[xs[s], xs[s + 1], .., xs[s + K - 1]]` of the elements it covers (`s = p` or
    /// `p·K`), so the closure may index it, take its `len()`, iterate it or pass it on.
    /// With another length, and for `xs.chunks(k)`, each item is the sub-slice
    /// `&xs[s..e]` (`sub_slices`).
    fn windows(&mut self, e: &Expr) -> Option<Chain> {
        let Expr::MethodCall(m) = e else { return None };
        let kind = m.method.to_string();
        if !matches!(kind.as_str(), "windows" | "chunks_exact" | "chunks")
            || m.args.len() != 1
            || !is_place(&m.receiver)
        {
            return None;
        }
        let exact = kind == "chunks_exact";
        let k = match strip(&m.args[0]) {
            Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Int(k),
                ..
            }) if kind != "chunks" => k
                .base10_parse::<usize>()
                .ok()
                .filter(|k| (1..=32).contains(k)),
            _ => None,
        };
        let Some(k) = k else {
            return Some(self.sub_slices(m, &kind));
        };
        let (span, array) = (m.method.span(), &m.receiver);
        let (n, count, p) = (
            self.fresh("len", span),
            self.fresh("n", span),
            self.fresh("p", span),
        );
        let number = if exact {
            quote!(#n / #k)
        } else {
            quote!(if #n >= #k { #n - #k + 1 } else { 0 })
        };
        let before = vec![quote_spanned!(span=> let #n = #array.len(); let #count = #number;)];
        let first = if exact { quote!(#p * #k) } else { quote!(#p) };
        let elements = (0..k).map(|j| quote!(#array[#first + #j]));
        let item = Item::Expr {
            tokens: quote!([#(#elements),*]),
            by_ref: false,
        };
        Some(self.start(span, before, count, p, item))
    }

    /// `xs.windows(k)`, `xs.chunks_exact(k)`, `xs.chunks(k)`: each item is the sub-slice
    /// `&xs[s..e]` it covers (a view of a parameter), `k` computed once.
    fn sub_slices(&mut self, m: &syn::ExprMethodCall, kind: &str) -> Chain {
        let (span, array, k_expr) = (m.method.span(), &m.receiver, &m.args[0]);
        let (n, k, count, p) = (
            self.fresh("len", span),
            self.fresh("k", span),
            self.fresh("n", span),
            self.fresh("p", span),
        );
        let (number, first, last) = match kind {
            "windows" => (
                quote!(if #n >= #k { #n - #k + 1 } else { 0 }),
                quote!(#p),
                quote!(#p + #k),
            ),
            "chunks_exact" => (quote!(#n / #k), quote!(#p * #k), quote!(#p * #k + #k)),
            // The last chunk may be shorter.
            _ => (
                quote!((#n + #k - 1) / #k),
                quote!(#p * #k),
                quote!(if #p * #k + #k < #n { #p * #k + #k } else { #n }),
            ),
        };
        let before = vec![
            quote_spanned!(span=> let #n = #array.len(); let #k: usize = #k_expr; let #count = #number;),
        ];
        let item = Item::Expr {
            tokens: quote!(&#array[(#first)..(#last)]),
            by_ref: false,
        };
        self.start(span, before, count, p, item)
    }

    fn start(
        &mut self,
        span: Span,
        before: Vec<TokenStream>,
        count: syn::Ident,
        p: syn::Ident,
        item: Item,
    ) -> Chain {
        Chain {
            span,
            before,
            count,
            p,
            remaps: Vec::new(),
            item,
            stages: Vec::new(),
        }
    }

    /// `.map(|pat| body)`: the mapped value is computed once per iteration.
    fn map(&mut self, chain: &mut Chain, f: &Expr, span: Span) -> Option<()> {
        let (pat, body) = closure(f)?;
        let bind = bind_pattern(pat, &chain.item)?;
        let m = self.fresh("m", span);
        chain
            .stages
            .push(Stage::Let(quote!(let #m = { #bind #body };)));
        chain.item = Item::Expr {
            tokens: quote!(#m),
            by_ref: false,
        };
        Some(())
    }

    /// `.zip(other)`: both at the same position, as many as the shorter has.
    fn zip(&mut self, chain: &mut Chain, other: &Expr, span: Span) -> Option<()> {
        let other = self.chain(other, true)?;
        if other.filtered() {
            return None;
        }
        let (c, oc, n) = (&chain.count, &other.count, self.fresh("n", span));
        chain.before.extend(other.before);
        chain
            .before
            .push(quote_spanned!(span=> let #n = if #c < #oc { #c } else { #oc };));
        chain.count = n;
        // The other chain's positions are this one's.
        let (p, op) = (&chain.p, &other.p);
        chain.remaps.insert(0, quote!(let #op = #p;));
        for (k, r) in other.remaps.into_iter().enumerate() {
            chain.remaps.insert(1 + k, r);
        }
        chain.stages.extend(other.stages);
        chain.item = Item::Tuple(vec![chain.item.clone(), other.item]);
        Some(())
    }

    /// `rev()`, `skip(n)`, `take(n)`, `step_by(k)`: a new position (and count) for the
    /// loop, from which the one before is computed.
    fn reposition(
        &mut self,
        chain: &mut Chain,
        adapter: &str,
        arg: Option<&Expr>,
        span: Span,
    ) -> Option<()> {
        let (c, old) = (chain.count.clone(), chain.p.clone());
        let (n, p, k) = (
            self.fresh("n", span),
            self.fresh("p", span),
            self.fresh("k", span),
        );
        let (count, position) = match (adapter, arg) {
            ("rev", None) => (quote!(#c), quote!(#c - 1 - #p)),
            ("skip", Some(a)) => {
                chain.before.push(quote_spanned!(span=> let #k = #a;));
                (quote!(if #c > #k { #c - #k } else { 0 }), quote!(#p + #k))
            }
            ("take", Some(a)) => {
                chain.before.push(quote_spanned!(span=> let #k = #a;));
                (quote!(if #c < #k { #c } else { #k }), quote!(#p))
            }
            ("step_by", Some(a)) => {
                chain.before.push(quote_spanned!(span=> let #k = #a;));
                (quote!((#c + #k - 1) / #k), quote!(#p * #k))
            }
            _ => return None,
        };
        chain.before.push(quote_spanned!(span=> let #n = #count;));
        chain.remaps.insert(0, quote!(let #old = #position;));
        chain.count = n;
        chain.p = p;
        Some(())
    }
}

/// The array place a chain iterates: `xs.iter()`, `xs.into_iter()`, `&xs`, or `xs` itself
/// where it is iterated (a `for` loop's or `zip`'s argument).
fn array_source(e: &Expr, iterable: bool) -> Option<&Expr> {
    match e {
        Expr::MethodCall(m)
            if matches!(m.method.to_string().as_str(), "iter" | "into_iter")
                && m.args.is_empty()
                && is_place(&m.receiver) =>
        {
            Some(&m.receiver)
        }
        Expr::Reference(r) if iterable && is_place(&r.expr) => Some(&r.expr),
        _ if iterable && is_place(e) => Some(e),
        _ => None,
    }
}

/// The array `xs.iter_mut()` runs over (only a `for` loop binds its items: `places`).
fn mut_source(e: &Expr) -> Option<&Expr> {
    match e {
        Expr::MethodCall(m)
            if m.method == "iter_mut" && m.args.is_empty() && is_place(&m.receiver) =>
        {
            Some(&m.receiver)
        }
        _ => None,
    }
}

/// An array computed where a chain starts: `for q in [0.4, 1.5]`, `g(x).iter()`.
fn computed_source(e: &Expr, iterable: bool) -> Option<&Expr> {
    match e {
        Expr::Array(_) if iterable => Some(e),
        Expr::MethodCall(m) if m.method == "iter" && m.args.is_empty() => {
            matches!(strip(&m.receiver), Expr::Call(_) | Expr::MethodCall(_))
                .then_some(&*m.receiver)
        }
        _ => None,
    }
}

/// The parameter and body of a one-parameter closure.
fn closure(e: &Expr) -> Option<(&Pat, &Expr)> {
    match strip(e) {
        Expr::Closure(c) if c.inputs.len() == 1 => Some((&c.inputs[0], &c.body)),
        _ => None,
    }
}

/// The item with its elements as values (`copied`, `cloned`).
fn by_value(item: Item) -> Item {
    match item {
        Item::Expr { tokens, .. } => Item::Expr {
            tokens,
            by_ref: false,
        },
        Item::Tuple(items) => Item::Tuple(items.into_iter().map(by_value).collect()),
        place @ Item::Place(_) => place,
    }
}

/// The item as `filter` sees it: a reference to it.
fn reference(item: Item) -> Item {
    match item {
        Item::Expr { tokens, .. } => Item::Expr {
            tokens,
            by_ref: true,
        },
        other @ (Item::Tuple(_) | Item::Place(_)) => other,
    }
}

/// `let`s binding `pat` to `item`: an identifier to an element (by reference where the
/// element is one), references and tuples component by component.
pub(super) fn bind_pattern(pat: &Pat, item: &Item) -> Option<TokenStream> {
    match (pat, item) {
        (Pat::Ident(i), Item::Expr { tokens, by_ref }) if i.subpat.is_none() => {
            let borrow = by_ref.then(|| quote!(&));
            Some(quote_spanned!(i.span()=> let #i = #borrow #tokens;))
        }
        (Pat::Reference(r), Item::Expr { tokens, .. }) => {
            let inner = Item::Expr {
                tokens: tokens.clone(),
                by_ref: false,
            };
            bind_pattern(&r.pat, &inner)
        }
        (Pat::Reference(r), Item::Tuple(_)) => bind_pattern(&r.pat, item),
        (Pat::Tuple(t), Item::Tuple(items)) if t.elems.len() == items.len() => {
            let parts: Option<Vec<TokenStream>> = t
                .elems
                .iter()
                .zip(items)
                .map(|(p, i)| bind_pattern(p, i))
                .collect();
            Some(parts?.into_iter().collect())
        }
        // `|&[a, b]|` of a window.
        (Pat::Slice(_), Item::Expr { tokens, .. }) => Some(quote!(let #pat = #tokens;)),
        (Pat::Type(t), _) => bind_pattern(&t.pat, item),
        (Pat::Paren(p), _) => bind_pattern(&p.pat, item),
        (Pat::Wild(_), _) => Some(TokenStream::new()),
        _ => None,
    }
}

/// `let x = item;` by value, for a consumer's own use.
pub(super) fn bind_value(x: &syn::Ident, item: &Item) -> Option<TokenStream> {
    match item {
        Item::Expr { tokens, .. } => Some(quote!(let #x = #tokens;)),
        Item::Tuple(_) | Item::Place(_) => None,
    }
}
