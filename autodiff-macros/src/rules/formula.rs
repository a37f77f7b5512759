//! The arithmetic a partial derivative is written in: a small builder over the IR, so that
//! a rule's formula (`d sin a = cos(a)·t`) reads like the maths and appends ordinary
//! instructions. `nested` (`f_dir`) and the written-out reverse sweep (`reverse::written`) both
//! build their derivative code through it.

use crate::ir::{CmpOp, Const, Fun, Func, Inst, InstKind, Op, Ty, Value};
use proc_macro2::Span;

/// The operands of a rule's formula: `args` of `y = op(args)`, and the seed `t` (a tangent
/// in forward mode, the cotangent of `y` in reverse mode: for scalar rules both modes
/// multiply it by the same partial).
#[derive(Clone, Copy)]
pub struct Operands<'a> {
    pub args: &'a [Value],
    pub y: Value,
    pub t: Value,
}

impl Operands<'_> {
    /// Operand `k`, if the operation has one there.
    pub fn arg(&self, k: usize) -> Option<Value> {
        self.args.get(k).copied()
    }

    /// The first operand (the receiver of a method), which every rule has.
    pub fn a(&self) -> Value {
        self.args[0]
    }
}

/// `∂y/∂operand · t`, appended through a builder; `None` where the formula cannot be
/// written for these operands (an operand missing, a float type the macro cannot see).
pub type Formula = fn(&mut Builder<'_>, Operands<'_>) -> Option<Value>;

/// Appends instructions whose results have the type of `like` (the rule's result `y`).
pub struct Builder<'a> {
    pub func: &'a mut Func,
    pub out: &'a mut Vec<Inst>,
    pub like: Value,
    pub span: Span,
}

impl Builder<'_> {
    /// Evaluates `formula` for `operands`.
    pub fn apply(&mut self, formula: Formula, operands: Operands<'_>) -> Option<Value> {
        formula(self, operands)
    }

    fn float(&mut self, op: Op, args: Vec<Value>) -> Value {
        self.func.push_op(op, args, self.like, self.span, self.out)
    }

    fn typed(&mut self, ty: Ty, kind: InstKind) -> Value {
        let v = self.func.new_value(None, self.span, ty);
        self.out.push(Inst::new(vec![v], kind, self.span));
        v
    }

    pub fn add(&mut self, a: Value, b: Value) -> Value {
        self.float(Op::Add, vec![a, b])
    }

    pub fn sub(&mut self, a: Value, b: Value) -> Value {
        self.float(Op::Sub, vec![a, b])
    }

    pub fn mul(&mut self, a: Value, b: Value) -> Value {
        self.float(Op::Mul, vec![a, b])
    }

    pub fn div(&mut self, a: Value, b: Value) -> Value {
        self.float(Op::Div, vec![a, b])
    }

    pub fn neg(&mut self, a: Value) -> Value {
        self.float(Op::Neg, vec![a])
    }

    /// The float method `f` on `args` (the receiver first).
    pub fn call(&mut self, f: Fun, args: &[Value]) -> Value {
        self.float(Op::Fun(f), args.to_vec())
    }

    /// The matrix method `l` on `args` (the receiver first).
    pub fn lin(&mut self, l: crate::ir::Lin, args: &[Value]) -> Value {
        self.float(Op::Lin(l), args.to_vec())
    }

    /// `t` (a float or an integer) converted to the result's float type; `None` when the
    /// macro does not know that type (it must name it in the cast).
    pub fn cast_like(&mut self, t: Value) -> Option<Value> {
        let to = self.func.ty(self.like);
        let ty = match to {
            Ty::F64 => quote::quote!(f64),
            Ty::F32 => quote::quote!(f32),
            _ => return None,
        };
        Some(self.float(Op::Cast { ty, to }, vec![t]))
    }

    /// A float constant of the result's type.
    pub fn num(&mut self, value: f64) -> Value {
        self.func.push_float(value, self.like, self.span, self.out)
    }

    /// `c · t`, for a constant factor `c`.
    pub fn scale(&mut self, c: f64, t: Value) -> Value {
        let c = self.num(c);
        self.mul(c, t)
    }

    /// A comparison, a `bool`.
    pub fn cmp(&mut self, op: CmpOp, a: Value, b: Value) -> Value {
        self.typed(Ty::Bool, InstKind::Op(Op::Cmp(op), vec![a, b]))
    }

    pub fn or(&mut self, a: Value, b: Value) -> Value {
        self.typed(Ty::Bool, InstKind::Op(Op::BitOr, vec![a, b]))
    }

    pub fn not(&mut self, a: Value) -> Value {
        self.typed(Ty::Bool, InstKind::Op(Op::Not, vec![a]))
    }

    /// `n - 1` for an integer `n`.
    pub fn int_pred(&mut self, n: Value) -> Value {
        let lit = proc_macro2::Literal::i32_unsuffixed(1);
        let one = self.typed(Ty::Int, InstKind::Op(Op::Const(Const::Int(lit)), vec![]));
        self.typed(Ty::Int, InstKind::Op(Op::Sub, vec![n, one]))
    }

    /// `if cond { t } else { 0 }`: the seed passed through where `cond` holds.
    pub fn select(&mut self, cond: Value, t: Value) -> Value {
        let mut els = Vec::new();
        let zero = self.func.push_float(0.0, self.like, self.span, &mut els);
        let v = self.func.new_derived(crate::ir::Role::Primal, self.like);
        let then = crate::ir::Block {
            insts: Vec::new(),
            yields: vec![t],
        };
        let els = crate::ir::Block {
            insts: els,
            yields: vec![zero],
        };
        let kind = InstKind::If { cond, then, els };
        self.out.push(Inst::new(vec![v], kind, self.span));
        v
    }
}
