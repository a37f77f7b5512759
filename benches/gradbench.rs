//! The GradBench tool's modules at the sizes GradBench uses by default, each run exactly as
//! the tool runs it (the same jobs, inputs built as the evals build them but from our own
//! seeded generator): primal time, derivative time and their ratio, best of several runs,
//! one thread.
//!
//! `cargo bench --bench gradbench` runs every module; `cargo bench --bench gradbench --
//! gmm lstm` runs the named ones. BA reads the problem files in `../shared/adbench/ba`.

use autodiff::gradbench::evals;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// The tool's allocator (`src/bin/gradbench-tool`), so the timings are the tool's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "common/by_hand.rs"]
mod by_hand;

/// Seconds of the fastest of at least three runs of `run` (more while under 0.3 s).
fn fastest(mut run: impl FnMut()) -> f64 {
    let (mut best, mut total, mut runs) = (f64::INFINITY, Duration::ZERO, 0);
    while runs < 3 || total < Duration::from_millis(300) {
        let start = Instant::now();
        run();
        let elapsed = start.elapsed();
        best = best.min(elapsed.as_secs_f64());
        total += elapsed;
        runs += 1;
    }
    best
}

/// The tool's job for `function`, timed, and its output.
fn best(module: &str, function: &str, input: &Value) -> (f64, Value) {
    let mut job = evals::job(module, function, input.clone())
        .unwrap_or_else(|e| panic!("{module}.{function}: {e}"));
    let seconds = fastest(|| job.run().expect("run"));
    (seconds, job.output())
}

/// Primal and derivative times and their ratio; for the modules with a derivative
/// written by hand (`common/by_hand.rs`), its time and ours over it.
fn report(module: &str, workload: &str, primal: &str, derivative: &str, input: Value) {
    let (f, _) = best(module, primal, &input);
    let (g, ours) = best(module, derivative, &input);
    let mut line = format!(
        "{module:<6} {workload:<28} {:>12.4} {:>12.4} {:>8.2}",
        f * 1e3,
        g * 1e3,
        g / f
    );
    if let Some(by_hand) = by_hand::derivative(module, &input) {
        let (ours, theirs) = (by_hand::output_floats(module, &ours), by_hand());
        let gap = ours
            .iter()
            .zip(&theirs)
            .map(|(a, b)| (a - b).abs() / (1.0 + b.abs()));
        let gap = gap.fold(0.0, f64::max);
        assert!(
            gap < 1e-8,
            "{module} {workload}: by hand differs by {gap:e}"
        );
        let h = fastest(|| {
            std::hint::black_box(by_hand());
        });
        line += &format!(" {:>12.4} {:>8.2}", h * 1e3, g / h);
    }
    println!("{line}");
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

/// A hand model the size of GradBench's big one (22 bones, 10,000 vertices each moved by a
/// few bones, 1,084 triangles), with random base transforms near the identity; the
/// complicated variant (points on triangles).
fn ht(rng: &mut ChaCha8Rng) {
    let vertices = 10_000;
    let parents: Vec<i64> = (0..22)
        .map(|b: i64| match b {
            0 => -1,
            21 => 0,
            b if (b - 1) % 4 == 0 => 0,
            b => b - 1,
        })
        .collect();
    let near_identity = |rng: &mut ChaCha8Rng| -> Vec<Vec<f64>> {
        (0..4)
            .map(|i| {
                (0..4)
                    .map(|j| match (i, j) {
                        (3, 3) => 1.0,
                        (3, _) => 0.0,
                        _ => f64::from(u8::from(i == j)) + 0.1 * rng.random_range(-1.0..1.0),
                    })
                    .collect()
            })
            .collect()
    };
    let relatives: Vec<_> = (0..22).map(|_| near_identity(rng)).collect();
    let inverses: Vec<_> = (0..22).map(|_| near_identity(rng)).collect();
    let positions: Vec<Vec<f64>> = (0..vertices)
        .map(|_| vec![rng.random(), rng.random(), rng.random(), 1.0])
        .collect();
    let weights: Vec<Vec<f64>> = (0..vertices)
        .map(|v| {
            let mut w = vec![0.0; 22];
            for t in 0..3 {
                w[(v + 7 * t) % 22] += 1.0 / 3.0;
            }
            w
        })
        .collect();
    let triangles: Vec<[usize; 3]> = (0..1084)
        .map(|_| [0, 1, 2].map(|_| rng.random_range(0..vertices)))
        .collect();
    let model = json!({"bone_count": 22, "bone_names": vec!["bone"; 22], "parents": parents,
        "base_relatives": relatives, "inverse_base_absolutes": inverses,
        "base_positions": positions, "weights": weights, "triangles": triangles,
        "is_mirrored": false});
    for n in [
        100, 192, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 51200, 100_000,
    ] {
        let theta: Vec<f64> = (0..26).map(|_| rng.random_range(-0.5..0.5)).collect();
        let us: Vec<[f64; 2]> = (0..n)
            .map(|_| [rng.random(), rng.random::<f64>() * 0.5])
            .collect();
        let correspondences: Vec<usize> = (0..n).map(|_| rng.random_range(0..1084)).collect();
        let points: Vec<Vec<f64>> = (0..n).map(|_| uniform(rng, 3)).collect();
        let input = json!({"theta": theta, "us": us, "data": {
            "correspondences": correspondences, "points": points, "model": model}});
        report(
            "ht",
            &format!("hand_t26_c{n} (synthetic)"),
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

fn kmeans(rng: &mut ChaCha8Rng) {
    let mut triples: Vec<(usize, usize, usize)> = [10, 100, 1000]
        .iter()
        .flat_map(|&k| {
            [1000, 10000]
                .iter()
                .flat_map(move |&n| [8, 16].map(|d| (k, n, d)))
        })
        .collect();
    triples.sort_by_key(|&(k, n, d)| k * n * d);
    for (k, n, d) in triples {
        let points = rows(uniform(rng, n * d), d);
        let centroids = points[n - k..].to_vec();
        let input = json!({"points": points, "centroids": centroids});
        report(
            "kmeans",
            &format!("k={k},n={n},d={d}"),
            "cost",
            "dir",
            input,
        );
    }
}

/// The nested evals: the primal column times the `ff` variant, the derivative column each
/// of the others (all four compute the same result).
fn nested() {
    for other in ["fr", "rf", "rr"] {
        let label = format!("w=0 (ff vs {other})");
        report("particle", &label, "ff", other, json!({"w": 0.0}));
    }
    for other in ["fr", "rf", "rr"] {
        let label = format!("start=(1,1) (ff vs {other})");
        report("saddle", &label, "ff", other, json!({"start": [1.0, 1.0]}));
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
        "{:<6} {:<28} {:>12} {:>12} {:>8} {:>12} {:>8}",
        "module", "workload", "primal (ms)", "deriv (ms)", "ratio", "by hand (ms)", "/ hand"
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
    if wanted("ht") {
        ht(&mut rng);
    }
    if wanted("lstm") {
        lstm(&mut rng);
    }
    if wanted("det") {
        det(&mut rng);
    }
    if wanted("kmeans") {
        kmeans(&mut rng);
    }
    if wanted("particle") || wanted("saddle") {
        nested();
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
