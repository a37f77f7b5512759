//! The attribute's arguments: `#[differentiable]`, `#[differentiable(wrt(x, y))]`,
//! `nested` (also generate `f_dir`, the directional derivative, differentiable again),
//! `hessian` (also `f_hvp` and `f_hessian`), `jacobian` (also `f_jacobian`; with
//! `jacobian(lanes = K)`, K columns a vector forward sweep) and `graph` (also `f_graph`,
//! the IR as DOT).

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
    /// `hessian`: also `f_hvp` and `f_hessian` (and what `nested` generates, which calls
    /// inside need).
    pub hessian: bool,
    /// `graph`: also `f_graph()`, the optimised primal and adjoint IR as a DOT text.
    pub graph: bool,
    /// `jacobian`: also `f_jacobian` (and `f_jvp_lanes`, vector forward mode).
    pub jacobian: bool,
    /// `jacobian(lanes = K)`: the columns of one vector forward sweep, if given.
    pub lanes: Option<usize>,
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
        let flag = match key.to_string().as_str() {
            "nested" => Some(&mut args.nested),
            "hessian" => Some(&mut args.hessian),
            "graph" => Some(&mut args.graph),
            "jacobian" => Some(&mut args.jacobian),
            _ => None,
        };
        if let Some(flag) = flag {
            *flag = true;
            if key == "jacobian" && input.peek(syn::token::Paren) {
                args.lanes = Some(parse_lanes(input)?);
            }
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

/// `(lanes = K)` after `jacobian`, with `1 ≤ K ≤ 64`.
fn parse_lanes(input: ParseStream) -> syn::Result<usize> {
    let content;
    let parens = syn::parenthesized!(content in input);
    let bad = || diag::jacobian_lanes(parens.span.join());
    let key: Ident = content.parse().map_err(|_| bad())?;
    content.parse::<Token![=]>().map_err(|_| bad())?;
    let k: syn::LitInt = content.parse().map_err(|_| bad())?;
    match k.base10_parse::<usize>() {
        Ok(k @ 1..=64) if key == "lanes" && content.is_empty() => Ok(k),
        _ => Err(bad()),
    }
}
