//! Forward mode: the primal, interleaved with one tangent per active value.
//!
//! Input: `fn f(x, n) -> y` (optimised IR) and its activity. Output: `fn f_jvp(x, n, d_x)
//! -> (y, d_y)` in the same IR, where after each active instruction
//! `y = op(a, b)` comes `d_y = Σᵢ jvp_i(a, b, y, d_aᵢ)` over the active operands. An `if`
//! carries the tangents of its active results as extra results; a branch that yields an
//! inactive value yields a zero tangent. An active call `g(a, b)` becomes
//! `(y, d_y) = g_jvp(a, b, d_a, d_b)`, with a zero tangent for float arguments that are
//! inactive. No storage: every tangent is computed next to its primal.

use crate::activity::Activity;
use crate::ir::{Block, CallForm, Func, Inst, InstKind, Loop, LoopKind, Op, Role, Value};
use crate::rules::{self, rule_call, Builder, Mode, Operands, Partial};
use proc_macro2::Span;
use std::collections::{HashMap, HashSet};

pub fn jvp(func: &Func, act: &Activity, active_params: &[Value]) -> Func {
    transform(func, act, active_params, false).0
}

/// The directional derivative `f_dir(x, n, d_x) = d_y` for differentiating again: the
/// tangent rules are written out as IR arithmetic (`d(sin a) = cos(a)·d_a`) instead of
/// calls to the runtime's rules, so that the result is an ordinary function of the same
/// operations. The rules it has no arithmetic for are returned (then the caller reports
/// them).
pub fn directional(
    func: &Func,
    act: &Activity,
    active_params: &[Value],
) -> Result<Func, Vec<(String, Span)>> {
    let mut out = symbolic(func, act, active_params)?;
    // The tangents only (of each part of a tuple result).
    out.results.drain(..func.results.len());
    out.name = format!("{}_dir", func.name);
    Ok(out)
}

/// `f_jvp(x, n, d_x) = (y, d_y)` as ordinary operations (see [`directional`]), which
/// `f_hvp` differentiates in reverse mode.
pub fn symbolic(
    func: &Func,
    act: &Activity,
    active_params: &[Value],
) -> Result<Func, Vec<(String, Span)>> {
    let (mut out, mut missing) = transform(func, act, active_params, true);
    let mut body = std::mem::take(&mut out.body);
    as_primal(&mut body, &mut out, &mut missing);
    out.body = body;
    if !missing.is_empty() {
        return Err(missing);
    }
    Ok(out)
}

/// Rewrites what only derivative code has into operations of the user's kind, so that
/// the function can be differentiated again: a sum of tangents becomes additions. Calls
/// of other functions' `_jvp` are reported (they would need those functions' `_dir`).
fn as_primal(block: &mut Block, func: &mut Func, missing: &mut Vec<(String, Span)>) {
    let insts = std::mem::take(&mut block.insts);
    for mut inst in insts {
        match &mut inst.kind {
            InstKind::Sum(terms) if terms.len() >= 2 => {
                let mut acc = terms[0];
                for (k, &t) in terms.iter().enumerate().skip(1) {
                    let out = if k + 1 == terms.len() {
                        inst.outs[0]
                    } else {
                        func.new_derived(Role::Primal, inst.outs[0])
                    };
                    block.insts.push(Inst::new(
                        vec![out],
                        InstKind::Op(Op::Add, vec![acc, t]),
                        inst.span,
                    ));
                    acc = out;
                }
                continue;
            }
            InstKind::If { then, els, .. } => {
                as_primal(then, func, missing);
                as_primal(els, func, missing);
            }
            InstKind::Loop(lp) => {
                if let LoopKind::While { cond } = &mut lp.kind {
                    as_primal(cond, func, missing);
                }
                as_primal(&mut lp.body, func, missing);
            }
            InstKind::CallJvp { path, .. } => {
                missing.push((format!("{path}_jvp"), inst.span));
            }
            InstKind::Rule { name, .. } => missing.push((name.clone(), inst.span)),
            _ => {}
        }
        block.insts.push(inst);
    }
}

/// The forward derivative of a function of one float (the closure of `m.map(|v| ..)`),
/// a function of the parameter and its tangent; the reverse mode of `map` uses it too,
/// element by element.
pub fn scalar_jvp(func: &Func) -> Func {
    let mut func = func.clone();
    crate::opt::optimize(&mut func);
    // The parameter and the captured floats (integers have no tangent).
    let active: Vec<Value> = (func.params.iter().copied())
        .filter(|&p| func.ty(p).is_float())
        .collect();
    let activity = crate::activity::analyze(&func, &active);
    jvp(&func, &activity, &active)
}

