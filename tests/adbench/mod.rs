//! ADBench data: readers for the shared input files and references, and ADBench's
//! closeness measure.
#![allow(dead_code)]

pub mod ba;
pub mod gmm;
pub mod lstm;

use std::path::{Path, PathBuf};

/// `../shared/adbench`, beside the project root.
pub fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/adbench")
}

/// The whitespace-separated tokens of a file (ADBench's readers use `fscanf`).
pub fn tokens(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    text.split_whitespace().map(str::to_string).collect()
}

pub fn numbers(path: &Path) -> Vec<f64> {
    tokens(path)
        .iter()
        .map(|t| {
            t.parse()
                .unwrap_or_else(|e| panic!("{}: bad number {t:?}: {e}", path.display()))
        })
        .collect()
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
    let rho_f = rho(value, ref_f);
    let (rho_j, at) = max_rho(gradient, &ref_j);
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

/// `ln Γ(x)` for `x > 0` (Lanczos, g = 7, 9 terms; relative error below 1e-14): std has no
/// stable `ln_gamma`.
pub fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection: Γ(x) Γ(1 − x) = π / sin(πx).
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = C[0];
    let t = x + G + 0.5;
    for (i, c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

#[test]
fn ln_gamma_matches_known_values() {
    assert!((ln_gamma(1.0)).abs() < 1e-14);
    assert!((ln_gamma(5.0) - 24.0_f64.ln()).abs() < 1e-13);
    assert!((ln_gamma(0.5) - std::f64::consts::PI.sqrt().ln()).abs() < 1e-14);
    assert!((ln_gamma(10.5) - 1_133_278.388_948_785_3_f64.ln()).abs() < 1e-12);
}
