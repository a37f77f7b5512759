//! Resolution: the decisions of lowering that depend on which values are varied (depend
//! on an active parameter through differentiable operations) or are objects, made once the
//! whole function is lowered, so that each loop is lowered once.
//!
//! Lowering emits a neutral instruction for each and notes it in a [`Pending`]:
//! - a method without a fixed meaning: a matrix rule (`Lin`) or `map` on an object, a
//!   float method, a call through the method's own `_vjp`/`_jvp` on an active object, an
//!   opaque method on inactive values, and an error on active ones;
//! - a field read: a path from an active parameter, held by reference, or an opaque read;
//! - an index: `m[i]` / `m[(i, j)]` of an object or `xs[i]` of an array;
//! - the fill of a new array, which must be a constant.
//!
//! Types flow with them: arithmetic on an object is an object, a float method of one is a
//! float, a call with an object argument is an object and one with a varied argument a
//! float. Variedness through loops and objects through decisions feed each other, so the
//! function is walked until nothing changes (both only grow), then once more to report
//! errors and record each operation's type constraints for inference.

use super::*;
use proc_macro2::TokenStream;

/// A decision lowering leaves to resolution, by the value it defines.
/// A `map` or `zip_map` closure as lowered (`fence::MapClosure` is it as written).
#[derive(Clone)]
pub(super) struct LoweredMap {
    /// Its tokens as written.
    pub closure: TokenStream,
    /// Its body as a function of the elements and of the locals it captures.
    pub body: Box<Func>,
    /// The errors found in the body: reported unless a captured local turns out to be an
    /// object (then that is the error).
    pub errors: Option<syn::Error>,
    /// The number of matrices: 1 for `map`, 2 for `zip_map`.
    pub elements: usize,
}

pub(super) enum Pending {
    Method {
        name: syn::Ident,
        /// Receiver first.
        args: Vec<Value>,
        /// How a call through the method's derivatives is written.
        form: CallForm,
        /// `m.map(|v| ..)` or `a.zip_map(&b, |x, y| ..)`.
        map: Option<LoweredMap>,
    },
    Field {
        member: TokenStream,
        base: Value,
        /// The expression, for messages.
        tokens: TokenStream,
        /// `f_grad(..).k`: a part of an inner gradient, reached by destructuring.
        grad_read: bool,
    },
    Index {
        base: Value,
        indices: Vec<Value>,
        /// The base as written: a field (an object), a variable (an object if its value
        /// is), or anything else (an array).
        written: IndexBase,
    },
    Fill {
        tokens: TokenStream,
    },
    /// A value bound by a pattern: its scrutinee must not be varied.
    Scrutinee {
        tokens: TokenStream,
    },
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum IndexBase {
    Field,
    Variable,
    Other,
}

/// Most walks a function can need: each adds a varied value or an object somewhere.
const MAX_WALKS: usize = 1 << 12;

/// Resolves `pending` in `func` for parameters `active`, reporting errors to `cx` and
/// adding each operation's type constraints; returns which values are varied.
pub(super) fn resolve(
    cx: &Ctxt,
    func: &mut Func,
    pending: &HashMap<Value, Pending>,
    active: &[bool],
    fenced: bool,
    constraints: &mut Constraints,
) -> Vec<bool> {
    let mut varied = vec![false; func.values.len()];
    for (&p, &a) in func.params.iter().zip(active) {
        varied[p.index()] = a;
    }
    let mut r = Resolver {
        seeds: func.values.iter().map(|v| v.ty).collect(),
        func,
        pending,
        varied,
        field_paths: HashMap::new(),
        changed: true,
        fenced,
        report: None,
    };
    let mut walks = 0;
    while r.changed && walks < MAX_WALKS {
        r.walk();
        walks += 1;
    }
    if r.changed {
        cx.push(diag::internal(
            r.func.info(r.func.results[0]).span,
            "resolution",
        ));
    }
    let mut report = Report { cx, constraints };
    r.report = Some(&mut report);
    r.walk();
    r.varied
}

/// What the last walk reports.
struct Report<'a> {
    cx: &'a Ctxt,
    constraints: &'a mut Constraints,
}