fn transform(
    func: &Func,
    act: &Activity,
    active_params: &[Value],
    symbolic: bool,
) -> (Func, Vec<(String, Span)>) {
    let mut out = func.derived("_jvp");
    let mut fwd = Forward {
        func: &mut out,
        act,
        tangent: HashMap::new(),
        symbolic,
        missing: Vec::new(),
        field_reads: Default::default(),
        made: HashMap::new(),
        undefs: Default::default(),
        after_vertical: crate::activity::after_vertical_tangent(func),
    };
    for &p in active_params {
        let t = fwd.tangent_value(p);
        // A borrowed parameter's tangent is borrowed too (`p: &P` takes `d_p: &P`).
        fwd.func.values[t.index()].by_ref = fwd.func.info(p).by_ref;
        fwd.func.params.push(t);
    }
    let mut body = fwd.block(&func.body);
    // The results, then their tangents.
    let mut results = func.results.clone();
    for &result in &func.results {
        let d_result = if fwd.func.ty(result).elem() == crate::ir::Ty::Unknown {
            fwd.tangent_or_zero(result, &mut body.insts)
        } else {
            fwd.tangent_or_zero_like(result, &mut body.insts)
        };
        results.push(d_result);
    }
    let missing = std::mem::take(&mut fwd.missing);
    out.body = body;
    out.results = results;
    (out, missing)
}

struct Forward<'a> {
    func: &'a mut Func,
    act: &'a Activity,
    tangent: HashMap<Value, Value>,
    /// Tangent rules as IR arithmetic (for `directional`).
    symbolic: bool,
    /// Rules `symbolic` has no arithmetic for, and where they are used.
    missing: Vec<(String, Span)>,
    /// Active fields of parameters, read by reference (`&s.k`).
    field_reads: std::collections::HashSet<Value>,
    /// Local arrays as made (`vec![v; n]`, `Vec::new()`), for `symbolic`: their zero
    /// tangents are made the same way, so that the reverse mode over `f_jvp` sees a new
    /// array, with a cotangent buffer of its own, where tangents are stored.
    made: HashMap<Value, Inst>,
    /// Placeholders (`Undef`, the result before any `return`): their tangents are
    /// placeholders too (a zero of a type only the placeholder's use tells).
    undefs: std::collections::HashSet<Value>,
    /// By value, whether its tangent can be infinite where the primal is finite
    /// (`activity::after_vertical_tangent`): a product of a value whose tangent cannot
    /// multiplies it without the `0 · ∞` test.
    after_vertical: Vec<bool>,
}

