//! Every message the macro shows a user, in one place. Messages are lowercase, quote the
//! code as the user writes it, and say what to write instead.

use proc_macro2::Span;
use quote::ToTokens;
use syn::{Error, Expr};

fn at(tokens: impl ToTokens, msg: impl std::fmt::Display) -> Error {
    Error::new_spanned(tokens, msg)
}

// -------------------- arguments --------------------

pub fn bad_args(span: Span) -> Error {
    Error::new(
        span,
        "expected `#[differentiable]` or `#[differentiable(wrt(x, y))]`",
    )
}

pub fn unknown_arg(key: &syn::Ident) -> Error {
    at(key, format!("unknown argument `{key}`; the arguments are `wrt(..)`, `nested`, `hessian`, `jacobian` and `graph`, e.g. `#[differentiable(wrt(x), nested)]`"))
}

pub fn jacobian_lanes(span: Span) -> Error {
    Error::new(
        span,
        "write `jacobian` (8 columns a forward sweep) or `jacobian(lanes = K)` with an integer K from 1 to 64: the columns `f_jacobian` computes a sweep",
    )
}

pub fn duplicate_wrt(key: &syn::Ident) -> Error {
    at(
        key,
        "`wrt` is given twice; list every active parameter in one `wrt(..)`",
    )
}

pub fn wrt_not_a_param(name: &syn::Ident, func: &syn::Ident) -> Error {
    at(
        name,
        format!("`wrt` names `{name}`, which is not a parameter of `{func}`"),
    )
}

pub fn wrt_duplicate_param(name: &syn::Ident) -> Error {
    at(name, format!("`{name}` is listed twice in `wrt`"))
}

pub fn wrt_not_float(name: &syn::Ident, ty: &syn::Type) -> Error {
    let ty = ty.to_token_stream();
    at(
        name,
        format!(
            "cannot differentiate with respect to `{name}`: its type `{ty}` is not `f32` or `f64`"
        ),
    )
}

// -------------------- signature --------------------

pub fn not_a_function(span: Span) -> Error {
    Error::new(
        span,
        "#[differentiable] applies to free functions (`fn f(x: f64) -> f64 { .. }`)",
    )
}

pub fn async_fn(token: impl ToTokens) -> Error {
    at(token, "an `async fn` cannot be differentiable; differentiate a plain `fn` and call it from async code")
}

pub fn unsafe_fn(token: impl ToTokens) -> Error {
    at(
        token,
        "an `unsafe fn` cannot be differentiable; keep the unsafe part in a separate function",
    )
}

pub fn generic_param(param: impl ToTokens) -> Error {
    at(
        param,
        "type parameters are not supported; write the function for `f64` (or `f32`) (lifetimes and `const N: usize` array lengths are)",
    )
}

pub fn variadic(token: impl ToTokens) -> Error {
    at(token, "variadic functions cannot be differentiable")
}

pub fn method_receiver(token: impl ToTokens) -> Error {
    at(token, "this receiver is not supported: take `&self` or `self` (a derivative must not change the value it differentiates)")
}

pub fn param_pattern(pat: impl ToTokens) -> Error {
    at(
        pat,
        "parameters must be plain names (`x: f64`); destructure inside the body instead",
    )
}

pub fn unsupported_param_type(ty: &syn::Type) -> Error {
    let text = ty.to_token_stream();
    at(
        ty,
        format!("cannot differentiate with respect to a parameter of type `{text}`: active parameters are `f32`, `f64`, or slices, arrays and `Vec`s of them (`&[f64]`, `&[f64; 3]`, `Vec<f64>`); to pass it as a constant, list the active parameters with `#[differentiable(wrt(..))]`"),
    )
}

pub fn no_active_param(name: &syn::Ident) -> Error {
    at(
        name,
        format!("`{name}` has no `f32` or `f64` parameter to differentiate with respect to"),
    )
}

pub fn missing_return_type(name: &syn::Ident) -> Error {
    at(name, format!("`{name}` must return `f32` or `f64` or write an output parameter (`out: &mut [f64]`); add `-> f64` and return the value to differentiate"))
}

pub fn wrt_output(name: &syn::Ident) -> Error {
    at(
        name,
        format!("`{name}` is an output parameter: the derivatives are of its content at the end, which the pullback takes a cotangent of and `_jvp` writes a tangent of; its content at the start is a constant. Leave it out of `wrt(..)`, or pass the initial values as a separate `&[f64]` parameter"),
    )
}

pub fn output_passed(arg: &Expr) -> Error {
    at(
        arg,
        "an output parameter cannot be passed on to a call: the callee's derivative would take its content at the start as a constant. Let the callee return the values (`-> Vec<f64>` or a tuple) and write them here: `let v = g(..); for i in 0..v.len() { out[i] = v[i]; }`",
    )
}

