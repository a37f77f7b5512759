//! `#[differentiable(graph)]`: `f_graph()` is a well-formed DOT graph of the optimised
//! primal and of the reverse-mode function, with clusters for loops, branches and the
//! pullback.

use autodiff::differentiable;
use std::collections::HashSet;

#[differentiable(graph)]
fn softplus_sum(xs: &[f64], scale: f64) -> f64 {
    let mut total = 0.0;
    for &x in xs {
        total += if x > 0.0 {
            x + (-x).exp().ln_1p()
        } else {
            x.exp().ln_1p()
        };
    }
    scale * total
}

/// The node names a DOT text declares, and the edges it draws.
fn nodes_and_edges(dot: &str) -> (HashSet<&str>, Vec<(&str, &str)>) {
    let mut nodes = HashSet::new();
    let mut edges = Vec::new();
    for line in dot.lines().map(str::trim) {
        if let Some((from, to)) = line.strip_suffix(';').and_then(|l| l.split_once(" -> ")) {
            edges.push((from, to));
        } else if let Some((name, _)) = line.split_once(" [label=") {
            assert!(nodes.insert(name), "node {name} declared twice");
        }
    }
    (nodes, edges)
}

#[test]
fn the_graph_is_well_formed_dot() {
    // The function drawn is the one differentiated.
    let (value, _) = softplus_sum_grad(&[0.5, -2.0], 1.5);
    assert_eq!(value, softplus_sum(&[0.5, -2.0], 1.5));
    let dot = softplus_sum_graph();
    assert!(dot.starts_with("digraph \"softplus_sum\" {"));
    assert_eq!(dot.matches('{').count(), dot.matches('}').count());
    let (nodes, edges) = nodes_and_edges(dot);
    assert!(nodes.len() > 30, "{} nodes", nodes.len());
    for (from, to) in &edges {
        assert!(
            nodes.contains(from) && nodes.contains(to),
            "edge {from} -> {to}"
        );
    }
    // Every operation but constants and parameters is reached from what it reads.
    let reached: HashSet<&str> = edges.iter().map(|&(_, to)| to).collect();
    assert!(reached.len() * 2 > nodes.len());
}

#[test]
fn loops_branches_and_the_pullback_are_clusters() {
    let dot = softplus_sum_graph();
    for label in [
        "softplus_sum (primal, optimised)",
        "softplus_sum_vjp (primal sweep, then the pullback)",
        "pullback |",
        "adjoint",
        "then",
        "else",
    ] {
        assert!(
            dot.contains(&format!("label=\"{label}")),
            "no cluster {label}"
        );
    }
    // The loop, in the primal and in the primal sweep; its adjoint walks the tape with
    // the index replayed from the range, forwards: each iteration only adds to `scale`'s
    // and `xs`' cotangents (`reverse::order`).
    assert!(dot.matches("label=\"for ").count() >= 3);
    assert!(dot.contains(".zip(%") && !dot.contains(".zip(rev "));
    assert!(dot.contains("ln_1p"));
}
