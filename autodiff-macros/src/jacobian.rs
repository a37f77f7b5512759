//! `#[differentiable(jacobian)]`: `f_jacobian(x..) -> (value, DMatrix<T>)`, rows the
//! result's floats in order, columns the active parameters' floats in order (see
//! `autodiff::flat`).
//!
//! How, decided at run time from the sizes: with no more inputs `n` than outputs `m`,
//! forward mode, column by column, `K = 8` columns per sweep in vector forward mode
//! (`f_jvp_lanes`, where the function allows it: floats and arrays of floats, no calls
//! and no casts) or one `f_jvp` per column; with more inputs than outputs, reverse mode,
//! one pullback per row. The cost is then about `min(n/8, m)` sweeps rather than `n`.

use crate::ast::{classify, DiffFn, TypeClass};
use crate::emit::{self, LanesMode};
use crate::ir::{Block, Func, InstKind, Op, Ty};
use crate::wrappers::{as_ref, locals, passed};
use crate::{diag, names};
use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};

/// The lanes of one vector forward sweep.
const LANES: usize = 8;

/// `f_jacobian` for `f` (and `f_jvp_lanes` when vector mode applies), from its forward
/// mode `jvp`.
pub fn jacobian(f: &DiffFn, jvp: &Func) -> Result<TokenStream, syn::Error> {
    let elem = result_elem(f).ok_or_else(|| diag::jacobian_shape(f.name().span()))?;
    if f.is_method() || f.outputs().next().is_some() || f.active_params().count() == 0 {
        return Err(diag::jacobian_shape(f.name().span()));
    }
    let mut tokens = TokenStream::new();
    let lanes = vector_mode(f, jvp).then(|| {
        let tangents = crate::forward::tangent_values(jvp, f.params.len());
        let k = names::local("__AD_K", Span::call_site());
        LanesMode {
            tangents,
            elem: elem.clone(),
            k,
        }
    });
    let vector = lanes.is_some();
    if let Some(lanes) = lanes {
        tokens.extend(emit::jvp_lanes(f, jvp, lanes));
    }
    tokens.extend(jacobian_fn(f, &elem, vector));
    Ok(tokens)
}

/// The float type of the result's elements: a float, or a `Vec` or array of floats.
fn result_elem(f: &DiffFn) -> Option<TokenStream> {
    let ty = f.ret_ty?;
    match classify(ty) {
        TypeClass::Float(t) | TypeClass::FloatContainer(t) => Some(match t {
            crate::ast::FloatTy::F32 => quote!(f32),
            crate::ast::FloatTy::F64 => quote!(f64),
        }),
        _ => None,
    }
}

/// Whether `f_jvp` can run in lanes: active parameters that are floats or arrays of them,
/// and a forward mode of scalar rules only (no calls, casts, matrices or closures).
fn vector_mode(f: &DiffFn, jvp: &Func) -> bool {
    let params = f
        .active_params()
        .all(|p| matches!(p.class, TypeClass::Float(_) | TypeClass::FloatContainer(_)));
    let typed = jvp.values.iter().all(|v| !matches!(v.ty, Ty::Obj));
    params && typed && scalar_only(&jvp.body)
}

fn scalar_only(block: &Block) -> bool {
    block.insts.iter().all(|inst| {
        let own = match &inst.kind {
            InstKind::CallJvp { .. } | InstKind::CallVjp { .. } => false,
            InstKind::Rule { name, .. } => !name.starts_with("cast_"),
            InstKind::Op(op, _) => !matches!(
                op,
                Op::Lin(_)
                    | Op::Map { .. }
                    | Op::MapRule { .. }
                    | Op::Struct { .. }
                    | Op::Construct { .. }
                    | Op::Field { .. }
            ),
            _ => true,
        };
        own && inst.blocks().into_iter().all(scalar_only)
    })
}

/// What the strategies of `f_jacobian` share: per active parameter, the column its floats
/// start at, the column after them and how it is reached as a reference; the arguments of
/// a call of `f`'s derivatives; the Jacobian's name and its column count's.
struct ParamParts {
    starts: Vec<syn::Ident>,
    ends: Vec<TokenStream>,
    refs: Vec<TokenStream>,
    args: Vec<TokenStream>,
    jac: syn::Ident,
    n: syn::Ident,
}

