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
