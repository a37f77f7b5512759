//! The front end: the checked view of the user's function that later stages work from.
//! It borrows the `syn` tree, so any stage can point an error at the user's tokens.
//!
//! Accepts: a non-async, non-generic (lifetimes aside) function or method (`self`,
//! `&self`) returning a float, an array of floats or a named type (a matrix, a struct),
//! whose parameters are plain names. Decides each parameter's activity: by default every
//! float, array of floats and named type (nalgebra matrices, parameter structs, `Self`) is
//! active and integers, `bool`, `char`, `str` and containers of those are not; `wrt(..)`
//! overrides the default.

use crate::{args::Args, ctxt::Ctxt, diag};
use proc_macro2::Ident;
use syn::{FnArg, GenericParam, ItemFn, Pat, ReturnType, Type};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FloatTy {
    F32,
    F64,
}

/// What a parameter's declared type is, as far as activity is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TypeClass {
    Float(FloatTy),
    Int,
    Bool,
    /// `char`, `str`, and references, slices, arrays and `Vec`s of `bool`s and such.
    Inert,
    /// Slices, arrays and `Vec`s of integers (possibly borrowed): index arrays.
    IntContainer,
    /// Slices, arrays and `Vec`s of floats, possibly borrowed: active arrays.
    FloatContainer(FloatTy),
    /// A named type that is not a primitive, possibly borrowed: nalgebra matrices and
    /// vectors, structs with `#[derive(Differentiable)]`, `Self`. Its rules and zero come
    /// from traits, which rustc checks.
    Linear,
    Other,
}

pub struct DiffFn<'a> {
    pub original: &'a ItemFn,
    /// The body as the fence and lowering see it: iterator chains written as loops
    /// (`desugar`). The original is what the user's function is emitted from.
    pub body: syn::Block,
    pub params: Vec<Param<'a>>,
    /// The declared result; `None` for a function that returns nothing, which must have
    /// an output parameter.
    pub ret_ty: Option<&'a Type>,
}

pub struct Param<'a> {
    pub ident: Ident,
    pub ty: &'a Type,
    pub class: TypeClass,
    pub active: bool,
    /// The method receiver (`self`, `&self`).
    pub receiver: bool,
    /// An output parameter (`out: &mut [f64]`): its content at the end is a result of the
    /// function, and its content at the start a constant.
    pub output: bool,
}

impl Param<'_> {
    /// Whether the parameter is a reference (`&T`, `&self`).
    pub fn by_ref(&self) -> bool {
        matches!(self.ty, Type::Reference(_))
    }
}

impl<'a> DiffFn<'a> {
    pub fn from_syn(cx: &Ctxt, args: &Args, item: &'a ItemFn) -> Option<DiffFn<'a>> {
        check_signature(cx, item);
        let params = params(cx, item);
        // A `&mut` parameter that is not an output has been reported; the result is not.
        let outputs = params.as_ref().is_none_or(|ps| ps.iter().any(|p| p.output));
        let ret_ty = result_type(cx, item, outputs);
        let (params, ret_ty) = (params?, ret_ty?);
        let mut f = DiffFn {
            original: item,
            body: crate::desugar::body(&item.block),
            params,
            ret_ty,
        };
        f.set_activity(cx, args);
        Some(f)
    }

    pub fn name(&self) -> &Ident {
        &self.original.sig.ident
    }

    /// Whether the result is more than one float (an array, a matrix, a struct or a
    /// tuple): then there is no `f_grad` (the derivative is a Jacobian), the pullback takes
    /// the result's cotangent, and `f_jvp` returns its tangent.
    /// An output parameter makes the result more than one float too.
    pub fn returns_vector(&self) -> bool {
        let parts = self.result_parts();
        let vector = |ty: &&Type| {
            matches!(
                classify(ty),
                TypeClass::FloatContainer(_) | TypeClass::Linear
            )
        };
        parts.len() != 1 || parts.iter().any(vector) || self.outputs().next().is_some()
    }

    /// The types of the parts of a tuple result (`-> (f64, Vec<f64>)`), or the result's
    /// type alone (none for a function that returns nothing). Each part is a result of its
    /// own: the pullback takes a tuple of their cotangents and `f_jvp` returns a tuple of
    /// their tangents.
    pub fn result_parts(&self) -> Vec<&'a Type> {
        match self.ret_ty {
            Some(Type::Tuple(t)) => t.elems.iter().flat_map(leaf_types).collect(),
            Some(ty) => vec![ty],
            None => Vec::new(),
        }
    }

