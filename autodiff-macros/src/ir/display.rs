//! A text dump of the IR, one instruction per line, used by golden tests and for debugging:
//!
//! ```text
//! fn f(%0 x: f64, %1 y: f64) {
//!   %2 = mul %0, %1
//!   %3 = sin %2
//!   return %3
//! }
//! ```

use super::{
    op::compact, Adapter, Block, Func, Inst, InstKind, Loop, LoopKind, Range, Run, Ty, Value,
};
use std::fmt::{self, Display, Formatter, Write};

impl Display for Value {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "%{}", self.0)
    }
}

impl Display for Ty {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Ty::F32 => "f32",
            Ty::F64 => "f64",
            Ty::Float => "float",
            Ty::Int => "int",
            Ty::Bool => "bool",
            Ty::ArrayF32 => "[f32]",
            Ty::ArrayF64 => "[f64]",
            Ty::ArrayInt => "[int]",
            Ty::Obj => "obj",
            Ty::Unknown => "?",
        })
    }
}

impl Display for Func {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let params: Vec<String> = self
            .params
            .iter()
            .map(|&p| {
                format!(
                    "{p} {}: {}",
                    self.display_name(p).unwrap_or_else(|| "_".into()),
                    self.ty(p)
                )
            })
            .collect();
        writeln!(f, "fn {}({}) {{", self.name, params.join(", "))?;
        write_block(f, &self.body, 1)?;
        writeln!(f, "  return {}", list(&self.results))?;
        f.write_str("}")
    }
}

fn write_block(f: &mut Formatter<'_>, block: &Block, depth: usize) -> fmt::Result {
    for inst in &block.insts {
        write_inst(f, inst, depth)?;
    }
    Ok(())
}

fn write_inst(f: &mut Formatter<'_>, inst: &Inst, depth: usize) -> fmt::Result {
    let pad = "  ".repeat(depth);
    let lhs = if inst.outs.is_empty() {
        String::new()
    } else {
        format!("{} = ", list(&inst.outs))
    };
    match &inst.kind {
        InstKind::If { cond, then, els } => {
            writeln!(f, "{pad}{lhs}if {cond} {{")?;
            write_branch(f, then, depth + 1)?;
            writeln!(f, "{pad}}} else {{")?;
            write_branch(f, els, depth + 1)?;
            writeln!(f, "{pad}}}")
        }
        InstKind::Loop(lp) => write_loop(f, &lhs, lp, depth),
        InstKind::Closure { params, body } => {
            writeln!(f, "{pad}{lhs}closure |{}| {{", list(params))?;
            write_branch(f, body, depth + 1)?;
            writeln!(f, "{pad}}}")
        }
        kind => writeln!(f, "{pad}{lhs}{}", simple(kind)),
    }
}

fn write_loop(f: &mut Formatter<'_>, lhs: &str, lp: &Loop, depth: usize) -> fmt::Result {
    let pad = "  ".repeat(depth);
    let carry: Vec<String> = lp
        .params
        .iter()
        .zip(&lp.inits)
        .map(|(p, i)| format!("{p} = {i}"))
        .collect();
    let carry = format!("carry({})", carry.join(", "));
    let record = match &lp.record {
        Some(r) => format!(" record({}) into {}", list(&r.items), r.tape),
        None => String::new(),
    };
    match &lp.kind {
        LoopKind::While { cond } => {
            writeln!(f, "{pad}{lhs}while {carry}{record} {{")?;
            write_branch(f, cond, depth + 1)?;
            writeln!(f, "{pad}}} do {{")?;
        }
        _ => writeln!(f, "{pad}{lhs}{} {carry}{record} {{", loop_head(lp))?,
    }
    write_branch(f, &lp.body, depth + 1)?;
    writeln!(f, "{pad}}}")
}

/// `%lo..%hi.rev()`.
fn range_text(range: &Range) -> String {
    let dots = if range.inclusive { "..=" } else { ".." };
    let mut head = format!("{}{dots}{}", range.lo, range.hi);
    for a in &range.adapters {
        match a {
            Adapter::Rev => head.push_str(".rev()"),
            Adapter::StepBy(k) => head.push_str(&format!(".step_by({k})")),
        }
    }
    head
}

