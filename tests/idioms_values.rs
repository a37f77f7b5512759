//! Functions written as people write Rust, on data rather than syntax: calls passing
//! and returning arrays and tuples, array literals and patterns, tuple and struct results,
//! local struct values, and patterns on enums and `Option`s. Each is checked in every
//! mode against central finite differences and with the dot-product test (`common`).

#![allow(clippy::needless_range_loop)]

mod common;

use autodiff::differentiable;
use autodiff::Differentiable;
use common::{check_at, PAIRS_APART, SLICES, SLICES_NONZERO};

// -------------------- calls passing arrays --------------------

/// Helpers called below: a slice in, a float out.
#[differentiable]
pub fn norm2(v: &[f64]) -> f64 {
    let mut s = 0.0;
    for x in v {
        s += x * x;
    }
    s
}

#[differentiable]
pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

corpus! {
    slice_parameter_passed_on {
        #[differentiable]
        pub fn f(v: &[f64], w: &[f64]) -> f64 {
            w[0] * norm2(v) + dot(v, w).sin()
        }
    }
    local_vec_passed_then_written {
        #[differentiable]
        pub fn f(v: &[f64], w: &[f64]) -> f64 {
            let mut u = vec![0.0; v.len()];
            for i in 0..v.len() {
                u[i] = v[i] * 2.0 - w[i];
            }
            let a = dot(&u, w);
            u[0] = a * a;
            a + dot(v, &u)
        }
    }
    local_vec_in_a_loop {
        #[differentiable]
        pub fn f(xs: &[f64], ys: &[f64]) -> f64 {
            let mut total = 0.0;
            for k in 0..3 {
                let shifted: Vec<f64> = xs.iter().map(|x| x + k as f64 * 0.1).collect();
                total += dot(&shifted, ys) * (k as f64 + 1.0);
            }
            total
        }
    }
    calls_in_branches {
        #[differentiable]
        pub fn f(xs: &[f64], ys: &[f64]) -> f64 {
            let scaled: Vec<f64> = xs.iter().map(|x| x * ys[1]).collect();
            if xs[2] > 0.5 {
                dot(&scaled, ys).tanh()
            } else {
                norm2(&scaled) + norm2(ys)
            }
        }
    }
    sub_slices_passed_on {
        #[differentiable]
        pub fn f(xs: &[f64], ys: &[f64]) -> f64 {
            let head = &xs[..2];
            let tail_sum: f64 = ys[1..].iter().sum();
            dot(&xs[1..3], &ys[..2]) * norm2(head) + tail_sum * xs[0..=1][1] + norm2(&ys[2..])
        }
    }
    sub_slices_of_a_local {
        #[differentiable]
        pub fn f(xs: &[f64], ys: &[f64]) -> f64 {
            let mut v = xs.to_vec();
            v[0] = ys[0] * v[2];
            let a = norm2(&v[..2]);
            v[1] = a.sqrt();
            let mut total = a;
            for k in 0..2 {
                total += dot(&v[k..k + 2], &ys[k + 1..]);
            }
            total
        }
    }
    written_and_passed_in_a_loop {
        #[differentiable]
        pub fn f(xs: &[f64], ys: &[f64]) -> f64 {
            // Each call sees `v` as it is then: the adjoint replays it from a copy.
            let mut v = xs.to_vec();
            let mut total = 0.0;
            for k in 0..3 {
                v[k] *= ys[k];
                let w = v.to_vec();
                total += norm2(&w) * dot(&v, ys) + norm2(&v[k..]);
            }
            total
        }
    }
    to_vec_then_written {
        #[differentiable]
        pub fn f(xs: &[f64], ys: &[f64]) -> f64 {
            let mut v = xs.to_vec();
            v[0] *= ys[0];
            v[1] = v[1].exp();
            norm2(&v) + v.iter().zip(ys).map(|(a, b)| a * b).sum::<f64>()
        }
    }
}

#[test]
fn calls_passing_arrays_in_every_mode() {
    let pts = SLICES;
    for case in [
        slices!(slice_parameter_passed_on),
        slices!(local_vec_passed_then_written),
        slices!(local_vec_in_a_loop),
        slices!(calls_in_branches),
        slices!(to_vec_then_written),
        slices!(sub_slices_passed_on),
        slices!(sub_slices_of_a_local),
        slices!(written_and_passed_in_a_loop),
    ] {
        check_at(&case, pts);
    }
}