struct Resolver<'a, 'r> {
    func: &'a mut Func,
    pending: &'a HashMap<Value, Pending>,
    /// The types lowering gave each value before any decision.
    seeds: Vec<Ty>,
    varied: Vec<bool>,
    /// Active field reads: their parameter and member path (rebuilt each walk).
    field_paths: HashMap<Value, (Value, TokenStream)>,
    changed: bool,
    /// The fence reported unsupported syntax: what only it should reject is not reported.
    fenced: bool,
    report: Option<&'r mut Report<'a>>,
}

impl Resolver<'_, '_> {
    fn walk(&mut self) {
        self.changed = false;
        self.field_paths.clear();
        let mut body = std::mem::take(&mut self.func.body);
        self.block(&mut body);
        self.func.body = body;
    }

    fn block(&mut self, block: &mut Block) {
        for inst in &mut block.insts {
            self.inst(inst);
        }
    }

    fn inst(&mut self, inst: &mut Inst) {
        let span = inst.span;
        match &mut inst.kind {
            InstKind::Op(op, args) => {
                let out = inst.outs[0];
                self.op(out, op, args, span);
                let rule = rules::rule(op);
                let v = args
                    .iter()
                    .enumerate()
                    .any(|(i, &a)| self.is_varied(a) && rule.carries(i));
                // The parts of a call's tuple result (typed by their uses).
                for &o in &inst.outs {
                    self.set_varied(o, v);
                }
                self.constrain(op, args, out);
            }
            InstKind::If { then, els, .. } => {
                self.block(then);
                self.block(els);
                for (i, &o) in inst.outs.iter().enumerate() {
                    let v = self.is_varied(then.yields[i]) || self.is_varied(els.yields[i]);
                    self.set_varied(o, v);
                }
            }
            InstKind::Loop(lp) => self.carried(&inst.outs, lp),
            // Lowering makes none of these.
            InstKind::Rule { .. }
            | InstKind::Sum(_)
            | InstKind::Zero
            | InstKind::ZeroLike(_)
            | InstKind::Buffer { .. }
            | InstKind::TakeAt { .. }
            | InstKind::AddAt { .. }
            | InstKind::AddRun(_)
            | InstKind::Window { .. }
            | InstKind::AddAll { .. }
            | InstKind::CallJvp { .. }
            | InstKind::CallVjp { .. }
            | InstKind::Needs
            | InstKind::Guard { .. }
            | InstKind::AddField { .. }
            | InstKind::AddElem { .. }
            | InstKind::Pullback { .. }
            | InstKind::Closure { .. } => {}
        }
    }

    /// A carried value is varied if its value before the loop or after an iteration is
    /// (the latter from the walk before, until nothing changes).
    fn carried(&mut self, outs: &[Value], lp: &mut Loop) {
        for (i, &p) in lp.params.iter().enumerate() {
            let v = self.is_varied(lp.inits[i]) || self.is_varied(lp.body.yields[i]);
            self.set_varied(p, v);
        }
        if let LoopKind::While { cond } = &mut lp.kind {
            self.block(cond);
        }
        self.block(&mut lp.body);
        for (i, &p) in lp.params.iter().enumerate() {
            let v = self.is_varied(lp.body.yields[i]);
            self.set_varied(p, v);
            self.set_varied(outs[i], self.is_varied(p));
        }
    }

    fn is_varied(&self, v: Value) -> bool {
        self.varied[v.index()]
    }

    fn set_varied(&mut self, v: Value, varied: bool) {
        if varied && !self.varied[v.index()] {
            self.varied[v.index()] = true;
            self.changed = true;
        }
    }

    fn is_object(&self, v: Value) -> bool {
        self.func.ty(v) == Ty::Obj
    }

    fn set_ty(&mut self, v: Value, ty: Ty) {
        if self.func.ty(v) != ty {
            self.func.values[v.index()].ty = ty;
            self.changed = true;
        }
    }

    /// Reports `error` on the last walk (which visits each instruction once).
    fn error(&mut self, error: syn::Error) {
        if let Some(r) = &mut self.report {
            r.cx.push(error);
        }
    }
}

// -------------------- decisions --------------------

type Decision = (Op, Vec<Value>, Ty);

/// What an expression in error becomes (the error is reported once, on the last walk).
fn undef() -> Decision {
    (Op::Undef, Vec::new(), Ty::Unknown)
}

