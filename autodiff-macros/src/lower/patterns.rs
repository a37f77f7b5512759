//! `match`, `if let` and `let … else` on inactive values (enums with payloads, `Option`s,
//! structs) by their patterns, where the `desugar` stage has not written the `match` as
//! conditions on a number: each arm is a test of the scrutinee (`matches!`), its bindings
//! are read out of the scrutinee where the test has passed, and the arms become an `if` /
//! `else` chain whose adjoint takes the same arm. A value read out of a pattern carries no
//! derivative: reading one out of an active value is reported (`resolve`).

use super::*;

impl Lower<'_> {
    pub(super) fn lower_match(&mut self, m: &syn::ExprMatch, want_value: bool) -> Option<Value> {
        let s = self.need(&m.expr);
        self.arms(s, &m.arms, want_value, m.match_token.span)
    }

    /// The first arm if its test passes, else the rest; the last arm is the final `else`
    /// (rustc has checked that the `match` is exhaustive).
    fn arms(&mut self, s: Value, arms: &[syn::Arm], want: bool, span: Span) -> Option<Value> {
        let (arm, rest) = arms.split_first()?;
        if rest.is_empty() {
            return self.arm_body(s, &arm.pat, &arm.body);
        }
        let cond = self.arm_test(s, arm, span);
        self.branch(
            cond,
            span,
            want,
            |l| l.arm_body(s, &arm.pat, &arm.body),
            |l| l.arms(s, rest, want, span),
        )
    }

    /// Whether `s` matches the arm's pattern and then its guard holds, with the bindings.
    fn arm_test(&mut self, s: Value, arm: &syn::Arm, span: Span) -> Value {
        let test = self.pattern_test(s, &arm.pat);
        let Some((_, guard)) = &arm.guard else {
            return test;
        };
        let guarded = self.branch(
            test,
            span,
            true,
            |l| l.with_bindings(s, &arm.pat, |l| Some(l.need(guard))),
            |l| Some(l.bool_const(false, span)),
        );
        guarded.unwrap_or_else(|| self.undef(span))
    }

    fn arm_body(&mut self, s: Value, pat: &syn::Pat, body: &Expr) -> Option<Value> {
        self.with_bindings(s, pat, |l| l.lower_expr(body))
    }

    /// `f` in a scope where the pattern's names are bound to their values in `s`.
    fn with_bindings(
        &mut self,
        s: Value,
        pat: &syn::Pat,
        f: impl FnOnce(&mut Self) -> Option<Value>,
    ) -> Option<Value> {
        self.scopes.push(Vec::new());
        self.bind_payloads(s, pat);
        let v = f(self);
        self.scopes.pop();
        v
    }

    /// `if let pat = e { then } else { els }`.
    pub(super) fn if_let(
        &mut self,
        lt: &syn::ExprLet,
        then: &syn::Block,
        els: Option<&Expr>,
        want: bool,
    ) -> Option<Value> {
        let s = self.need(&lt.expr);
        let cond = self.pattern_test(s, &lt.pat);
        let span = lt.let_token.span;
        self.branch(
            cond,
            span,
            want,
            |l| l.with_bindings(s, &lt.pat, |l| l.lower_block(then)),
            |l| els.and_then(|e| l.lower_expr(e)),
        )
    }

    /// `let pat = e else { diverge };`: the `else` block runs where the test fails (it
    /// returns), then the bindings are read (a placeholder where it returned).
    pub(super) fn let_else(&mut self, local: &syn::Local, init: &syn::LocalInit) {
        let Some((_, diverge)) = &init.diverge else {
            return;
        };
        let s = self.need(&init.expr);
        let test = self.pattern_test(s, &local.pat);
        let span = local.let_token.span;
        self.branch(
            test,
            span,
            false,
            |_| None,
            |l| {
                l.lower_effect(diverge);
                None
            },
        );
        self.bind_payloads(s, &local.pat);
    }

    /// `matches!(s, pat)`; `true` for a pattern that matches anything.
    fn pattern_test(&mut self, s: Value, pat: &syn::Pat) -> Value {
        if irrefutable(pat) {
            return self.bool_const(true, pat.span());
        }
        let op = Op::Matches {
            pat: pat.to_token_stream(),
        };
        // A test of an active value is a comparison: piecewise constant, as `<` is.
        self.emit(op, vec![s], pat.span(), Ty::Bool)
    }

    /// Binds each name the pattern binds to its value read out of `s`.
    fn bind_payloads(&mut self, s: Value, pat: &syn::Pat) {
        if let (true, syn::Pat::Ident(p)) = (irrefutable(pat), pat) {
            self.bind(p.ident.to_string(), s);
            return;
        }
        for name in bindings(pat) {
            let op = Op::Bound {
                pat: pat.to_token_stream(),
                name: name.clone(),
            };
            let pending = Pending::Scrutinee {
                tokens: pat.to_token_stream(),
            };
            let v = self.emit_pending(op, vec![s], name.span(), pending);
            self.bind(name.to_string(), v);
        }
    }
}

/// A pattern that matches every value: `_`, or a plain binding (not a unit variant such
/// as `None`).
fn irrefutable(pat: &syn::Pat) -> bool {
    match pat {
        syn::Pat::Wild(_) => true,
        syn::Pat::Ident(p) => p.subpat.is_none() && !starts_upper(&p.ident),
        _ => false,
    }
}

/// The names a pattern binds, in order (a name in each `|` alternative once).
pub(super) fn bindings(pat: &syn::Pat) -> Vec<syn::Ident> {
    struct Names(Vec<syn::Ident>);
    impl<'ast> syn::visit::Visit<'ast> for Names {
        fn visit_pat_ident(&mut self, p: &'ast syn::PatIdent) {
            if !self.0.contains(&p.ident) {
                self.0.push(p.ident.clone());
            }
            syn::visit::visit_pat_ident(self, p);
        }
        // A path pattern's last segment may look like a binding (`None`): it is a path.
        fn visit_pat(&mut self, p: &'ast syn::Pat) {
            if let syn::Pat::Ident(pi) = p {
                let unit_like = pi.subpat.is_none()
                    && pi.by_ref.is_none()
                    && pi.mutability.is_none()
                    && starts_upper(&pi.ident);
                if unit_like {
                    return;
                }
            }
            syn::visit::visit_pat(self, p);
        }
    }
    let mut names = Names(Vec::new());
    syn::visit::Visit::visit_pat(&mut names, pat);
    names.0
}

/// `None`, `Empty`: a unit variant or constant written as a bare name.
fn starts_upper(ident: &syn::Ident) -> bool {
    ident.to_string().starts_with(|c: char| c.is_uppercase())
}
