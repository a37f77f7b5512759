//! `#[differentiable(jacobian)]`: `f_jacobian` against central differences and against
//! `f_jvp` column by column, for float, slice, `Vec`, fixed-array and struct parameters,
//! in each of its three strategies (vector forward mode, `f_jvp` per column, a pullback
//! per row).

use autodiff::nalgebra::DMatrix;
use autodiff::{differentiable, Differentiable};

/// Central differences of a function of flat inputs with flat outputs.
fn fd_jacobian(f: &dyn Fn(&[f64]) -> Vec<f64>, x: &[f64]) -> DMatrix<f64> {
    let m = f(x).len();
    let mut j = DMatrix::zeros(m, x.len());
    for c in 0..x.len() {
        let h = 1e-6 * x[c].abs().max(1.0);
        let (mut up, mut down) = (x.to_vec(), x.to_vec());
        up[c] += h;
        down[c] -= h;
        let (a, b) = (f(&up), f(&down));
        for r in 0..m {
            j[(r, c)] = (a[r] - b[r]) / (2.0 * h);
        }
    }
    j
}

fn assert_close(j: &DMatrix<f64>, want: &DMatrix<f64>, tol: f64) {
    assert_eq!(j.shape(), want.shape());
    let err = (j - want).amax();
    assert!(
        err <= tol * want.amax().max(1.0),
        "Jacobian\n{j}expected\n{want}error {err}"
    );
}

/// Three outputs per input, a branch and a loop: more outputs than inputs (lanes); with
/// the default eight columns a sweep and with the ones `lanes` gives.
macro_rules! spread {
    ($name:ident, $($args:tt)*) => {
        #[differentiable($($args)*)]
        pub fn $name(x: &[f64], s: f64) -> Vec<f64> {
            let mut out = vec![0.0; 3 * x.len()];
            for (i, &v) in x.iter().enumerate() {
                let t = v * s;
                out[3 * i] = t.sin();
                out[3 * i + 1] = t * t + s;
                out[3 * i + 2] = if t > 0.0 { t.sqrt() } else { -t };
            }
            out
        }
    };
}
spread!(spread, jacobian);
spread!(spread_by_5, jacobian(lanes = 5));
spread!(spread_in_one, jacobian(lanes = 13), wrt(x, s));

#[test]
fn vector_forward_mode_over_a_slice_and_a_float() {
    // 13 inputs: two blocks of eight lanes, the second partly empty.
    let x: Vec<f64> = (0..12).map(|i| (i as f64 * 0.37).sin() + 0.1).collect();
    let (value, j) = spread_jacobian(&x, 0.5);
    assert_eq!(value, spread(&x, 0.5));
    assert_eq!(j.shape(), (36, 13));
    let flat = [x.clone(), vec![0.5]].concat();
    let fd = fd_jacobian(&|p| spread(&p[..12], p[12]), &flat);
    assert_close(&j, &fd, 1e-6);
    // Column by column through f_jvp: the same numbers.
    for c in 0..13 {
        let mut dx = vec![0.0; 12];
        let ds = if c == 12 { 1.0 } else { 0.0 };
        if c < 12 {
            dx[c] = 1.0;
        }
        let (_, col) = spread_jvp(&x, 0.5, &dx, ds);
        for (r, v) in col.iter().enumerate() {
            assert!(
                (v - j[(r, c)]).abs() <= 1e-14 * (1.0 + v.abs()),
                "({r}, {c})"
            );
        }
    }
}

#[test]
fn lanes_choose_the_columns_of_a_sweep() {
    // 13 columns in sweeps of 5, 5 and 3, or in one: each column's arithmetic is the same.
    let x: Vec<f64> = (0..12).map(|i| (i as f64 * 0.37).sin() - 0.2).collect();
    let (value, j) = spread_jacobian(&x, -0.75);
    assert_eq!(spread_by_5_jacobian(&x, -0.75), (value.clone(), j.clone()));
    assert_eq!(spread_in_one_jacobian(&x, -0.75), (value, j));
}

/// A fixed array and a `Vec` by value, a fixed-array result; `f32`-free.
#[differentiable(jacobian)]
pub fn mix(a: [f64; 2], v: Vec<f64>, k: usize) -> [f64; 4] {
    let total: f64 = v.iter().sum();
    [
        a[0] * total,
        a[1].exp() * v[0],
        (a[0] - a[1]).tanh() * k as f64,
        total * total,
    ]
}