// -------------------- arrays --------------------

/// A [`common::Case`] for `m::f(p: &[f64; 3], q: &[f64; 3])`, the point split in halves.
macro_rules! arrays3 {
    ($m:ident) => {
        common::Case {
            name: stringify!($m),
            f: |v: &[f64]| $m::f(&three(v, 0), &three(v, 3)),
            grad: |v: &[f64]| {
                let (y, g) = $m::f_grad(&three(v, 0), &three(v, 3));
                (y, common::Flat::flat(g))
            },
            vjp: |v: &[f64], ybar: f64| {
                let (p, q) = (three(v, 0), three(v, 3));
                let (y, pullback) = $m::f_vjp(&p, &q);
                (y, common::Flat::flat(pullback(ybar)))
            },
            jvp: |v: &[f64], dv: &[f64]| {
                let (p, q) = (three(v, 0), three(v, 3));
                $m::f_jvp(&p, &q, &three(dv, 0), &three(dv, 3))
            },
            tol: autodiff::gradcheck::Tolerance::F64,
        }
    };
}

fn three(v: &[f64], at: usize) -> [f64; 3] {
    [v[at], v[at + 1], v[at + 2]]
}

/// Generic over the length: `const N: usize` carries over to the derivatives.
#[differentiable]
pub fn weighted_norm<const N: usize>(p: &[f64; N], w: &[f64; N]) -> f64 {
    let mut s = 0.0;
    for i in 0..N {
        s += w[i] * p[i] * p[i];
    }
    s.sqrt()
}

corpus! {
    array_literal_and_pattern {
        #[differentiable]
        pub fn f(p: &[f64; 3], q: &[f64; 3]) -> f64 {
            let [a, b, c] = *p;
            let v = [a * q[0], b.sin(), c * c - q[2]];
            let [x, _, z] = v;
            x * z + v[1] * q[1]
        }
    }
    vec_literal_and_index_table {
        #[differentiable]
        pub fn f(p: &[f64; 3], q: &[f64; 3]) -> f64 {
            let order = [2, 0, 3, 1];
            let mut w = vec![p[0] + q[0], p[1] * q[1], (p[2] - q[2]).exp()];
            w.push(p[0] * q[2]);
            let mut s = 0.0;
            for k in 0..4 {
                s += w[order[k]] * (k as f64 + 1.0);
            }
            s
        }
    }
    const_generic_called {
        #[differentiable]
        pub fn f(p: &[f64; 3], q: &[f64; 3]) -> f64 {
            let local = [p[0] * q[0], p[1] + q[1]];
            let w = [1.0, 2.0];
            weighted_norm(p, q) + weighted_norm(&local, &w)
        }
    }
    array_of_results_passed_on {
        #[differentiable]
        pub fn f(p: &[f64; 3], q: &[f64; 3]) -> f64 {
            let r = [p[0] - q[0], p[1] - q[1], p[2] - q[2]];
            norm2(&r) + dot(p, &r)
        }
    }
}

#[test]
fn arrays_in_every_mode() {
    let pts: &[&[f64]] = &[
        &[0.3, -0.7, 1.2, 0.25, 0.4, 1.1],
        &[0.0, 0.9, -0.2, 0.1, 0.3, 1.7],
        &[-1.3, 0.5, 0.8, 0.6, 0.9, 0.05],
    ];
    for case in [
        arrays3!(array_literal_and_pattern),
        arrays3!(vec_literal_and_index_table),
        arrays3!(const_generic_called),
        arrays3!(array_of_results_passed_on),
    ] {
        check_at(&case, pts);
    }
}

// -------------------- several results --------------------

