//! The language fence: walks the body once and records every construct outside the
//! supported subset, each with a span on the user's tokens and what to write instead.
//! Nothing past the fence needs to handle unsupported syntax, except by reporting an
//! internal error.
//!
//! Supported: literals (numbers, `bool`), paths, `let` (plain, `mut`, annotated), `=` and
//! compound assignment to locals, unary and binary operators, `as` casts, blocks, `if` /
//! `else`, `return`, calls by path, method calls, fields.

use crate::{ast::DiffFn, ctxt::Ctxt, diag};
use syn::visit::{self, Visit};
use syn::{Expr, Lit, Local, Pat, Stmt};

pub fn check(cx: &Ctxt, f: &DiffFn) {
    let mut fence = Fence {
        cx,
        loops: 0,
        conditions: 0,
    };
    // A tuple result's tuple, the last expression: its parts are the results.
    let stmts = &f.body.stmts;
    let tail = match (stmts.last(), f.ret_ty) {
        (Some(Stmt::Expr(e, None)), Some(ty)) if f.result_parts().len() > 1 => {
            crate::ast::leaf_exprs(e, ty)
        }
        _ => None,
    };
    match tail {
        Some(parts) => {
            for s in &stmts[..stmts.len() - 1] {
                fence.visit_stmt(s);
            }
            for e in parts {
                fence.visit_expr(e);
            }
        }
        None => fence.visit_block(&f.body),
    }
}

struct Fence<'a> {
    cx: &'a Ctxt,
    /// How many loops enclose the expression being visited.
    loops: usize,
    /// How many `while` conditions enclose it.
    conditions: usize,
}

impl<'ast> Visit<'ast> for Fence<'_> {
    fn visit_expr(&mut self, e: &'ast Expr) {
        match (e, self.reject(e)) {
            (_, Some(err)) => self.cx.push(err),
            (Expr::ForLoop(f), None) => self.visit_for(f),
            // A sub-slice `xs[a..b]`: the array and the bounds.
            (Expr::Index(ix), None) if matches!(strip(&ix.index), Expr::Range(_)) => {
                self.visit_expr(&ix.expr);
                if let Expr::Range(r) = strip(&ix.index) {
                    for bound in r.start.iter().chain(&r.end) {
                        self.visit_expr(bound);
                    }
                }
            }
            (Expr::Loop(l), None) => {
                self.loops += 1;
                self.visit_block(&l.body);
                self.loops -= 1;
            }
            (Expr::Macro(m), None) => {
                if let Some((fill, len)) = vec_repeat(&m.mac) {
                    self.visit_expr(&fill);
                    self.visit_expr(&len);
                }
                for e in vec_list(&m.mac).unwrap_or_default() {
                    self.visit_expr(&e);
                }
            }
            // `m.map(|v| body)`: the closure's body is checked like any expression.
            (Expr::MethodCall(m), None) if map_closure(m).is_some() => {
                self.visit_expr(&m.receiver);
                if let Some(mc) = map_closure(m) {
                    for other in mc.others {
                        self.visit_expr(other);
                    }
                    self.visit_expr(mc.body);
                }
            }
            // `m[(i, j)]`: a matrix element; the pair is the index, not a tuple value.
            (Expr::Index(ix), None) if index_pair(&ix.index).is_some() => {
                self.visit_expr(&ix.expr);
                if let Some((i, j)) = index_pair(&ix.index) {
                    self.visit_expr(i);
                    self.visit_expr(j);
                }
            }
            // `if let pat = e`: the pattern is the lowering's; `e` and the branches are
            // checked like any expression.
            (Expr::If(i), None) if matches!(&*i.cond, Expr::Let(_)) => {
                if let Expr::Let(lt) = &*i.cond {
                    self.visit_expr(&lt.expr);
                }
                self.visit_block(&i.then_branch);
                if let Some((_, els)) = &i.else_branch {
                    self.visit_expr(els);
                }
            }
            (Expr::While(w), None) => {
                // `break` in a loop condition is no break of any loop (rustc: E0590).
                let loops = std::mem::replace(&mut self.loops, 0);
                self.conditions += 1;
                self.visit_expr(&w.cond);
                self.conditions -= 1;
                self.loops = loops;
                self.loops += 1;
                self.visit_block(&w.body);
                self.loops -= 1;
            }
            (_, None) => visit::visit_expr(self, e),
        }
    }

    fn visit_stmt(&mut self, s: &'ast Stmt) {
        match s {
            Stmt::Item(item) => self.cx.push(diag::item_in_body(item)),
            Stmt::Macro(m) => self.cx.push(diag::macro_call(&m.mac)),
            Stmt::Local(local) => self.check_local(local),
            Stmt::Expr(..) => visit::visit_stmt(self, s),
        }
    }
}

