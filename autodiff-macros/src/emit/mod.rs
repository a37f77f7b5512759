//! Emission: IR to Rust tokens. The only stage that writes Rust syntax.
//!
//! Input: `#[differentiable] fn f(x: f64, n: i32) -> f64 { .. }` and the IR of its forward
//! and reverse derivatives. Output: the function unchanged, then
//!
//! ```text
//! fn f_grad(x: f64, n: i32) -> (f64, f64) {
//!     let (value, pullback) = f_vjp(x, n);
//!     (value, pullback(1.0))
//! }
//! fn f_vjp(x: f64, n: i32) -> (f64, impl FnOnce(f64) -> f64) {
//!     let y = ..;                                  // the primal
//!     let pullback = move |d_ret: f64| -> f64 { ..; d_x };
//!     (y, pullback)
//! }
//! fn f_jvp(x: f64, n: i32, d_x: f64) -> (f64, f64) { ..; (y, d_y) }
//! ```
//!
//! Each value is one `let`; constants are written inline where they are used. Operations
//! carry the user's span, so a type error in generated code points at the user's code.
//!
//! Files: this one emits the items and holds the emitter's state; `signature` the
//! generated signatures (parameters, gradient and pullback types, lifetimes); `ownership`
//! moves, clones and what the pullback captures; `body` statements, blocks and operands;
//! `ops` operations, calls, loops and closures.

use crate::ast::{DiffFn, TypeClass};
use crate::ir::{
    Adapter, Block, CallForm, Const, Func, Inst, InstKind, Loop, LoopKind, Op, Range, Ty, Value,
};
use crate::names::{self, Names};
use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use std::collections::{HashMap, HashSet};
use syn::visit_mut::{self, VisitMut};

mod body;
mod inst;
mod ops;
mod ownership;
mod signature;

use names::suffixed_path;
use ops::*;
use signature::*;

/// The original function followed by its three derivatives.
pub fn emit(f: &DiffFn, jvp: &Func, vjp: &Func) -> TokenStream {
    let original = f.original;
    let sig = Signature::new(f);
    let grad = if f.returns_vector() {
        TokenStream::new()
    } else {
        sig.grad_fn()
    };
    let vjp = sig.vjp_fn(vjp);
    let jvp = sig.jvp_fn(jvp);
    quote! { #original #grad #vjp #jvp }
}

/// `f_vjp` alone, hidden from the docs: the reverse mode of a function generated for
/// another's sake (`f_jvp_vjp`, which `f_hvp` calls).
pub fn vjp_only(f: &DiffFn, vjp: &Func) -> TokenStream {
    let vjp = Signature::new(f).vjp_fn(vjp);
    quote! { #[doc(hidden)] #vjp }
}

/// Declarations of the derivatives with bodies that are never compiled into a program:
/// emitted next to a compile error so that callers see that error, not a cascade of
/// "cannot find `f_grad`".
pub fn stubs(f: &DiffFn) -> TokenStream {
    let sig = Signature::new(f);
    let msg = "#[differentiable] reported an error for this function";
    let body = quote!({ ::core::unreachable!(#msg) });
    let (args, gradient) = (sig.pullback_args(), sig.gradient_type());
    // Not diverging, so that the `impl FnOnce` result has a concrete closure type.
    // The value diverges; the tuple still gives the pullback its type.
    let returned = match f.ret_ty {
        Some(_) => quote!((::core::unreachable!(#msg), pullback)),
        None => quote!(pullback),
    };
    let vjp_body = quote!({
        let pullback = move |#(_: #args),*| -> #gradient { ::core::unreachable!(#msg) };
        #returned
    });
    let tangents: Vec<_> = f
        .tangent_params()
        .map(|p| {
            names::local(
                &format!("d_{}", names::sanitize(&p.ident.to_string())),
                p.ident.span(),
            )
        })
        .collect();
    let (grad, vjp, jvp) = (sig.grad_head(), sig.vjp_head(&[]), sig.jvp_head(&tangents));
    let grad = if f.returns_vector() {
        TokenStream::new()
    } else {
        quote!(#grad #body)
    };
    quote! { #grad #vjp #vjp_body #jvp #body }
}

struct Emitter<'a> {
    func: &'a Func,
    names: Names,
    /// Values written inline at their uses (constants, zeros).
    inline: HashMap<Value, TokenStream>,
    used: HashSet<Value>,
    /// How many times each value may be moved (objects are cloned unless moved once).
    moves: HashMap<Value, usize>,
    /// Results the pullback also captures: cloned under this name before the closure.
    aliases: HashMap<Value, proc_macro2::Ident>,
    /// Borrowed objects the pullback captures: cloned under this name into the closure,
    /// which borrows them again under their own name.
    owned: Vec<(Value, proc_macro2::Ident)>,
    /// Inactive parameters: borrowed by the pullback as they are.
    inactive: HashSet<Value>,
    /// Fields read by reference (`&s.k`): passed to a call by value where the source
    /// passes them so (`g(s.k)`), unlike a variable that holds a reference.
    field_reads: HashSet<Value>,
    /// How this function names itself when it takes the caller's request of needed
    /// cotangents: `[name, type of the first, of the second differentiable parameter]`.
    needs_id: Option<TokenStream>,
    closure: Option<ClosureSig>,
    f_returns_vector: bool,
    /// The declared result, whose (possibly nested) tuple groups the results' parts.
    result_ty: Option<syn::Type>,
}

/// `items` grouped as the (possibly nested) tuple type `ty`: `((a, b), c)`.
fn nest(ty: &syn::Type, items: &mut impl Iterator<Item = TokenStream>) -> TokenStream {
    match ty {
        syn::Type::Tuple(t) if t.elems.len() >= 2 => {
            let parts: Vec<TokenStream> = t.elems.iter().map(|e| nest(e, items)).collect();
            quote!((#(#parts),*))
        }
        syn::Type::Paren(p) => nest(&p.elem, items),
        _ => items.next().unwrap_or_default(),
    }
}