corpus! {
    polar_pair {
        #[differentiable]
        pub fn f(r: f64, t: f64) -> (f64, f64) {
            let (s, c) = t.sin_cos();
            (r * c, r * s)
        }
    }
    sum_and_product_of_a_loop {
        #[differentiable]
        pub fn f(a: f64, b: f64) -> (f64, f64, f64) {
            let mut s = 0.0;
            let mut p = 1.0;
            for k in 1..4 {
                let t = (a * k as f64).sin() + b;
                s += t;
                p *= 1.0 + t * t;
            }
            let mean = s / 3.0;
            (s, p.ln(), mean)
        }
    }
    value_and_profile {
        #[differentiable]
        pub fn f(a: f64, b: f64) -> (f64, Vec<f64>) {
            let profile: Vec<f64> = (0..4).map(|k| (a - 0.5 * k as f64).exp() * b).collect();
            let peak = profile.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            (peak, profile)
        }
    }
    branch_chooses_parts {
        #[differentiable]
        pub fn f(a: f64, b: f64) -> (f64, f64) {
            let hi = if a > b { a * a } else { b.exp() };
            let lo = a.min(b);
            (hi, lo * hi)
        }
    }
    nested_tuple_result {
        #[differentiable]
        pub fn f(a: f64, b: f64) -> ((f64, f64), (Vec<f64>, f64)) {
            let (s, c) = (a * b).sin_cos();
            let profile: Vec<f64> = (1..4).map(|k| (a - k as f64 * b).tanh()).collect();
            ((s * a, c + b), (profile, a.hypot(b)))
        }
    }
}

#[test]
fn tuple_results_in_every_mode() {
    let pts = PAIRS_APART;
    for case in [
        tuple_case!(polar_pair),
        tuple_case!(sum_and_product_of_a_loop),
        tuple_case!(value_and_profile),
        tuple_case!(branch_chooses_parts),
        tuple_case!(nested_tuple_result),
    ] {
        check_at(&case, pts);
    }
}

// -------------------- patterns: enums, Option, if let, let … else --------------------

/// How a residual is penalised: an enum parameter, matched in the functions below.
#[derive(Clone, Copy, Debug)]
pub enum Loss {
    Squared,
    Huber(f64),
    PseudoHuber { delta: f64 },
}

corpus! {
    match_on_an_enum {
        #[differentiable(wrt(r, s))]
        pub fn f(r: f64, s: f64, loss: Loss) -> f64 {
            let e = r - 0.5 * s;
            match loss {
                Loss::Squared => e * e,
                Loss::Huber(d) if e.abs() <= d => 0.5 * e * e,
                Loss::Huber(d) => d * (e.abs() - 0.5 * d),
                Loss::PseudoHuber { delta } => {
                    delta * delta * ((1.0 + (e / delta).powi(2)).sqrt() - 1.0)
                }
            }
        }
    }
    if_let_on_an_option {
        #[differentiable(wrt(x, y))]
        pub fn f(x: f64, y: f64, cap: Option<f64>) -> f64 {
            let v = x * y.exp();
            let capped = if let Some(c) = cap { v.min(c) } else { v };
            match cap {
                Some(c) if c > 1.0 => capped + x,
                Some(_) => capped - y,
                None => capped * 2.0,
            }
        }
    }
    let_else_by_reference {
        #[differentiable(wrt(x, y))]
        pub fn f(x: f64, y: f64, loss: &Loss) -> f64 {
            let base = x.sin() * y;
            let Loss::Huber(d) = loss else {
                return base * 2.0;
            };
            base * d + x
        }
    }
}

#[test]
fn patterns_in_every_mode() {
    let pts = PAIRS_APART;
    // One case per argument: the case's functions are plain `fn`s, so it is a constant.
    macro_rules! each {
        ($($loss:expr),*) => {$(
            check_at(&case!(match_on_an_enum(a, b | da, db) + $loss), pts);
            check_at(&case!(let_else_by_reference(a, b | da, db) + &$loss), pts);
        )*};
    }
    each!(
        Loss::Squared,
        Loss::Huber(0.5),
        Loss::Huber(5.0),
        Loss::PseudoHuber { delta: 0.7 }
    );
    check_at(&case!(if_let_on_an_option(a, b | da, db) + Some(0.3)), pts);
    check_at(&case!(if_let_on_an_option(a, b | da, db) + Some(1.5)), pts);
    check_at(&case!(if_let_on_an_option(a, b | da, db) + None), pts);
}

// -------------------- struct values --------------------

/// A mass on a spring: a derived struct used as a local value, a parameter and a result.
#[derive(Clone, Copy, Debug, Differentiable)]
pub struct State {
    pub x: f64,
    pub v: f64,
}

impl common::Weighed for State {
    fn weigh(&self, w: &Self) -> f64 {
        self.x * w.x + self.v * w.v
    }
    fn weights(&self, next: &mut usize) -> Self {
        State {
            x: self.x.weights(next),
            v: self.v.weights(next),
        }
    }
    fn scaled(&self, c: f64) -> Self {
        State {
            x: self.x * c,
            v: self.v * c,
        }
    }
}