impl Fence<'_> {
    /// The error for an unsupported expression, or `None` to keep walking into it.
    fn reject(&self, e: &Expr) -> Option<syn::Error> {
        Some(match e {
            Expr::Lit(l) => return supported_literal(&l.lit),
            Expr::Path(p) => {
                return (p.qself.is_some() || has_generics(&p.path)).then(|| diag::generic_path(p))
            }
            Expr::If(i) => return self.check_condition(&i.cond),
            Expr::Block(b) => return b.label.as_ref().map(diag::labeled_block),
            Expr::Assign(a) => return assign_target(&a.left),
            Expr::Binary(b) if is_compound_assign(&b.op) => return assign_target(&b.left),
            Expr::MethodCall(m) => {
                return m
                    .turbofish
                    .as_ref()
                    .map(|_| diag::turbofish_method(&m.method))
            }
            Expr::Call(c) => {
                return (!matches!(&*c.func, Expr::Path(_))).then(|| diag::call_target(&c.func))
            }
            Expr::Return(_) if self.conditions > 0 => diag::return_in_condition(e),
            Expr::Binary(_)
            | Expr::Unary(_)
            | Expr::Paren(_)
            | Expr::Group(_)
            | Expr::Cast(_)
            | Expr::Return(_)
            | Expr::Index(_)
            | Expr::Field(_) => return None,
            Expr::Reference(r) if r.mutability.is_none() => return None,
            Expr::Closure(_) => diag::closure(e),
            // A `#[checkpoint]` loop left as written: what it cannot take.
            Expr::ForLoop(f) => {
                let checkpoint = crate::desugar::checkpoint::spec(f).and_then(Result::err);
                return checkpoint.or_else(|| f.label.as_ref().map(diag::loop_label));
            }
            Expr::While(w) => {
                let checkpoint = crate::desugar::checkpoint::spec_while(w).and_then(Result::err);
                return checkpoint
                    .or_else(|| w.label.as_ref().map(diag::loop_label))
                    .or_else(|| self.check_condition(&w.cond));
            }
            Expr::Loop(l) => {
                let checkpoint =
                    crate::desugar::checkpoint::attr(&l.attrs).map(diag::checkpoint_loop);
                return checkpoint.or_else(|| l.label.as_ref().map(diag::loop_label));
            }
            Expr::Break(b) if self.loops > 0 && b.label.is_none() && b.expr.is_none() => {
                return None
            }
            Expr::Continue(c) if self.loops > 0 && c.label.is_none() => return None,
            Expr::Break(_) | Expr::Continue(_) => diag::break_continue(e),
            Expr::Match(_) => return None,
            Expr::Macro(m) if vec_repeat(&m.mac).is_some() || vec_list(&m.mac).is_some() => {
                return None
            }
            Expr::Macro(m) => diag::macro_call(&m.mac),
            Expr::Unsafe(u) => diag::unsafe_block(u.unsafe_token),
            Expr::Async(_) | Expr::Await(_) => diag::async_block(e),
            Expr::Try(_) | Expr::TryBlock(_) => diag::try_operator(e),
            Expr::Let(_) => diag::if_let(e),
            Expr::Tuple(_) => diag::tuple(e),
            Expr::Repeat(_) => return None,
            Expr::Array(a) if !a.elems.is_empty() => return None,
            Expr::Array(_) => diag::array(e),
            Expr::Reference(_) | Expr::RawAddr(_) => diag::reference(e),
            Expr::Struct(s) if s.qself.is_none() => return None,
            Expr::Struct(_) => diag::struct_literal(e),
            Expr::Range(_) => diag::range(e),
            _ => diag::unsupported_expr(e),
        })
    }

    /// `for i in range { body }`: the pattern, the range's bounds and step, the body.
    fn visit_for(&mut self, f: &syn::ExprForLoop) {
        // A loop over `xs.iter_mut()` that desugaring left: its element is used whole.
        if writes_through(&f.expr) {
            self.cx.push(diag::iter_mut_element(&f.pat));
            return;
        }
        // Iterator loops check their (richer) patterns when they are lowered.
        let iterates = matches!(&*f.expr, Expr::MethodCall(m) if m.method == "iter" || m.method == "enumerate");
        let plain = matches!(&*f.pat, Pat::Ident(pi) if pi.by_ref.is_none() && pi.subpat.is_none());
        if !iterates && !plain && !matches!(&*f.pat, Pat::Wild(_)) {
            self.cx.push(diag::loop_pattern(&f.pat));
        }
        self.visit_range(&f.expr);
        self.loops += 1;
        self.visit_block(&f.body);
        self.loops -= 1;
    }

    fn visit_range(&mut self, e: &Expr) {
        match e {
            Expr::Paren(p) => self.visit_range(&p.expr),
            Expr::Group(g) => self.visit_range(&g.expr),
            Expr::MethodCall(m) if m.method == "iter" => self.visit_expr(&m.receiver),
            Expr::MethodCall(m) if m.method == "enumerate" => self.visit_range(&m.receiver),
            Expr::MethodCall(m) if m.method == "rev" || m.method == "step_by" => {
                self.visit_range(&m.receiver);
                for a in &m.args {
                    self.visit_expr(a);
                }
            }
            Expr::Range(r) => {
                for bound in r.start.iter().chain(&r.end) {
                    self.visit_expr(bound);
                }
            }
            _ => self.cx.push(diag::loop_range(e)),
        }
    }

    fn check_condition(&self, cond: &Expr) -> Option<syn::Error> {
        let plain_if_let = matches!(cond, Expr::Let(_));
        (!plain_if_let && contains_let(cond)).then(|| diag::if_let(cond))
    }

    fn check_local(&mut self, local: &Local) {
        if let Some(parts) = tuple_let(local) {
            for (_, e) in parts {
                self.visit_expr(&e);
            }
            return;
        }
        if let (Some(_), Some(init)) = (tuple_call(local), &local.init) {
            return self.visit_expr(&init.expr);
        }
        let let_else = local.init.as_ref().is_some_and(|i| i.diverge.is_some());
        if !simple_binding(&local.pat) && array_let(local).is_none() && !let_else {
            self.cx.push(diag::let_pattern(&local.pat));
        }
        match &local.init {
            None => self.cx.push(diag::let_without_value(local)),
            // The pattern is the mistake: the tuple's parts are checked, not the tuple.
            Some(init) if matches!(&*init.expr, Expr::Tuple(_)) => {
                if let Expr::Tuple(t) = &*init.expr {
                    t.elems.iter().for_each(|e| self.visit_expr(e));
                }
            }
            Some(init) => {
                self.visit_expr(&init.expr);
                if let Some((_, diverge)) = &init.diverge {
                    self.visit_expr(diverge);
                }
            }
        }
    }
}

