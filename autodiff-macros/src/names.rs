//! The generated-identifier scheme, in one place.
//!
//! A value the user named keeps that name (`let y = ..` stays `y`; a rebinding becomes
//! `y_1`, `y_2`, ..); other values are `v<N>`; the tangent or cotangent of `y` is `d_y`.
//! Parameters keep the user's identifiers, spans included. Every other identifier gets a
//! mixed-site span, so it can neither capture nor shadow a user's name.

use crate::ir::{Func, Value};
use proc_macro2::{Ident, Span};
use std::collections::HashSet;

/// The name of the tangent (or cotangent) of a value called `name`.
pub fn tangent_of(name: Option<&str>, v: Value) -> String {
    match name {
        Some(n) => format!("d_{n}"),
        None => format!("d_v{}", v.0),
    }
}

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

/// A hygienic identifier for generated code, reported at `span`.
pub fn local(name: &str, span: Span) -> Ident {
    Ident::new(name, Span::mixed_site().located_at(span))
}

/// One identifier per value of a function, unique within it.
pub struct Names {
    idents: Vec<Option<Ident>>,
}

impl Names {
    /// `params` are the user's parameter identifiers, by parameter value.
    pub fn assign(func: &Func, params: &[(Value, Ident)]) -> Names {
        let mut taken: HashSet<String> = params.iter().map(|(_, i)| i.to_string()).collect();
        let mut idents = vec![None; func.values.len()];
        for (v, ident) in params {
            idents[v.index()] = Some(ident.clone());
        }
        for (i, info) in func.values.iter().enumerate() {
            if idents[i].is_some() {
                continue;
            }
            let base = match info.name.as_deref() {
                Some(n) => sanitize(n),
                None => format!("v{i}"),
            };
            let name = unique(&base, &mut taken);
            idents[i] = Some(local(&name, info.span));
        }
        Names { idents }
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
    let name = name.replace(['<', '>'], "");
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