#[differentiable]
pub fn energy(s: &State, k: f64) -> f64 {
    0.5 * s.v * s.v + 0.5 * k * s.x * s.x
}

/// Float methods of a parameter's fields (rustc rejected `obj::sin_vjp` before).
#[differentiable]
pub fn field_methods(s: &State) -> f64 {
    s.x.sin() * s.v.exp() + s.x.powi(2).atan2(s.v)
}

/// A tuple struct: built as `Polar(r, t)`, read as `.0`, `.1`.
#[derive(Clone, Copy, Debug, Differentiable)]
pub struct Polar(pub f64, pub f64);

impl common::Weighed for Polar {
    fn weigh(&self, w: &Self) -> f64 {
        self.0 * w.0 + self.1 * w.1
    }
    fn weights(&self, next: &mut usize) -> Self {
        Polar(self.0.weights(next), self.1.weights(next))
    }
    fn scaled(&self, c: f64) -> Self {
        Polar(self.0 * c, self.1 * c)
    }
}

#[differentiable]
pub fn to_x(p: &Polar) -> f64 {
    p.0 * p.1.cos()
}

/// Nested structs: a body's position and velocity.
#[derive(Clone, Copy, Debug, Differentiable)]
pub struct V2 {
    pub x: f64,
    pub y: f64,
}

#[derive(Clone, Copy, Debug, Differentiable)]
pub struct Body {
    pub pos: V2,
    pub vel: V2,
}

impl common::Weighed for Body {
    fn weigh(&self, w: &Self) -> f64 {
        self.pos.x * w.pos.x + self.pos.y * w.pos.y + self.vel.x * w.vel.x + self.vel.y * w.vel.y
    }
    fn weights(&self, next: &mut usize) -> Self {
        let mut v = || 0.0.weights(next);
        let pos = V2 { x: v(), y: v() };
        Body {
            pos,
            vel: V2 { x: v(), y: v() },
        }
    }
    fn scaled(&self, c: f64) -> Self {
        let s = |v: V2| V2 {
            x: v.x * c,
            y: v.y * c,
        };
        Body {
            pos: s(self.pos),
            vel: s(self.vel),
        }
    }
}

#[differentiable]
pub fn speed(v: &V2) -> f64 {
    (v.x * v.x + v.y * v.y + 0.1).sqrt()
}

corpus! {
    nested_struct_fields_written {
        #[differentiable]
        pub fn f(x: f64, vx: f64) -> f64 {
            let mut b = Body { pos: V2 { x, y: 0.0 }, vel: V2 { x: vx, y: 1.0 } };
            for _ in 0..5 {
                b.vel.y -= 0.1 * 9.81 * b.pos.x.sin();
                b.pos.x += 0.1 * b.vel.x;
                b.pos.y += 0.1 * b.vel.y;
            }
            b.pos.x * b.pos.y + speed(&b.vel)
        }
    }
    nested_struct_result {
        #[differentiable]
        pub fn f(x: f64, vx: f64) -> Body {
            let mut b = Body { pos: V2 { x, y: 0.0 }, vel: V2 { x: vx, y: 1.0 } };
            for _ in 0..4 {
                let s = speed(&b.vel);
                b.vel = V2 { x: b.vel.x * (1.0 - 0.1 * s), ..b.vel };
                let p = b.pos;
                b.pos.x = p.x + 0.1 * b.vel.x;
                b.pos.y = p.y + 0.1 * b.vel.y * x;
            }
            Body { vel: V2 { y: b.vel.y * 2.0, ..b.vel }, ..b }
        }
    }
    tuple_struct_result {
        #[differentiable]
        pub fn f(x: f64, y: f64) -> Polar {
            let mut p = Polar((x * x + y * y).sqrt(), y.atan2(x));
            p.1 += 0.25 * p.0;
            p
        }
    }
    tuple_struct_passed {
        #[differentiable]
        pub fn f(x: f64, y: f64) -> f64 {
            let p = Polar(x.exp(), y * x);
            let q = Polar(p.1, p.0);
            to_x(&p) * to_x(&q) + Polar(y, x).0
        }
    }
    local_struct_stepped {
        #[differentiable]
        pub fn f(x: f64, v: f64) -> f64 {
            let dt = 0.1;
            let mut s = State { x, v };
            for _ in 0..4 {
                s.v -= dt * 2.0 * s.x;
                s.x += dt * s.v;
            }
            let damped = State { v: s.v * 0.9, ..s };
            energy(&damped, 2.0) + s.x * damped.v
        }
    }
    struct_copied_and_branched {
        #[differentiable]
        pub fn f(x: f64, v: f64) -> f64 {
            let a = State { x: x.sin(), v: v * x };
            let mut b = a;
            if a.x > 0.0 {
                b.x = a.x * a.v;
            } else {
                b = State { x: a.v, v: a.x };
            }
            b.x * b.v + a.x
        }
    }
    struct_passed_whole {
        #[differentiable]
        pub fn f(x: f64, v: f64) -> f64 {
            let s = State { x: x * v, v: v - 1.0 };
            field_methods(&s) * energy(&s, x)
        }
    }
    struct_result {
        #[differentiable]
        pub fn f(x: f64, v: f64) -> State {
            let mut s = State { x, v };
            for _ in 0..3 {
                s.v -= 0.1 * s.x.sin();
                s.x += 0.1 * s.v;
            }
            s
        }
    }
    struct_literal_result {
        #[differentiable]
        pub fn f(x: f64, v: f64) -> State {
            let r = (x * x + v * v).sqrt();
            State { x: r, v: v.atan2(x) }
        }
    }
}