    /// The output parameters (`out: &mut [f64]`), in order.
    pub fn outputs(&self) -> impl Iterator<Item = &Param<'a>> {
        self.params.iter().filter(|p| p.output)
    }

    /// The parameters with a tangent: the active ones and the outputs, in order. `f_jvp`
    /// takes a tangent for each (an output's is written, like the output).
    pub fn tangent_params(&self) -> impl Iterator<Item = &Param<'a>> {
        self.params.iter().filter(|p| p.active || p.output)
    }

    /// Whether the function is a method (its first parameter is `self`).
    pub fn is_method(&self) -> bool {
        self.params.first().is_some_and(|p| p.receiver)
    }

    pub fn active_params(&self) -> impl Iterator<Item = &Param<'a>> {
        self.params.iter().filter(|p| p.active)
    }

    fn set_activity(&mut self, cx: &Ctxt, args: &Args) {
        match &args.wrt {
            Some(names) => self.activity_from_wrt(cx, names),
            None => self.default_activity(cx),
        }
        let reported = self.params.iter().any(|p| p.class == TypeClass::Other);
        if !reported && !self.params.iter().any(|p| p.active) {
            cx.push(diag::no_active_param(self.name()));
        }
    }

    fn default_activity(&mut self, cx: &Ctxt) {
        let generics = &self.original.sig.generics;
        for p in &mut self.params {
            match p.class {
                // A generic parameter's type has been reported with the generic parameter.
                TypeClass::Other | TypeClass::Linear if names_generic(p.ty, generics) => {}
                _ if p.output => {}
                TypeClass::Float(_) | TypeClass::FloatContainer(_) | TypeClass::Linear => {
                    p.active = true
                }
                TypeClass::Other => cx.push(diag::unsupported_param_type(p.ty)),
                TypeClass::Int | TypeClass::Bool | TypeClass::Inert | TypeClass::IntContainer => {}
            }
        }
    }

    fn activity_from_wrt(&mut self, cx: &Ctxt, names: &[Ident]) {
        let func = &self.original.sig.ident;
        for (i, name) in names.iter().enumerate() {
            if names[..i].contains(name) {
                cx.push(diag::wrt_duplicate_param(name));
                continue;
            }
            match self.params.iter_mut().find(|p| p.ident == *name) {
                None => cx.push(diag::wrt_not_a_param(name, func)),
                Some(p) if p.output => cx.push(diag::wrt_output(name)),
                Some(p)
                    if matches!(
                        p.class,
                        TypeClass::Float(_) | TypeClass::FloatContainer(_) | TypeClass::Linear
                    ) =>
                {
                    p.active = true
                }
                Some(p) => cx.push(diag::wrt_not_float(name, p.ty)),
            }
        }
    }
}

fn names_generic(ty: &Type, generics: &syn::Generics) -> bool {
    let Type::Path(p) = ty else { return false };
    generics.type_params().any(|g| p.path.is_ident(&g.ident))
}

fn check_signature(cx: &Ctxt, item: &ItemFn) {
    let sig = &item.sig;
    if let Some(token) = &sig.asyncness {
        cx.push(diag::async_fn(token));
    }
    if let Some(token) = &sig.unsafety {
        cx.push(diag::unsafe_fn(token));
    }
    if let Some(v) = &sig.variadic {
        cx.push(diag::variadic(v));
    }
    for param in &sig.generics.params {
        // Lifetimes and array lengths (`const N: usize`) carry over to the derivatives.
        if !matches!(param, GenericParam::Lifetime(_) | GenericParam::Const(_)) {
            cx.push(diag::generic_param(param));
        }
    }
}

