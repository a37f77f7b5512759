//! Code written in edition 2024 (the crate's own code is 2021): `tests/programs/
//! edition2024.rs` is built as a crate of its own, edition 2024, depending on this one
//! with only the AD core, and run; it checks its gradients itself. A Cargo target cannot
//! choose its own edition without a deprecation warning, hence the separate crate.

use std::path::Path;
use std::process::Command;

#[test]
fn edition_2024_program_builds_and_checks_its_gradients() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("edition2024");
    std::fs::create_dir_all(dir.join("src")).expect("a directory for the crate");
    let manifest = format!(
        "[package]\nname = \"edition2024\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n\
         [dependencies]\nautodiff = {{ path = {:?}, default-features = false }}\n\n[workspace]\n",
        root.display().to_string()
    );
    std::fs::write(dir.join("Cargo.toml"), manifest).expect("Cargo.toml written");
    // The workspace's versions of every dependency, so nothing new is fetched.
    std::fs::copy(root.join("Cargo.lock"), dir.join("Cargo.lock")).expect("Cargo.lock copied");
    std::fs::copy(
        root.join("tests/programs/edition2024.rs"),
        dir.join("src/main.rs"),
    )
    .expect("the program copied");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .args(["run", "--quiet", "--offline"])
        .current_dir(&dir)
        .env("CARGO_TARGET_DIR", root.join("target/tests/edition2024"))
        .env_remove("RUSTFLAGS")
        .output()
        .expect("cargo runs");
    assert!(
        output.status.success(),
        "the edition 2024 program failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
