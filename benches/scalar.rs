//! Cost of the generated derivatives against the primal, central finite differences and
//! num-dual's forward mode, on three scalar functions of four variables: a ~50-operation
//! straight-line function, a branchy one with early returns, and a chain of calls.
//!
//! `cargo bench --bench scalar` prints a ratio table first (best of repeated timing
//! batches), then runs the criterion benchmarks.

use autodiff::differentiable;
use criterion::Criterion;
use num_dual::{Dual64, DualNum};
use std::hint::black_box;
use std::time::Instant;

/// Defines the same body twice: as a `#[differentiable]` `f64` function, and generic over
/// num-dual's number types (constants stay on the right of operators for that reason).
macro_rules! twice {
    ($name:ident, $generic:ident, |$a:ident, $b:ident, $c:ident, $d:ident| $body:block) => {
        #[differentiable]
        pub fn $name($a: f64, $b: f64, $c: f64, $d: f64) -> f64 $body

        pub fn $generic<T: DualNum<Primitive = f64> + Copy>($a: T, $b: T, $c: T, $d: T) -> T $body
    };
}

twice!(straight, straight_dual, |a, b, c, d| {
    let s1 = a * b + c;
    let s2 = (s1 * d).sin();
    let s3 = s2 * a - b * c;
    let s4 = (s3 * s3 + 1.0).ln();
    let s5 = s4 * d + a.exp() * 0.1;
    let s6 = (s5 * b).tanh();
    let s7 = s6 * s6 * c + s1 / (d * d + 1.0);
    let s8 = (s7 + a).cos() * s2;
    let s9 = (s8 * s8 + s4 * s4).sqrt();
    let s10 = s9 * a + s7 * b - s5 * c;
    let s11 = (s10 * 0.5).sin() + (s6 * d).exp();
    let s12 = s11 * s11 - s8 * s3;
    let s13 = s12 / (s9 + 2.0);
    let s14 = (s13 * c).atan() * s10;
    s14 + s12 * 0.25 + s1 * s2 * s3
});

twice!(branchy, branchy_dual, |a, b, c, d| {
    let mut s = a * b - c;
    if s > 0.0 {
        s = s.sqrt() * d + s;
    } else {
        s = (s * d).sin() - a;
    }
    let t = if b > c {
        (a * c).exp() * s
    } else if b > 0.0 {
        s * s * b
    } else {
        (s - d).tanh()
    };
    if t > 1.5 {
        return t.ln() * c + s;
    }
    let u = t * a + s * b;
    if d < 0.0 {
        u * u - t
    } else {
        (u * d).cos() + t * s
    }
});

#[differentiable]
pub fn link(x: f64, y: f64) -> f64 {
    (x * y).sin() + x * x * 0.5 - y
}

pub fn link_dual<T: DualNum<Primitive = f64> + Copy>(x: T, y: T) -> T {
    (x * y).sin() + x * x * 0.5 - y
}

#[differentiable]
pub fn chain(a: f64, b: f64, c: f64, d: f64) -> f64 {
    let p = link(a, b);
    let q = link(p, c);
    let r = link(q, d);
    let s = link(r, a);
    link(s * b, q + r)
}

pub fn chain_dual<T: DualNum<Primitive = f64> + Copy>(a: T, b: T, c: T, d: T) -> T {
    let p = link_dual(a, b);
    let q = link_dual(p, c);
    let r = link_dual(q, d);
    let s = link_dual(r, a);
    link_dual(s * b, q + r)
}

type Primal = fn(f64, f64, f64, f64) -> f64;
type Grad = fn(f64, f64, f64, f64) -> (f64, (f64, f64, f64, f64));
type Jvp = fn(f64, f64, f64, f64, f64, f64, f64, f64) -> (f64, f64);
type DualFn = fn(Dual64, Dual64, Dual64, Dual64) -> Dual64;

struct Case {
    name: &'static str,
    primal: Primal,
    grad: Grad,
    jvp: Jvp,
    dual: DualFn,
}

const X: [f64; 4] = [0.7, -0.4, 0.3, 1.1];

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "straight-line (~50 ops)",
            primal: straight,
            grad: straight_grad,
            jvp: straight_jvp,
            dual: straight_dual,
        },
        Case {
            name: "branchy",
            primal: branchy,
            grad: branchy_grad,
            jvp: branchy_jvp,
            dual: branchy_dual,
        },
        Case {
            name: "call chain (5 calls)",
            primal: chain,
            grad: chain_grad,
            jvp: chain_jvp,
            dual: chain_dual,
        },
    ]
}