#[test]
fn arrays_and_vecs() {
    let (a, v) = ([0.3, -0.4], vec![1.5, -0.5, 0.25]);
    let (_, j) = mix_jacobian(a, v.clone(), 2);
    assert_eq!(j.shape(), (4, 5));
    let flat = [a.to_vec(), v.clone()].concat();
    let fd = fd_jacobian(&|p| mix([p[0], p[1]], p[2..].to_vec(), 2).to_vec(), &flat);
    assert_close(&j, &fd, 1e-6);
}

/// More inputs than outputs: reverse mode, a pullback per row.
#[differentiable(jacobian)]
pub fn moments(x: &[f64]) -> [f64; 2] {
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    let var = x.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
    [mean, var]
}

#[test]
fn rows_by_reverse_mode() {
    let x = [0.5, -1.0, 2.0, 0.0, 3.5];
    let (value, j) = moments_jacobian(&x);
    assert_eq!(value, moments(&x));
    let fd = fd_jacobian(&|p| moments(p).to_vec(), &x);
    assert_close(&j, &fd, 1e-6);
}

/// Straight-line code (a branch, no loop or call): its pullback captures only numbers and
/// borrowed parameters, so `f_vjp` returns it as `Fn + Copy` and `f_jacobian` runs the
/// primal once for all rows.
#[differentiable(jacobian)]
pub fn pinhole(cam: &[f64; 3], point: &[f64; 3], w: f64) -> [f64; 2] {
    let (x, y, z) = (point[0] - cam[0], point[1] - cam[1], point[2] - cam[2]);
    let s = if z > 0.0 { w / z } else { w * (1.0 - z) };
    [x * s, (y * s).sin()]
}

#[test]
fn rows_from_one_sweep_when_the_pullback_is_reusable() {
    let points = [
        ([0.1, -0.2, 0.0], [1.0, 2.0, 3.0], 0.5),
        ([0.0; 3], [-1.0, 0.5, -2.0], -1.5),
        ([0.3, 0.0, 1.0], [0.0, 0.0, 0.0], 0.0),
    ];
    for (cam, point, w) in points {
        let flat = |p: &[f64]| pinhole(&[p[0], p[1], p[2]], &[p[3], p[4], p[5]], p[6]).to_vec();
        let x: Vec<f64> = cam.iter().chain(&point).copied().chain([w]).collect();
        let (value, j) = pinhole_jacobian(&cam, &point, w);
        assert_eq!(value, pinhole(&cam, &point, w));
        assert_close(&j, &fd_jacobian(&flat, &x), 1e-6);
        // The pullback itself, called once per row, the second time through a copy.
        let (_, pullback) = pinhole_vjp(&cam, &point, w);
        let copy = pullback;
        for (r, seed) in [[1.0, 0.0], [0.0, 1.0]].into_iter().enumerate() {
            let (dcam, dpoint, dw) = if r == 0 { pullback(seed) } else { copy(seed) };
            let row: Vec<f64> = dcam.iter().chain(&dpoint).copied().chain([dw]).collect();
            assert_eq!(row, j.row(r).iter().copied().collect::<Vec<_>>());
        }
    }
}

/// A local array filled in one loop and read in the next: the pullback keeps it and
/// reads it in place (`e[i]`, `e.len()`), so it too may run again, and `f_jacobian` runs
/// the primal once.
#[differentiable(jacobian)]
pub fn smoothed(x: &[f64]) -> [f64; 2] {
    let mut e = vec![0.0; x.len()];
    for i in 0..x.len() {
        e[i] = (x[i] * 0.5).exp();
    }
    let total: f64 = e.iter().sum();
    let mut chain = 0.0;
    for i in 1..e.len() {
        chain += e[i] * e[i - 1] * x[i];
    }
    [total.ln(), chain / total]
}

/// Calls `pullback` through a shared reference: compiles only for an `Fn`.
fn call_again<A, R>(pullback: &impl Fn(A) -> R, seed: A) -> R {
    pullback(seed)
}

