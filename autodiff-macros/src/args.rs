//! The attribute's arguments: `#[differentiable]`, `#[differentiable(wrt(x, y))]`, and
//! `nested` (also generate `f_dir`, the directional derivative, differentiable again).

use crate::{ctxt::Ctxt, diag};
use proc_macro2::{Ident, TokenStream};
use syn::ext::IdentExt;
use syn::parse::{ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::Token;

#[derive(Default)]
pub struct Args {
    /// The parameters named in `wrt(..)`, if given.
    pub wrt: Option<Vec<Ident>>,
    /// `nested`: also `f_dir(x, d_x)` (= `f_jvp(x, d_x).1`) with its own derivatives.
    pub nested: bool,
}

pub fn parse(cx: &Ctxt, tokens: TokenStream) -> Args {
    let mut args = Args::default();
    let parser = |input: ParseStream| parse_args(cx, input, &mut args);
    if let Err(e) = parser.parse2(tokens) {
        cx.push(e);
    }
    args
}

fn parse_args(cx: &Ctxt, input: ParseStream, args: &mut Args) -> syn::Result<()> {
    while !input.is_empty() {
        let key: Ident = input.parse().map_err(|e| diag::bad_args(e.span()))?;
        if key == "nested" {
            args.nested = true;
            if !input.is_empty() {
                input.parse::<Token![,]>()?;
            }
            continue;
        }
        if key != "wrt" {
            return Err(diag::unknown_arg(&key));
        }
        let content;
        syn::parenthesized!(content in input);
        // `self` is a keyword, and a name here.
        let names =
            Punctuated::<Ident, Token![,]>::parse_terminated_with(&content, Ident::parse_any)?;
        if args.wrt.is_some() {
            cx.push(diag::duplicate_wrt(&key));
        }
        args.wrt = Some(names.into_iter().collect());
        if !input.is_empty() {
            input.parse::<Token![,]>()?;
        }
    }
    Ok(())
}
