//! ADBench's Gaussian mixture model objective, written as plain loops over the flat
//! parameter arrays and differentiated by `#[differentiable]`; validated against the
//! ADBench references in `../shared/adbench/gmm` at ADBench's tolerance (ρ ≤ 1e-8).

mod adbench;

use adbench::gmm::{constant_terms, gmm_objective_grad, gmm_objective_jvp, read_gmm};

fn check(name: &str) {
    let g = read_gmm(name);
    let constant = constant_terms(g.d, g.k, g.n, g.gamma, g.m);
    let (value, (ga, gm, gi)) = gmm_objective_grad(
        &g.alphas, &g.means, &g.icf, &g.x, g.d, g.k, g.n, g.gamma, g.m, constant,
    );
    let dir = adbench::dir().join("gmm");
    let ref_f = adbench::numbers(&dir.join(format!("{name}.ref_F.txt")))[0];
    let ref_j = adbench::numbers(&dir.join(format!("{name}.ref_J.txt")));
    let rho_f = adbench::rho(value, ref_f);
    eprintln!("{name}: F = {value} (reference {ref_f})");
    assert!(
        rho_f <= 1e-8,
        "{name}: objective {value} vs reference {ref_f} (rho {rho_f:e})"
    );
    let ours = [ga, gm, gi].concat();
    let (rho_j, at) = adbench::max_rho(&ours, &ref_j);
    eprintln!("{name}: gradient max rho {rho_j:e}, objective rho {rho_f:e}");
    assert!(
        rho_j <= 1e-8,
        "{name}: gradient entry {at} is {} vs reference {} (rho {rho_j:e})",
        ours[at],
        ref_j[at]
    );
    // Forward mode agrees with reverse mode along a direction.
    let dir_a: Vec<f64> = (0..g.alphas.len())
        .map(|i| (i as f64 * 0.37).sin())
        .collect();
    let dir_m: Vec<f64> = (0..g.means.len())
        .map(|i| (i as f64 * 0.71).cos())
        .collect();
    let dir_i: Vec<f64> = (0..g.icf.len()).map(|i| (i as f64 * 0.13).sin()).collect();
    let (_, t) = gmm_objective_jvp(
        &g.alphas, &g.means, &g.icf, &g.x, g.d, g.k, g.n, g.gamma, g.m, constant, &dir_a, &dir_m,
        &dir_i,
    );
    let expected: f64 = [dir_a, dir_m, dir_i]
        .concat()
        .iter()
        .zip(&ours)
        .map(|(a, b)| a * b)
        .sum();
    assert!(
        adbench::rho(t, expected) <= 1e-10,
        "{name}: forward {t} vs reverse {expected}"
    );
}

#[test]
fn adbench_unit_test_instance() {
    check("test");
}

#[test]
fn one_thousand_points_d2() {
    check("1k/gmm_d2_K5");
    check("1k/gmm_d2_K10");
}

#[test]
fn one_thousand_points_d10() {
    check("1k/gmm_d10_K5");
}

#[test]
fn one_thousand_points_larger() {
    check("1k/gmm_d10_K25");
    check("1k/gmm_d20_K5");
}

#[test]
fn sixty_four_dimensions_and_ten_thousand_points() {
    check("1k/gmm_d64_K5");
    check("10k/gmm_d2_K5");
    check("10k/gmm_d10_K5");
    check("10k/gmm_d10_K25");
}
