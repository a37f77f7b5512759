//! Random well-typed programs built from the constructs users write (arithmetic, float
//! methods, branches, loops, iterator chains over slices and windows, closures, array
//! literals and patterns, `match` on integers and `Option`s, `if let`, `let … else`,
//! calls passing slices), written to a file, compiled by rustc through trybuild and run.
//! Each program checks its gradient against central differences and forward mode
//! against reverse mode at several points, and every third function (with `hessian`, its
//! callees `nested`) its `f_hvp` against differences of the gradient, so code the macro
//! accepts but rustc rejects, and a wrong derivative, both fail this test.

use std::fmt::Write as _;

/// xorshift64*: deterministic, so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// A float expression over the names in `scope`, smooth where it is defined (no kinks
/// but those of branches, which random points miss).
fn expr(rng: &mut Rng, scope: &[String], depth: usize) -> String {
    if depth == 0 || rng.below(4) == 0 {
        return match rng.below(3) {
            0 => rng
                .pick(&["0.5_f64", "(-1.5_f64)", "2.0_f64", "0.25_f64"])
                .to_string(),
            _ => scope[rng.below(scope.len())].clone(),
        };
    }
    let (a, b) = (expr(rng, scope, depth - 1), expr(rng, scope, depth - 1));
    match rng.below(7) {
        0 => format!("({a} + {b})"),
        1 => format!("({a} - {b})"),
        2 => format!("({a} * {b})"),
        3 => format!("({a} / (1.0 + {b} * {b}))"),
        4 => format!("({a}).{}()", rng.pick(&["sin", "cos", "tanh", "atan"])),
        5 => format!("(1.0 + {a} * {a}).{}()", rng.pick(&["ln", "sqrt"])),
        _ => format!("({a}).mul_add({b}, 0.5)"),
    }
}