impl Forward<'_> {
    /// A new value to hold the tangent of `v`.
    fn tangent_value(&mut self, v: Value) -> Value {
        let t = self.func.new_derived(Role::Derivative(v), v);
        self.tangent.insert(v, t);
        t
    }

    fn tangent_or_zero(&mut self, v: Value, insts: &mut Vec<Inst>) -> Value {
        match self.tangent.get(&v) {
            Some(&t) => t,
            None => self.zero(v, insts),
        }
    }

    fn zero(&mut self, like: Value, insts: &mut Vec<Inst>) -> Value {
        let info = self.func.info(like).clone();
        let z = self.func.new_value(None, info.span, info.ty);
        // Anything but a float (an object, an array) has a zero of its own shape; a
        // placeholder's tangent is a placeholder.
        let kind = if self.undefs.contains(&like) {
            InstKind::Op(Op::Undef, Vec::new())
        } else if !info.ty.is_float() {
            InstKind::ZeroLike(like)
        } else {
            InstKind::Zero
        };
        insts.push(Inst::new(vec![z], kind, info.span));
        z
    }

    fn block(&mut self, block: &Block) -> Block {
        let mut insts = Vec::new();
        for inst in &block.insts {
            self.inst(inst, &mut insts);
        }
        Block {
            insts,
            yields: block.yields.clone(),
        }
    }

    fn inst(&mut self, inst: &Inst, out: &mut Vec<Inst>) {
        match &inst.kind {
            // Any active result (a part of a call's tuple result may be unused).
            InstKind::Op(op, args) if inst.outs.iter().any(|&o| self.act.is_active(o)) => {
                if let Op::Call { path, form } = op {
                    self.call(path, form, args, inst, out);
                } else if let Op::Construct { .. } | Op::Struct { .. } = op {
                    // Linear: the same constructor on the tangents.
                    out.push(inst.clone());
                    let tangents: Vec<Value> =
                        args.iter().map(|&a| self.tangent_or_zero(a, out)).collect();
                    let y = inst.outs[0];
                    let t = self.tangent_value(y);
                    out.push(Inst::new(
                        vec![t],
                        InstKind::Op(op.clone(), tangents),
                        inst.span,
                    ));
                } else if let (Op::Store | Op::Push, [a, i, v]) = (op, args.as_slice()) {
                    self.store(op, *a, *i, *v, inst, out);
                } else {
                    out.push(inst.clone());
                    self.op(op, args, inst.outs[0], inst.span, out);
                }
            }
            InstKind::If { cond, then, els } => self.branch(inst, *cond, then, els, out),
            InstKind::Loop(lp) => self.loop_inst(inst, lp, out),
            InstKind::Op(Op::Undef, _) => {
                self.undefs.insert(inst.outs[0]);
                out.push(inst.clone());
            }
            InstKind::Op(Op::NewArray { .. } | Op::EmptyVec, _) if self.symbolic => {
                self.made.insert(inst.outs[0], inst.clone());
                out.push(inst.clone());
            }
            // An inactive write makes a version of the same array (`a[0] = 2.0`).
            InstKind::Op(Op::Store | Op::Push, args) if self.symbolic => {
                if let Some(made) = self.made.get(&args[0]).cloned() {
                    self.made.insert(inst.outs[0], made);
                }
                out.push(inst.clone());
            }
            _ => out.push(inst.clone()),
        }
    }

    /// `d_y = Σᵢ jvp_i(args, y, d_argᵢ)` over the active operands.
    fn op(&mut self, op: &Op, args: &[Value], y: Value, span: Span, out: &mut Vec<Inst>) {
        let rule = rules::rule(op);
        let mut terms = Vec::new();
        for (i, &a) in args.iter().enumerate() {
            let Some(&t) = self.tangent.get(&a) else {
                continue;
            };
            let term = match rule.partial(i) {
                Partial::Zero => continue,
                Partial::Identity => t,
                Partial::Negate => self.func.push_op(Op::Neg, vec![t], y, span, out),
                Partial::Indexed => self.func.push_op(Op::Index, vec![t, args[1]], y, span, out),
                Partial::Copied => {
                    let copied = std::iter::once(t).chain(args[1..].iter().copied());
                    self.func
                        .push_op(op.clone(), copied.collect(), y, span, out)
                }
                // Its tangent is a runtime rule: `symbolic` has no form of it yet.
                Partial::Map if self.symbolic => {
                    self.missing.push(("map".to_string(), span));
                    continue;
                }
                Partial::Map => {
                    let Op::Map { body, elements, .. } = op else {
                        continue;
                    };
                    let rule = Op::MapRule {
                        mode: Mode::Jvp,
                        jvp: Box::new(scalar_jvp(body)),
                        wrt: i,
                        elements: *elements,
                    };
                    let mut operands = args[..*elements].to_vec();
                    operands.push(t);
                    operands.extend(&args[*elements..]);
                    self.func.push_op(rule, operands, y, span, out)
                }
                Partial::At => {
                    let mut at = vec![t];
                    at.extend(&args[1..]);
                    self.func.push_op(Op::At, at, y, span, out)
                }
                // The same field of the parameter's tangent, by reference.
                Partial::Field => {
                    let v = self.func.push_op(op.clone(), vec![t], y, span, out);
                    self.func.values[v.index()].by_ref = true;
                    self.field_reads.insert(y);
                    v
                }
                Partial::Runtime(rule) if self.symbolic => {
                    let mut b = Builder {
                        func: self.func,
                        out,
                        like: y,
                        span,
                    };
                    let operands = Operands { args, y, t };
                    match rule.formula.and_then(|f| b.apply(f, operands)) {
                        Some(v) => v,
                        None => {
                            self.missing.push((rule.name(Mode::Jvp), span));
                            continue;
                        }
                    }
                }
                Partial::Runtime(rule) => {
                    let rule = if self.finite_tangent(a, args, y) {
                        rule.plain()
                    } else {
                        rule
                    };
                    let v = self.fresh(y, false);
                    let kind = rule_call(&rule, Mode::Jvp, args, y, t);
                    out.push(Inst::new(vec![v], kind, span));
                    v
                }
            };
            terms.push(term);
        }
        let d_y = self.sum(terms, y, span, out);
        let info = &mut self.func.values[d_y.index()];
        if info.name.is_none() && info.role == Role::Primal {
            info.role = Role::Derivative(y);
        }
        self.tangent.insert(y, d_y);
    }

    /// Whether the tangent of operand `a` of a scalar operation (`args`, result `y`)
    /// cannot be infinite where the primal is finite.
    fn finite_tangent(&self, a: Value, args: &[Value], y: Value) -> bool {
        let float = |v: &Value| self.func.ty(*v).is_float();
        self.after_vertical.get(a.index()) == Some(&false) && args.iter().all(float) && float(&y)
    }

    /// A value of `like`'s type; named as its tangent if `named`.
    fn fresh(&mut self, like: Value, named: bool) -> Value {
        let role = if named {
            Role::Derivative(like)
        } else {
            Role::Primal
        };
        self.func.new_derived(role, like)
    }

    fn sum(&mut self, terms: Vec<Value>, y: Value, span: Span, out: &mut Vec<Inst>) -> Value {
        match terms.as_slice() {
            [] => self.zero(y, out),
            [t] => *t,
            _ => {
                let v = self.fresh(y, true);
                out.push(Inst::new(vec![v], InstKind::Sum(terms), span));
                v
            }
        }
    }

    /// `a' = store(a, i, v)` (or `push`): the tangent array gets `v`'s tangent at `i`. A zero tangent
    /// array is made first if `a` has none (before the primal write moves `a`).
    fn store(&mut self, op: &Op, a: Value, i: Value, v: Value, inst: &Inst, out: &mut Vec<Inst>) {
        let t_a = match self.tangent.get(&a) {
            Some(&t) => t,
            None => self.zero_array(a, out),
        };
        out.push(inst.clone());
        let t_v = self.tangent_or_zero_like(v, out);
        let y = inst.outs[0];
        let t_y = self.tangent_value(y);
        out.push(Inst::new(
            vec![t_y],
            InstKind::Op(op.clone(), vec![t_a, i, t_v]),
            inst.span,
        ));
    }

    /// `(y, d_y) = g_jvp(args.., tangents of the float arguments..)`.
    /// Tangents are passed like their primals: borrowed where the primal is.
    fn call(
        &mut self,
        path: &proc_macro2::TokenStream,
        form: &CallForm,
        args: &[Value],
        inst: &Inst,
        out: &mut Vec<Inst>,
    ) {
        let mut all = args.to_vec();
        let mut form = form.clone();
        form.borrowed.resize(args.len(), false);
        for (i, &a) in args.iter().enumerate() {
            if self.func.ty(a).is_differentiable() {
                let t = self.tangent_or_zero(a, out);
                all.push(t);
                // Passed as a reference wherever the primal is one; a field passed
                // without `&` (`g(s.k)`) is copied, and so is its tangent.
                let field = self.field_reads.contains(&a);
                let by_ref = form.borrowed[i] || (self.func.info(a).by_ref && !field);
                form.borrowed.push(by_ref);
            }
        }
        let y = inst.outs[0];
        let d_y = self.tangent_value(y);
        if self.symbolic {
            // For `f_dir`: the callee's value and its own `g_dir`, two ordinary calls that
            // are differentiated again like any other (the callee must be `nested` too).
            if form.method {
                self.missing.push((format!("{path}_jvp"), inst.span));
            }
            out.push(inst.clone());
            let dir = Op::Call {
                path: crate::names::suffixed_path(path, "_dir"),
                form,
            };
            // A tuple result's `g_dir` returns a tuple of the parts' tangents.
            let mut tangents = vec![d_y];
            tangents.extend(inst.outs[1..].iter().map(|&o| self.tangent_value(o)));
            out.push(Inst::new(tangents, InstKind::Op(dir, all), inst.span));
            return;
        }
        // The results, then their tangents (one per part of a tuple result).
        let mut outs = inst.outs.clone();
        outs.push(d_y);
        outs.extend(inst.outs[1..].iter().map(|&o| self.tangent_value(o)));
        out.push(Inst::new(
            outs,
            InstKind::CallJvp {
                path: path.clone(),
                args: all,
                form,
            },
            inst.span,
        ));
    }

    /// The loop with a tangent carried next to each active carried value.
    fn loop_inst(&mut self, inst: &Inst, lp: &Loop, out: &mut Vec<Inst>) {
        let slots: Vec<usize> = (0..lp.params.len())
            .filter(|&i| self.act.slot_active(lp, &inst.outs, i))
            .collect();
        // A carried local array is, at each iteration and after the loop, the one made.
        for (i, init) in lp.inits.iter().enumerate() {
            if let Some(made) = self.made.get(init).cloned() {
                self.made.insert(lp.params[i], made.clone());
                self.made.insert(inst.outs[i], made);
            }
        }
        let mut t = lp.clone();
        for &i in &slots {
            let tp = self.tangent_value(lp.params[i]);
            t.params.push(tp);
            let init = self.tangent_or_zero_like(lp.inits[i], out);
            t.inits.push(init);
        }
        if let LoopKind::While { cond } = &mut t.kind {
            *cond = self.block(cond);
        }
        t.body = self.block(&lp.body);
        for &i in &slots {
            let y = self.tangent_or_zero_like(lp.body.yields[i], &mut t.body.insts);
            t.body.yields.push(y);
        }
        let mut outs = inst.outs.clone();
        for &i in &slots {
            outs.push(self.tangent_value(inst.outs[i]));
        }
        out.push(Inst::new(outs, InstKind::Loop(Box::new(t)), inst.span));
    }

    /// The tangent of `v`, or a zero of `v`'s type (a carried tangent needs its type known
    /// where it is declared).
    fn tangent_or_zero_like(&mut self, v: Value, insts: &mut Vec<Inst>) -> Value {
        if let Some(&t) = self.tangent.get(&v) {
            return t;
        }
        self.zero_array(v, insts)
    }

    /// A zero of `v`'s type, named as its tangent: `zero_like(v)`, or for `symbolic` a
    /// local array made as `v` was, filled with zeros.
    fn zero_array(&mut self, v: Value, insts: &mut Vec<Inst>) -> Value {
        let span = self.func.info(v).span;
        let z = self.func.new_derived(Role::Derivative(v), v);
        let made = self.made.get(&v).map(|i| i.kind.clone());
        let kind = match made {
            _ if self.undefs.contains(&v) => InstKind::Op(Op::Undef, Vec::new()),
            Some(InstKind::Op(op @ Op::NewArray { .. }, args)) => {
                let zero = self.func.push_float(0.0, args[0], span, insts);
                InstKind::Op(op, vec![zero, args[1]])
            }
            Some(kind) => kind,
            None => InstKind::ZeroLike(v),
        };
        insts.push(Inst::new(vec![z], kind, span));
        z
    }

    /// The `if` with the tangents of its active results appended to its results.
    fn branch(&mut self, inst: &Inst, cond: Value, then: &Block, els: &Block, out: &mut Vec<Inst>) {
        let mut then_t = self.block(then);
        let mut els_t = self.block(els);
        let mut outs = inst.outs.clone();
        for (i, &o) in inst.outs.iter().enumerate() {
            if !self.act.is_active(o) {
                continue;
            }
            let t = self.tangent_or_zero(then.yields[i], &mut then_t.insts);
            then_t.yields.push(t);
            let e = self.tangent_or_zero(els.yields[i], &mut els_t.insts);
            els_t.yields.push(e);
            outs.push(self.tangent_value(o));
        }
        out.push(Inst::new(
            outs,
            InstKind::If {
                cond,
                then: then_t,
                els: els_t,
            },
            inst.span,
        ));
    }
}

