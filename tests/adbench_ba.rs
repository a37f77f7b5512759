//! ADBench's bundle adjustment residuals, written as plain Rust and differentiated by
//! `#[differentiable]`: the 2×15 Jacobian block of each reprojection residual comes from
//! its pullback, seeded with each component. Validated against the references in
//! `tests/data/adbench/ba` at ADBench's tolerance (ρ ≤ 1e-8).

#![cfg(feature = "gradbench")]

mod adbench;

use adbench::ba::{reprojection_block, reprojection_jvp, weight_residual_grad};

/// One BA file: its sizes and the single camera, point, weight and feature every
/// observation repeats (observation i links camera i % n and point i % m).
struct Ba {
    n: usize,
    m: usize,
    p: usize,
    cam: [f64; 11],
    point: [f64; 3],
    w: f64,
    feature: [f64; 2],
}

fn read_ba(name: &str) -> Ba {
    let v = adbench::numbers(&adbench::dir().join(format!("ba/{name}.txt")));
    let mut cam = [0.0; 11];
    cam.copy_from_slice(&v[3..14]);
    Ba {
        n: v[0] as usize,
        m: v[1] as usize,
        p: v[2] as usize,
        cam,
        point: [v[14], v[15], v[16]],
        w: v[17],
        feature: [v[18], v[19]],
    }
}

/// Residual `row` and its Jacobian entries `(column, value)`, in ADBench's layout:
/// rows 0..2p are reprojection residuals (x, y per observation), rows 2p..3p weights;
/// columns are 11n camera parameters, 3m point coordinates, p weights.
fn row(ba: &Ba, row: usize) -> (f64, Vec<(usize, f64)>) {
    let (n, m, p) = (ba.n, ba.m, ba.p);
    if row >= 2 * p {
        let i = row - 2 * p;
        let (r, d) = weight_residual_grad(ba.w);
        return (r, vec![(11 * n + 3 * m + i, d)]);
    }
    let (i, which) = (row / 2, row % 2);
    let (r, rows) = reprojection_block(&ba.cam, &ba.point, ba.w, &ba.feature);
    let (r, (dcam, dpoint, dw)) = (r[which], rows[which]);
    let (cam_col, point_col) = (11 * (i % n), 11 * n + 3 * (i % m));
    let mut entries: Vec<(usize, f64)> = dcam
        .iter()
        .enumerate()
        .map(|(c, &v)| (cam_col + c, v))
        .collect();
    entries.extend(dpoint.iter().enumerate().map(|(c, &v)| (point_col + c, v)));
    entries.push((11 * n + 3 * m + i, dw));
    (r, entries)
}

fn compare(name: &str, what: &str, ours: f64, reference: f64) {
    let rho = adbench::rho(ours, reference);
    assert!(
        rho <= 1e-8,
        "{name}: {what} is {ours}, reference {reference} (rho {rho:e})"
    );
}

#[test]
fn unit_test_instance_all_residuals_and_jacobian() {
    let ba = read_ba("test");
    let ref_f = adbench::numbers(&adbench::dir().join("ba/test.ref_F.txt"));
    let ref_j = adbench::numbers(&adbench::dir().join("ba/test.ref_J.txt"));
    assert_eq!(ref_f.len(), 3 * ba.p);
    let mut entries = Vec::new();
    for (r, &reference) in ref_f.iter().enumerate() {
        let (value, jac) = row(&ba, r);
        compare("test", &format!("residual {r}"), value, reference);
        entries.extend(jac.into_iter().map(|(c, v)| (r, c, v)));
    }
    assert_eq!(entries.len() * 3, ref_j.len(), "number of Jacobian entries");
    for ((r, c, v), reference) in entries.iter().zip(ref_j.chunks(3)) {
        assert_eq!(
            (*r as f64, *c as f64),
            (reference[0], reference[1]),
            "entry position"
        );
        compare("test", &format!("J[{r}, {c}]"), *v, reference[2]);
    }
    // Forward mode gives the same Jacobian column by column.
    let mut dcam = [0.0; 11];
    dcam[6] = 1.0;
    let (_, t) = reprojection_jvp(&ba.cam, &ba.point, ba.w, &ba.feature, &dcam, &[0.0; 3], 0.0);
    let (_, rows) = reprojection_block(&ba.cam, &ba.point, ba.w, &ba.feature);
    for which in 0..2 {
        compare("test", "forward-mode d/df", t[which], rows[which].0[6]);
    }
}

#[test]
fn benchmark_instances_reference_rows() {
    for name in [
        "ba1_n49_m7776_p31843",
        "ba2_n21_m11315_p36455",
        "ba3_n161_m48126_p182072",
    ] {
        let ba = read_ba(name);
        let dir = adbench::dir().join("ba");
        let ref_f = adbench::numbers(&dir.join(format!("{name}.ref_F_rows.txt")));
        for pair in ref_f.chunks(2) {
            compare(
                name,
                &format!("residual {}", pair[0]),
                row(&ba, pair[0] as usize).0,
                pair[1],
            );
        }
        let ref_j = adbench::numbers(&dir.join(format!("{name}.ref_J_rows.txt")));
        for entry in ref_j.chunks(3) {
            let (r, c) = (entry[0] as usize, entry[1] as usize);
            let jac = row(&ba, r).1;
            let value = jac.iter().find(|(col, _)| *col == c).map(|&(_, v)| v);
            let value = value.unwrap_or_else(|| panic!("{name}: no entry J[{r}, {c}]"));
            compare(name, &format!("J[{r}, {c}]"), value, entry[2]);
        }
    }
}