pub fn output_assigned(target: &Expr) -> Error {
    at(
        target,
        "an output parameter is written element by element (`out[i] = ..`, or a loop over `out.iter_mut()`), not assigned as a whole",
    )
}

pub fn iter_mut_element(pat: &syn::Pat) -> Error {
    at(
        pat,
        "an element of `xs.iter_mut()` is read and written through `*x` (`*x = ..`, `*x += ..`, `x.sin()`), not used whole; write `*x = g(*x)` instead of passing `x` on",
    )
}

pub fn mut_param(ty: &syn::Type) -> Error {
    let text = ty.to_token_stream();
    at(
        ty,
        format!("a `&mut` parameter must be an output of floats written element by element (`out: &mut [f64]`, `&mut [f64; N]`, `&mut Vec<f64>`, `&mut DVector<f64>`), found `{text}`; return the new value instead"),
    )
}

pub fn unsupported_return_type(ty: &syn::Type) -> Error {
    let text = ty.to_token_stream();
    at(
        ty,
        format!("the result (or each part of a tuple result) must be `f32`, `f64`, or a `Vec` or array of them, found `{text}`; return an integer or other data from a separate function"),
    )
}

// -------------------- body: syntax (fence) --------------------

pub fn closure(e: impl ToTokens) -> Error {
    at(e, "closures are supported in iterator chains over arrays and ranges (`xs.iter().map(|x| ..).sum()`, `fold`, `filter`, `zip`, ..), in `m.map(|v| ..)` on a matrix, and as local `let f = |t| ..;` called or passed later, as long as nothing they capture (nor `f`) is bound or assigned again after them; rename the later variable, write the expression inline, or move the code into its own #[differentiable] function and call that")
}

pub fn loop_range(e: impl ToTokens) -> Error {
    at(e, "a `for` loop runs over a range (`a..b`, `a..=b`), an array (`&xs`, `xs.iter()`, `[a, b]`, `xs.iter_mut()` with its elements written as `*x = ..`), a sub-slice (`xs[a..b].iter()`), `xs.windows(k)`, `xs.chunks(k)`, `xs.chunks_exact(k)`, or those with `copied`, `cloned`, `map`, `filter` and, before any `filter`, `enumerate`, `zip`, `rev`, `skip`, `take`, `step_by`; write other iterators as a loop over indices: `for i in 1..xs.len() { let (a, b) = (xs[i - 1], xs[i]); .. }`")
}

pub fn return_in_condition(e: impl ToTokens) -> Error {
    at(e, "`return` inside a `while` condition is not supported; compute the condition first and return from the loop body")
}

pub fn loop_label(label: impl ToTokens) -> Error {
    at(label, "loop labels are not supported; `break` and `continue` leave the innermost loop, so keep a flag in a variable to leave an outer one")
}

pub fn loop_pattern(pat: impl ToTokens) -> Error {
    at(pat, "the loop variable must be a plain name or `_`")
}

pub fn break_continue(e: impl ToTokens) -> Error {
    at(
        e,
        "labeled `break` and `continue`, and `break` with a value, are not supported; keep a flag in a variable and test it in the loop condition",
    )
}

pub fn macro_call(mac: &syn::Macro) -> Error {
    if mac.path.is_ident("vec") {
        return at(
            mac,
            "only `vec![value; length]` is supported; write the elements in a loop",
        );
    }
    let name = mac
        .path
        .segments
        .last()
        .map(|s| s.ident.to_string())
        .unwrap_or_default();
    at(&mac.path, format!("macros are not supported in a differentiable function: the derivative cannot see inside `{name}!`; write out the expression, or move the macro outside"))
}

pub fn unsafe_block(token: impl ToTokens) -> Error {
    at(token, "`unsafe` blocks are not supported in a differentiable function; move the unsafe code into a function with a hand-written `_vjp` / `_jvp` rule")
}

pub fn async_block(token: impl ToTokens) -> Error {
    at(
        token,
        "`async` and `.await` are not supported in a differentiable function",
    )
}

pub fn try_operator(e: impl ToTokens) -> Error {
    at(e, "the `?` operator is not supported; a differentiable function returns its `f32` or `f64` directly")
}

pub fn if_let(e: impl ToTokens) -> Error {
    at(
        e,
        "`while let` and `let` chains (`if let .. && ..`) are not supported; use `if let pat = value { .. }` alone, or a `while` loop on a `bool`",
    )
}

pub fn tuple(e: impl ToTokens) -> Error {
    at(e, "a tuple is supported as the last expression of a function that returns one (`-> (f64, f64)`) and in `let (a, b) = (.., ..);`; bind each component with its own `let`")
}