/// `let (a, b) = g(x, y);` or `let (a, b): (f64, Vec<f64>) = ..`: the parts of a call's
/// tuple result, each bound or `_`. The patterns, their declared types (if given) and
/// the call, if the local is one (not a `nested` function's `g_grad`).
pub fn tuple_call(local: &Local) -> Option<(Vec<&Pat>, Vec<&syn::Type>, &syn::ExprCall)> {
    let (pat, types) = match &local.pat {
        Pat::Type(t) => match &*t.ty {
            syn::Type::Tuple(tt) => (&*t.pat, tt.elems.iter().collect()),
            _ => return None,
        },
        pat => (pat, Vec::new()),
    };
    let (Pat::Tuple(pats), Some(init)) = (pat, &local.init) else {
        return None;
    };
    let Expr::Call(call) = strip(&init.expr) else {
        return None;
    };
    let named_grad = matches!(&*call.func, Expr::Path(p)
        if p.path.segments.last().is_some_and(|s| s.ident.to_string().ends_with("_grad")));
    let wanted = |p: &Pat| simple_binding(p) || matches!(p, Pat::Wild(_));
    let ok = init.diverge.is_none()
        && !named_grad
        && pats.elems.len() >= 2
        && (types.is_empty() || types.len() == pats.elems.len())
        && pats.elems.iter().all(wanted);
    ok.then(|| (pats.elems.iter().collect(), types, call))
}

/// Whether a chain starts with `xs.iter_mut()`.
fn writes_through(e: &Expr) -> bool {
    match strip(e) {
        Expr::MethodCall(m) => m.method == "iter_mut" || writes_through(&m.receiver),
        _ => false,
    }
}

/// `e` without the parentheses (and invisible groups) around it.
pub fn strip(e: &Expr) -> &Expr {
    match e {
        Expr::Paren(p) => strip(&p.expr),
        Expr::Group(g) => strip(&g.expr),
        e => e,
    }
}