#[test]
fn a_pullback_keeping_an_array_runs_again() {
    for x in [
        vec![0.5, -1.0, 2.0, 0.0, 3.5],
        vec![0.0; 4],
        vec![-0.25, -2.0, -0.5],
    ] {
        let (value, j) = smoothed_jacobian(&x);
        assert_eq!(value, smoothed(&x));
        assert_close(&j, &fd_jacobian(&|p| smoothed(p).to_vec(), &x), 1e-6);
        let (_, pullback) = smoothed_vjp(&x);
        for _ in 0..2 {
            for (r, seed) in [[1.0, 0.0], [0.0, 1.0]].into_iter().enumerate() {
                let row = call_again(&pullback, seed);
                assert_eq!(row, j.row(r).iter().copied().collect::<Vec<_>>());
            }
        }
        // Linear in the seed: a combination of seeds gives the combination of rows.
        let mixed = call_again(&pullback, [2.0, -3.0]);
        let want = j.row(0) * 2.0 - j.row(1) * 3.0;
        for (m, w) in mixed.iter().zip(want.iter()) {
            assert!((m - w).abs() <= 1e-12 * (1.0 + w.abs()), "{m} against {w}");
        }
    }
}

#[derive(Clone, Debug, Differentiable)]
pub struct Arm {
    pub lengths: [f64; 2],
    pub offset: f64,
}

/// A struct parameter (its fields in declaration order): `f_jvp` per column.
#[differentiable(jacobian)]
pub fn reach(arm: &Arm, angles: &[f64]) -> Vec<f64> {
    let (a, b) = (angles[0], angles[0] + angles[1]);
    vec![
        arm.lengths[0] * a.cos() + arm.lengths[1] * b.cos() + arm.offset,
        arm.lengths[0] * a.sin() + arm.lengths[1] * b.sin(),
        arm.offset * a,
        b * b,
        arm.lengths[0] * arm.lengths[1],
    ]
}

#[test]
fn struct_parameters_in_visit_order() {
    let arm = Arm {
        lengths: [1.0, 0.5],
        offset: 0.25,
    };
    let angles = [0.3, -0.8];
    let (_, j) = reach_jacobian(&arm, &angles);
    assert_eq!(j.shape(), (5, 5));
    let rebuild = |p: &[f64]| {
        let arm = Arm {
            lengths: [p[0], p[1]],
            offset: p[2],
        };
        reach(&arm, &p[3..])
    };
    let flat = [arm.to_flat(), angles.to_vec()].concat();
    assert_close(&j, &fd_jacobian(&rebuild, &flat), 1e-6);
}

/// `f32`, `wrt`, a float result (one row).
#[differentiable(jacobian, wrt(x))]
pub fn scaled(x: &[f32], c: f32) -> f32 {
    x.iter().map(|v| (v * c).sin()).sum()
}

#[test]
fn one_row_of_f32() {
    let x = [0.5_f32, -0.25];
    let (_, j) = scaled_jacobian(&x, 2.0);
    assert_eq!(j.shape(), (1, 2));
    for (k, &v) in x.iter().enumerate() {
        assert!((j[(0, k)] - 2.0 * (2.0 * v).cos()).abs() < 1e-5);
    }
}

/// Vector mode through a `while` loop, `windows`, `max`, `abs`, `powi`, `continue` and
/// an early `return`.
#[differentiable(jacobian)]
pub fn profile(x: &[f64], gain: f64) -> Vec<f64> {
    let mut out = Vec::with_capacity(4 * x.len());
    for w in x.windows(2) {
        out.push((w[1] - w[0]).abs() * gain);
        out.push(w[0].max(w[1]).powi(3));
    }
    let mut k = 0;
    let mut acc = gain;
    while k < x.len() {
        k += 1;
        if x[k - 1] < -5.0 {
            continue;
        }
        acc = acc * 0.5 + x[k - 1].sin();
        out.push(acc);
    }
    if gain > 100.0 {
        return out;
    }
    out.push(acc * acc);
    out
}

#[test]
fn vector_mode_through_control_flow() {
    let x = [0.3, -1.2, 0.8, 2.0, -0.4];
    let (value, j) = profile_jacobian(&x, 1.5);
    assert_eq!(value, profile(&x, 1.5));
    assert_eq!(j.shape(), (value.len(), 6));
    let flat = [x.to_vec(), vec![1.5]].concat();
    let fd = fd_jacobian(&|p| profile(&p[..5], p[5]), &flat);
    assert_close(&j, &fd, 1e-6);
    for c in 0..6 {
        let mut dx = [0.0; 5];
        if c < 5 {
            dx[c] = 1.0;
        }
        let (_, col) = profile_jvp(&x, 1.5, &dx, if c == 5 { 1.0 } else { 0.0 });
        for (r, v) in col.iter().enumerate() {
            assert!(
                (v - j[(r, c)]).abs() <= 1e-14 * (1.0 + v.abs()),
                "({r}, {c})"
            );
        }
    }
}
