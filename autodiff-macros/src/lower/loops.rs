//! Loops: `for` over ranges and iterators, `while`, `loop`, with `break` and `continue`.

use super::*;

// -------------------- loops --------------------

/// What a loop needs besides its carried values: how it iterates.
pub(super) enum LoopHead<'s> {
    For {
        index: Option<&'s syn::Ident>,
        range: Range,
        span: Span,
        elem: Option<Elem<'s>>,
    },
    While {
        cond: &'s Expr,
    },
}

/// The element bound in `for v in xs.iter()`: `v` is `&xs[i]` (`by_ref`) or, with the
/// pattern `&v`, `xs[i]`.
pub(super) struct Elem<'s> {
    array: Value,
    pat: Option<(&'s syn::Ident, bool)>,
}

/// `xs.iter()` or `xs.iter().enumerate()`: the array and whether it is enumerated.
fn iterated_array(e: &Expr) -> Option<(&Expr, bool)> {
    match e {
        Expr::Paren(p) => iterated_array(&p.expr),
        Expr::Group(g) => iterated_array(&g.expr),
        Expr::MethodCall(m) if m.method == "iter" && m.args.is_empty() => {
            Some((&m.receiver, false))
        }
        Expr::MethodCall(m) if m.method == "enumerate" && m.args.is_empty() => {
            let (array, enumerated) = iterated_array(&m.receiver)?;
            (!enumerated).then_some((array, true))
        }
        _ => None,
    }
}

/// The index name and element binding of the pattern of an iterator loop.
fn split_pattern(
    pat: &syn::Pat,
    enumerated: bool,
) -> (Option<&syn::Ident>, Option<(&syn::Ident, bool)>) {
    fn elem(p: &syn::Pat) -> Option<(&syn::Ident, bool)> {
        match p {
            syn::Pat::Ident(pi) => Some((&pi.ident, true)),
            syn::Pat::Reference(r) => match &*r.pat {
                syn::Pat::Ident(pi) => Some((&pi.ident, false)),
                _ => None,
            },
            _ => None,
        }
    }
    match (pat, enumerated) {
        (syn::Pat::Tuple(t), true) if t.elems.len() == 2 => {
            let index = match &t.elems[0] {
                syn::Pat::Ident(pi) => Some(&pi.ident),
                _ => None,
            };
            (index, elem(&t.elems[1]))
        }
        (p, false) => (None, elem(p)),
        _ => (None, None),
    }
}

