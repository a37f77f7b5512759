#![warn(missing_docs)]
//! The `#[differentiable]` attribute of the `autodiff` crate. Use it through `autodiff`,
//! which also provides the runtime the generated code calls.
//!
//! The pipeline, one stage per module (`expand` runs it):
//!
//! | stage | module | in → out |
//! |---|---|---|
//! | front end | `args`, `ast` | attribute and `syn::ItemFn` → `DiffFn` (parameters, activity, spans) |
//! | desugar | `desugar/` | iterator chains (`iter`, `map`, `zip`, `filter`, `sum`, `fold`, ..) and `for` over them → index loops, before anything else sees the body |
//! | fence | `fence` | every unsupported construct reported at once, spanned |
//! | lowering | `lower/` (builder and scopes, `control`, `expr`, `call`, `loops`, `syntax`, `resolve`), `types` | `DiffFn` → `ir::Func` (SSA, structured control flow), each loop lowered once; `resolve` then makes the decisions that need activity and objects (methods, fields, indices) and reports what they reject; types inferred |
//! | optimisation | `opt/` (fold, CSE, fuse, DCE) | `Func` → `Func` |
//! | activity | `activity` | varied × useful: which values get tangents and cotangents |
//! | rules | `rules/` | THE rule table: each op's partials once, a runtime pair and an IR formula |
//! | forward | `forward` | `f_jvp`, and `f_dir` for `nested` (the formulas as IR) |
//! | Jacobians | `jacobian` | for `jacobian`: `f_jacobian`, by vector forward mode (`f_jvp_lanes`, emitted in lanes), `f_jvp` per column or pullbacks per row |
//! | second order | `hessian` | for `hessian`: `f_hvp` and `f_hessian`, reverse mode over `forward`'s formulas as IR |
//! | reverse | `reverse/` (`primal`, `sweep`, `passes`, `tape`, `written`) | one adjoint construction, packaged twice: `f_vjp` (the primal, then the pullback closure) and, for `nested`, `f_grad_k_of_n` (the sweep written out as ordinary IR, `written`) |
//! | emission | `emit/` (`signature`, `ownership`, `body`, `inst`, `ops`) | IR → Rust tokens, the only stage that writes Rust |
//! | derive | `derive` | `#[derive(Differentiable)]` for parameter structs |
//!
//! Beside the stages: `names` spells every generated identifier and runtime rule name,
//! `diag` every message to the user, `ctxt` accumulates errors, `ir/` holds the IR, its
//! op enums, its text dump and its DOT graph (`graph`).

mod activity;
mod args;
mod ast;
mod ctxt;
mod derive;
mod desugar;
mod diag;
mod emit;
mod expand;
mod fence;
mod forward;
mod hessian;
mod ir;
mod jacobian;
mod lower;
mod names;
mod opt;
mod reverse;
mod rules;
mod types;
mod wrappers;

#[cfg(test)]
mod tests;

use proc_macro::TokenStream;

/// Generates `f_grad`, `f_vjp` and `f_jvp` for a numeric function `f`.
///
/// ```ignore
/// #[differentiable]
/// fn f(x: f64, y: f64) -> f64 { x.sin() * y }
///
/// let (value, (dx, dy)) = f_grad(1.0, 2.0);          // value and gradient
/// let (value, pullback) = f_vjp(1.0, 2.0);           // reverse mode
/// let (dx, dy) = pullback(1.0);
/// let (value, dv) = f_jvp(1.0, 2.0, 1.0, 0.0);       // forward mode
/// ```
///
/// `#[differentiable(wrt(x))]` differentiates with respect to `x` only.
///
/// `#[differentiable(nested)]` also makes the first derivatives differentiable, so that
/// other differentiable functions may use them inside: `f_dir(x, y, d_x, d_y)` (forward
/// mode) and, for code without active arrays, `f_grad_0_of_n`, .., `f_grad_{n-1}_of_n` (the
/// `n` partials by reverse mode), which a differentiable function reaches by destructuring `f_grad`:
///
/// ```ignore
/// #[differentiable(nested)]
/// fn p(x: f64, y: f64) -> f64 { 1.0 / (x * x + y * y).sqrt() }
///
/// #[differentiable]
/// fn force_x(x: f64, y: f64) -> f64 {
///     let (_, (px, _)) = p_grad(x, y); // inner reverse mode
///     -px
/// }
/// // force_x_grad: reverse over reverse; force_x_jvp: forward over reverse.
/// ```
///
/// `#[differentiable(hessian)]` (a free function returning one float) also generates
/// `f_hvp(x.., d_x..) -> (value, gradient, H·d)`, one forward and one reverse sweep, and
/// `f_hessian(x..) -> (value, gradient, DMatrix)` over the active parameters flattened in
/// order; it implies `nested`.
///
/// `#[differentiable(jacobian)]` (a free function returning a float, `Vec` or array)
/// also generates `f_jacobian(x..) -> (value, DMatrix)`: forward mode eight columns a
/// sweep (vector forward mode; `jacobian(lanes = K)` for K, 1 to 64) when there are no
/// more inputs than outputs, a pullback per row otherwise.
///
/// `#[differentiable(graph)]` also generates `f_graph() -> &'static str`, the optimised
/// primal and its reverse mode as a Graphviz DOT graph.
///
/// Inside, `#[checkpoint]` on a `for` loop over a range or a `while` loop (also
/// `#[checkpoint(snapshots = K)]`, `#[checkpoint(every = L)]`) makes reverse mode keep
/// the loop's state at segment starts and run each segment again, instead of recording
/// every iteration.
#[proc_macro_attribute]
pub fn differentiable(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::differentiable(args.into(), item.into()).into()
}

/// Derives `autodiff::Differentiable` for a struct of differentiable fields (floats,
/// nalgebra matrices and vectors, arrays and `Vec`s of them, other such structs), so that
/// it can be an active parameter and its gradient a value of the same type. Mark fields
/// that are not parameters (hyper-parameters, shapes) with `#[inactive]`.
///
/// ```ignore
/// #[derive(Clone, Differentiable)]
/// struct Layer {
///     w: DMatrix<f32>,
///     b: DVector<f32>,
///     #[inactive]
///     slope: f32,
/// }
/// ```
#[proc_macro_derive(Differentiable, attributes(inactive))]
pub fn derive_differentiable(input: TokenStream) -> TokenStream {
    derive::derive(input.into()).into()
}