impl Resolver<'_, '_> {
    /// `out = op(args)` decided, with its type.
    fn op(&mut self, out: Value, op: &mut Op, args: &mut Vec<Value>, span: Span) {
        let pending = self.pending;
        let decision = match pending.get(&out) {
            Some(Pending::Method {
                name,
                args,
                form,
                map,
            }) => self.method(name, args, form, map.as_ref()),
            Some(Pending::Field {
                member,
                base,
                tokens,
                grad_read,
            }) => self.field(out, (member, *base), tokens, *grad_read),
            Some(Pending::Index {
                base,
                indices,
                written,
            }) => self.index(*base, indices, *written, span),
            Some(Pending::Fill { tokens }) => {
                if self.is_varied(args[0]) {
                    self.error(diag::active_fill(tokens));
                }
                return self.set_ty(out, self.typed(out, op, args));
            }
            Some(Pending::Scrutinee { tokens }) => {
                if self.is_varied(args[0]) {
                    self.error(diag::active_scrutinee(tokens));
                }
                return self.set_ty(out, self.typed(out, op, args));
            }
            None => return self.set_ty(out, self.typed(out, op, args)),
        };
        let (decided, decided_args, ty) = decision;
        *op = decided;
        *args = decided_args;
        self.set_ty(out, ty);
    }

    /// The type of an operation that needs no decision: arithmetic on an object is one, a
    /// float method of one a float; a call with an object argument is an object, one with a
    /// varied argument a float; otherwise what lowering knew.
    fn typed(&self, out: Value, op: &Op, args: &[Value]) -> Ty {
        let object = args.iter().any(|&a| self.is_object(a));
        let varied = args.iter().any(|&a| self.is_varied(a));
        let arithmetic = matches!(op, Op::Add | Op::Sub | Op::Mul | Op::Div | Op::Neg);
        match op {
            _ if arithmetic && object => Ty::Obj,
            Op::Fun(_) if object => Ty::Float,
            // A tuple's parts are typed by their uses.
            Op::Call { form, .. } if form.parts > 1 => self.seeds[out.index()],
            Op::Call { form, .. } if !form.method && object => Ty::Obj,
            // A float, but an array once indexed (`index`).
            Op::Call { form, .. } if !form.method && varied => match self.func.ty(out) {
                t if t.elem() != Ty::Unknown => t,
                _ => Ty::Float,
            },
            _ => self.seeds[out.index()],
        }
    }

    /// A method: a matrix rule or `map` on an object, a float method, a call through its
    /// own derivatives on an active object, else opaque (an error on active values).
    fn method(
        &mut self,
        name: &syn::Ident,
        args: &[Value],
        form: &CallForm,
        map: Option<&LoweredMap>,
    ) -> Decision {
        let object = self.is_object(args[0]);
        let varied = args.iter().any(|&a| self.is_varied(a));
        if let Some(LoweredMap {
            closure,
            body,
            errors,
            elements,
        }) = map
        {
            if !(0..*elements).all(|k| self.is_object(args[k])) {
                self.error(diag::closure(closure));
                return undef();
            }
            if let Some(k) = (*elements..args.len()).find(|&k| self.is_object(args[k])) {
                let p = body.info(body.params[k]);
                let name = syn::Ident::new(p.name.as_deref().unwrap_or("_"), p.span);
                self.error(diag::map_capture(&name));
                return undef();
            }
            if let Some(e) = errors {
                self.error(e.clone());
                return undef();
            }
            let op = Op::Map {
                closure: closure.clone(),
                body: body.clone(),
                elements: *elements,
            };
            return (op, args.to_vec(), Ty::Obj);
        }
        let text = name.to_string();
        if let Some(l) = Lin::from_name(&text).filter(|_| object) {
            let ty = if l.scalar() { Ty::Float } else { Ty::Obj };
            return self.with_arity(name, l.arity(), (Op::Lin(l), args.to_vec(), ty));
        }
        if let Some(f) = Fun::from_name(&text) {
            // Only floats (and integers) have these: an object they apply to is a float.
            let ty = if object { Ty::Float } else { Ty::Unknown };
            return self.with_arity(name, f.arity(), (Op::Fun(f), args.to_vec(), ty));
        }
        if object && varied {
            let path = name.to_token_stream();
            let form = form.clone();
            return (Op::Call { path, form }, args.to_vec(), Ty::Obj);
        }
        let opaque = Op::Method { name: name.clone() };
        if PREDICATES.contains(&text.as_str()) {
            return (opaque, args.to_vec(), Ty::Bool);
        }
        if varied {
            self.error(diag::unknown_method(name));
            return undef();
        }
        (opaque, args.to_vec(), Ty::Unknown)
    }