/// The lowering state a loop body may have to be lowered again from.
impl Lower<'_> {
    /// `for i in range { body }`: the bindings the body assigns are carried through the loop.
    /// `for i in range { body }`, or `for v in xs.iter()` / `for (i, v) in
    /// xs.iter().enumerate()`, which run over `0..xs.len()` reading `xs[i]`. The bindings
    /// the body assigns are carried through the loop.
    pub(super) fn lower_for(&mut self, f: &syn::ExprForLoop) {
        let span = f.for_token.span;
        let head = match iterated_array(&f.expr) {
            Some((array, enumerated)) => {
                let array = self.need(array);
                let (index, elem) = split_pattern(&f.pat, enumerated);
                if elem.is_none() && !matches!(&*f.pat, syn::Pat::Wild(_)) {
                    self.cx.push(diag::loop_pattern(&f.pat));
                }
                let zero = self.emit(
                    Op::Const(Const::Int(proc_macro2::Literal::usize_unsuffixed(0))),
                    vec![],
                    span,
                    Ty::Int,
                );
                let len = self.emit(Op::Len, vec![array], span, Ty::Int);
                let range = Range {
                    lo: zero,
                    hi: len,
                    inclusive: false,
                    adapters: Vec::new(),
                };
                LoopHead::For {
                    index,
                    range,
                    span,
                    elem: Some(Elem { array, pat: elem }),
                }
            }
            None => {
                let Some(range) = self.range(&f.expr) else {
                    return;
                };
                let index = match &*f.pat {
                    syn::Pat::Ident(pi) => Some(&pi.ident),
                    _ => None,
                };
                LoopHead::For {
                    index,
                    range,
                    span,
                    elem: None,
                }
            }
        };
        let recompute = crate::desugar::checkpoint::is_recompute(&f.attrs);
        self.lower_loop(head, &f.body, span, recompute);
    }

    pub(super) fn lower_while(&mut self, w: &syn::ExprWhile) {
        let recompute = crate::desugar::checkpoint::is_recompute(&w.attrs);
        self.lower_loop(
            LoopHead::While { cond: &w.cond },
            &w.body,
            w.while_token.span,
            recompute,
        );
    }

    /// `lo..hi`, `lo..=hi`, then `.rev()` and `.step_by(k)` in any order.
    fn range(&mut self, e: &Expr) -> Option<Range> {
        match e {
            Expr::Paren(p) => self.range(&p.expr),
            Expr::Group(g) => self.range(&g.expr),
            Expr::Range(r) => {
                let (Some(start), Some(end)) = (&r.start, &r.end) else {
                    self.unsupported(diag::loop_range(e));
                    return None;
                };
                let lo = self.need(start);
                let hi = self.need(end);
                self.constraints.same(lo, hi);
                let inclusive = matches!(r.limits, syn::RangeLimits::Closed(_));
                Some(Range {
                    lo,
                    hi,
                    inclusive,
                    adapters: Vec::new(),
                })
            }
            Expr::MethodCall(m) if m.method == "rev" && m.args.is_empty() => {
                let mut range = self.range(&m.receiver)?;
                range.adapters.push(Adapter::Rev);
                Some(range)
            }
            Expr::MethodCall(m) if m.method == "step_by" && m.args.len() == 1 => {
                let mut range = self.range(&m.receiver)?;
                let step = self.need(&m.args[0]);
                range.adapters.push(Adapter::StepBy(step));
                Some(range)
            }
            _ => {
                self.unsupported(diag::loop_range(e));
                None
            }
        }
    }

    /// Lowers a loop, once. The carried bindings become the loop's params (at the start
    /// of an iteration), inits (before the loop), yields (at the end of an iteration) and
    /// outs (after the loop). Whether a param is varied depends on the body: `resolve`
    /// finds out after lowering.
    /// `recompute`: a segment of a `#[checkpoint]` loop (see `ir::Loop::recompute`).
    pub(super) fn lower_loop(
        &mut self,
        head: LoopHead,
        body: &syn::Block,
        span: Span,
        recompute: bool,
    ) {
        let exits = ExitScan::of(body);
        let brk = exits.brk.then(|| {
            let no = self.bool_const(false, span);
            self.bind("<broken>".into(), no)
        });
        let mut carried = self.carried_bindings(body, &head);
        carried.extend(brk);
        if exits.ret {
            carried.extend([self.ret_flag, self.ret_val]);
        }
        carried.sort_unstable();
        carried.dedup();
        let exits = LoopExits {
            brk,
            cont: exits.cont,
            ret: exits.ret,
        };
        let inits: Vec<Value> = carried.iter().map(|id| self.env[id]).collect();
        let params: Vec<Value> = carried
            .iter()
            .zip(&inits)
            .map(|(&id, &init)| {
                let p = self.new_value(Some(self.binding_names[id].clone()), span, Ty::Unknown);
                self.constraints.same(p, init);
                p
            })
            .collect();
        for (&id, &p) in carried.iter().zip(&params) {
            self.env.insert(id, p);
        }
        let (kind, insts) = self.loop_body(&head, body, &exits, span);
        let yields: Vec<Value> = carried.iter().map(|id| self.env[id]).collect();
        for (&p, &y) in params.iter().zip(&yields) {
            self.constraints.same(p, y);
        }
        let lp = Loop {
            kind,
            params,
            inits,
            body: Block { insts, yields },
            record: None,
            recompute,
        };
        self.finish_loop(lp, &carried, span);
    }

    /// The loop's head and body, in a scope of their own.
    fn loop_body(
        &mut self,
        head: &LoopHead,
        body: &syn::Block,
        exits: &LoopExits,
        span: Span,
    ) -> (LoopKind, Vec<Inst>) {
        self.scopes.push(Vec::new());
        let (kind, elem_insts) = self.loop_head(head, exits, span);
        self.blocks.push(elem_insts);
        let cont = exits.cont.then(|| {
            let no = self.bool_const(false, span);
            self.bind("<continued>".into(), no)
        });
        self.loop_frames.push(LoopFrame {
            brk: exits.brk,
            cont,
        });
        // A `for` loop after a `break` or `return` runs its remaining iterations empty.
        match (&kind, self.exit_value(exits, span)) {
            (LoopKind::For { .. }, Some(exit)) => {
                self.branch(
                    exit,
                    span,
                    false,
                    |_| None,
                    |l| l.lower_block(body).and(None),
                );
            }
            _ => {
                self.lower_block(body);
            }
        }
        self.loop_frames.pop();
        let insts = self.blocks.pop().unwrap_or_default();
        self.scopes.pop();
        (kind, insts)
    }

    /// How the loop iterates, and the instructions that start an iteration (the read of
    /// the element in `for v in xs.iter()`).
    fn loop_head(
        &mut self,
        head: &LoopHead,
        exits: &LoopExits,
        span: Span,
    ) -> (LoopKind, Vec<Inst>) {
        match head {
            LoopHead::For {
                index,
                range,
                span,
                elem,
            } => self.for_head(*index, range, *span, elem.as_ref()),
            LoopHead::While { cond } => {
                self.blocks.push(Vec::new());
                // After a `break` or `return`, the condition is not evaluated again.
                let c = match self.exit_value(exits, span) {
                    Some(exit) => {
                        let no = |l: &mut Self| Some(l.bool_const(false, span));
                        let c = self.branch(exit, span, true, no, |l| Some(l.need(cond)));
                        c.unwrap_or_else(|| self.undef(span))
                    }
                    None => self.need(cond),
                };
                let insts = self.blocks.pop().unwrap_or_default();
                let cond = Block {
                    insts,
                    yields: vec![c],
                };
                (LoopKind::While { cond }, Vec::new())
            }
        }
    }

    /// The index of a `for` loop, bound to its name, and the element it reads, if any.
    fn for_head(
        &mut self,
        index: Option<&syn::Ident>,
        range: &Range,
        span: Span,
        elem: Option<&Elem>,
    ) -> (LoopKind, Vec<Inst>) {
        let i = self.new_value(index.map(ToString::to_string), span, Ty::Unknown);
        self.constraints.same(i, range.lo);
        if let Some(name) = index {
            self.bind(name.to_string(), i);
        }
        let mut elem_insts = Vec::new();
        if let Some(Elem {
            array,
            pat: Some((name, by_ref)),
        }) = elem
        {
            self.blocks.push(Vec::new());
            let ty = self.func.ty(*array).elem();
            let v = self.emit(Op::Index, vec![*array, i], name.span(), ty);
            elem_insts = self.blocks.pop().unwrap_or_default();
            let id = self.bind(name.to_string(), v);
            if *by_ref {
                self.deref_ok.insert(id);
            }
        }
        let kind = LoopKind::For {
            index: i,
            range: range.clone(),
        };
        (kind, elem_insts)
    }

    fn finish_loop(&mut self, lp: Loop, carried: &[BindingId], span: Span) {
        let outs: Vec<Value> = lp
            .params
            .iter()
            .map(|&p| {
                let out = self.new_value(None, span, Ty::Unknown);
                self.constraints.same(p, out);
                out
            })
            .collect();
        self.push(Inst::new(outs.clone(), InstKind::Loop(Box::new(lp)), span));
        for (&id, &out) in carried.iter().zip(&outs) {
            self.assign(id, out);
        }
    }

    /// The bindings in scope that the loop assigns (`x = ..`, `x += ..`), in binding order.
    fn carried_bindings(&self, body: &syn::Block, head: &LoopHead) -> Vec<BindingId> {
        let mut names = AssignedNames(Vec::new());
        syn::visit::Visit::visit_block(&mut names, body);
        if let LoopHead::While { cond } = head {
            syn::visit::Visit::visit_expr(&mut names, cond);
        }
        // `s = ..` of a local struct value assigns each of its fields.
        let fields: Vec<String> = names.0.iter().flat_map(|n| self.field_names(n)).collect();
        names.0.extend(fields);
        let mut ids: Vec<BindingId> = names.0.iter().filter_map(|n| self.lookup(n)).collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// `broken || returned` at the start of an iteration, if the loop can be left early.
    fn exit_value(&mut self, exits: &LoopExits, span: Span) -> Option<Value> {
        let mut flags: Vec<Value> = exits.brk.iter().map(|id| self.env[id]).collect();
        if exits.ret {
            flags.push(self.env[&self.ret_flag]);
        }
        let (&first, rest) = flags.split_first()?;
        Some(rest.iter().fold(first, |acc, &v| {
            self.emit(Op::BitOr, vec![acc, v], span, Ty::Bool)
        }))
    }
}

