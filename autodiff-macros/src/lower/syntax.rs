//! Questions about the syntax tree that need no lowering state.

use super::*;

/// The single names a closure body reads (`x` in `x * 2.0`), to check that it uses no
/// local of the enclosing function.
pub(super) fn free_names(body: &Expr) -> Vec<syn::Ident> {
    struct Names(Vec<syn::Ident>);
    impl<'ast> syn::visit::Visit<'ast> for Names {
        fn visit_expr_path(&mut self, p: &'ast syn::ExprPath) {
            if let Some(i) = p.path.get_ident() {
                self.0.push(i.clone());
            }
        }
    }
    let mut names = Names(Vec::new());
    syn::visit::Visit::visit_expr(&mut names, body);
    names.0
}

/// Whether a call argument is written `&a`.
pub(super) fn borrowed(e: &Expr) -> bool {
    match e {
        Expr::Reference(_) => true,
        Expr::Paren(p) => borrowed(&p.expr),
        Expr::Group(g) => borrowed(&g.expr),
        _ => false,
    }
}

pub(super) fn binding_of(pat: &syn::Pat) -> (Option<&syn::Ident>, Option<&syn::Type>) {
    match pat {
        syn::Pat::Ident(pi) => (Some(&pi.ident), None),
        syn::Pat::Type(pt) => (binding_of(&pt.pat).0, Some(&pt.ty)),
        _ => (None, None),
    }
}

pub(super) fn ty_of(class: TypeClass) -> Ty {
    match class {
        TypeClass::Float(FloatTy::F32) => Ty::F32,
        TypeClass::Float(FloatTy::F64) => Ty::F64,
        TypeClass::Int => Ty::Int,
        TypeClass::Bool => Ty::Bool,
        TypeClass::FloatContainer(FloatTy::F32) => Ty::ArrayF32,
        TypeClass::FloatContainer(FloatTy::F64) => Ty::ArrayF64,
        TypeClass::IntContainer => Ty::ArrayInt,
        TypeClass::Linear => Ty::Obj,
        TypeClass::Inert | TypeClass::Other => Ty::Unknown,
    }
}

pub(super) fn float_const(value: syn::Result<f64>, lit: proc_macro2::Literal) -> Const {
    Const::Float {
        value: value.unwrap_or(f64::NAN),
        lit,
    }
}

pub(super) fn float_suffix(suffix: &str) -> Ty {
    match suffix {
        "f32" => Ty::F32,
        "f64" => Ty::F64,
        _ => Ty::Float,
    }
}

/// `f64` for paths such as `std::f64::consts::PI` or `f64::EPSILON`.
pub(super) fn path_float_ty(path: &syn::Path) -> Ty {
    let mut segments = path.segments.iter().rev().skip(1);
    if segments.any(|s| s.ident == "f64") {
        return Ty::F64;
    }
    if path.segments.iter().rev().skip(1).any(|s| s.ident == "f32") {
        return Ty::F32;
    }
    Ty::Unknown
}

/// `Vector3::new`, `Matrix2::new`, `RowVector4::new`, `Matrix2x3::new`, `Point3::new`
/// (possibly behind a path): nalgebra's constructors from elements in row-major order.
pub(super) fn is_matrix_constructor(path: &syn::Path) -> bool {
    let names: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    let [.., ty, f] = names.as_slice() else {
        return false;
    };
    let dims = ["RowVector", "Vector", "Matrix", "Point"]
        .iter()
        .find_map(|prefix| ty.strip_prefix(prefix));
    f == "new"
        && dims.is_some_and(|d| !d.is_empty() && d.chars().all(|c| c.is_ascii_digit() || c == 'x'))
}

/// `Vec::new` or `Vec::with_capacity`.
pub(super) fn is_vec_constructor(path: &syn::Path) -> bool {
    let names: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    matches!(names.as_slice(), [.., v, f] if v == "Vec" && (f == "new" || f == "with_capacity"))
}

/// `stop_gradient(x)` (imported) or `autodiff::stop_gradient(x)`.
pub(super) fn is_stop_gradient(path: &syn::Path) -> bool {
    let names: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    let last = crate::names::STOP_GRADIENT;
    matches!(names.as_slice(), [f] if f == last)
        || matches!(names.as_slice(), [crate_name, f] if crate_name == "autodiff" && f == last)
}

/// `f64::name` / `f32::name` (possibly behind `std::` or `core::`): the float and the name.
pub(super) fn float_assoc_fn(path: &syn::Path) -> Option<(Ty, &syn::Ident)> {
    let n = path.segments.len();
    if n < 2 {
        return None;
    }
    let name = &path.segments[n - 1].ident;
    let float = match class_of_name(&path.segments[n - 2].ident.to_string()) {
        TypeClass::Float(FloatTy::F32) => Ty::F32,
        TypeClass::Float(FloatTy::F64) => Ty::F64,
        _ => return None,
    };
    Some((float, name))
}

pub(super) fn binary_op(op: BinOp) -> Option<Op> {
    Some(match op {
        BinOp::Add(_) | BinOp::AddAssign(_) => Op::Add,
        BinOp::Sub(_) | BinOp::SubAssign(_) => Op::Sub,
        BinOp::Mul(_) | BinOp::MulAssign(_) => Op::Mul,
        BinOp::Div(_) | BinOp::DivAssign(_) => Op::Div,
        BinOp::Rem(_) | BinOp::RemAssign(_) => Op::Rem,
        BinOp::BitAnd(_) | BinOp::BitAndAssign(_) => Op::BitAnd,
        BinOp::BitOr(_) | BinOp::BitOrAssign(_) => Op::BitOr,
        BinOp::BitXor(_) | BinOp::BitXorAssign(_) => Op::BitXor,
        BinOp::Shl(_) | BinOp::ShlAssign(_) => Op::Shl,
        BinOp::Shr(_) | BinOp::ShrAssign(_) => Op::Shr,
        BinOp::Eq(_) => Op::Cmp(CmpOp::Eq),
        BinOp::Ne(_) => Op::Cmp(CmpOp::Ne),
        BinOp::Lt(_) => Op::Cmp(CmpOp::Lt),
        BinOp::Le(_) => Op::Cmp(CmpOp::Le),
        BinOp::Gt(_) => Op::Cmp(CmpOp::Gt),
        BinOp::Ge(_) => Op::Cmp(CmpOp::Ge),
        // `&&` and `||` are lowered as branches; `BinOp` is non-exhaustive.
        _ => return None,
    })
}

/// The array an argument passes (`&a`, `&*a`, `&a[1..]`, `a` give `a`), or the argument.
pub(super) fn strip_ref(e: &Expr) -> &Expr {
    match crate::fence::strip(e) {
        Expr::Reference(r) => strip_ref(&r.expr),
        Expr::Unary(u) if matches!(u.op, UnOp::Deref(_)) => strip_ref(&u.expr),
        Expr::Index(ix) if matches!(crate::fence::strip(&ix.index), Expr::Range(_)) => {
            strip_ref(&ix.expr)
        }
        e => e,
    }
}
