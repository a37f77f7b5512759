//! Local closures, `let f = |t: f64| ..;`, inlined where they are called (`f(x)` becomes
//! `{ let t: f64 = x; .. }`) or passed to an iterator adapter (`xs.iter().map(f)`), so
//! that no closure exists at run time and the body is differentiated like any other code.
//!
//! Inlining reads the captured variables at the call instead of at the definition, which
//! is the same value unless one is bound again (`let a = ..`) or assigned after the
//! definition. A closure whose captured names (or own name) are bound or assigned again
//! later in the block is left as written, and the fence reports it.

use super::strip;
use std::collections::HashSet;
use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::visit_mut::VisitMut;
use syn::{Expr, Pat, Stmt};

/// Inlines the closures defined by `let` in `block` into its later statements.
pub(super) fn inline(block: &mut syn::Block) {
    let mut i = 0;
    while i < block.stmts.len() {
        if let Some((name, closure)) = local_closure(&block.stmts[i]) {
            let rest = &mut block.stmts[i + 1..];
            let mut watched = free_names(&closure);
            watched.insert(name.to_string());
            if !rebinds_any(rest, &watched) {
                let mut r = Replace {
                    name: &name,
                    closure: &closure,
                };
                rest.iter_mut().for_each(|s| r.visit_stmt_mut(s));
                if !mentions(rest, &name) {
                    block.stmts.remove(i);
                    continue;
                }
            }
        }
        i += 1;
    }
}

/// `let name = |params| body;`
fn local_closure(stmt: &Stmt) -> Option<(syn::Ident, syn::ExprClosure)> {
    let Stmt::Local(local) = stmt else {
        return None;
    };
    let Pat::Ident(p) = &local.pat else {
        return None;
    };
    let init = local.init.as_ref()?;
    match strip(&init.expr) {
        Expr::Closure(c)
            if c.asyncness.is_none() && p.subpat.is_none() && init.diverge.is_none() =>
        {
            Some((p.ident.clone(), c.clone()))
        }
        _ => None,
    }
}

/// The names the closure's body reads but its parameters do not bind (with some it
/// binds itself: more than needed, never fewer).
fn free_names(c: &syn::ExprClosure) -> HashSet<String> {
    let mut used = Names::default();
    used.visit_expr(&c.body);
    let mut params = Names::default();
    c.inputs.iter().for_each(|p| params.visit_pat(p));
    used.0.difference(&params.0).cloned().collect()
}

/// Identifiers of paths and patterns.
#[derive(Default)]
struct Names(HashSet<String>);

impl Visit<'_> for Names {
    fn visit_path(&mut self, p: &syn::Path) {
        if let Some(i) = p.get_ident() {
            self.0.insert(i.to_string());
        }
        syn::visit::visit_path(self, p);
    }

    fn visit_pat_ident(&mut self, p: &syn::PatIdent) {
        self.0.insert(p.ident.to_string());
        syn::visit::visit_pat_ident(self, p);
    }
}

/// Whether `stmts` bind (`let`, loop and closure patterns) or assign one of `names`.
fn rebinds_any(stmts: &[Stmt], names: &HashSet<String>) -> bool {
    #[derive(Default)]
    struct Bound(HashSet<String>);
    impl Visit<'_> for Bound {
        fn visit_pat_ident(&mut self, p: &syn::PatIdent) {
            self.0.insert(p.ident.to_string());
            syn::visit::visit_pat_ident(self, p);
        }
        fn visit_expr_assign(&mut self, a: &syn::ExprAssign) {
            if let Expr::Path(p) = strip(&a.left) {
                self.0.extend(p.path.get_ident().map(ToString::to_string));
            }
            syn::visit::visit_expr_assign(self, a);
        }
        fn visit_expr_binary(&mut self, b: &syn::ExprBinary) {
            if crate::fence::is_compound_assign(&b.op) {
                if let Expr::Path(p) = strip(&b.left) {
                    self.0.extend(p.path.get_ident().map(ToString::to_string));
                }
            }
            syn::visit::visit_expr_binary(self, b);
        }
    }
    let mut bound = Bound::default();
    stmts.iter().for_each(|s| bound.visit_stmt(s));
    !bound.0.is_disjoint(names)
}

/// Whether `name` is still used in `stmts`.
fn mentions(stmts: &[Stmt], name: &syn::Ident) -> bool {
    let mut names = Names::default();
    stmts.iter().for_each(|s| names.visit_stmt(s));
    names.0.contains(&name.to_string())
}

/// Replaces calls of the closure by its body and passes of it by the closure itself.
struct Replace<'a> {
    name: &'a syn::Ident,
    closure: &'a syn::ExprClosure,
}

impl Replace<'_> {
    fn is_name(&self, e: &Expr) -> bool {
        matches!(strip(e), Expr::Path(p) if p.path.is_ident(self.name))
    }

    /// `{ let p1 = a1; ..; body }`: the arguments in order, then the body.
    fn call(&self, args: &syn::punctuated::Punctuated<Expr, syn::Token![,]>) -> Option<Expr> {
        if args.len() != self.closure.inputs.len() {
            return None;
        }
        let lets = self.closure.inputs.iter().zip(args).map(|(p, a)| {
            let p = match p {
                Pat::Reference(r) => &*r.pat,
                p => p,
            };
            quote::quote!(let #p = #a;)
        });
        let body = &self.closure.body;
        syn::parse2(quote::quote_spanned!(body.span()=> { #(#lets)* #body })).ok()
    }
}

impl VisitMut for Replace<'_> {
    fn visit_expr_mut(&mut self, e: &mut Expr) {
        syn::visit_mut::visit_expr_mut(self, e);
        match e {
            Expr::Call(c) if self.is_name(&c.func) => {
                if let Some(inlined) = self.call(&c.args) {
                    *e = inlined;
                }
            }
            Expr::MethodCall(m) => {
                for a in m.args.iter_mut() {
                    if self.is_name(a) {
                        *a = Expr::Closure(self.closure.clone());
                    }
                }
            }
            _ => {}
        }
    }
}