/// The values of a forward-mode function (`jvp`, whose first `primal_params` parameters are
/// the primal's) that are tangents: its tangent parameters and everything computed from
/// one, the results of rules, sums and zeros. Vector forward mode gives them all `K` lanes.
pub fn tangent_values(jvp: &Func, primal_params: usize) -> HashSet<Value> {
    let mut tangents: HashSet<Value> = jvp.params[primal_params..].iter().copied().collect();
    // Loops carry tangents around: repeat until nothing changes.
    loop {
        let before = tangents.len();
        mark_tangents(&jvp.body, &mut tangents);
        if tangents.len() == before {
            return tangents;
        }
    }
}

fn mark_tangents(block: &Block, tangents: &mut HashSet<Value>) {
    for inst in &block.insts {
        let derived = match &inst.kind {
            InstKind::Rule { .. } | InstKind::Sum(_) | InstKind::Zero | InstKind::ZeroLike(_) => {
                true
            }
            InstKind::Op(_, args) => args.iter().any(|a| tangents.contains(a)),
            InstKind::Loop(lp) => {
                for (i, &p) in lp.params.iter().enumerate() {
                    let y = lp.body.yields.get(i);
                    if tangents.contains(&lp.inits[i]) || y.is_some_and(|y| tangents.contains(y)) {
                        tangents.extend([p, inst.outs[i]]);
                    }
                }
                false
            }
            InstKind::If { then, els, .. } => {
                for (i, &o) in inst.outs.iter().enumerate() {
                    if tangents.contains(&then.yields[i]) || tangents.contains(&els.yields[i]) {
                        tangents.insert(o);
                    }
                }
                false
            }
            _ => false,
        };
        if derived {
            tangents.extend(&inst.outs);
        }
        for b in inst.blocks() {
            mark_tangents(b, tangents);
        }
    }
}