fn params<'a>(cx: &Ctxt, item: &'a ItemFn) -> Option<Vec<Param<'a>>> {
    let mut ok = true;
    let mut out = Vec::new();
    for arg in &item.sig.inputs {
        match arg {
            FnArg::Receiver(r) if r.mutability.is_some() || r.colon_token.is_some() => {
                cx.push(diag::method_receiver(r));
                ok = false;
            }
            FnArg::Receiver(r) => out.push(Param {
                ident: Ident::new("self", r.self_token.span),
                ty: &r.ty,
                class: match classify(&r.ty) {
                    TypeClass::Other => TypeClass::Other,
                    _ => TypeClass::Linear,
                },
                active: false,
                receiver: true,
                output: false,
            }),
            FnArg::Typed(pt) => match &*pt.pat {
                Pat::Ident(pi) if pi.by_ref.is_none() && pi.subpat.is_none() => {
                    let output = output_float(&pt.ty);
                    if output.is_none()
                        && matches!(&*pt.ty, Type::Reference(r) if r.mutability.is_some())
                    {
                        cx.push(diag::mut_param(&pt.ty));
                        ok = false;
                    }
                    out.push(Param {
                        ident: pi.ident.clone(),
                        ty: &pt.ty,
                        class: output.map_or_else(|| classify(&pt.ty), TypeClass::FloatContainer),
                        active: false,
                        receiver: false,
                        output: output.is_some(),
                    });
                }
                pat => {
                    cx.push(diag::param_pattern(pat));
                    ok = false;
                }
            },
        }
    }
    ok.then_some(out)
}

/// The declared result: `Some(None)` for nothing (`-> ()` too), allowed with an output
/// parameter.
fn result_type<'a>(cx: &Ctxt, item: &'a ItemFn, outputs: bool) -> Option<Option<&'a Type>> {
    let ty = match &item.sig.output {
        ReturnType::Type(_, ty) if !matches!(&**ty, Type::Tuple(t) if t.elems.is_empty()) => ty,
        _ if outputs => return Some(None),
        _ => {
            cx.push(diag::missing_return_type(&item.sig.ident));
            return None;
        }
    };
    let ok = match &**ty {
        Type::Tuple(t) if t.elems.len() >= 2 => leaf_types(ty).iter().all(|p| result_part(cx, p)),
        _ => result_part(cx, ty),
    };
    ok.then_some(Some(ty))
}

/// The types of a (possibly nested) tuple type's parts, in order: `((f64, f64), Vec<f64>)`
/// gives `f64, f64, Vec<f64>`; any other type is its own part.
pub fn leaf_types(ty: &Type) -> Vec<&Type> {
    match ty {
        Type::Tuple(t) if t.elems.len() >= 2 => t.elems.iter().flat_map(leaf_types).collect(),
        Type::Paren(p) => leaf_types(&p.elem),
        _ => vec![ty],
    }
}

/// The parts of a tuple expression `((a, b), c)` shaped as the tuple type `ty`, in order;
/// `None` if it is not written as such a tuple.
pub fn leaf_exprs<'e>(e: &'e syn::Expr, ty: &Type) -> Option<Vec<&'e syn::Expr>> {
    match (crate::fence::strip(e), ty) {
        (syn::Expr::Tuple(t), Type::Tuple(tt))
            if tt.elems.len() >= 2 && t.elems.len() == tt.elems.len() =>
        {
            let mut out = Vec::new();
            for (e, ty) in t.elems.iter().zip(&tt.elems) {
                out.extend(leaf_exprs(e, ty)?);
            }
            Some(out)
        }
        (_, Type::Tuple(tt)) if tt.elems.len() >= 2 => None,
        (_, Type::Paren(p)) => leaf_exprs(e, &p.elem),
        _ => Some(vec![e]),
    }
}

/// The float type of an output parameter's elements: `&mut [T]`, `&mut [T; N]`,
/// `&mut Vec<T>` or a nalgebra vector `&mut DVector<T>` (`SVector<T, N>`, `Vector3<T>`),
/// written element by element.
pub fn output_float(ty: &Type) -> Option<FloatTy> {
    let Type::Reference(r) = ty else { return None };
    r.mutability?;
    match classify(&r.elem) {
        TypeClass::FloatContainer(f) => return Some(f),
        TypeClass::Linear => {}
        _ => return None,
    }
    let Type::Path(p) = &*r.elem else { return None };
    let last = p.path.segments.last()?;
    let syn::PathArguments::AngleBracketed(a) = &last.arguments else {
        return None;
    };
    let Some(syn::GenericArgument::Type(elem)) = a.args.first() else {
        return None;
    };
    match classify(elem) {
        TypeClass::Float(f) if last.ident.to_string().contains("Vector") => Some(f),
        _ => None,
    }
}

