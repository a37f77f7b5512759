//! Constant folding and algebraic identities that are exact in IEEE arithmetic.
//!
//! Folds float arithmetic only when the width is known (an `f32` computation must round
//! like `f32`) and the result is finite; rewrites `x * 1`, `1 * x`, `x / 1` and `x - 0` to
//! `x` (exact for every `x`, signed zeros and NaN included; `x + 0` is not, as
//! `-0 + 0 = +0`); rewrites the integer `i + 0`, `0 + i`, `i - 0`, `i * 1`, `1 * i` to
//! `i` (index arithmetic of loops written from iterator chains); replaces an `if` on a
//! constant by the branch taken; and forwards `if` results that both branches yield alike.

use super::resolve;
use crate::ir::{Block, Const, Func, Inst, InstKind, Op, Ty, Value};
use proc_macro2::Literal;
use std::collections::HashMap;

pub fn fold(func: &mut Func) {
    let mut f = Folder {
        tys: func.values.iter().map(|v| v.ty).collect(),
        subst: HashMap::new(),
        consts: HashMap::new(),
    };
    let body = std::mem::take(&mut func.body);
    func.body = f.block(body);
    for r in &mut func.results {
        *r = resolve(&f.subst, *r);
    }
}

struct Folder {
    tys: Vec<Ty>,
    subst: HashMap<Value, Value>,
    consts: HashMap<Value, Const>,
}

enum Simplified {
    Alias(Value),
    Const(Const),
}

impl Folder {
    fn block(&mut self, block: Block) -> Block {
        let mut insts = Vec::new();
        for inst in block.insts {
            self.inst(inst, &mut insts);
        }
        let yields = block
            .yields
            .iter()
            .map(|&v| resolve(&self.subst, v))
            .collect();
        Block { insts, yields }
    }

    fn inst(&mut self, inst: Inst, out: &mut Vec<Inst>) {
        let Inst { outs, kind, span } = inst;
        match kind {
            InstKind::Op(op, args) => {
                let args: Vec<Value> = args.iter().map(|&a| resolve(&self.subst, a)).collect();
                let y = outs[0];
                let op = match self.simplify(&op, &args, self.tys[y.index()]) {
                    Some(Simplified::Alias(v)) => {
                        self.subst.insert(y, v);
                        return;
                    }
                    Some(Simplified::Const(c)) => Op::Const(c),
                    None => op,
                };
                if let Op::Const(c) = &op {
                    self.consts.insert(y, c.clone());
                }
                let args = if matches!(op, Op::Const(_)) {
                    Vec::new()
                } else {
                    args
                };
                out.push(Inst::new(outs, InstKind::Op(op, args), span));
            }
            InstKind::If { cond, then, els } => {
                self.fold_if(outs, resolve(&self.subst, cond), then, els, span, out)
            }
            kind => {
                let mut inst = Inst::new(outs, kind, span);
                inst.map_header_uses(&mut |v| resolve(&self.subst, v));
                for b in inst.blocks_mut() {
                    *b = self.block(std::mem::take(b));
                }
                out.push(inst);
            }
        }
    }

    fn fold_if(
        &mut self,
        outs: Vec<Value>,
        cond: Value,
        then: Block,
        els: Block,
        span: proc_macro2::Span,
        out: &mut Vec<Inst>,
    ) {
        if let Some(Const::Bool(taken)) = self.consts.get(&cond).cloned() {
            let chosen = self.block(if taken { then } else { els });
            out.extend(chosen.insts);
            for (o, y) in outs.into_iter().zip(chosen.yields) {
                self.subst.insert(o, y);
            }
            return;
        }
        let mut then = self.block(then);
        let mut els = self.block(els);
        let mut kept = Vec::new();
        let (mut ty, mut ey) = (Vec::new(), Vec::new());
        for (i, o) in outs.into_iter().enumerate() {
            let (t, e) = (then.yields[i], els.yields[i]);
            if t == e {
                self.subst.insert(o, t);
            } else if self.is_bool(t, true) && self.is_bool(e, false) {
                self.subst.insert(o, cond);
            } else {
                kept.push(o);
                ty.push(t);
                ey.push(e);
            }
        }
        then.yields = ty;
        els.yields = ey;
        out.push(Inst::new(kept, InstKind::If { cond, then, els }, span));
    }

