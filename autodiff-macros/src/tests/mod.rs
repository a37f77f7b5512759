//! Unit tests of the stages: IR dumps (golden text) and expansion snapshots.

mod compile_cost;
mod expand_snapshots;
mod ir_dumps;
mod random_programs;

use proc_macro2::TokenStream;

/// The expansion of `#[differentiable(args)] item`, formatted by prettyplease.
pub fn expand_pretty(args: TokenStream, item: TokenStream) -> String {
    let tokens = crate::expand::differentiable(args, item);
    match syn::parse2::<syn::File>(tokens.clone()) {
        Ok(file) => prettyplease::unparse(&file),
        Err(_) => tokens.to_string(),
    }
}