/// One statement binding the float `v{k}`, using one construct; `scope` gains `v{k}`.
fn statement(rng: &mut Rng, scope: &mut Vec<String>, k: usize) -> String {
    let e = |rng: &mut Rng, scope: &[String]| expr(rng, scope, 2);
    let v = format!("v{k}");
    let with = |name: &str, scope: &[String]| {
        let mut s = scope.to_vec();
        s.push(name.to_string());
        s
    };
    let text = match rng.below(18) {
        0 => format!("let {v} = {};", e(rng, scope)),
        1 => {
            let (c1, c2) = (e(rng, scope), e(rng, scope));
            let (t, f) = (e(rng, scope), e(rng, scope));
            format!("let {v} = if {c1} > {c2} {{ {t} }} else {{ {f} }};")
        }
        2 => {
            let inner = with(&v, &with("w", scope));
            let body = e(rng, &inner);
            format!(
                "let mut {v}: f64 = 0.0; for i in 0..3 {{ let w = i as f64; {v} = {v} * 0.5 + ({body}).sin(); }}"
            )
        }
        3 => {
            let body = e(rng, &with("t", scope));
            let src = rng.pick(&["xs.iter()", "xs[1..].iter()", "xs.iter().rev().skip(1)"]);
            format!("let {v}: f64 = {src}.map(|&t| {body}).sum();")
        }
        4 => {
            let body = e(rng, &with("w[0]", &with("w[1]", scope)));
            format!("let {v}: f64 = xs.windows(2).map(|w| {body}).sum();")
        }
        5 => {
            let body = e(rng, &with("t", scope));
            let (p, q) = (e(rng, scope), e(rng, scope));
            format!("let c{k} = |t: f64| {body}; let {v} = c{k}({p}) - c{k}({q});")
        }
        6 => {
            let parts: Vec<String> = (0..3).map(|_| e(rng, scope)).collect();
            format!(
                "let a{k} = [{}]; let [p{k}, _, r{k}] = a{k}; let {v} = p{k} * r{k} + a{k}.iter().sum::<f64>();",
                parts.join(", ")
            )
        }
        7 => {
            let arms: Vec<String> = (0..3).map(|_| e(rng, scope)).collect();
            format!(
                "let {v} = match n {{ 0 => {}, 1 | 2 => {}, _ => {} }};",
                arms[0], arms[1], arms[2]
            )
        }
        8 => {
            let (some, none) = (e(rng, &with("c", scope)), e(rng, scope));
            match rng.below(2) {
                0 => format!("let {v} = match opt {{ Some(c) => {some}, None => {none} }};"),
                _ => format!("let {v} = if let Some(c) = opt {{ {some} }} else {{ {none} }};"),
            }
        }
        9 => {
            let (p, q) = (e(rng, scope), e(rng, scope));
            format!("let b{k} = vec![{p}, {q}]; let {v} = norm2(&b{k}) + norm2(xs) * {q};")
        }
        11 => {
            let (a, b, c) = (e(rng, scope), e(rng, scope), e(rng, scope));
            format!("let (p{k}, q{k}) = tp({a}, {b}); let {v} = p{k} * q{k} + {c};")
        }
        12 => {
            let c = e(rng, scope);
            format!("let w{k} = sq(xs); let {v} = w{k}[1] * {c} + sq(&w{k}).iter().sum::<f64>();")
        }
        10 => {
            let (a, b, c) = (e(rng, scope), e(rng, scope), e(rng, scope));
            format!(
                "let mut s{k} = P {{ a: {a}, b: {b} }}; s{k}.a += s{k}.b * {c}; \
                 let t{k} = P {{ b: s{k}.a, ..s{k} }}; let {v} = pe(&t{k}) + s{k}.a;"
            )
        }
        13 => {
            let (a, b) = (e(rng, scope), e(rng, scope));
            format!(
                "let mut u{k} = xs.to_vec(); for i in 0..2 {{ u{k}[i] = u{k}[i + 1] * ({a}); }} \
                 let {v} = norm2(&u{k}[1..]) + norm2(&xs[..2]) * ({b});"
            )
        }
        14 => {
            let body = e(rng, &with("c[0]", scope));
            format!("let {v}: f64 = xs.chunks(2).map(|c| c.iter().sum::<f64>() * ({body})).sum();")
        }
        15 => {
            let (a, b) = (e(rng, scope), e(rng, scope));
            format!("let mut q{k} = Q({a}, {b}); q{k}.1 *= q{k}.0; let {v} = q{k}.0 + qe(&q{k});")
        }
        16 => {
            let a = e(rng, scope);
            format!(
                "let mut m{k} = xs.to_vec(); for (o, t) in m{k}.iter_mut().zip(xs) {{ *o = *o * ({a}) + t.sin(); }} \
                 let {v} = m{k}.iter().sum::<f64>();"
            )
        }
        _ => {
            let body = e(rng, &with("c", scope));
            let out = e(rng, scope);
            format!("let Some(c) = opt else {{ return {out}; }}; let {v} = {body};")
        }
    };
    scope.push(v);
    text
}

/// `fn f{id}(x, y, xs, n, opt) -> f64` of a few statements, with `hessian` if `second`
/// holds and it calls nothing without `f_dir` (`sq`, whose result is a `Vec`).
fn function(rng: &mut Rng, id: usize, second: bool) -> (String, bool) {
    let mut scope: Vec<String> = ["x", "y", "xs[0]", "xs[2]"].map(String::from).to_vec();
    let mut body = String::new();
    for k in 0..2 + rng.below(3) {
        body.push_str(&statement(rng, &mut scope, k));
        body.push('\n');
    }
    let result = expr(rng, &scope, 2);
    let hessian = second && !body.contains("sq(") && !result.contains("sq(");
    let args = if hessian {
        "wrt(x, y, xs), hessian"
    } else {
        "wrt(x, y, xs)"
    };
    let text = format!(
        "#[differentiable({args})]\n\
         fn f{id}(x: f64, y: f64, xs: &[f64], n: usize, opt: Option<f64>) -> f64 {{\n\
         {body}{result} + {last}\n}}\n",
        last = scope.last().map_or("0.0", String::as_str)
    );
    (text, hessian)
}