    /// `decision` if it has as many operands as its rule, else an error.
    fn with_arity(&mut self, name: &syn::Ident, arity: usize, decision: Decision) -> Decision {
        if decision.1.len() == arity {
            return decision;
        }
        self.error(diag::wrong_arity(name, arity));
        undef()
    }

    /// `base.member`: on a varied base, one read of the whole path from the active
    /// parameter, held by reference; otherwise an opaque read.
    fn field(
        &mut self,
        out: Value,
        (member, base): (&TokenStream, Value),
        tokens: &TokenStream,
        grad_read: bool,
    ) -> Decision {
        if !self.is_varied(base) {
            let op = Op::Field {
                member: member.clone(),
            };
            return (op, vec![base], Ty::Unknown);
        }
        // An active part of `f_grad(..)`: the partials are reached by destructuring.
        if grad_read {
            self.error(diag::grad_field(tokens));
            return undef();
        }
        let (root, path) = match self.field_paths.get(&base) {
            Some((root, prefix)) => (*root, quote::quote!(#prefix . #member)),
            None => (base, member.clone()),
        };
        if !self.func.params.contains(&root) || !self.is_object(root) {
            self.error(diag::active_field(tokens));
            return undef();
        }
        self.func.values[out.index()].by_ref = true;
        self.field_paths.insert(out, (root, path.clone()));
        (Op::Field { member: path }, vec![root], Ty::Obj)
    }

    /// `base[i]` or `base[(i, j)]`: an element of an object (a matrix or vector), or of an
    /// array.
    fn index(
        &mut self,
        base: Value,
        indices: &[Value],
        written: IndexBase,
        span: Span,
    ) -> Decision {
        let object = match written {
            IndexBase::Field => true,
            IndexBase::Variable => self.is_object(base),
            IndexBase::Other => false,
        };
        let mut args = vec![base];
        args.extend(indices);
        if object {
            return (Op::At, args, Ty::Float);
        }
        if let [_] = indices {
            // What is indexed is an array, though a call with a varied argument was taken
            // for a float: `let sq = squares(x); sq[i]`.
            if self.func.ty(base).is_float() && self.seeds[base.index()] == Ty::Unknown {
                self.set_ty(base, Ty::ArrayF64);
            }
            return (Op::Index, args, self.func.ty(base).elem());
        }
        if !self.fenced {
            self.error(diag::internal(span, "expression passed the fence"));
        }
        undef()
    }

    /// Records which operands share the result's type (on the last walk).
    fn constrain(&mut self, op: &Op, args: &[Value], out: Value) {
        // A matrix times (or over) a scalar: the operands' types differ.
        let objects = args.iter().any(|&a| self.is_object(a));
        let Some(r) = &mut self.report else {
            return;
        };
        if objects && matches!(op, Op::Mul | Op::Div) {
            return;
        }
        match (op, args) {
            (Op::Index, [array, _]) => r.constraints.elem(*array, out),
            (Op::Store | Op::Push, [_, _, v]) => r.constraints.elem(out, *v),
            (Op::NewArray { .. }, [fill, _]) => r.constraints.elem(out, *fill),
            (Op::CopyArray { .. }, [array, _]) | (Op::SubSlice { .. }, [array, ..]) => {
                r.constraints.same(*array, out)
            }
            _ => {}
        }
        let same_as_out: &[Value] = match op {
            Op::Add | Op::Sub | Op::Mul | Op::Div | Op::Rem | Op::Neg | Op::Not => args,
            Op::BitAnd | Op::BitOr | Op::BitXor => args,
            Op::Shl | Op::Shr | Op::Fun(Fun::Powi) => &args[..1.min(args.len())],
            Op::Fun(_) => args,
            Op::Cmp(_) => {
                if let [a, b] = args {
                    r.constraints.same(*a, *b);
                }
                &[]
            }
            _ => &[],
        };
        for &a in same_as_out {
            r.constraints.same(a, out);
        }
    }
}