fn finite_difference(f: Primal, x: [f64; 4]) -> [f64; 4] {
    let mut g = [0.0; 4];
    for (i, gi) in g.iter_mut().enumerate() {
        let h = 1e-6 * x[i].abs().max(1.0);
        let (mut up, mut down) = (x, x);
        up[i] += h;
        down[i] -= h;
        *gi = (f(up[0], up[1], up[2], up[3]) - f(down[0], down[1], down[2], down[3])) / (2.0 * h);
    }
    g
}

/// num-dual's forward-mode gradient: one pass with a scalar dual number per input.
fn num_dual_gradient(f: DualFn, x: [f64; 4]) -> [f64; 4] {
    let mut g = [0.0; 4];
    for (i, gi) in g.iter_mut().enumerate() {
        let arg = |j: usize| {
            if i == j {
                Dual64::from_re(x[j]).derivative()
            } else {
                Dual64::from_re(x[j])
            }
        };
        *gi = f(arg(0), arg(1), arg(2), arg(3)).eps;
    }
    g
}

/// Before timing anything: the generated gradient matches num-dual's and the finite
/// differences, so the table compares implementations of the same derivative.
fn check(case: &Case) {
    let (value, (ga, gb, gc, gd)) = (case.grad)(X[0], X[1], X[2], X[3]);
    assert_eq!(
        value,
        (case.primal)(X[0], X[1], X[2], X[3]),
        "{}: value",
        case.name
    );
    let ours = [ga, gb, gc, gd];
    let dual = num_dual_gradient(case.dual, X);
    let fd = finite_difference(case.primal, X);
    for i in 0..4 {
        assert!(
            (ours[i] - dual[i]).abs() <= 1e-9 * (1.0 + dual[i].abs()),
            "{}: num-dual disagrees",
            case.name
        );
        assert!(
            (ours[i] - fd[i]).abs() <= 1e-5 * (1.0 + fd[i].abs()),
            "{}: finite differences disagree",
            case.name
        );
    }
}

/// Nanoseconds per call of `f`: the best of 15 batches of 20,000 calls.
fn time_ns(mut f: impl FnMut()) -> f64 {
    let iters = 20_000;
    (0..15)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..iters {
                f();
            }
            start.elapsed().as_secs_f64() * 1e9 / f64::from(iters)
        })
        .fold(f64::INFINITY, f64::min)
}

fn print_ratios() {
    println!("\nper call, best of 15 batches; ratios are to the primal f");
    println!(
        "{:<26} {:>9} {:>16} {:>16} {:>16} {:>18}",
        "function", "f (ns)", "f_grad", "f_jvp (1 dir)", "central FD", "num-dual (4 pass)"
    );
    for case in cases() {
        check(&case);
        let x = || black_box(X);
        let f = time_ns(|| {
            let x = x();
            black_box((case.primal)(x[0], x[1], x[2], x[3]));
        });
        let grad = time_ns(|| {
            let x = x();
            black_box((case.grad)(x[0], x[1], x[2], x[3]));
        });
        let jvp = time_ns(|| {
            let x = x();
            black_box((case.jvp)(x[0], x[1], x[2], x[3], 1.0, 0.5, -0.5, 2.0));
        });
        let fd = time_ns(|| {
            black_box(finite_difference(case.primal, x()));
        });
        let dual = time_ns(|| {
            black_box(num_dual_gradient(case.dual, x()));
        });
        let cell = |t: f64| format!("{t:>7.1} ({:>4.2}x)", t / f);
        println!(
            "{:<26} {f:>9.1} {:>16} {:>16} {:>16} {:>18}",
            case.name,
            cell(grad),
            cell(jvp),
            cell(fd),
            cell(dual)
        );
    }
    println!();
}

fn benches(c: &mut Criterion) {
    for case in cases() {
        let mut group = c.benchmark_group(case.name);
        group.bench_function("f", |bench| {
            bench.iter(|| {
                let x = black_box(X);
                (case.primal)(x[0], x[1], x[2], x[3])
            });
        });
        group.bench_function("f_grad", |bench| {
            bench.iter(|| {
                let x = black_box(X);
                (case.grad)(x[0], x[1], x[2], x[3])
            });
        });
        group.bench_function("f_jvp", |bench| {
            bench.iter(|| {
                let x = black_box(X);
                (case.jvp)(x[0], x[1], x[2], x[3], 1.0, 0.5, -0.5, 2.0)
            });
        });
        group.bench_function("central FD gradient", |bench| {
            bench.iter(|| finite_difference(case.primal, black_box(X)))
        });
        group.bench_function("num-dual gradient", |bench| {
            bench.iter(|| num_dual_gradient(case.dual, black_box(X)))
        });
        group.finish();
    }
}

fn main() {
    print_ratios();
    let mut c = Criterion::default().configure_from_args();
    benches(&mut c);
    c.final_summary();
}
