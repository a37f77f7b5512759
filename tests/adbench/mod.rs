//! ADBench data for the tests (`tests/data/adbench`), read through `autodiff::gradbench::adbench`,
//! ADBench's closeness measure and the checks built on it.
#![allow(dead_code)]

pub mod ba;
pub mod gmm;
pub mod lstm;

use std::path::{Path, PathBuf};

/// The ADBench data: `$ADBENCH_DATA` if set (the full set, for the ignored tests), else
/// the subset committed in `tests/data/adbench` (see its README).
pub fn dir() -> PathBuf {
    match std::env::var_os("ADBENCH_DATA") {
        Some(full) => PathBuf::from(full),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/adbench"),
    }
}

/// The numbers of a file (ADBench's format).
pub fn numbers(path: &Path) -> Vec<f64> {
    autodiff::gradbench::adbench::numbers(path).unwrap_or_else(|e| panic!("{e}"))
}

/// ADBench's closeness measure: ρ(x, y) = |x − y| / max(1, |x| + |y|).
pub fn rho(x: f64, y: f64) -> f64 {
    (x - y).abs() / (x.abs() + y.abs()).max(1.0)
}

/// The largest ρ between two equally long vectors, and where it is.
pub fn max_rho(ours: &[f64], reference: &[f64]) -> (f64, usize) {
    assert_eq!(
        ours.len(),
        reference.len(),
        "length differs from the reference"
    );
    ours.iter()
        .zip(reference)
        .enumerate()
        .map(|(i, (a, b))| (rho(*a, *b), i))
        .fold((0.0, 0), |m, x| if x.0 > m.0 { x } else { m })
}

/// Checks an objective and its gradient against `<dir>/<name>.ref_F.txt` and `.ref_J.txt`
/// at ADBench's tolerance (ρ ≤ 1e-8), reporting the largest ρ.
pub fn assert_matches_reference(folder: &str, name: &str, value: f64, gradient: &[f64]) {
    let dir = dir().join(folder);
    let ref_f = numbers(&dir.join(format!("{name}.ref_F.txt")))[0];
    let ref_j = numbers(&dir.join(format!("{name}.ref_J.txt")));
    assert_close_to(name, value, ref_f, gradient, &ref_j);
}

/// An objective and its gradient against reference values at ADBench's tolerance
/// (ρ ≤ 1e-8), reporting the largest ρ.
pub fn assert_close_to(name: &str, value: f64, ref_f: f64, gradient: &[f64], ref_j: &[f64]) {
    let rho_f = rho(value, ref_f);
    let (rho_j, at) = max_rho(gradient, ref_j);
    eprintln!("{name}: F = {value} (reference {ref_f}), objective rho {rho_f:e}, gradient max rho {rho_j:e}");
    assert!(
        rho_f <= 1e-8,
        "{name}: objective {value} vs reference {ref_f}"
    );
    assert!(
        rho_j <= 1e-8,
        "{name}: gradient entry {at} is {} vs reference {}",
        gradient[at],
        ref_j[at]
    );
}

/// A direction for forward-mode checks: `sin(i·k)` (or `cos`) per coordinate.
pub fn direction(len: usize, k: f64, cosine: bool) -> Vec<f64> {
    (0..len)
        .map(|i| {
            if cosine {
                (i as f64 * k).cos()
            } else {
                (i as f64 * k).sin()
            }
        })
        .collect()
}

/// Forward mode's tangent along `direction` equals the gradient's projection on it.
pub fn assert_forward_matches(name: &str, tangent: f64, direction: &[f64], gradient: &[f64]) {
    let expected: f64 = direction.iter().zip(gradient).map(|(a, b)| a * b).sum();
    assert!(
        rho(tangent, expected) <= 1e-10,
        "{name}: forward {tangent} vs reverse {expected}"
    );
}