/// The test program: the functions, then a `main` checking each of them.
fn program(seed: u64, count: usize) -> String {
    let mut rng = Rng(seed);
    let mut out = String::from(
        "#![allow(unused, clippy::all)]\n\
         use autodiff::{differentiable, Differentiable};\n\
         use autodiff::gradcheck::Tolerance;\n\n\
         #[differentiable(nested)]\n\
         fn norm2(v: &[f64]) -> f64 { v.iter().map(|t| t * t).sum() }\n\n\
         #[derive(Clone, Copy, Differentiable)]\n\
         struct P { a: f64, b: f64 }\n\n\
         #[differentiable(nested)]\n\
         fn pe(p: &P) -> f64 { p.a * p.b + p.b.sin() }\n\n\
         #[derive(Clone, Copy, Differentiable)]\n\
         struct Q(f64, f64);\n\n\
         #[differentiable(nested)]\n\
         fn qe(q: &Q) -> f64 { q.0 * q.1.cos() }\n\n\
         #[differentiable(nested)]\n\
         fn tp(a: f64, b: f64) -> (f64, f64) { (a * b.cos(), a + b * b) }\n\n\
         #[differentiable]\n\
         fn sq(v: &[f64]) -> Vec<f64> { v.iter().map(|t| t * t.tanh()).collect() }\n\n",
    );
    // Every third function also gets `f_hvp`, checked against differences of `f_grad`.
    let functions: Vec<(String, bool)> = (0..count)
        .map(|id| function(&mut rng, id, id % 3 == 0))
        .collect();
    for (text, _) in &functions {
        out.push_str(text);
    }
    out.push_str("\nfn main() {\n");
    for (id, (_, hessian)) in functions.iter().enumerate() {
        let _ = writeln!(out, "    check(\"f{id}\", f{id}, f{id}_grad, f{id}_jvp);");
        if *hessian {
            let _ = writeln!(out, "    check_hvp(\"f{id}\", f{id}_grad, f{id}_hvp);");
        }
    }
    out.push_str("}\n");
    out.push_str(CHECK);
    out.push_str(CHECK_HVP);
    out
}

/// Every function at three points, for `n` in 0, 1, 3 and `opt` both ways.
const CHECK: &str = r#"
/// Central differences with step `h` (relative to the coordinate), extrapolated
/// (Richardson): error O(h⁴).
fn richardson(f: &dyn Fn(&[f64]) -> f64, p: &[f64], i: usize, h: f64) -> f64 {
    let central = |h: f64| {
        let (mut a, mut b) = (p.to_vec(), p.to_vec());
        a[i] += h;
        b[i] -= h;
        (f(&a) - f(&b)) / (2.0 * h)
    };
    let h = h * p[i].abs().max(1.0);
    (4.0 * central(h / 2.0) - central(h)) / 3.0
}

type F = fn(f64, f64, &[f64], usize, Option<f64>) -> f64;
type G = fn(f64, f64, &[f64], usize, Option<f64>) -> (f64, (f64, f64, Vec<f64>));
type J = fn(f64, f64, &[f64], usize, Option<f64>, f64, f64, &[f64]) -> (f64, f64);