    fn is_bool(&self, v: Value, b: bool) -> bool {
        matches!(self.consts.get(&v), Some(Const::Bool(x)) if *x == b)
    }

    /// The value of a float constant as its type rounds it, when the width is known.
    /// The value of an integer constant written as a plain literal (`0`, `1usize`).
    fn int(&self, v: Value) -> Option<u128> {
        let Some(Const::Int(lit)) = self.consts.get(&v) else {
            return None;
        };
        // Decimal digits up to a suffix (`usize`); `0x..` and other forms are left alone.
        let text = lit.to_string().replace('_', "");
        let end = text
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len());
        let (digits, suffix) = text.split_at(end);
        let plain = suffix.is_empty() || suffix.starts_with(['u', 'i']);
        plain.then(|| digits.parse().ok()).flatten()
    }

    fn float(&self, v: Value) -> Option<f64> {
        let Some(Const::Float { lit, value }) = self.consts.get(&v) else {
            return None;
        };
        let text = lit.to_string().replace('_', "");
        let digits = text.trim_end_matches("f32").trim_end_matches("f64");
        let magnitude = match self.tys[v.index()] {
            Ty::F64 => digits.parse::<f64>().ok(),
            Ty::F32 => digits.parse::<f32>().ok().map(f64::from),
            _ => None,
        }?;
        Some(if value.is_sign_negative() {
            -magnitude
        } else {
            magnitude
        })
    }

    fn simplify(&self, op: &Op, args: &[Value], ty: Ty) -> Option<Simplified> {
        match (op, args) {
            (Op::Not, &[a]) => match self.consts.get(&a) {
                Some(Const::Bool(b)) => Some(Simplified::Const(Const::Bool(!b))),
                _ => None,
            },
            (Op::Neg, &[a]) => match self.consts.get(&a) {
                // Exact in every width: keep the literal, flip the sign.
                Some(Const::Float { value, lit }) => Some(Simplified::Const(Const::Float {
                    value: -value,
                    lit: lit.clone(),
                })),
                _ => None,
            },
            (Op::Mul, &[a, b]) if self.float(b) == Some(1.0) => Some(Simplified::Alias(a)),
            (Op::Mul, &[a, b]) if self.float(a) == Some(1.0) => Some(Simplified::Alias(b)),
            (Op::Div, &[a, b]) if self.float(b) == Some(1.0) => Some(Simplified::Alias(a)),
            (Op::Sub, &[a, b]) if self.float(b) == Some(0.0) => Some(Simplified::Alias(a)),
            (Op::Add | Op::Sub, &[a, b]) if self.int(b) == Some(0) => Some(Simplified::Alias(a)),
            (Op::Add, &[a, b]) if self.int(a) == Some(0) => Some(Simplified::Alias(b)),
            (Op::Mul, &[a, b]) if self.int(b) == Some(1) => Some(Simplified::Alias(a)),
            (Op::Mul, &[a, b]) if self.int(a) == Some(1) => Some(Simplified::Alias(b)),
            (Op::Add | Op::Sub | Op::Mul | Op::Div, &[a, b]) => {
                let (x, y) = (self.float(a)?, self.float(b)?);
                float_const(arith(op, x, y, ty)?, ty)
            }
            _ => None,
        }
    }
}

/// `x op y` rounded as the type `ty` rounds, if the width is known.
#[allow(clippy::cast_possible_truncation)]
fn arith(op: &Op, x: f64, y: f64, ty: Ty) -> Option<f64> {
    let f64_op = |x: f64, y: f64| match op {
        Op::Add => x + y,
        Op::Sub => x - y,
        Op::Mul => x * y,
        _ => x / y,
    };
    let f32_op = |x: f32, y: f32| match op {
        Op::Add => x + y,
        Op::Sub => x - y,
        Op::Mul => x * y,
        _ => x / y,
    };
    match ty {
        Ty::F64 => Some(f64_op(x, y)),
        Ty::F32 => Some(f64::from(f32_op(x as f32, y as f32))),
        _ => None,
    }
}

#[allow(clippy::cast_possible_truncation)]
fn float_const(value: f64, ty: Ty) -> Option<Simplified> {
    if !value.is_finite() {
        return None;
    }
    let lit = match ty {
        Ty::F32 => Literal::f32_unsuffixed((value as f32).abs()),
        _ => Literal::f64_unsuffixed(value.abs()),
    };
    Some(Simplified::Const(Const::Float { value, lit }))
}
