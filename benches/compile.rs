//! The compile-time cost of `#[differentiable]` by function size: generated functions of
//! 100, 400 and 1,600 statements, straight-line and in loops (see
//! `autodiff-macros/src/tests/compile_cost.rs`, which writes them and times the expansion
//! alone). Each is built as a crate of its own, with and without the attribute, by
//! `cargo check` (expansion and type checking) and `cargo build --release` (code
//! generation too); the dependencies are built once beforehand, so the times are the
//! function's own.
//!
//! `cargo bench --bench compile` (a few minutes; it runs cargo and rustc, so it measures
//! nothing when they are not on the path).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const SIZES: [usize; 3] = [100, 400, 1_600];

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let work = root.join("target").join("compile-cost");
    let sources = work.join("sources");
    std::fs::create_dir_all(&sources).expect("target/compile-cost");
    // The expansion alone, timed inside the macro crate; it writes the functions.
    let status = Command::new(env!("CARGO"))
        .args([
            "test",
            "-q",
            "-p",
            "autodiff-macros",
            "--release",
            "compile_cost",
        ])
        .args([
            "--",
            "--ignored",
            "--nocapture",
            "--exact",
            "tests::compile_cost::compile_cost",
        ])
        .env("COMPILE_COST_DIR", &sources)
        .current_dir(&root)
        .status()
        .expect("cargo test");
    assert!(status.success(), "the expansion timing failed");

    let target = work.join("target");
    // Dependencies first, in a crate of their own, so that later builds time one crate.
    let warm = write_crate(&work, &root, "warm", "pub fn f() {}\n");
    build(&warm, &target, &["check"]);
    build(&warm, &target, &["build", "--release"]);

    println!("\nbuilding one function, seconds (the crate alone; dependencies built before)");
    println!(
        "{:<10} {:>6} {:>10} {:>10} {:>8} {:>12} {:>12} {:>8}",
        "shape", "n", "check", "plain", "ratio", "release", "plain", "ratio"
    );
    for n in SIZES {
        for shape in ["straight", "loops"] {
            let source = std::fs::read_to_string(sources.join(format!("{shape}_{n}.rs")))
                .expect("a generated function");
            let times = measure(&work, &root, &target, &format!("{shape}_{n}"), &source);
            println!(
                "{shape:<10} {n:>6} {:>10.2} {:>10.2} {:>8.1} {:>12.2} {:>12.2} {:>8.1}",
                times[0],
                times[1],
                times[0] / times[1],
                times[2],
                times[3],
                times[2] / times[3]
            );
        }
    }
}

/// `[check, check without the attribute, release build, release without]`, in seconds.
fn measure(work: &Path, root: &Path, target: &Path, name: &str, source: &str) -> [f64; 4] {
    let plain_source = source.replace("#[differentiable]", "");
    let annotated = write_crate(work, root, name, source);
    let plain = write_crate(work, root, &format!("{name}_plain"), &plain_source);
    [
        build(&annotated, target, &["check"]),
        build(&plain, target, &["check"]),
        build(&annotated, target, &["build", "--release"]),
        build(&plain, target, &["build", "--release"]),
    ]
}

/// A library crate `name` under `work` holding `source`, depending on this workspace's
/// `autodiff` (the AD core only) at the workspace's locked versions.
fn write_crate(work: &Path, root: &Path, name: &str, source: &str) -> PathBuf {
    let dir = work.join("crates").join(name);
    std::fs::create_dir_all(dir.join("src")).expect("a crate directory");
    let manifest = format!(
        "[package]\nname = \"cost_{name}\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\n\
         [dependencies]\nautodiff = {{ path = {:?}, default-features = false }}\n\n[workspace]\n",
        root.display().to_string()
    );
    std::fs::write(dir.join("Cargo.toml"), manifest).expect("Cargo.toml");
    std::fs::copy(root.join("Cargo.lock"), dir.join("Cargo.lock")).expect("Cargo.lock");
    let lib = format!(
        "#![allow(unused_imports, dead_code, clippy::all)]\nuse autodiff::differentiable;\n\n{source}"
    );
    std::fs::write(dir.join("src").join("lib.rs"), lib).expect("lib.rs");
    dir
}

/// Seconds `cargo <args>` takes on the crate at `dir` after touching its source.
fn build(dir: &Path, target: &Path, args: &[&str]) -> f64 {
    let lib = dir.join("src").join("lib.rs");
    let text = std::fs::read(&lib).expect("lib.rs");
    std::fs::write(&lib, text).expect("touch lib.rs");
    let start = Instant::now();
    let status = Command::new(env!("CARGO"))
        .args(args)
        .args(["-q", "--offline"])
        .env("CARGO_TARGET_DIR", target)
        .current_dir(dir)
        .status()
        .expect("cargo");
    assert!(
        status.success(),
        "cargo {args:?} failed in {}",
        dir.display()
    );
    start.elapsed().as_secs_f64()
}
