//! Optimisation of the primal IR before differentiation, so the derivative does no work
//! for what the primal does not need: constant folding, common subexpressions, dead code,
//! `if` fusion and loop fusion.

mod cse;
mod dce;
mod fold;
mod fuse;
mod loops;

use crate::ir::Func;

pub use cse::cse;
pub use dce::dce;
pub use fold::fold;
pub use fuse::fuse;
pub use loops::fuse_loops;

pub fn optimize(func: &mut Func) {
    fold(func);
    cse(func);
    dce(func);
    fuse(func);
    // Fused loops compute the same index arithmetic twice: merged again.
    fuse_loops(func);
    cse(func);
    dce(func);
}

/// Follows a substitution map to its end.
fn resolve(
    subst: &std::collections::HashMap<crate::ir::Value, crate::ir::Value>,
    mut v: crate::ir::Value,
) -> crate::ir::Value {
    while let Some(&next) = subst.get(&v) {
        v = next;
    }
    v
}