#[test]
fn struct_values_in_every_mode() {
    let pts: &[&[f64]] = &[&[0.3, 0.0], &[0.7, -1.3], &[-2.0, 0.4]];
    check_at(&case!(local_struct_stepped(a, b | da, db)), pts);
    check_at(&case!(struct_copied_and_branched(a, b | da, db)), pts);
    check_at(&case!(struct_passed_whole(a, b | da, db)), pts);
    check_at(&tuple_case!(struct_result), pts);
    check_at(&tuple_case!(struct_literal_result), pts);
    check_at(
        &tuple_case!(tuple_struct_result),
        &[&[0.3, 0.5], &[0.7, -1.3], &[-2.0, 0.4]],
    );
    check_at(&case!(tuple_struct_passed(a, b | da, db)), pts);
    check_at(&case!(nested_struct_fields_written(a, b | da, db)), pts);
    check_at(&tuple_case!(nested_struct_result), pts);
}

// -------------------- calls returning tuples and arrays --------------------

#[differentiable]
pub fn polar(r: f64, t: f64) -> (f64, f64) {
    (r * t.cos(), r * t.sin())
}

#[differentiable]
pub fn centred(xs: &[f64]) -> (f64, Vec<f64>) {
    let mean = xs.iter().sum::<f64>() / xs.len() as f64;
    let c: Vec<f64> = xs.iter().map(|x| x - mean).collect();
    (mean, c)
}

#[differentiable]
pub fn squares(xs: &[f64]) -> Vec<f64> {
    xs.iter().map(|x| x * x).collect()
}

corpus! {
    tuple_parts_bound {
        #[differentiable]
        pub fn f(xs: &[f64], ys: &[f64]) -> f64 {
            let (x, y) = polar(xs[0], ys[0]);
            let (_, b) = polar(x, y);
            let (mean, c) = centred(xs);
            x * y + b + mean * c[1]
        }
    }
    tuple_call_on_a_local_array {
        #[differentiable]
        pub fn f(xs: &[f64], ys: &[f64]) -> f64 {
            let local = vec![xs[0] * ys[1], xs[2]];
            let (m, c): (f64, Vec<f64>) = centred(&local);
            let mut s = m;
            for k in 0..2 {
                let (x, _) = polar(c[k], ys[k]);
                s += x;
            }
            s
        }
    }
    array_result_indexed {
        #[differentiable]
        pub fn f(xs: &[f64], ys: &[f64]) -> f64 {
            let sq = squares(xs);
            let mut s = 0.0;
            for i in 0..sq.len() {
                s += sq[i] * ys[i];
            }
            s + squares(ys).iter().sum::<f64>()
        }
    }
}

#[test]
fn calls_returning_tuples_and_arrays_in_every_mode() {
    let pts = SLICES_NONZERO;
    for case in [
        slices!(tuple_parts_bound),
        slices!(tuple_call_on_a_local_array),
        slices!(array_result_indexed),
    ] {
        check_at(&case, pts);
    }
}