/// Whether `ty` can be a result (or a part of a tuple result), reporting it if not.
fn result_part(cx: &Ctxt, ty: &Type) -> bool {
    match classify(ty) {
        TypeClass::Float(_) => true,
        // An owned array of floats (`Vec<f64>`, `[f64; 3]`), not a borrowed one.
        TypeClass::FloatContainer(_) | TypeClass::Linear if !matches!(ty, Type::Reference(_)) => {
            true
        }
        _ => {
            cx.push(diag::unsupported_return_type(ty));
            false
        }
    }
}

/// Classifies a declared type by its spelling; rustc checks that the spelling means what
/// it usually does.
pub fn classify(ty: &Type) -> TypeClass {
    match ty {
        Type::Paren(p) => classify(&p.elem),
        Type::Group(g) => classify(&g.elem),
        // Writing through a `&mut` would change the caller's data in every derivative call.
        Type::Reference(r) if r.mutability.is_some() => TypeClass::Other,
        Type::Reference(r) => borrowed(classify(&r.elem)),
        Type::Slice(s) => container_of(classify(&s.elem)),
        Type::Array(a) => container_of(classify(&a.elem)),
        Type::Path(p) if p.qself.is_none() => classify_path(&p.path),
        _ => TypeClass::Other,
    }
}

fn classify_path(path: &syn::Path) -> TypeClass {
    let Some(last) = path.segments.last() else {
        return TypeClass::Other;
    };
    if last.ident == "Vec" {
        if let syn::PathArguments::AngleBracketed(a) = &last.arguments {
            if let Some(syn::GenericArgument::Type(t)) = a.args.first() {
                return container_of(classify(t));
            }
        }
        return TypeClass::Other;
    }
    let name = last.ident.to_string();
    if path.segments.len() == 1 && last.arguments.is_none() {
        let class = class_of_name(&name);
        if class != TypeClass::Other {
            return class;
        }
    }
    if NOT_LINEAR.contains(&name.as_str()) {
        return TypeClass::Other;
    }
    if name == "String" {
        return TypeClass::Inert;
    }
    if name.starts_with(|c: char| c.is_ascii_uppercase()) {
        return TypeClass::Linear;
    }
    TypeClass::Other
}

/// Standard containers and wrappers that are not differentiable values themselves.
const NOT_LINEAR: &[&str] = &[
    "Option", "Result", "Box", "Rc", "Arc", "Cell", "RefCell", "Mutex", "HashMap", "BTreeMap",
    "HashSet", "BTreeSet", "VecDeque", "Cow",
];

/// The class of a primitive type's name.
pub fn class_of_name(name: &str) -> TypeClass {
    match name {
        "f32" => TypeClass::Float(FloatTy::F32),
        "f64" => TypeClass::Float(FloatTy::F64),
        "i8" | "i16" | "i32" | "i64" | "i128" | "isize" | "u8" | "u16" | "u32" | "u64" | "u128"
        | "usize" => TypeClass::Int,
        "bool" => TypeClass::Bool,
        "char" | "str" => TypeClass::Inert,
        _ => TypeClass::Other,
    }
}

/// A slice, array or `Vec` of `elem`.
fn container_of(elem: TypeClass) -> TypeClass {
    match elem {
        TypeClass::Float(f) => TypeClass::FloatContainer(f),
        TypeClass::Int => TypeClass::IntContainer,
        TypeClass::Bool | TypeClass::Inert | TypeClass::IntContainer => TypeClass::Inert,
        // Nested float containers are not differentiable (yet).
        TypeClass::FloatContainer(_) | TypeClass::Linear | TypeClass::Other => TypeClass::Other,
    }
}

/// A reference to `elem`: containers stay containers, `&f64` is not supported.
fn borrowed(elem: TypeClass) -> TypeClass {
    match elem {
        TypeClass::Float(_) | TypeClass::Other => TypeClass::Other,
        TypeClass::Int | TypeClass::Bool | TypeClass::Inert => TypeClass::Inert,
        c @ (TypeClass::IntContainer | TypeClass::FloatContainer(_) | TypeClass::Linear) => c,
    }
}