/// How a loop body can leave early.
struct LoopExits {
    /// The binding `break` sets (carried through the loop).
    brk: Option<BindingId>,
    cont: bool,
    ret: bool,
}

/// Finds `break` and `continue` of this loop (not of loops nested in it) and `return`.
#[derive(Default)]
struct ExitScan {
    brk: bool,
    cont: bool,
    ret: bool,
    depth: usize,
    /// Where the first `break` of this loop or `return` is.
    exit: Option<Span>,
}

/// The first `break` of the loop whose body is `body`, or `return`, if there is one.
pub fn first_exit(body: &syn::Block) -> Option<Span> {
    ExitScan::of(body).exit
}

impl ExitScan {
    pub(super) fn of(body: &syn::Block) -> ExitScan {
        let mut scan = ExitScan::default();
        syn::visit::Visit::visit_block(&mut scan, body);
        scan
    }
}

impl<'ast> syn::visit::Visit<'ast> for ExitScan {
    fn visit_expr(&mut self, e: &'ast Expr) {
        match e {
            Expr::Break(_) if self.depth == 0 => {
                self.brk = true;
                self.exit = self.exit.or(Some(e.span()));
            }
            Expr::Continue(_) if self.depth == 0 => self.cont = true,
            Expr::Return(_) => {
                self.ret = true;
                self.exit = self.exit.or(Some(e.span()));
            }
            Expr::ForLoop(_) | Expr::While(_) | Expr::Loop(_) => {
                self.depth += 1;
                syn::visit::visit_expr(self, e);
                self.depth -= 1;
                return;
            }
            _ => {}
        }
        syn::visit::visit_expr(self, e);
    }
}