/// `let [a, b, _] = xs;`: the elements of an array bound in order (`_` skips one), which
/// is `let a = xs[0]; let b = xs[1];`. The patterns, if the local is one.
pub fn array_let(local: &Local) -> Option<Vec<&Pat>> {
    let (Pat::Slice(pats), Some(init)) = (&local.pat, &local.init) else {
        return None;
    };
    let ok = init.diverge.is_none()
        && pats
            .elems
            .iter()
            .all(|p| simple_binding(p) || matches!(p, Pat::Wild(_)));
    ok.then(|| pats.elems.iter().collect())
}

/// `let (a, b) = (e1, e2);`: simple bindings and a tuple of as many expressions, which
/// is just several `let`s. The pairs of pattern and expression, if the local is one; and
/// the same for the value and partials of a `nested` function (see [`grad_let`]).
pub fn tuple_let(local: &Local) -> Option<Vec<(&Pat, Expr)>> {
    let (Pat::Tuple(pats), Some(init)) = (&local.pat, &local.init) else {
        return None;
    };
    if init.diverge.is_some() {
        return None;
    }
    let Expr::Tuple(exprs) = &*init.expr else {
        return grad_let(pats, &init.expr);
    };
    let ok = pats.elems.len() == exprs.elems.len() && pats.elems.iter().all(simple_binding);
    ok.then(|| pats.elems.iter().zip(exprs.elems.iter().cloned()).collect())
}

/// `let (v, (g0, g1)) = f_grad(a, b);`, or `let (v, g) = f_grad(a);` with one active
/// parameter, `_` where a part is not wanted: the value and reverse-mode partials of a
/// `#[differentiable(nested)]` function, which is `let (v, g0, g1) = (f(a, b),
/// f_grad_0_of_2(a, b), f_grad_1_of_2(a, b));`. Each partial is a function of its own (the reverse
/// sweep written out), so it is differentiated again like any call.
fn grad_let<'a>(pats: &'a syn::PatTuple, init: &Expr) -> Option<Vec<(&'a Pat, Expr)>> {
    let Expr::Call(call) = init else { return None };
    let Expr::Path(path) = &*call.func else {
        return None;
    };
    let last = path.path.segments.last()?;
    let base = last.ident.to_string().strip_suffix("_grad")?.to_owned();
    if base.is_empty() || path.qself.is_some() || has_generics(&path.path) {
        return None;
    }
    let [value, grad] = [pats.elems.first()?, pats.elems.get(1)?];
    let partials: Vec<&Pat> = match grad {
        Pat::Tuple(t) if pats.elems.len() == 2 => t.elems.iter().collect(),
        _ if pats.elems.len() == 2 => vec![grad],
        _ => return None,
    };
    let wanted = |p: &Pat| simple_binding(p) || matches!(p, Pat::Wild(_));
    if !wanted(value) || !partials.iter().all(|p| wanted(p)) {
        return None;
    }
    // The same call with the function renamed, spanned on the user's name.
    let renamed = |name: String| {
        let mut call = call.clone();
        if let Expr::Path(p) = &mut *call.func {
            if let Some(seg) = p.path.segments.last_mut() {
                seg.ident = syn::Ident::new(&name, last.ident.span());
            }
        }
        Expr::Call(call)
    };
    let mut parts = vec![(value, renamed(base.clone()))];
    for (k, &p) in partials.iter().enumerate() {
        let suffix = crate::names::partial_suffix(k, partials.len());
        parts.push((p, renamed(format!("{base}{suffix}"))));
    }
    Some(
        parts
            .into_iter()
            .filter(|(p, _)| !matches!(p, Pat::Wild(_)))
            .collect(),
    )
}

/// Whether `e` reads a part of an `f_grad(..)` call (`f_grad(x).1`, `f_grad(x).1 .0`):
/// the partials are reached by destructuring it instead (see [`tuple_let`]).
pub fn reads_grad_call(e: &syn::ExprField) -> bool {
    fn grad_call(e: &Expr) -> bool {
        match e {
            Expr::Field(f) => grad_call(&f.base),
            Expr::Paren(p) => grad_call(&p.expr),
            Expr::Call(c) => matches!(&*c.func, Expr::Path(p)
                if p.path.segments.last().is_some_and(|s| s.ident.to_string().ends_with("_grad"))),
            _ => false,
        }
    }
    grad_call(&e.base)
}

/// The fill and length of `vec![fill; len]`.
pub fn vec_repeat(mac: &syn::Macro) -> Option<(Expr, Expr)> {
    if !mac.path.is_ident("vec") {
        return None;
    }
    let parse = |input: syn::parse::ParseStream| -> syn::Result<(Expr, Expr)> {
        let fill: Expr = input.parse()?;
        input.parse::<syn::Token![;]>()?;
        let len: Expr = input.parse()?;
        Ok((fill, len))
    };
    syn::parse::Parser::parse2(parse, mac.tokens.clone()).ok()
}