/// `for %i in %lo..%hi.rev()`, `while`, `for (%a, %b) in rev %tape`, or
/// `for (%i, (%a, %b)) in %lo..%hi.rev().zip(rev %tape)` (forwards: `%lo..%hi.zip(%tape)`).
pub(super) fn loop_head(lp: &Loop) -> String {
    match &lp.kind {
        LoopKind::For { index, range } => format!("for {index} in {}", range_text(range)),
        LoopKind::While { .. } => "while".to_string(),
        LoopKind::Tape {
            tape,
            items,
            index: None,
            ..
        } => format!("for ({}) in rev {tape}", list(items)),
        LoopKind::Tape {
            tape,
            items,
            index: Some((index, range)),
            forward,
        } => format!(
            "for ({index}, ({})) in {}.zip({}{tape})",
            list(items),
            range_text(range),
            if *forward { "" } else { "rev " }
        ),
    }
}

fn write_branch(f: &mut Formatter<'_>, block: &Block, depth: usize) -> fmt::Result {
    write_block(f, block, depth)?;
    writeln!(f, "{}yield {}", "  ".repeat(depth), list(&block.yields))
}

/// An instruction without blocks, as text: `sin %2`, `add_at %5[%3], %7`.
pub(super) fn simple(kind: &InstKind) -> String {
    let mut s = String::new();
    let _ = match kind {
        InstKind::Op(op, args) => write!(s, "{}{}", op.mnemonic(), operands(args)),
        InstKind::Rule { name, args } => write!(s, "rule {name}{}", operands(args)),
        InstKind::Sum(args) => write!(s, "sum{}", operands(args)),
        InstKind::Zero => write!(s, "zero"),
        InstKind::ZeroLike(v) => write!(s, "zero_like {v}"),
        InstKind::Buffer { like } => write!(s, "buffer zero_like {like}"),
        InstKind::AddAll {
            buffer,
            value,
            grow,
            range,
        } => {
            let op = if *grow { "add_all_grow" } else { "add_all" };
            match range {
                Some((lo, hi)) => write!(s, "{op} {buffer}[{lo}..{hi}], {value}"),
                None => write!(s, "{op} {buffer}, {value}"),
            }
        }
        InstKind::AddRun(Run {
            buffer,
            records,
            field,
            first,
            shift,
            backwards,
            ..
        }) => {
            let up = shift.up.iter().map(|c| format!(" + {c}"));
            let down = shift.down.iter().map(|c| format!(" - {c}"));
            let index: String = up.chain(down).collect();
            let order = if *backwards { "backwards" } else { "forwards" };
            write!(
                s,
                "add_run {buffer}[i{index}] for i from {first}, {records}.{field} {order}"
            )
        }
        InstKind::AddAt {
            buffer,
            index,
            value,
            grow,
        } => {
            let op = if *grow { "add_at_grow" } else { "add_at" };
            write!(s, "{op} {buffer}[{index}], {value}")
        }
        InstKind::TakeAt {
            buffer,
            index,
            grow,
        } => {
            let op = if *grow { "take_at_grow" } else { "take_at" };
            write!(s, "{op} {buffer}[{index}]")
        }
        InstKind::AddField {
            buffer,
            member,
            value,
            assign,
        } => {
            let op = if *assign { "set_field" } else { "add_field" };
            write!(s, "{op} {buffer}.{}, {value}", compact(member))
        }
        InstKind::AddElem {
            buffer,
            indices,
            value,
        } => write!(s, "add_elem {buffer}[{}], {value}", list(indices)),
        InstKind::CallJvp { path, args, .. } => {
            write!(s, "call_jvp {}{}", compact(path), operands(args))
        }
        InstKind::CallVjp { path, args, .. } => {
            write!(s, "call_vjp {}{}", compact(path), operands(args))
        }
        InstKind::Pullback { pullback, seeds } => {
            write!(s, "pullback {pullback}{}", operands(seeds))
        }
        InstKind::Window {
            array,
            lo,
            hi,
            inclusive,
            before,
            after,
        } => {
            let dots = if *inclusive { "..=" } else { ".." };
            write!(s, "window {array}[{lo}{dots}{hi}] -{before} +{after}")
        }
        InstKind::Needs => write!(s, "needs"),
        InstKind::Guard { needs, mask, inner } => {
            write!(s, "if {needs} & {mask:#b}: {}", simple(&inner.kind))
        }
        InstKind::If { .. } | InstKind::Closure { .. } | InstKind::Loop(_) => Ok(()),
    };
    s
}

fn operands(args: &[Value]) -> String {
    if args.is_empty() {
        String::new()
    } else {
        format!(" {}", list(args))
    }
}

pub(super) fn list(values: &[Value]) -> String {
    values
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
