//! The generated-identifier scheme, in one place.
//!
//! A value the user named keeps that name (`let y = ..` stays `y`; a rebinding becomes
//! `y_1`, `y_2`, ..); other values are `v<N>`; the tangent or cotangent of `y` is `d_y`.
//! Parameters keep the user's identifiers, spans included. Every other identifier gets a
//! mixed-site span, so it can neither capture nor shadow a user's name.

use crate::ir::{Func, Role, Value};
use proc_macro2::{Ident, Span};
use std::collections::HashSet;

/// The generated function names.
pub fn jvp_fn(name: &Ident) -> Ident {
    Ident::new(&format!("{name}_jvp"), name.span())
}

pub fn vjp_fn(name: &Ident) -> Ident {
    Ident::new(&format!("{name}_vjp"), name.span())
}

pub fn grad_fn(name: &Ident) -> Ident {
    Ident::new(&format!("{name}_grad"), name.span())
}

/// The runtime rule `<op>_<mode>[_<slot>]` (`sin_jvp`, `mul_vjp_rhs`); see
/// `autodiff_runtime::rules` for the contract.
pub fn rule_fn(op: &str, mode: crate::ir::Mode, slot: Option<&str>) -> String {
    let mode = mode.name();
    match slot {
        Some(slot) => format!("{op}_{mode}_{slot}"),
        None => format!("{op}_{mode}"),
    }
}

/// The runtime rule giving element `k` (row-major) of a matrix's cotangent, for the
/// adjoint of a matrix built from elements.
pub const ELEMENT_RULE: &str = "element_vjp";

/// The runtime's identity that derivatives treat as a constant (`autodiff::stop_gradient`):
/// a call of it is lowered to `Op::StopGradient` and emitted as a call of it again.
pub const STOP_GRADIENT: &str = "stop_gradient";

/// The runtime rule of a matrix element read `m[i]` (one index) or `m[(i, j)]` (two).
pub fn at_rule(indices: usize) -> String {
    if indices == 2 {
        "at2_vjp".into()
    } else {
        "at_vjp".into()
    }
}

/// A hygienic identifier for generated code, reported at `span`.
pub fn local(name: &str, span: Span) -> Ident {
    Ident::new(name, Span::mixed_site().located_at(span))
}

/// The tangent parameter `d_p` of a parameter `p` in generated signatures (`f_dir`,
/// `f_hvp`).
pub fn tangent_param(p: &Ident) -> Ident {
    local(&format!("d_{}", sanitize(&p.to_string())), p.span())
}

/// One identifier per value of a function, unique within it.
pub struct Names {
    idents: Vec<Option<Ident>>,
    /// Every identifier given out, so that a later `fresh` one is new too.
    taken: HashSet<String>,
}

impl Names {
    /// `params` are the user's parameter identifiers, by parameter value. Other values are
    /// named in the order they are defined, so temporaries read `v1`, `v2`, ..
    pub fn assign(func: &Func, params: &[(Value, Ident)]) -> Names {
        let mut taken: HashSet<String> = params.iter().map(|(_, i)| i.to_string()).collect();
        let mut idents = vec![None; func.values.len()];
        for (v, ident) in params {
            idents[v.index()] = Some(ident.clone());
        }
        let mut order = func.params.clone();
        func.body.defs(&mut order);
        let mut temporaries = 0;
        for v in order {
            if idents[v.index()].is_some() {
                continue;
            }
            let info = func.info(v);
            let assigned = |p: Value, idents: &[Option<Ident>]| {
                idents[p.index()]
                    .as_ref()
                    .map_or_else(|| format!("v{}", p.0), ToString::to_string)
            };
            let base = match (info.role, info.name.as_deref()) {
                (Role::Derivative(p), _) => format!("d_{}", sanitize(&assigned(p, &idents))),
                (Role::Pullback(p), _) => format!("{}_pullback", sanitize(&assigned(p, &idents))),
                (Role::Primal, Some(n)) => sanitize(n),
                (Role::Primal, None) => {
                    temporaries += 1;
                    format!("v{temporaries}")
                }
            };
            idents[v.index()] = Some(local(&unique(&base, &mut taken), info.span));
        }
        Names { idents, taken }
    }

    /// A new identifier for a binding that is no value of the function (a loop nest's
    /// record stack): `base`, or `base_1`, .. if that is taken.
    pub fn fresh(&mut self, base: &str, span: Span) -> Ident {
        local(&unique(base, &mut self.taken), span)
    }

    pub fn ident(&self, v: Value) -> Ident {
        self.idents
            .get(v.index())
            .cloned()
            .flatten()
            .unwrap_or_else(|| local(&format!("v{}", v.0), Span::call_site()))
    }
}

/// A plain identifier from a value's name: internal bindings are written `<result>`, and a
/// raw identifier `r#type` becomes `type_`.
pub fn sanitize(name: &str) -> String {
    // `<result>`, and `s.x` (a field of a local struct value).
    let name = name.replace(['<', '>'], "").replace('.', "_");
    match name.strip_prefix("r#") {
        Some(raw) => format!("{raw}_"),
        None => name.replace("r#", ""),
    }
}

fn unique(base: &str, taken: &mut HashSet<String>) -> String {
    let mut name = base.to_string();
    let mut k = 1;
    while taken.contains(&name) {
        name = format!("{base}_{k}");
        k += 1;
    }
    taken.insert(name.clone());
    name
}

/// The suffix of the `k`-th of the `n` reverse partials of a `nested` function,
/// `f_grad_k_of_n`: the count is in the name, so that a caller destructuring `f_grad` into
/// the wrong number of partials finds no function instead of the wrong one.
pub fn partial_suffix(k: usize, n: usize) -> String {
    format!("_grad_{k}_of_{n}")
}

/// `a::b::g` with `suffix` (`_vjp`, `_dir`, or nothing) appended to `g`, keeping the spans.
pub fn suffixed_path(path: &proc_macro2::TokenStream, suffix: &str) -> proc_macro2::TokenStream {
    let mut tokens: Vec<proc_macro2::TokenTree> = path.clone().into_iter().collect();
    if let Some(proc_macro2::TokenTree::Ident(last)) = tokens.last_mut() {
        *last = Ident::new(&format!("{last}{suffix}"), last.span());
    }
    tokens.into_iter().collect()
}
