//! What the macro costs at compile time, by function size: generated functions of 100, 400
//! and 1,600 statements, straight-line and in loops, expanded and timed here (the
//! expansion alone); `benches/compile.rs` builds the same functions with rustc (expansion,
//! type checking and code generation) and runs this test first:
//!
//! ```text
//! cargo test -p autodiff-macros --release compile_cost -- --ignored --nocapture
//! ```
//!
//! With `COMPILE_COST_DIR` set, the test also writes each function there as
//! `<shape>_<n>.rs`, for the bench to build.

use std::time::Instant;

/// The sizes and shapes measured.
const SIZES: [usize; 3] = [100, 400, 1_600];

/// `n` statements of scalar arithmetic and float methods, each reading the last few.
fn straight(n: usize) -> String {
    let mut body = String::from("let s0 = x * y + 0.5;\n");
    for k in 1..n {
        body.push_str(&format!("let s{k} = {};\n", step(k, "x", "y")));
    }
    format!(
        "#[differentiable]\npub fn straight_{n}(x: f64, y: f64) -> f64 {{\n{body}s{}\n}}\n",
        n - 1
    )
}

/// Statement `k` of a chain: a rotation of operations over the previous values.
fn step(k: usize, x: &str, y: &str) -> String {
    let prev = |d: usize| format!("s{}", k.saturating_sub(d));
    match k % 4 {
        0 => format!("({} * {x} + {}).sin()", prev(1), prev(3)),
        1 => format!("{} * {} + {y}", prev(1), prev(2)),
        2 => format!(
            "({} * 0.5).tanh() + {} / (1.0 + {} * {})",
            prev(1),
            prev(4),
            prev(2),
            prev(2)
        ),
        _ => format!("({} - {}).exp() * 0.25 + {}", prev(1), prev(2), prev(3)),
    }
}

/// `n` statements in `n / 10` loops over a slice, each body ten statements long and
/// carrying one accumulator.
fn looped(n: usize) -> String {
    let mut body = String::from("let mut acc = x;\n");
    for _ in 0..n / 10 {
        body.push_str("for i in 0..xs.len() {\nlet s0 = acc * xs[i] + y;\n");
        for k in 1..9 {
            body.push_str(&format!("let s{k} = {};\n", step(k, "xs[i]", "acc")));
        }
        body.push_str("acc = 0.5 * acc + s8.sin();\n}\n");
    }
    format!(
        "#[differentiable]\npub fn looped_{n}(x: f64, y: f64, xs: &[f64]) -> f64 {{\n{body}acc\n}}\n"
    )
}

/// The expansion of `source` (one annotated function) and the seconds it took.
fn expand_timed(source: &str) -> (proc_macro2::TokenStream, f64) {
    let mut item: syn::ItemFn = syn::parse_str(source).expect("a generated function");
    item.attrs.clear();
    let start = Instant::now();
    let tokens =
        crate::expand::differentiable(proc_macro2::TokenStream::new(), quote::quote!(#item));
    (tokens, start.elapsed().as_secs_f64())
}

#[test]
fn generated_functions_expand_without_errors() {
    for source in [straight(40), looped(40)] {
        let (tokens, _) = expand_timed(&source);
        let text = tokens.to_string();
        assert!(!text.contains("compile_error"), "{source}\n{text}");
        assert!(text.contains("_vjp") && text.contains("_jvp"));
    }
}

#[test]
#[ignore = "a measurement: run with --release --ignored --nocapture"]
fn compile_cost() {
    let dir = std::env::var_os("COMPILE_COST_DIR").map(std::path::PathBuf::from);
    println!("expansion by the macro alone (best of 5), and the generated tokens");
    println!(
        "{:<10} {:>6} {:>12} {:>14} {:>16}",
        "shape", "n", "ms", "µs/statement", "tokens"
    );
    for n in SIZES {
        for (shape, source) in [("straight", straight(n)), ("loops", looped(n))] {
            let runs: Vec<(proc_macro2::TokenStream, f64)> =
                (0..5).map(|_| expand_timed(&source)).collect();
            let best = runs.iter().map(|r| r.1).fold(f64::INFINITY, f64::min);
            let tokens = count_tokens(runs[0].0.clone());
            println!(
                "{shape:<10} {n:>6} {:>12.2} {:>14.2} {tokens:>16}",
                best * 1e3,
                best * 1e6 / n as f64
            );
            if let Some(dir) = &dir {
                std::fs::write(dir.join(format!("{shape}_{n}.rs")), &source)
                    .expect("writable COMPILE_COST_DIR");
            }
        }
    }
}

/// The number of tokens of a stream, groups' contents included.
fn count_tokens(stream: proc_macro2::TokenStream) -> usize {
    stream
        .into_iter()
        .map(|t| match t {
            proc_macro2::TokenTree::Group(g) => 1 + count_tokens(g.stream()),
            _ => 1,
        })
        .sum()
}
