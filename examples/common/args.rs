//! Checks of the training examples' flags, made before any work: clap calls the parsers
//! below for each numeric flag, and `writable` is called on every output path before the
//! data is loaded, so that a typo costs nothing and no epoch is trained for nothing.

use std::path::Path;

/// A count of at least 1 (`--batch`, `--epochs`, `--train-limit`, `--threads`).
pub fn positive(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(format!("not a whole number: {e}")),
    }
}

/// A finite rate greater than 0 (`--lr`).
pub fn rate(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(r) if r.is_finite() && r > 0.0 => Ok(r),
        Ok(r) => Err(format!("must be a finite number greater than 0, not {r}")),
        Err(e) => Err(format!("not a number: {e}")),
    }
}

/// A fraction in `[0, 1]` (`--min-accuracy`).
pub fn fraction(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(f) if (0.0..=1.0).contains(&f) => Ok(f),
        Ok(f) => Err(format!(
            "must be between 0 and 1 (a fraction, not a percentage), not {f}"
        )),
        Err(e) => Err(format!("not a number: {e}")),
    }
}

/// Whether a file can be written at `path`: its folder exists and takes a new file (one
/// is created there and removed; `path` itself is not touched), and `path` is not a folder.
pub fn writable(flag: &str, path: &Path) -> Result<(), String> {
    let fail = |why: String| Err(format!("--{flag} {}: {why}", path.display()));
    if path.is_dir() {
        return fail("is a folder, not a file".into());
    }
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !folder.is_dir() {
        return fail(format!("the folder {} does not exist", folder.display()));
    }
    let probe = folder.join(format!(".autodiff-write-check-{}", std::process::id()));
    match std::fs::File::create(&probe) {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            Ok(())
        }
        Err(e) => fail(format!("cannot write in {}: {e}", folder.display())),
    }
}