/// Collects the names assigned to in a loop body.
struct AssignedNames(Vec<String>);

impl<'ast> syn::visit::Visit<'ast> for AssignedNames {
    fn visit_expr(&mut self, e: &'ast Expr) {
        let target = match e {
            Expr::Assign(a) => Some(&*a.left),
            Expr::Binary(b) if crate::fence::is_compound_assign(&b.op) => Some(&*b.left),
            _ => None,
        };
        // A write `buf[i] = ..` or `buf.push(..)` assigns (a new version of) `buf`.
        let target = match (target, e) {
            (Some(Expr::Index(ix)), _) => Some(&*ix.expr),
            (None, Expr::MethodCall(m)) if m.method == "push" => Some(&*m.receiver),
            (t, _) => t,
        };
        match target {
            Some(Expr::Path(p)) => {
                if let Some(ident) = p.path.get_ident() {
                    self.0.push(ident.to_string());
                }
            }
            // `s.x += ..` of a local struct value assigns the binding `s.x`.
            Some(field @ Expr::Field(_)) => {
                if let Some((root, path)) = super::structs::dotted(field) {
                    self.0.push(format!("{root}.{path}"));
                }
            }
            _ => {}
        }
        syn::visit::visit_expr(self, e);
    }
}

/// `#[checkpoint]` runs a loop's segments again, on copies of the local arrays they use
/// taken at each segment's start; an output parameter (`out: &mut [f64]`) is written in
/// place, with no copy, so a function with one cannot have such loops: they are reported.
pub fn check_checkpoints(cx: &Ctxt, func: &crate::ir::Func, has_outputs: bool) {
    fn segments(block: &Block, out: &mut Vec<Span>) {
        for inst in &block.insts {
            if matches!(&inst.kind, InstKind::Loop(l) if l.recompute) {
                out.push(inst.span);
            }
            for b in inst.blocks() {
                segments(b, out);
            }
        }
    }
    let mut found = Vec::new();
    segments(&func.body, &mut found);
    if let (Some(&span), true) = (found.first(), has_outputs) {
        cx.push(diag::checkpoint_outputs(span));
    }
}
