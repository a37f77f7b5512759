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
    let gradient = [ga, gm, gi].concat();
    adbench::assert_matches_reference("gmm", name, value, &gradient);
    // Forward mode agrees with reverse mode along a direction.
    let da = adbench::direction(g.alphas.len(), 0.37, false);
    let dm = adbench::direction(g.means.len(), 0.71, true);
    let di = adbench::direction(g.icf.len(), 0.13, false);
    let (_, t) = gmm_objective_jvp(
        &g.alphas, &g.means, &g.icf, &g.x, g.d, g.k, g.n, g.gamma, g.m, constant, &da, &dm, &di,
    );
    adbench::assert_forward_matches(name, t, &[da, dm, di].concat(), &gradient);
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