/// `vec![a, b, c]`: the elements, if the macro is a non-empty list of them.
pub fn vec_list(mac: &syn::Macro) -> Option<Vec<Expr>> {
    if !mac.path.is_ident("vec") {
        return None;
    }
    let parser = syn::punctuated::Punctuated::<Expr, syn::Token![,]>::parse_terminated;
    let elems = syn::parse::Parser::parse2(parser, mac.tokens.clone()).ok()?;
    (!elems.is_empty()).then(|| elems.into_iter().collect())
}

fn supported_literal(lit: &Lit) -> Option<syn::Error> {
    match lit {
        Lit::Int(_) | Lit::Float(_) | Lit::Bool(_) => None,
        _ => Some(diag::unsupported_literal(lit)),
    }
}

fn has_generics(path: &syn::Path) -> bool {
    path.segments.iter().any(|s| !s.arguments.is_none())
}

fn contains_let(e: &Expr) -> bool {
    match e {
        Expr::Let(_) => true,
        Expr::Binary(b) => contains_let(&b.left) || contains_let(&b.right),
        Expr::Paren(p) => contains_let(&p.expr),
        Expr::Group(g) => contains_let(&g.expr),
        _ => false,
    }
}

fn assign_target(lhs: &Expr) -> Option<syn::Error> {
    match lhs {
        Expr::Index(ix) if matches!(&*ix.expr, Expr::Path(p) if p.path.get_ident().is_some()) => {
            None
        }
        Expr::Index(_) => Some(diag::array_write(lhs)),
        Expr::Path(p) if p.qself.is_none() && p.path.get_ident().is_some() => None,
        // `*out = ..` (lowering says what to write for an output parameter).
        Expr::Unary(u)
            if matches!(u.op, syn::UnOp::Deref(_)) && matches!(&*u.expr, Expr::Path(_)) =>
        {
            None
        }
        // `s.x = ..` of a local struct value (lowering checks that `s` is one).
        Expr::Field(f) if matches!(&*f.base, Expr::Path(_) | Expr::Field(_)) => None,
        _ => Some(diag::assign_target(lhs)),
    }
}

pub fn is_compound_assign(op: &syn::BinOp) -> bool {
    use syn::BinOp::*;
    matches!(
        op,
        AddAssign(_)
            | SubAssign(_)
            | MulAssign(_)
            | DivAssign(_)
            | RemAssign(_)
            | BitAndAssign(_)
            | BitOrAssign(_)
            | BitXorAssign(_)
            | ShlAssign(_)
            | ShrAssign(_)
    )
}

/// `x`, `mut x` or `x: T`.
pub fn simple_binding(pat: &Pat) -> bool {
    match pat {
        Pat::Ident(pi) => pi.by_ref.is_none() && pi.subpat.is_none(),
        Pat::Type(pt) => simple_binding(&pt.pat),
        _ => false,
    }
}

/// The row and column of a matrix index `(i, j)`.
pub fn index_pair(e: &Expr) -> Option<(&Expr, &Expr)> {
    match e {
        Expr::Tuple(t) if t.elems.len() == 2 => Some((&t.elems[0], &t.elems[1])),
        Expr::Paren(p) => index_pair(&p.expr),
        _ => None,
    }
}

/// `m.map(|v| body)` or `a.zip_map(&b, |x, y| body)` (parameters typed or not).
pub struct MapClosure<'a> {
    /// The closure's parameters: one per matrix.
    pub params: Vec<&'a syn::Ident>,
    pub body: &'a Expr,
    /// The matrices after the receiver (`&b` of `zip_map`).
    pub others: Vec<&'a Expr>,
}

pub fn map_closure(m: &syn::ExprMethodCall) -> Option<MapClosure<'_>> {
    let arity = match (m.method.to_string().as_str(), m.args.len()) {
        ("map", 1) => 1,
        ("zip_map", 2) => 2,
        _ => return None,
    };
    let Some(Expr::Closure(c)) = m.args.last() else {
        return None;
    };
    if c.inputs.len() != arity {
        return None;
    }
    let params = c.inputs.iter().map(|input| {
        let pat = match input {
            syn::Pat::Type(t) => &*t.pat,
            other => other,
        };
        match pat {
            syn::Pat::Ident(i) if i.by_ref.is_none() && i.subpat.is_none() => Some(&i.ident),
            _ => None,
        }
    });
    Some(MapClosure {
        params: params.collect::<Option<Vec<_>>>()?,
        body: &c.body,
        others: m.args.iter().take(arity - 1).collect(),
    })
}