fn check(name: &str, f: F, grad: G, jvp: J) {
    let points = [
        // Coordinates unlike the programs' literals, so no branch sits exactly here.
        [0.31, -0.73, 1.21, 0.27, 0.43, -1.13],
        [-1.29, 0.53, 0.79, 0.61, -0.91, 0.07],
        [0.89, 1.37, -0.33, 0.71, 0.19, -0.59],
    ];
    for p in points {
        for n in [0, 1, 3] {
            for opt in [Some(0.7), None] {
                let call = |v: &[f64]| f(v[0], v[1], &v[2..], n, opt);
                let (value, (gx, gy, gxs)) = grad(p[0], p[1], &p[2..], n, opt);
                let g: Vec<f64> = [gx, gy].into_iter().chain(gxs).collect();
                if !value.is_finite() {
                    continue;
                }
                assert_eq!(value.to_bits(), call(&p).to_bits(), "{name}: value");
                for i in 0..p.len() {
                    // Some step must agree: random compositions can oscillate fast, where
                    // only a small one resolves them (seed 0x42: f24 needs h = 1e-6). A
                    // difference quotient also carries the rounding of `f` itself, about
                    // ε·|f|/h.
                    let steps = [1e-3, 1e-4, 1e-5, 1e-6];
                    let estimates = steps.map(|h| richardson(&call, &p, i, h));
                    let agrees = |(want, h): (&f64, &f64)| {
                        let rounding = 100.0 * f64::EPSILON * value.abs() / h;
                        (g[i] - want).abs() <= 1e-6 * (1.0 + want.abs()) + rounding
                    };
                    assert!(
                        estimates.iter().zip(&steps).any(agrees),
                        "{name} at {p:?}, n = {n}, opt = {opt:?}: component {i} is {}, \
                         central differences give {estimates:?}",
                        g[i]
                    );
                }
                let d = [0.3, -0.2, 0.5, 0.1, -0.4, 0.7];
                let (_, t) = jvp(p[0], p[1], &p[2..], n, opt, d[0], d[1], &d[2..]);
                let want: f64 = g.iter().zip(d).map(|(a, b)| a * b).sum();
                assert!(
                    Tolerance::F64.agrees(t, want),
                    "{name} at {p:?}: forward {t} vs reverse {want}"
                );
            }
        }
    }
}
"#;

/// `f_hvp` against central differences of `f_grad` along the tangent, at two of the
/// points of `check` (`n` = 3, `opt` set), and its value and gradient against `f_grad`'s.
const CHECK_HVP: &str = r#"
type H = fn(f64, f64, &[f64], usize, Option<f64>, f64, f64, &[f64]) -> (f64, (f64, f64, Vec<f64>), (f64, f64, Vec<f64>));

fn flat(g: (f64, f64, Vec<f64>)) -> Vec<f64> {
    [g.0, g.1].into_iter().chain(g.2).collect()
}

fn check_hvp(name: &str, grad: G, hvp: H) {
    let d = [0.3, -0.2, 0.5, 0.1, -0.4, 0.7];
    for p in [[0.31, -0.73, 1.21, 0.27, 0.43, -1.13], [-1.29, 0.53, 0.79, 0.61, -0.91, 0.07]] {
        let (n, opt) = (3, Some(0.7));
        let (value, g) = grad(p[0], p[1], &p[2..], n, opt);
        if !value.is_finite() {
            continue;
        }
        let (v, g2, hv) = hvp(p[0], p[1], &p[2..], n, opt, d[0], d[1], &d[2..]);
        assert_eq!(v.to_bits(), value.to_bits(), "{name}: f_hvp's value");
        let (g, g2, hv) = (flat(g), flat(g2), flat(hv));
        assert!(g.iter().zip(&g2).all(|(a, b)| Tolerance::F64.agrees(*a, *b)), "{name}: f_hvp's gradient");
        let along = |t: f64| {
            let q: Vec<f64> = p.iter().zip(d).map(|(a, b)| a + t * b).collect();
            flat(grad(q[0], q[1], &q[2..], n, opt).1)
        };
        // Some step must agree (see `check`), each component.
        for i in 0..p.len() {
            let agrees = [1e-3, 1e-4, 1e-5].iter().any(|&h| {
                let (up, down) = (along(h), along(-h));
                let fd = (up[i] - down[i]) / (2.0 * h);
                let rounding = 100.0 * f64::EPSILON * g[i].abs().max(1.0) / h;
                (hv[i] - fd).abs() <= 1e-5 * (1.0 + fd.abs()) + rounding
            });
            assert!(agrees, "{name} at {p:?}: (H·d)[{i}] = {}", hv[i]);
        }
    }
}
"#;

#[test]
fn random_programs_compile_and_differentiate() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("random-programs");
    std::fs::create_dir_all(&dir).expect("a directory for the generated programs");
    let path = dir.join("random_programs.rs");
    std::fs::write(&path, program(0x9E37_79B9_7F4A_7C15, 150)).expect("the program written");
    trybuild::TestCases::new().pass(&path);
}
