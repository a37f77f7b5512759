//! Pieces of the wrapper functions generated around the derivatives (`f_hvp`,
//! `f_hessian`, `f_jacobian`): local names per active parameter, and how a parameter is
//! referred to and passed again.

use crate::ast::DiffFn;
use crate::names;
use proc_macro2::{Span, TokenStream};
use quote::quote;

/// Fresh local names `<stem>0`, `<stem>1`, .. for the active parameters.
pub fn locals(f: &DiffFn, stem: &str) -> Vec<syn::Ident> {
    (0..f.active_params().count())
        .map(|k| names::local(&format!("{stem}{k}"), Span::call_site()))
        .collect()
}

/// A reference to a value: itself if it is one (`is_ref`), else `&value`.
pub fn as_ref(ident: &syn::Ident, is_ref: bool) -> TokenStream {
    if is_ref {
        quote!(#ident)
    } else {
        quote!(&#ident)
    }
}

/// A parameter passed on in a loop: a reference as it is, a value cloned.
pub fn passed(ident: &syn::Ident, by_ref: bool) -> TokenStream {
    if by_ref {
        quote!(#ident)
    } else {
        quote!(::core::clone::Clone::clone(&#ident))
    }
}

/// The active parameters flattened into one list of floats, as the generated code lays
/// them out: per parameter, the position its floats start at, the position after them,
/// and the parameter as a reference; `n`, their count.
pub struct Flat {
    pub starts: Vec<syn::Ident>,
    pub ends: Vec<TokenStream>,
    pub refs: Vec<TokenStream>,
    pub n: syn::Ident,
}

impl Flat {
    pub fn new(f: &DiffFn) -> Flat {
        let n = names::local("n", Span::call_site());
        let starts = locals(f, "start");
        let mut ends: Vec<TokenStream> = starts.iter().skip(1).map(|s| quote!(#s)).collect();
        ends.push(quote!(#n));
        let refs = f
            .active_params()
            .map(|p| as_ref(&p.ident, p.by_ref()))
            .collect();
        Flat {
            starts,
            ends,
            refs,
            n,
        }
    }

    /// `let mut n = 0; let start0 = n; n += count(x); ..`.
    pub fn count(&self) -> TokenStream {
        let (n, starts) = (&self.n, &self.starts);
        let counts = (self.refs.iter()).map(|r| quote!(::autodiff::flat::Direction::count(#r)));
        quote!(let mut #n = 0usize; #(let #starts = #n; #n += #counts;)*)
    }

    /// `let t0 = unit(x, ..); ..`: each parameter's tangent along position `j` (zero but
    /// for the parameter that position falls in).
    pub fn units(&self, tangents: &[syn::Ident], j: &syn::Ident) -> TokenStream {
        let (refs, starts, ends) = (&self.refs, &self.starts, &self.ends);
        quote!(#(let #tangents = ::autodiff::flat::Direction::unit(#refs, ::autodiff::flat::local(#j, #starts, #ends));)*)
    }
}