pub fn tuple_tail(span: Span, parts: usize) -> Error {
    Error::new(span, format!("a function that returns a tuple must end with the tuple of its {parts} parts, `(a, b, ..)` (no `return` of one earlier)"))
}

pub fn array(e: impl ToTokens) -> Error {
    at(e, "an empty array literal has no length or element type the derivative can use; write `[0.0; 0]` or `Vec::new()`")
}

pub fn reference(e: impl ToTokens) -> Error {
    at(
        e,
        "references and dereferences are not supported; pass and use `f64` values directly",
    )
}

pub fn struct_base(base: impl ToTokens) -> Error {
    at(base, "the base of struct update syntax must be a struct literal or a local struct value made by one (`..s` with `let s = State { .. };`)")
}

pub fn struct_literal(e: impl ToTokens) -> Error {
    at(
        e,
        "a struct literal with a qualified path (`<T as Trait>::S { .. }`) is not supported; name the struct",
    )
}

pub fn range(e: impl ToTokens) -> Error {
    at(
        e,
        "ranges are only supported as the iterator of a `for` loop",
    )
}

pub fn labeled_block(label: impl ToTokens) -> Error {
    at(
        label,
        "labeled blocks are not supported; use `if` / `else` and early `return` instead",
    )
}

pub fn unsupported_expr(e: impl ToTokens) -> Error {
    at(e, "this expression is not supported in a differentiable function; use arithmetic, float methods, `let`, `if` / `else`, `return` and calls")
}

pub fn unsupported_literal(lit: impl ToTokens) -> Error {
    at(
        lit,
        "only number and `bool` literals are supported in a differentiable function",
    )
}

pub fn generic_path(path: impl ToTokens) -> Error {
    at(
        path,
        "paths with generic arguments are not supported here; name the value without `::<..>`",
    )
}

pub fn turbofish_method(method: impl ToTokens) -> Error {
    at(
        method,
        "method calls with `::<..>` are not supported in a differentiable function",
    )
}

pub fn call_target(func: impl ToTokens) -> Error {
    at(
        func,
        "only calls of functions by path (`g(x)`, `module::g(x)`) are supported",
    )
}

pub fn item_in_body(item: impl ToTokens) -> Error {
    at(item, "items inside a differentiable function are not supported; move it outside the function (mark a helper function #[differentiable] to call it)")
}

pub fn let_pattern(pat: impl ToTokens) -> Error {
    at(
        pat,
        "only simple bindings are supported: `let x = ..;`, `let mut x = ..;`, `let x: f64 = ..;`, a tuple of them bound to a tuple of values (`let (a, b) = (.., ..);`), or the value and gradient of a `#[differentiable(nested)]` function (`let (v, (d_x, d_y)) = f_grad(x, y);`)",
    )
}

pub fn let_without_value(local: impl ToTokens) -> Error {
    at(
        local,
        "declare the variable with its value: `let x = ..;` (assign later with `let mut x = ..;`)",
    )
}

pub fn push(method: impl ToTokens) -> Error {
    at(
        method,
        "only `v.push(value)` on an array variable is supported",
    )
}

pub fn active_scrutinee(pat: impl ToTokens) -> Error {
    at(pat, "this pattern reads a value out of an active one, which would lose its derivative; bind the whole value (`v => ..`), or match on inactive values (integers, enums, `Option`s of them) and compute active values in the arms")
}

pub fn active_fill(fill: impl ToTokens) -> Error {
    at(fill, "a new array must be filled with a constant; fill it with `0.0` and write the active values into it")
}

pub fn array_write(lhs: impl ToTokens) -> Error {
    at(
        lhs,
        "only elements of array variables can be written (`buf[i] = ..`)",
    )
}

pub fn assign_target(lhs: impl ToTokens) -> Error {
    at(
        lhs,
        "only local variables can be assigned to (`x = ..`, `x += ..`)",
    )
}

// -------------------- body: meaning (lowering) --------------------

pub fn unknown_variable(name: impl ToTokens) -> Error {
    let text = name.to_token_stream();
    at(
        name,
        format!("cannot assign to `{text}`: it is not a local variable of this function"),
    )
}

pub fn unknown_method(method: &syn::Ident) -> Error {
    at(
        method,
        format!("no derivative rule for the method `{method}` on an active value; use a supported float method (sin, cos, exp, ln, sqrt, powi, powf, max, ..) or move the code into a #[differentiable] function (or one with a hand-written `_vjp` / `_jvp` rule) and call it"),
    )
}

pub fn wrong_arity(method: &syn::Ident, expected: usize) -> Error {
    let args = expected.saturating_sub(1);
    at(
        method,
        format!("`{method}` takes {args} argument(s) besides its receiver"),
    )
}

pub fn map_capture(name: &syn::Ident) -> Error {
    at(
        name,
        format!("the closure of `map` may use its parameter, constants and float or integer locals, not `{name}`; compute terms with `{name}` outside the map (`m.map(|v| v.sin()) * {name}`)"),
    )
}

