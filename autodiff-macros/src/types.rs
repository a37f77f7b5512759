//! Type inference, as far as the macro needs it: which values are floats (and of which
//! width), integers or `bool`s. Rust has no implicit numeric conversions, so the operands
//! and result of arithmetic, the branches of an `if` and a `let` with its annotation all
//! share one type; unifying those classes (union-find) and merging what is known of each
//! member recovers the type of nearly every value. rustc remains the judge: a value the
//! macro cannot type stays `Unknown` and only matters where the macro must decide
//! something (a call's argument layout).

use crate::ir::{Func, Ty, Value};

/// Pairs of values that must have the same type, and arrays with values of their element
/// type (`vec![0.0; n]` then `v[i] = x` with `x: f64`: the fill `0.0` is an `f64`).
#[derive(Default)]
pub struct Constraints {
    pub same: Vec<(Value, Value)>,
    pub elems: Vec<(Value, Value)>,
}

impl Constraints {
    pub fn same(&mut self, a: Value, b: Value) {
        self.same.push((a, b));
    }

    /// `element` has the element type of `array`.
    pub fn elem(&mut self, array: Value, element: Value) {
        self.elems.push((array, element));
    }
}

/// Replaces each value's seed type by what its class tells.
pub fn infer(func: &mut Func, constraints: &Constraints) {
    let n = func.values.len();
    let mut parent: Vec<usize> = (0..n).collect();
    for &(a, b) in &constraints.same {
        union(&mut parent, a.index(), b.index());
    }
    // The elements of one array class form one class: the first element seen stands for
    // them (arrays are never elements, so these unions do not merge array classes).
    let mut element_of = vec![None; n];
    for &(array, element) in &constraints.elems {
        let root = find(&mut parent, array.index());
        match element_of[root] {
            Some(e) => union(&mut parent, e, element.index()),
            None => element_of[root] = Some(element.index()),
        }
    }
    let mut class_ty = vec![Ty::Unknown; n];
    for i in 0..n {
        let root = find(&mut parent, i);
        class_ty[root] = merge(class_ty[root], func.values[i].ty);
    }
    // An array and its elements tell each other their type.
    for array in 0..n {
        let Some(e) = element_of[array] else { continue };
        let e = find(&mut parent, e);
        class_ty[e] = merge(class_ty[e], class_ty[array].elem());
        // Elements of no known width (`[1.0, 2.0]`) are `f64`s, as rustc falls back to.
        let from_elems = match class_ty[e] {
            Ty::Float if class_ty[array] == Ty::Unknown => Ty::ArrayF64,
            t => t.array_of(),
        };
        class_ty[array] = merge(class_ty[array], from_elems);
    }
    for i in 0..n {
        let root = find(&mut parent, i);
        func.values[i].ty = class_ty[root];
    }
}

fn union(parent: &mut [usize], a: usize, b: usize) {
    let (ra, rb) = (find(parent, a), find(parent, b));
    parent[ra] = rb;
}

fn find(parent: &mut [usize], mut i: usize) -> usize {
    while parent[i] != i {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    i
}

/// What two facts about one type say together; a contradiction is left to rustc.
fn merge(a: Ty, b: Ty) -> Ty {
    match (a, b) {
        (x, y) if x == y => x,
        (Ty::Unknown, x) | (x, Ty::Unknown) => x,
        (Ty::Float, x @ (Ty::F32 | Ty::F64)) | (x @ (Ty::F32 | Ty::F64), Ty::Float) => x,
        // An object (a field, a call's result) used as a float is one.
        (Ty::Obj, x) | (x, Ty::Obj) if x.is_float() => x,
        _ => Ty::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::merge;
    use crate::ir::Ty;

    #[test]
    fn unsuffixed_floats_take_the_width_of_their_class() {
        assert_eq!(merge(Ty::Float, Ty::F32), Ty::F32);
        assert_eq!(merge(Ty::Unknown, Ty::Float), Ty::Float);
        assert_eq!(merge(Ty::F32, Ty::F64), Ty::Unknown);
    }
}
