//! Shared harness: a differentiable function seen through flat `&[f64]` views, and the
//! checks every function in the test corpus goes through.
#![allow(dead_code)]

pub mod objects;

use autodiff::gradcheck::{check_gradient, dot_product_test, Tolerance};

/// Flattens a gradient (a float or a tuple of floats) into `f64`s.
pub trait Flat {
    fn flat(self) -> Vec<f64>;
}

impl Flat for f64 {
    fn flat(self) -> Vec<f64> {
        vec![self]
    }
}

impl Flat for f32 {
    fn flat(self) -> Vec<f64> {
        vec![f64::from(self)]
    }
}

impl<const N: usize> Flat for [f64; N] {
    fn flat(self) -> Vec<f64> {
        self.to_vec()
    }
}

impl Flat for Vec<f64> {
    fn flat(self) -> Vec<f64> {
        self
    }
}

macro_rules! flat_tuple {
    ($($t:ident),+) => {
        impl<$($t: Flat),+> Flat for ($($t,)+) {
            #[allow(non_snake_case)]
            fn flat(self) -> Vec<f64> {
                let ($($t,)+) = self;
                let mut out = Vec::new();
                $(out.extend($t.flat());)+
                out
            }
        }
    };
}
flat_tuple!(A, B);
flat_tuple!(A, B, C);
flat_tuple!(A, B, C, D);

/// A differentiable function's three generated forms, over `f64` slices.
pub struct Case {
    pub name: &'static str,
    pub f: fn(&[f64]) -> f64,
    pub grad: fn(&[f64]) -> (f64, Vec<f64>),
    pub vjp: fn(&[f64], f64) -> (f64, Vec<f64>),
    pub jvp: fn(&[f64], &[f64]) -> (f64, f64),
    pub tol: Tolerance,
}

/// Builds a [`Case`] from a module holding `f`, `f_grad`, `f_vjp` and `f_jvp`.
/// `m(a, b | da, db)` names the active parameters (in order, first) and their tangents;
/// `+ expr` appends inactive trailing arguments.
#[macro_export]
macro_rules! case {
    ($m:ident ($($x:ident),+ | $($dx:ident),+) $(+ $extra:expr)* ; $tol:expr) => {
        $crate::common::Case {
            name: stringify!($m),
            f: |v: &[f64]| {
                let &[$($x),+] = v else { unreachable!() };
                f64::from($m::f($($x as _),+ $(, $extra)*))
            },
            grad: |v: &[f64]| {
                let &[$($x),+] = v else { unreachable!() };
                let (y, g) = $m::f_grad($($x as _),+ $(, $extra)*);
                (f64::from(y), $crate::common::Flat::flat(g))
            },
            vjp: |v: &[f64], ybar: f64| {
                let &[$($x),+] = v else { unreachable!() };
                let (y, pullback) = $m::f_vjp($($x as _),+ $(, $extra)*);
                (f64::from(y), $crate::common::Flat::flat(pullback(ybar as _)))
            },
            jvp: |v: &[f64], dv: &[f64]| {
                let &[$($x),+] = v else { unreachable!() };
                let &[$($dx),+] = dv else { unreachable!() };
                let (y, t) = $m::f_jvp($($x as _),+ $(, $extra)*, $($dx as _),+);
                (f64::from(y), f64::from(t))
            },
            tol: $tol,
        }
    };
    ($m:ident ($($x:ident),+ | $($dx:ident),+) $(+ $extra:expr)*) => {
        $crate::case!($m ($($x),+ | $($dx),+) $(+ $extra)* ; autodiff::gradcheck::Tolerance::F64)
    };
}

/// Declares one module per corpus entry, each seeing the test file's items (`use super::*`),
/// so that every function can be called `f` and found as `<module>::f`, `<module>::f_grad`.
#[macro_export]
macro_rules! corpus {
    ($($m:ident { $($item:item)* })*) => {
        $(mod $m {
            #[allow(unused_imports)]
            use super::*;
            $($item)*
        })*
    };
}