fn param_parts(f: &DiffFn, n: &syn::Ident, jac: &syn::Ident) -> ParamParts {
    let starts = locals(f, "start");
    let mut ends: Vec<TokenStream> = starts.iter().skip(1).map(|s| quote!(#s)).collect();
    ends.push(quote!(#n));
    let refs = f
        .active_params()
        .map(|p| as_ref(&p.ident, p.by_ref()))
        .collect();
    let args = f
        .params
        .iter()
        .map(|p| passed(&p.ident, p.by_ref()))
        .collect();
    ParamParts {
        starts,
        ends,
        refs,
        args,
        jac: jac.clone(),
        n: n.clone(),
    }
}

fn jacobian_fn(f: &DiffFn, elem: &TokenStream, vector: bool) -> TokenStream {
    let name = f.name();
    let ret = f.ret_ty;
    let matrix = quote!(::autodiff::nalgebra::DMatrix<#elem>);
    let doc = format!(
        " Value and Jacobian of [`{name}`]: rows the result's floats in order, columns the active parameters' floats in order (a float one column; slices, arrays and `Vec`s their elements). Forward mode column by column when there are no more inputs than outputs ({}), reverse mode row by row otherwise.\n\n Generated by `#[differentiable(jacobian)]`.",
        if vector { "eight columns a sweep, in vector forward mode" } else { "one `f_jvp` per column" }
    );
    let sig = &f.original.sig;
    let (vis, generics, inputs, where_clause) = (
        &f.original.vis,
        &sig.generics,
        &sig.inputs,
        &sig.generics.where_clause,
    );
    let jacobian_name = format_ident!("{name}_jacobian");
    let local = |s: &str| names::local(s, Span::call_site());
    let (value, n, m, jac) = (local("value"), local("n"), local("m"), local("jacobian"));
    let parts = param_parts(f, &n, &jac);
    let (starts, refs) = (&parts.starts, &parts.refs);
    let counts = refs
        .iter()
        .map(|r| quote!(::autodiff::flat::Direction::count(#r)));
    let args = &parts.args;
    let forward = if vector {
        lanes_columns(f, &parts)
    } else {
        jvp_columns(f, &parts)
    };
    let rows = pullback_rows(f, &parts, &value, &m);
    quote! {
        #[doc = #doc]
        #[allow(clippy::too_many_arguments, clippy::type_complexity)]
        #vis fn #jacobian_name #generics (#inputs) -> (#ret, #matrix) #where_clause {
            let #value = #name(#(#args),*);
            let #m = ::autodiff::flat::Direction::count(&#value);
            let mut #n = 0usize;
            #(let #starts = #n; #n += #counts;)*
            let mut #jac = <#matrix>::zeros(#m, #n);
            if #n <= #m {
                #forward
            } else {
                #rows
            }
            (#value, #jac)
        }
    }
}

/// Columns `first..first + 8` per sweep of `f_jvp_lanes`.
fn lanes_columns(f: &DiffFn, p: &ParamParts) -> TokenStream {
    let (args, jac, n) = (&p.args, &p.jac, &p.n);
    let lanes = format_ident!("{}_jvp_lanes", f.name());
    let first = names::local("first", Span::call_site());
    let (seeds, passed) = tangents(f, "seed");
    let (refs, starts) = (&p.refs, &p.starts);
    let dy = names::local("d_value", Span::call_site());
    let k = proc_macro2::Literal::usize_unsuffixed(LANES);
    quote! {
        let mut #first = 0usize;
        while #first < #n {
            #(let #seeds = ::autodiff::lanes::Seed::<_, #k>::seed(#refs, #starts, #first);)*
            let (_, #dy) = #lanes::<#k>(#(#args,)* #(#passed),*);
            ::autodiff::lanes::Columns::write(&#dy, &mut #jac, #first);
            #first += #k;
        }
    }
}

/// One `f_jvp` per column, along the unit tangents of the flattened parameters.
fn jvp_columns(f: &DiffFn, p: &ParamParts) -> TokenStream {
    let (args, jac, n) = (&p.args, &p.jac, &p.n);
    let jvp = names::jvp_fn(f.name());
    let j = names::local("j", Span::call_site());
    let (tangents, passed) = tangents(f, "t");
    let (refs, starts, ends) = (&p.refs, &p.starts, &p.ends);
    let dy = names::local("d_value", Span::call_site());
    quote! {
        for #j in 0..#n {
            #(let #tangents = ::autodiff::flat::Direction::unit(#refs, ::autodiff::flat::local(#j, #starts, #ends));)*
            let (_, #dy) = #jvp(#(#args,)* #(#passed),*);
            ::autodiff::flat::column(&mut #jac, #j, 0, &#dy);
        }
    }
}

/// A local per active parameter for its tangents, and how each is passed (borrowed where
/// the parameter is).
fn tangents(f: &DiffFn, stem: &str) -> (Vec<syn::Ident>, Vec<TokenStream>) {
    let names = locals(f, stem);
    let passed = (f.active_params().zip(&names))
        .map(|(q, t)| as_ref(t, !q.by_ref()))
        .collect();
    (names, passed)
}

/// One pullback per row, seeded with the unit cotangents of the result's floats.
fn pullback_rows(f: &DiffFn, p: &ParamParts, value: &syn::Ident, m: &syn::Ident) -> TokenStream {
    let (args, jac) = (&p.args, &p.jac);
    let vjp = names::vjp_fn(f.name());
    let i = names::local("i", Span::call_site());
    let (pullback, at) = (
        names::local("pullback", Span::call_site()),
        names::local("at", Span::call_site()),
    );
    let grads = locals(f, "g");
    let pattern = match grads.as_slice() {
        [one] => quote!(#one),
        _ => quote!((#(#grads),*)),
    };
    quote! {
        for #i in 0..#m {
            let (_, #pullback) = #vjp(#(#args),*);
            let #pattern = #pullback(::autodiff::flat::Direction::unit(&#value, ::core::option::Option::Some(#i)));
            let mut #at = 0usize;
            #(#at = ::autodiff::flat::row(&mut #jac, #i, #at, &#grads);)*
        }
    }
}
