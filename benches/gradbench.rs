//! The GradBench tool's modules at the sizes GradBench uses by default, each run exactly as
//! the tool runs it (the same jobs, inputs built as the evals build them but from our own
//! seeded generator): primal time, derivative time and their ratio, best of several runs,
//! one thread.
//!
//! `cargo bench --bench gradbench` runs every module; `cargo bench --bench gradbench --
//! gmm lstm` runs the named ones. BA reads the problem files in `../shared/adbench/ba`.

#[path = "../src/bin/gradbench-tool/evals/mod.rs"]
#[allow(dead_code, unused_imports)]
mod evals;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// Seconds of the fastest of at least three runs of `function` (more while under 0.3 s).
fn best(module: &str, function: &str, input: &Value) -> f64 {
    let mut job = evals::job(module, function, input.clone())
        .unwrap_or_else(|e| panic!("{module}.{function}: {e}"));
    let (mut best, mut total, mut runs) = (f64::INFINITY, Duration::ZERO, 0);
    while runs < 3 || total < Duration::from_millis(300) {
        let start = Instant::now();
        job.run().expect("run");
        let elapsed = start.elapsed();
        best = best.min(elapsed.as_secs_f64());
        total += elapsed;
        runs += 1;
    }
    best
}

fn report(module: &str, workload: &str, primal: &str, derivative: &str, input: Value) {
    let f = best(module, primal, &input);
    let g = best(module, derivative, &input);
    println!(
        "{module:<6} {workload:<28} {:>12.4} {:>12.4} {:>8.2}",
        f * 1e3,
        g * 1e3,
        g / f
    );
}

fn uniform(rng: &mut ChaCha8Rng, n: usize) -> Vec<f64> {
    (0..n).map(|_| rng.random_range(0.0..1.0)).collect()
}

/// Standard normal numbers (Box–Muller).
fn normal(rng: &mut ChaCha8Rng, n: usize) -> Vec<f64> {
    (0..n)
        .map(|_| {
            let (u, v): (f64, f64) = (rng.random_range(f64::EPSILON..1.0), rng.random());
            (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
        })
        .collect()
}

fn rows(v: Vec<f64>, width: usize) -> Vec<Vec<f64>> {
    v.chunks(width.max(1)).map(<[f64]>::to_vec).collect()
}

fn gmm(rng: &mut ChaCha8Rng) {
    let mut pairs: Vec<(usize, usize)> = [2, 10, 20, 32, 64]
        .iter()
        .flat_map(|&d| [5, 10, 25, 50, 100].map(|k| (d, k)))
        .collect();
    pairs.sort_by_key(|&(d, k)| d * k);
    let n = 1000;
    for (d, k) in pairs {
        let input = json!({
            "d": d, "k": k, "n": n, "m": 0, "gamma": 1.0,
            "x": rows(normal(rng, n * d), d), "alpha": normal(rng, k),
            "mu": rows(uniform(rng, k * d), d), "q": rows(normal(rng, k * d), d),
            "l": rows(normal(rng, k * d * (d - 1) / 2), d * (d - 1) / 2),
        });
        report(
            "gmm",
            &format!("{d}_{k}_{n}"),
            "objective",
            "jacobian",
            input,
        );
    }
}

fn ba() {
    let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/adbench/ba");
    for i in 1..=14 {
        let Some(path) = std::fs::read_dir(&folder).ok().and_then(|entries| {
            entries.flatten().map(|e| e.path()).find(|p| {
                let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
                name.starts_with(&format!("ba{i}_")) && !name.contains(".ref")
            })
        }) else {
            eprintln!("ba{i}: no file in {}", folder.display());
            continue;
        };
        let text = std::fs::read_to_string(&path).expect("BA file");
        let v: Vec<f64> = text
            .split_whitespace()
            .map(|t| t.parse().expect("number"))
            .collect();
        let (n, m, p) = (v[0] as usize, v[1] as usize, v[2] as usize);
        let input = json!({"n": n, "m": m, "p": p, "cam": &v[3..14], "x": &v[14..17],
            "w": v[17], "feat": &v[18..20]});
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("")
            .to_string();
        report("ba", &stem, "objective", "jacobian", input);
    }
}

fn lstm(rng: &mut ChaCha8Rng) {
    let b = 14;
    for (l, c) in [
        (2, 1024),
        (2, 4096),
        (4, 1024),
        (2, 8192),
        (4, 4096),
        (6, 1024),
        (4, 8192),
        (6, 4096),
        (6, 8192),
    ] {
        let bits: Vec<f64> = (0..c * b)
            .map(|_| f64::from(rng.random_range(0..2u8)))
            .collect();
        let input = json!({
            "main_params": rows(uniform(rng, 8 * l * b), 4 * b),
            "extra_params": rows(uniform(rng, 3 * b), b),
            "state": rows(uniform(rng, 2 * l * b), b),
            "sequence": rows(bits, b),
        });
        report(
            "lstm",
            &format!("l={l},c={c}"),
            "objective",
            "jacobian",
            input,
        );
    }
}

fn det(rng: &mut ChaCha8Rng) {
    for ell in 5..=11 {
        let input = json!({"A": uniform(rng, ell * ell), "ell": ell});
        report("det", &format!("{ell}"), "primal", "gradient", input);
    }
}

fn llsq(rng: &mut ChaCha8Rng) {
    for n in [16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8196, 16392] {
        let input = json!({"x": uniform(rng, 128), "n": n});
        report("llsq", &format!("n={n},m=128"), "primal", "gradient", input);
    }
}

fn lse(rng: &mut ChaCha8Rng) {
    for i in 0..10 {
        let n = 2500 << i;
        report(
            "lse",
            &format!("n={n}"),
            "primal",
            "gradient",
            json!({"x": uniform(rng, n)}),
        );
    }
}

fn ode(rng: &mut ChaCha8Rng) {
    for (n, s) in [
        (1000, 1),
        (1000, 10),
        (10000, 1),
        (1000, 100),
        (10000, 10),
        (100000, 1),
        (10000, 100),
        (100000, 10),
        (100000, 100),
    ] {
        let input = json!({"x": uniform(rng, n), "s": s});
        report("ode", &format!("n={n},s={s}"), "primal", "gradient", input);
    }
}

fn main() {
    // cargo bench passes --bench; any other arguments name modules.
    let chosen: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let wanted = |m: &str| chosen.is_empty() || chosen.iter().any(|c| c == m);
    rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build_global()
        .expect("pool");
    let mut rng = ChaCha8Rng::seed_from_u64(31337);
    println!(
        "{:<6} {:<28} {:>12} {:>12} {:>8}",
        "module", "workload", "primal (ms)", "deriv (ms)", "ratio"
    );
    if wanted("hello") {
        report("hello", "x=1", "square", "double", json!(1.0));
    }
    if wanted("gmm") {
        gmm(&mut rng);
    }
    if wanted("ba") {
        ba();
    }
    if wanted("lstm") {
        lstm(&mut rng);
    }
    if wanted("det") {
        det(&mut rng);
    }
    if wanted("llsq") {
        llsq(&mut rng);
    }
    if wanted("lse") {
        lse(&mut rng);
    }
    if wanted("ode") {
        ode(&mut rng);
    }
}
