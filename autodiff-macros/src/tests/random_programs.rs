//! The macro never panics and never reports an internal error, whatever the input: a
//! few thousand random functions (supported and unsupported constructs mixed, names that
//! may be undeclared, wrong arities) are expanded, and every expansion must be valid Rust
//! syntax without an "internal error".

use quote::ToTokens;

/// xorshift64*: a small deterministic generator, so failures reproduce.
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

const LEAVES: &[&str] = &[
    "x",
    "y",
    "n",
    "flag",
    "a",
    "b",
    "1.0",
    "-2.5",
    "0.0",
    "3",
    "true",
    "std::f64::consts::PI",
    "f64::EPSILON",
    "K",
];
const METHODS: &[&str] = &[
    "sin", "exp", "sqrt", "abs", "tanh", "ln", "max", "min", "powf", "powi", "clamp", "mul_add",
    "atan2", "hypot", "is_nan", "foo", "signum", "floor", "len",
];
thread_local! {
    static SUPPORTED_ONLY: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Expressions of the constructs the desugar stage and the pattern lowering take, over
/// the supported signature's `xs: &[f64]` and `opt: Option<f64>`.
const CONSTRUCTS: &[&str] = &[
    "[x, y, x * y][1]",
    "xs.iter().map(|v| v * x).sum::<f64>()",
    "xs.windows(2).map(|w| w[1] - w[0]).sum::<f64>()",
    "xs[1..].iter().zip(xs).fold(0.0, |acc, (a, b)| acc + a * b)",
    "(0..3).map(|k| x * k as f64).product::<f64>()",
    "xs.iter().cloned().fold(f64::NEG_INFINITY, f64::max)",
    "match opt { Some(v) if v > 0.0 => v * x, Some(_) => y, None => x }",
    "if let Some(v) = opt { v + x } else { y }",
    "match n { 0 => x, 1..=3 => y, _ => x * y }",
    "{ let sq = |t: f64| t * t; sq(x) + sq(y) }",
    "x.copysign(y) + x.rem_euclid(2.0) + x.midpoint(y)",
    "{ let v = vec![x, y]; v[0] * v[1] }",
    "{ let w = xs.to_vec(); w.iter().sum::<f64>() }",
    "h(xs, x)",
];

const BINOPS: &[&str] = &[
    "+", "-", "*", "/", "%", "<", ">", "==", "&&", "||", "&", "<<",
];

fn expr(rng: &mut Rng, depth: usize) -> String {
    if depth == 0 {
        return rng.pick(LEAVES).to_string();
    }
    let d = depth - 1;
    // In supported-only mode (the generator's state says so) skip the unsupported cases.
    let choice = if SUPPORTED_ONLY.with(std::cell::Cell::get) {
        rng.below(10)
    } else {
        rng.below(13)
    };
    match choice {
        9 if SUPPORTED_ONLY.with(std::cell::Cell::get) => rng.pick(CONSTRUCTS).to_string(),
        12 => rng.pick(CONSTRUCTS).to_string(),
        0 | 1 => format!("({} {} {})", expr(rng, d), rng.pick(BINOPS), expr(rng, d)),
        2 => format!("(-{})", expr(rng, d)),
        3 if SUPPORTED_ONLY.with(std::cell::Cell::get) => format!("{{ return {}; }}", expr(rng, d)),
        3 => format!("(!{})", expr(rng, d)),
        4 => {
            let args: Vec<String> = (0..rng.below(3)).map(|_| expr(rng, d)).collect();
            format!(
                "{}.{}({})",
                paren(expr(rng, d)),
                rng.pick(METHODS),
                args.join(", ")
            )
        }
        5 => format!(
            "{}({}, {})",
            rng.pick(&["g", "f64::max", "f64::hypot", "h::k"]),
            expr(rng, d),
            expr(rng, d)
        ),
        6 => format!(
            "if {} {{ {} }} else {{ {} }}",
            expr(rng, d),
            block(rng, d),
            block(rng, d)
        ),
        7 => format!("{{ {} }}", block(rng, d)),
        8 => format!(
            "({} as {})",
            expr(rng, d),
            rng.pick(&["f32", "f64", "i32", "usize", "bool", "String"])
        ),
        9 => rng
            .pick(&[
                "(|v: f64| v)(x)",
                "x[0]",
                "(x, y).0",
                "match n { _ => x }",
                "loop { break x }",
                "println!(\"{}\", x)",
                "unsafe { x }",
                "x?",
                "&x",
            ])
            .to_string(),
        10 => format!("{{ return {}; }}", expr(rng, d)),
        _ => format!(
            "{}.{}",
            paren(expr(rng, d)),
            rng.pick(&["re", "0", "field"])
        ),
    }
}

fn paren(e: String) -> String {
    format!("({e})")
}

fn stmt(rng: &mut Rng, depth: usize) -> String {
    match rng.below(11) {
        7 => {
            let range = rng.pick(&[
                "0..n",
                "(0..3).rev()",
                "(1..=4).step_by(2)",
                "0..",
                "x..y",
                "0..3",
            ]);
            format!(
                "{}for {} in {range} {{ {} {} }}",
                rng.pick(&[
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "#[checkpoint] ",
                    "#[checkpoint(snapshots = 2)] "
                ]),
                rng.pick(&["i", "_", "(a, b)"]),
                stmt(rng, depth.saturating_sub(1)),
                stmt(rng, depth.saturating_sub(1))
            )
        }
        10 => format!(
            "let mut v = vec![0.0; 3]; v[{}] = {}; v[0] += v[1];",
            rng.pick(&["0", "1", "n as usize % 3"]),
            expr(rng, depth)
        ),
        6 if rng.below(2) == 0 => rng
            .pick(&[
                "let [p, q] = [x, y];",
                "let Some(z) = opt else { return x; };",
                "for w in xs.chunks_exact(2) { a += w[0] * w[1]; }",
                "for q in [0.5, 1.5] { b *= q; }",
            ])
            .to_string(),
        9 => rng
            .pick(&[
                "break;",
                "continue;",
                "if x > 1.0 { break; }",
                "if y < 0.0 { continue; }",
            ])
            .to_string(),
        8 => format!(
            "{}while {} {{ {} }}",
            rng.pick(&["", "", "", "", "", "#[checkpoint(every = 4)] "]),
            expr(rng, depth.saturating_sub(1)),
            stmt(rng, depth.saturating_sub(1))
        ),
        0 | 1 => format!(
            "let {}{} = {};",
            rng.pick(&["", "mut "]),
            rng.pick(&["a", "b", "c"]),
            expr(rng, depth)
        ),
        2 => format!(
            "{} = {};",
            rng.pick(&["a", "b", "x", "zz"]),
            expr(rng, depth)
        ),
        3 => format!(
            "{} {} {};",
            rng.pick(&["a", "x", "n"]),
            rng.pick(&["+=", "-=", "*=", "/=", "%="]),
            expr(rng, depth)
        ),
        4 => format!(
            "if {} {{ {} }}",
            expr(rng, depth),
            block(rng, depth.saturating_sub(1))
        ),
        5 => format!("return {};", expr(rng, depth)),
        _ => format!(
            "let {}: {} = {};",
            rng.pick(&["a", "c"]),
            rng.pick(&["f64", "f32", "i64"]),
            expr(rng, depth)
        ),
    }
}

fn block(rng: &mut Rng, depth: usize) -> String {
    let stmts: Vec<String> = (0..rng.below(3)).map(|_| stmt(rng, depth)).collect();
    format!("{} {}", stmts.join(" "), expr(rng, depth))
}

fn function(rng: &mut Rng) -> (String, String) {
    if SUPPORTED_ONLY.with(std::cell::Cell::get) {
        let args = rng.pick(&[
            "",
            "wrt(x)",
            "wrt(x, y)",
            "nested",
            "nested, wrt(x)",
            "hessian, wrt(x)",
            "hessian, graph, wrt(x, y)",
            "jacobian, wrt(x, xs)",
        ]);
        let body = block(rng, 3);
        return (
            args.to_string(),
            format!("fn f(x: f64, y: f64, n: i32, flag: bool, xs: &[f64], opt: Option<f64>) -> f64 {{ {body} }}"),
        );
    }
    let params = rng.pick(&[
        "x: f64, y: f64, n: i32, flag: bool",
        "mut x: f64, y: f32, n: usize, flag: bool",
        "x: f64, y: &[f64], n: i32, flag: bool",
        "x: f64, y: f64, n: i32, flag: &str",
    ]);
    let ret = rng.pick(&["f64", "f64", "f32", "i32", "(f64, f64)"]);
    let args = rng.pick(&[
        "",
        "",
        "",
        "wrt(x)",
        "wrt(x, y)",
        "wrt(n)",
        "wrt(q)",
        "bogus",
        "wrt(x), wrt(y)",
        "nested",
        "hessian",
        "jacobian",
    ]);
    let body = block(rng, 3);
    (
        args.to_string(),
        format!("fn f({params}) -> {ret} {{ {body} }}"),
    )
}

#[test]
fn random_functions_expand_without_internal_errors() {
    expand_random(0x9E37_79B9_7F4A_7C15, false, 0);
}

/// Supported syntax only (names may still be undeclared, types may not match): most
/// expand to derivatives, which exercises lowering, the optimiser and both transforms.
#[test]
fn random_supported_functions_expand_to_derivatives() {
    expand_random(0x2545_F491_4F6C_DD1D, true, 400);
}

fn expand_random(seed: u64, supported_only: bool, min_clean: usize) {
    SUPPORTED_ONLY.with(|s| s.set(supported_only));
    let mut rng = Rng(seed);
    let mut expanded = 0;
    let mut clean = 0;
    for _ in 0..3000 {
        let (args, item) = function(&mut rng);
        let Ok(item) = syn::parse_str::<syn::ItemFn>(&item) else {
            continue;
        };
        let args: proc_macro2::TokenStream = args.parse().expect("attribute arguments tokenize");
        let out = crate::expand::differentiable(args, item.to_token_stream());
        let text = out.to_string();
        assert!(
            !text.contains("internal error"),
            "internal error for\n{}\n{text}",
            item.to_token_stream()
        );
        assert!(
            syn::parse2::<syn::File>(out).is_ok(),
            "expansion is not valid Rust for\n{}",
            item.to_token_stream()
        );
        expanded += 1;
        clean += usize::from(!text.contains("compile_error"));
    }
    assert!(expanded > 2000, "only {expanded} random functions parsed");
    assert!(
        clean >= min_clean,
        "only {clean} of {expanded} random functions were free of errors"
    );
}