/// All checks of one function at one point `x`:
/// the three forms agree on the value; the gradient matches central differences;
/// the pullback of 1 is the gradient; forward mode along each axis gives the gradient's
/// component; and the dot-product test holds for a tangent and cotangent made from `x`.
pub fn check_case(case: &Case, x: &[f64]) {
    let ctx = |what: &str| format!("{} at {x:?}: {what}", case.name);
    let value = (case.f)(x);
    let (v_grad, grad) = (case.grad)(x);
    let (v_vjp, pulled) = (case.vjp)(x, 1.0);
    assert_eq!(
        value.to_bits(),
        v_grad.to_bits(),
        "{}",
        ctx("f_grad value differs from f")
    );
    assert_eq!(
        value.to_bits(),
        v_vjp.to_bits(),
        "{}",
        ctx("f_vjp value differs from f")
    );
    assert_eq!(
        grad,
        pulled,
        "{}",
        ctx("pullback(1) differs from the gradient")
    );
    if let Err(e) = check_gradient(case.f, &grad, x, case.tol) {
        panic!("{}", ctx(&e.to_string()));
    }
    for i in 0..x.len() {
        let mut e = vec![0.0; x.len()];
        e[i] = 1.0;
        let (v_jvp, t) = (case.jvp)(x, &e);
        assert_eq!(
            value.to_bits(),
            v_jvp.to_bits(),
            "{}",
            ctx("f_jvp value differs from f")
        );
        assert!(
            case.tol.agrees(t, grad[i]),
            "{}",
            ctx(&format!(
                "forward mode gives {t} for component {i}, reverse {}",
                grad[i]
            ))
        );
    }
    let dx: Vec<f64> = x
        .iter()
        .enumerate()
        .map(|(i, v)| 0.3 + 0.7 * (i as f64) - 0.2 * v)
        .collect();
    let ybar = [1.7];
    if let Err(e) = dot_product_test(
        |t| vec![(case.jvp)(x, t).1],
        |d| (case.vjp)(x, d[0]).1,
        &dx,
        &ybar,
        case.tol,
    ) {
        panic!("{}", ctx(&e.to_string()));
    }
}

/// Runs [`check_case`] at every point.
pub fn check_at(case: &Case, points: &[&[f64]]) {
    for p in points {
        check_case(case, p);
    }
}

/// A result seen through a fixed linear functional, so that a function with several
/// results (a tuple, with arrays in it) is checked as one float function: the value is
/// `⟨w, y⟩`, its gradient is the pullback of `w`, its directional derivative `⟨w, ẏ⟩`.
pub trait Weighed: Sized {
    /// `⟨w, self⟩`.
    fn weigh(&self, w: &Self) -> f64;
    /// Weights of `self`'s shape: `0.7, -0.4, 1.3, ..` in order (cycling).
    fn weights(&self, next: &mut usize) -> Self;
    /// `c · self`.
    fn scaled(&self, c: f64) -> Self;
}

const WEIGHTS: [f64; 5] = [0.7, -0.4, 1.3, 0.25, -1.1];

impl Weighed for f64 {
    fn weigh(&self, w: &Self) -> f64 {
        self * w
    }
    fn weights(&self, next: &mut usize) -> Self {
        *next += 1;
        WEIGHTS[(*next - 1) % WEIGHTS.len()]
    }
    fn scaled(&self, c: f64) -> Self {
        self * c
    }
}

impl Weighed for Vec<f64> {
    fn weigh(&self, w: &Self) -> f64 {
        self.iter().zip(w).map(|(a, b)| a * b).sum()
    }
    fn weights(&self, next: &mut usize) -> Self {
        self.iter().map(|x| x.weights(next)).collect()
    }
    fn scaled(&self, c: f64) -> Self {
        self.iter().map(|x| x * c).collect()
    }
}

macro_rules! weighed_tuple {
    ($($t:ident $i:tt),+) => {
        impl<$($t: Weighed),+> Weighed for ($($t,)+) {
            fn weigh(&self, w: &Self) -> f64 {
                0.0 $(+ self.$i.weigh(&w.$i))+
            }
            fn weights(&self, next: &mut usize) -> Self {
                ($(self.$i.weights(next),)+)
            }
            fn scaled(&self, c: f64) -> Self {
                ($(self.$i.scaled(c),)+)
            }
        }
    };
}
weighed_tuple!(A 0, B 1);
weighed_tuple!(A 0, B 1, C 2);

/// The weights of `y`'s shape.
pub fn weights_of<Y: Weighed>(y: &Y) -> Y {
    y.weights(&mut 0)
}

