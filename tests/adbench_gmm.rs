//! The Gaussian mixture model objective (GradBench's form, the GradBench tool's code),
//! written as plain loops over flat parameter arrays and differentiated by
//! `#[differentiable]`; validated against the ADBench references in
//! `tests/data/adbench/gmm` (the larger instances with `ADBENCH_DATA`), converted to GradBench's form, at ADBench's tolerance
//! (ρ ≤ 1e-8).

#![cfg(feature = "gradbench")]

mod adbench;

use adbench::gmm::{constant, log_posterior_jvp, read_gmm};

fn check(name: &str) {
    let g = read_gmm(name);
    let (value, gradient) = g.evaluate();
    let (ref_f, ref_j) = adbench::gmm::reference(&g, name);
    adbench::assert_close_to(name, value, ref_f, &gradient, &ref_j);
    // Forward mode agrees with reverse mode along a direction.
    let da = adbench::direction(g.alpha.len(), 0.37, false);
    let dm = adbench::direction(g.mu.len(), 0.71, true);
    let dq = adbench::direction(g.q.len(), 0.13, false);
    let dl = adbench::direction(g.l.len(), 0.29, true);
    let c = constant(g.d, g.k, g.n, g.gamma, g.m);
    let (_, t) = log_posterior_jvp(
        &g.alpha, &g.mu, &g.q, &g.l, &g.x, g.d, g.k, g.n, g.gamma, g.m, c, &da, &dm, &dq, &dl,
    );
    adbench::assert_forward_matches(name, t, &[da, dm, dq, dl].concat(), &gradient);
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
    check("1k/gmm_d10_K10");
}

#[test]
#[ignore = "needs the full ADBench data: ADBENCH_DATA=<folder> cargo test -- --ignored"]
fn one_thousand_points_larger() {
    check("1k/gmm_d10_K5");
    check("1k/gmm_d10_K25");
    check("1k/gmm_d20_K5");
}

#[test]
#[ignore = "needs the full ADBench data: ADBENCH_DATA=<folder> cargo test -- --ignored"]
fn sixty_four_dimensions_and_ten_thousand_points() {
    check("1k/gmm_d64_K5");
    check("10k/gmm_d2_K5");
    check("10k/gmm_d10_K5");
    check("10k/gmm_d10_K25");
}

/// The objective written with iterator chains and closures has the loops' value and
/// gradient, to rounding.
#[test]
fn iterator_chains_agree_with_loops() {
    use autodiff::gradbench::objectives::gmm::{log_posterior_chains_grad, log_posterior_grad};
    let g = read_gmm("1k/gmm_d2_K5");
    let c = constant(g.d, g.k, g.n, g.gamma, g.m);
    let args = (&g.alpha, &g.mu, &g.q, &g.l, &g.x);
    let (v1, (a1, m1, q1, l1)) = log_posterior_grad(
        args.0, args.1, args.2, args.3, args.4, g.d, g.k, g.n, g.gamma, g.m, c,
    );
    let (v2, (a2, m2, q2, l2)) = log_posterior_chains_grad(
        args.0, args.1, args.2, args.3, args.4, g.d, g.k, g.n, g.gamma, g.m, c,
    );
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-10 * (1.0 + a.abs());
    assert!(close(v1, v2), "value {v1} vs {v2}");
    for (x, y) in [a1, m1, q1, l1]
        .concat()
        .iter()
        .zip([a2, m2, q2, l2].concat())
    {
        assert!(close(*x, y), "gradient {x} vs {y}");
    }
}
