//! `#[differentiable(jacobian)]`: `f_jacobian(x..) -> (value, DMatrix<T>)`, rows the
//! result's floats in order, columns the active parameters' floats in order (see
//! `autodiff::flat`).
//!
//! How, decided at run time from the sizes: with no more inputs `n` than outputs `m`,
//! forward mode, column by column, `K = 8` columns per sweep in vector forward mode
//! (`f_jvp_lanes`, where the function allows it: floats and arrays of floats, no calls
//! and no casts) or one `f_jvp` per column; with more inputs than outputs, reverse mode,
//! one pullback per row (of one primal sweep where the pullback can be called again). The cost is then about `min(n/K, m)` sweeps rather than `n`.
//! `jacobian(lanes = K)` chooses K (Enzyme's vector width): wider sweeps repeat the
//! primal fewer times, until a value's K tangents no longer fit in registers.

use crate::ast::{classify, DiffFn, TypeClass};
use crate::emit::{self, LanesMode};
use crate::ir::{Block, Func, InstKind, Op, Ty};
use crate::wrappers::{as_ref, locals, passed, Flat};
use crate::{diag, names};
use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};

/// The lanes of one vector forward sweep, unless `jacobian(lanes = K)` says.
const LANES: usize = 8;

/// `f_jacobian` for `f` (and `f_jvp_lanes` when vector mode applies), from its forward
/// mode `jvp`; `lanes` columns a sweep if given.
pub fn jacobian(
    f: &DiffFn,
    jvp: &Func,
    vjp: &Func,
    lanes: Option<usize>,
) -> Result<TokenStream, syn::Error> {
    let elem = result_elem(f).ok_or_else(|| diag::jacobian_shape(f.name().span()))?;
    if f.is_method() || f.outputs().next().is_some() || f.active_params().count() == 0 {
        return Err(diag::jacobian_shape(f.name().span()));
    }
    let mut tokens = TokenStream::new();
    let mode = vector_mode(f, jvp).then(|| {
        let tangents = crate::forward::tangent_values(jvp, f.params.len());
        let k = names::local("__AD_K", Span::call_site());
        LanesMode {
            tangents,
            elem: elem.clone(),
            k,
        }
    });
    let vector = mode.is_some().then(|| lanes.unwrap_or(LANES));
    if let Some(mode) = mode {
        tokens.extend(emit::jvp_lanes(f, jvp, mode));
    }
    let reusable = emit::pullback_reuse(f, vjp) != emit::Reuse::Once;
    tokens.extend(jacobian_fn(f, &elem, vector, reusable));
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

/// What the strategies of `f_jacobian` share: the active parameters flattened (the
/// columns), the arguments of a call of `f`'s derivatives, and the Jacobian's name.
struct ParamParts {
    flat: Flat,
    args: Vec<TokenStream>,
    jac: syn::Ident,
}

fn param_parts(f: &DiffFn, jac: &syn::Ident) -> ParamParts {
    let args = f
        .params
        .iter()
        .map(|p| passed(&p.ident, p.by_ref()))
        .collect();
    ParamParts {
        flat: Flat::new(f),
        args,
        jac: jac.clone(),
    }
}

/// `vector`: the columns of a vector forward sweep, if `f_jvp_lanes` applies.
fn jacobian_fn(
    f: &DiffFn,
    elem: &TokenStream,
    vector: Option<usize>,
    reusable: bool,
) -> TokenStream {
    let name = f.name();
    let ret = f.ret_ty;
    let matrix = quote!(::autodiff::nalgebra::DMatrix<#elem>);
    let doc = format!(
        " Value and Jacobian of [`{name}`]: rows the result's floats in order, columns the active parameters' floats in order (a float one column; slices, arrays and `Vec`s their elements). Forward mode column by column when there are no more inputs than outputs ({}), reverse mode row by row otherwise.\n\n Generated by `#[differentiable(jacobian)]`.",
        match vector {
            Some(k) => format!("{k} columns a sweep, in vector forward mode"),
            None => "one `f_jvp` per column".to_string(),
        }
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
    let (value, m, jac) = (local("value"), local("m"), local("jacobian"));
    let parts = param_parts(f, &jac);
    let (n, count) = (&parts.flat.n, parts.flat.count());
    let args = &parts.args;
    let forward = match vector {
        Some(k) => lanes_columns(f, &parts, k),
        None => jvp_columns(f, &parts),
    };
    let rows = pullback_rows(f, &parts, (&value, &m), reusable);
    quote! {
        #[doc = #doc]
        #[allow(clippy::too_many_arguments, clippy::type_complexity)]
        #vis fn #jacobian_name #generics (#inputs) -> (#ret, #matrix) #where_clause {
            let #value = #name(#(#args),*);
            let #m = ::autodiff::flat::Direction::count(&#value);
            #count
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

/// Columns `first..first + k` per sweep of `f_jvp_lanes`.
fn lanes_columns(f: &DiffFn, p: &ParamParts, k: usize) -> TokenStream {
    let (args, jac, n) = (&p.args, &p.jac, &p.flat.n);
    let lanes = format_ident!("{}_jvp_lanes", f.name());
    let first = names::local("first", Span::call_site());
    let (seeds, passed) = tangents(f, "seed");
    let (refs, starts) = (&p.flat.refs, &p.flat.starts);
    let dy = names::local("d_value", Span::call_site());
    let k = proc_macro2::Literal::usize_unsuffixed(k);
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
    let (args, jac, n) = (&p.args, &p.jac, &p.flat.n);
    let jvp = names::jvp_fn(f.name());
    let j = names::local("j", Span::call_site());
    let (tangents, passed) = tangents(f, "t");
    let units = p.flat.units(&tangents, &j);

    let dy = names::local("d_value", Span::call_site());
    quote! {
        for #j in 0..#n {
            #units
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

/// One pullback per row, seeded with the unit cotangents of the result's floats; a
/// `reusable` pullback (`emit::pullback_reuse`) comes from one primal sweep for all
/// rows, any other from one sweep per row.
fn pullback_rows(
    f: &DiffFn,
    p: &ParamParts,
    (value, m): (&syn::Ident, &syn::Ident),
    reusable: bool,
) -> TokenStream {
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
    let sweep = quote!(let (_, #pullback) = #vjp(#(#args),*););
    let (once, per_row) = if reusable {
        (sweep, TokenStream::new())
    } else {
        (TokenStream::new(), sweep)
    };
    quote! {
        #once
        for #i in 0..#m {
            #per_row
            let #pattern = #pullback(::autodiff::flat::Direction::unit(&#value, ::core::option::Option::Some(#i)));
            let mut #at = 0usize;
            #(#at = ::autodiff::flat::row(&mut #jac, #i, #at, &#grads);)*
        }
    }
}
