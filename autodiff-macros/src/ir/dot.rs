//! The IR as a Graphviz DOT graph, for `#[differentiable(graph)]`'s `f_graph()`: one node
//! per instruction (labelled as in the text dump), an edge from each value's definition
//! to each use, and a cluster for every loop, branch and closure (the pullback).
//!
//! ```text
//! digraph "f" {
//!   subgraph cluster_0 { label="f (primal)"; n0 [label="%0 x: f64"]; n1 [label="%1 = sin %0"]; .. }
//!   subgraph cluster_1 { label="f_vjp (primal sweep, then the pullback)"; .. }
//!   n0 -> n1;
//! }
//! ```

use super::display::{list, loop_head, simple};
use super::{Block, Func, Inst, InstKind, LoopKind, Value};
use std::collections::HashMap;
use std::fmt::Write;

/// The graph of `primal` and of its reverse-mode function `vjp`, side by side.
pub fn graph(name: &str, primal: &Func, vjp: &Func) -> String {
    let mut g = Dot::default();
    let _ = writeln!(g.out, "digraph \"{}\" {{", escape(name));
    g.out
        .push_str("  node [shape=box, fontname=\"monospace\", fontsize=10];\n");
    g.function(primal, &format!("{} (primal, optimised)", primal.name));
    g.function(
        vjp,
        &format!("{} (primal sweep, then the pullback)", vjp.name),
    );
    let edges = std::mem::take(&mut g.edges);
    g.out.push_str(&edges);
    g.out.push_str("}\n");
    g.out
}

#[derive(Default)]
struct Dot {
    out: String,
    edges: String,
    nodes: usize,
    clusters: usize,
    /// The node defining each value of the function being drawn.
    defs: HashMap<Value, usize>,
}

impl Dot {
    fn function(&mut self, func: &Func, label: &str) {
        self.defs.clear();
        self.open(label, 1);
        for &p in &func.params {
            let name = func.display_name(p).unwrap_or_else(|| "_".into());
            let n = self.node(&format!("{p} {name}: {}", func.ty(p)), 2, "ellipse");
            self.defs.insert(p, n);
        }
        self.block(func, &func.body, 2);
        let ret = self.node(&format!("return {}", list(&func.results)), 2, "ellipse");
        self.uses(&func.results, ret);
        self.close(1);
    }

    fn block(&mut self, func: &Func, block: &Block, depth: usize) {
        for inst in &block.insts {
            self.inst(func, inst, depth);
        }
    }

    fn inst(&mut self, func: &Func, inst: &Inst, depth: usize) {
        match &inst.kind {
            InstKind::If { cond, then, els } => {
                self.open(&format!("if {cond}"), depth);
                self.branch(func, "then", then, depth + 1);
                self.branch(func, "else", els, depth + 1);
                self.close(depth);
                let merge = self.defining(func, inst, "(branch results)", depth);
                self.uses(&[*cond], merge);
                self.uses(&then.yields, merge);
                self.uses(&els.yields, merge);
            }
            InstKind::Loop(lp) => self.looped(func, inst, lp, depth),
            InstKind::Closure { params, body } => self.closure(func, inst, params, body, depth),
            kind => {
                let n = self.defining(func, inst, &simple(kind), depth);
                self.uses(&inst.uses(), n);
            }
        }
    }

    /// A loop's cluster: its carried values, condition and body; then its results.
    fn looped(&mut self, func: &Func, inst: &Inst, lp: &super::Loop, depth: usize) {
        self.open(&loop_head(lp), depth);
        let carried: Vec<String> = (lp.params.iter().zip(&lp.inits))
            .map(|(p, i)| format!("{p} = {i}"))
            .collect();
        let head = self.node(
            &format!("carry {}", carried.join(", ")),
            depth + 1,
            "ellipse",
        );
        self.uses(&lp.inits, head);
        for &p in &lp.params {
            self.defs.insert(p, head);
        }
        if let LoopKind::While { cond } = &lp.kind {
            self.branch(func, "condition", cond, depth + 1);
        }
        self.block(func, &lp.body, depth + 1);
        self.close(depth);
        let done = self.defining(func, inst, "(loop results)", depth);
        self.uses(&lp.body.yields, done);
    }

    /// The pullback's cluster: its seeds, then the adjoint.
    fn closure(&mut self, func: &Func, inst: &Inst, params: &[Value], body: &Block, depth: usize) {
        self.open(&format!("pullback |{}|", list(params)), depth);
        let seeds = self.node(&format!("seeds {}", list(params)), depth + 1, "ellipse");
        for &p in params {
            self.defs.insert(p, seeds);
        }
        self.branch(func, "adjoint", body, depth + 1);
        self.close(depth);
        if let Some(&o) = inst.outs.first() {
            self.defs.insert(o, seeds);
        }
    }

    /// A node for `inst`'s results (`%3 y = text`), which defines them.
    fn defining(&mut self, func: &Func, inst: &Inst, text: &str, depth: usize) -> usize {
        let outs: Vec<String> = (inst.outs.iter())
            .map(|&o| match func.display_name(o) {
                Some(name) => format!("{o} {name}"),
                None => o.to_string(),
            })
            .collect();
        let label = if outs.is_empty() {
            text.to_string()
        } else {
            format!("{} = {text}", outs.join(", "))
        };
        let n = self.node(&label, depth, "box");
        for &o in &inst.outs {
            self.defs.insert(o, n);
        }
        n
    }

    fn branch(&mut self, func: &Func, label: &str, block: &Block, depth: usize) {
        self.open(label, depth);
        self.block(func, block, depth + 1);
        self.close(depth);
    }

    fn node(&mut self, label: &str, depth: usize, shape: &str) -> usize {
        let n = self.nodes;
        self.nodes += 1;
        let pad = "  ".repeat(depth);
        let _ = writeln!(
            self.out,
            "{pad}n{n} [label=\"{}\", shape={shape}];",
            escape(label)
        );
        n
    }

    /// Edges from the definitions of `values` to node `to` (one per distinct definition).
    fn uses(&mut self, values: &[Value], to: usize) {
        let mut from: Vec<usize> = values
            .iter()
            .filter_map(|v| self.defs.get(v).copied())
            .collect();
        from.sort_unstable();
        from.dedup();
        for f in from.into_iter().filter(|&f| f != to) {
            let _ = writeln!(self.edges, "  n{f} -> n{to};");
        }
    }

    fn open(&mut self, label: &str, depth: usize) {
        let pad = "  ".repeat(depth);
        let _ = writeln!(
            self.out,
            "{pad}subgraph cluster_{} {{\n{pad}  label=\"{}\";",
            self.clusters,
            escape(label)
        );
        self.clusters += 1;
    }

    fn close(&mut self, depth: usize) {
        let _ = writeln!(self.out, "{}}}", "  ".repeat(depth));
    }
}

/// A DOT string's text: quotes and backslashes escaped.
fn escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}