pub fn active_field(e: impl ToTokens) -> Error {
    at(e, "fields are read from parameters and from local struct values built by a literal (`let s = State { x, v };`): write the whole path from the parameter (`p.layer.w`), or build the local value with a literal, not by a call")
}

pub fn needs_value(e: impl ToTokens) -> Error {
    at(
        e,
        "this expression has no value (`()`) but a value is needed here",
    )
}

pub fn unsupported_cast(ty: impl ToTokens) -> Error {
    at(
        ty,
        "casts are supported to `f32`, `f64` and the integer types",
    )
}

pub fn unknown_arg_type(span: Span) -> Error {
    Error::new(
        span,
        "cannot tell whether this argument is a float, which decides its place in the callee's gradient; bind it with a type first: `let a: f64 = ..;` (`let (a, b): (f64, f64) = g(..);` for the parts of a call's tuple)",
    )
}

/// `stop_gradient` of something other than a float.
pub fn stop_gradient_arg(span: Span) -> Error {
    Error::new(
        span,
        "`stop_gradient` takes a float (`f32` or `f64`); for an array, stop each element where it is read: `stop_gradient(x[i])`",
    )
}

/// An operation `nested` or `hessian` (`attr`) cannot differentiate twice.
pub fn nested_rule(span: Span, rule: &str, attr: &str) -> Error {
    Error::new(
        span,
        format!("`{attr}` cannot differentiate this operation twice yet (no second-order form of `{rule}`); compute it from `+ - * / %`, loops over elements (for `map`), and the float methods with one ({}), or drop `{attr}`", crate::rules::second_order_methods().join(", ")),
    )
}

pub fn grad_field(e: impl ToTokens) -> Error {
    at(
        e,
        "read the value and partials of `f_grad` by destructuring it, `let (v, (d_x, d_y)) = f_grad(x, y);` (`let (v, d_x) = f_grad(x);` with one active parameter, `_` for a part not wanted); `f` must be `#[differentiable(nested)]`",
    )
}

pub fn checkpoint_range(e: impl ToTokens) -> Error {
    at(
        e,
        "`#[checkpoint]` takes a `for` loop over a range `lo..hi`; write the loop over positions, `for i in 0..xs.len()`",
    )
}

pub fn checkpoint_exit(span: Span) -> Error {
    Error::new(
        span,
        "a `#[checkpoint]` loop runs in segments, which `break` and `return` would leave only in part; keep a flag in the carried state and skip the rest of the body instead",
    )
}

pub fn checkpoint_args(attr: impl ToTokens) -> Error {
    at(
        attr,
        "write `#[checkpoint]` (about √n segments of a `for` loop of n iterations, 1,024 iterations a segment of a `while` loop), `#[checkpoint(snapshots = K)]` (K segments) or `#[checkpoint(every = L)]` (L iterations a segment), with `usize` K and L",
    )
}

pub fn checkpoint_while_snapshots(attr: impl ToTokens) -> Error {
    at(
        attr,
        "a `while` loop's iteration count is not known in advance, so it cannot be split into K segments; give the segment length instead, `#[checkpoint(every = L)]`",
    )
}

pub fn checkpoint_loop(attr: impl ToTokens) -> Error {
    at(
        attr,
        "`#[checkpoint]` takes a `for` loop over a range or a `while` loop; write this `loop` as `while` with its exit condition",
    )
}

pub fn checkpoint_outputs(span: Span) -> Error {
    Error::new(
        span,
        "`#[checkpoint]` runs the loop's segments again on copies of the arrays they use, which an output parameter (written in place) cannot give; write the results into a local `Vec` and copy it into the output after the loop, or drop `#[checkpoint]`",
    )
}

pub fn jacobian_shape(span: Span) -> Error {
    Error::new(
        span,
        "`jacobian` takes a free function returning a float, a `Vec` or an array of floats, with active parameters and no output parameters; return the outputs as one `Vec` (or drop `jacobian` and use `f_jvp` per column)",
    )
}

pub fn hessian_shape(span: Span) -> Error {
    Error::new(
        span,
        "`hessian` takes a free function (not a method) returning one float, with active parameters and no output parameters; wrap the method, or the part (or a weighted sum) of a vector result, in a free function that returns one float",
    )
}

pub fn nested_shape(span: Span) -> Error {
    Error::new(
        span,
        "`nested` takes a free function returning a float or a tuple of floats; differentiate a method or an array result once, or wrap it in such a function",
    )
}

pub fn internal(span: Span, what: &str) -> Error {
    Error::new(
        span,
        format!(
            "internal error in #[differentiable] ({what}); please report it with this function"
        ),
    )
}
