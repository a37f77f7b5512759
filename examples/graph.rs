//! The computation graph `#[differentiable]` builds, written out: `#[differentiable(graph)]`
//! adds `f_graph()`, a Graphviz DOT text of the optimised primal and of the reverse-mode
//! function (its primal sweep, then the pullback), a node per operation and a cluster per
//! loop, branch and closure.
//!
//! Run with `cargo run --release --example graph` to print the DOT text, or
//! `cargo run --release --example graph -- docs/graph.dot` to write it to a file; render it
//! with Graphviz, `dot -Tsvg docs/graph.dot -o docs/graph.svg`.

use autodiff::differentiable;

/// A softplus-like function with a branch: `ln(x·y)` above 1, `sin(x·y)·y` below.
#[differentiable(graph)]
fn bent(x: f64, y: f64) -> f64 {
    let s = x * y;
    if s > 1.0 {
        s.ln()
    } else {
        s.sin() * y
    }
}

fn main() -> std::io::Result<()> {
    let dot = bent_graph();
    // The graph is of the function that runs: check that it is the one differentiated.
    let (value, (dx, dy)) = bent_grad(0.5, 1.5);
    assert_eq!(value, bent(0.5, 1.5));
    assert!((dx - (0.75_f64).cos() * 1.5 * 1.5).abs() < 1e-12 && dy.is_finite());
    match std::env::args().nth(1) {
        Some(path) => {
            std::fs::write(&path, dot)?;
            println!("wrote {path} ({} nodes)", dot.matches("label=").count());
        }
        None => print!("{dot}"),
    }
    Ok(())
}