/// A [`Case`] for `m::f(a, b)` with a tuple result, seen through [`Weighed`].
#[macro_export]
macro_rules! tuple_case {
    ($m:ident) => {
        $crate::common::Case {
            name: stringify!($m),
            f: |v: &[f64]| {
                let y = $m::f(v[0], v[1]);
                $crate::common::Weighed::weigh(&y, &$crate::common::weights_of(&y))
            },
            grad: |v: &[f64]| {
                let (y, pullback) = $m::f_vjp(v[0], v[1]);
                let w = $crate::common::weights_of(&y);
                let value = $crate::common::Weighed::weigh(&y, &w);
                (value, $crate::common::Flat::flat(pullback(w)))
            },
            vjp: |v: &[f64], ybar: f64| {
                let (y, pullback) = $m::f_vjp(v[0], v[1]);
                let w = $crate::common::weights_of(&y);
                let value = $crate::common::Weighed::weigh(&y, &w);
                let seed = $crate::common::Weighed::scaled(&w, ybar);
                (value, $crate::common::Flat::flat(pullback(seed)))
            },
            jvp: |v: &[f64], dv: &[f64]| {
                let (y, t) = $m::f_jvp(v[0], v[1], dv[0], dv[1]);
                let w = $crate::common::weights_of(&y);
                let value = $crate::common::Weighed::weigh(&y, &w);
                (value, $crate::common::Weighed::weigh(&t, &w))
            },
            tol: autodiff::gradcheck::Tolerance::F64,
        }
    };
}

/// Points for functions of two floats, with zeros and negative values.
pub const PAIRS: &[&[f64]] = &[&[0.0, 0.0], &[0.7, -1.3], &[-2.0, 0.4]];
/// The same, away from `x = y` (where the functions that use them have a kink).
pub const PAIRS_APART: &[&[f64]] = &[&[0.0, 0.3], &[0.7, -1.3], &[-2.0, 0.4]];
/// Points for functions of two slices of three (`slices!`), a zero among them.
pub const SLICES: &[&[f64]] = &[
    &[0.3, -0.7, 1.2, 0.25, 0.4, -1.1],
    &[0.0, 0.9, -0.2, 0.1, -0.3, 1.7],
    &[-1.3, 0.5, 0.8, 0.6, -0.9, 0.05],
];
/// The same without the zero (where the functions that use them divide or have a kink).
pub const SLICES_NONZERO: &[&[f64]] = &[
    &[0.3, -0.7, 1.2, 0.25, 0.4, -1.1],
    &[0.2, 0.9, -0.2, 0.1, -0.3, 1.7],
    &[-1.3, 0.5, 0.8, 0.6, -0.9, 0.05],
];

/// A [`common::Case`] for a function `m::f(xs: &[f64], ys: &[f64])` (the point split in
/// halves), or `m::f(xs: &[f64])` with `one`.
#[macro_export]
macro_rules! slices {
    ($m:ident) => {
        $crate::common::Case {
            name: stringify!($m),
            f: |v: &[f64]| {
                let (a, b) = v.split_at(v.len() / 2);
                $m::f(a, b)
            },
            grad: |v: &[f64]| {
                let (a, b) = v.split_at(v.len() / 2);
                let (y, g) = $m::f_grad(a, b);
                (y, $crate::common::Flat::flat(g))
            },
            vjp: |v: &[f64], ybar: f64| {
                let (a, b) = v.split_at(v.len() / 2);
                let (y, pullback) = $m::f_vjp(a, b);
                (y, $crate::common::Flat::flat(pullback(ybar)))
            },
            jvp: |v: &[f64], dv: &[f64]| {
                let (a, b) = v.split_at(v.len() / 2);
                let (da, db) = dv.split_at(dv.len() / 2);
                $m::f_jvp(a, b, da, db)
            },
            tol: autodiff::gradcheck::Tolerance::F64,
        }
    };
}

/// Checks a function of a flat vector of inputs: `f` is the primal, `grad` the generated
/// gradient (value, flattened gradient), `jvp` forward mode along a flat tangent.
pub fn check_flat(
    name: &str,
    f: impl Fn(&[f64]) -> f64,
    grad: impl Fn(&[f64]) -> (f64, Vec<f64>),
    jvp: impl Fn(&[f64], &[f64]) -> (f64, f64),
    x: &[f64],
    tol: Tolerance,
) {
    let (value, g) = grad(x);
    assert_eq!(value.to_bits(), f(x).to_bits(), "{name}: f_grad value");
    if let Err(e) = check_gradient(&f, &g, x, tol) {
        panic!("{name} at {x:?}: {e}");
    }
    for k in 0..3 {
        let dx: Vec<f64> = (0..x.len())
            .map(|i| ((i * 7 + k * 3) % 5) as f64 - 2.0)
            .collect();
        let (v, t) = jvp(x, &dx);
        assert_eq!(v.to_bits(), value.to_bits(), "{name}: f_jvp value");
        let expected: f64 = g.iter().zip(&dx).map(|(a, b)| a * b).sum();
        assert!(
            tol.agrees(t, expected),
            "{name} at {x:?}: forward {t}, reverse·dx {expected}"
        );
    }
}
