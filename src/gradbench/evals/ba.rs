//! `ba`: bundle adjustment. The input describes one camera, point, weight and feature;
//! the problem is n cameras, m points and p observations made of copies of them
//! (observation i sees camera i mod n and point i mod m), computed in full.

use super::{computation, parse, unknown, Job};
use rayon::prelude::*;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::gradbench::objectives::ba::{
    reprojection, reprojection_block, weight_residual, weight_residual_grad,
};

#[derive(Deserialize)]
struct Input {
    n: usize,
    m: usize,
    p: usize,
    cam: [f64; 11],
    x: [f64; 3],
    w: f64,
    feat: [f64; 2],
}

/// The expanded problem.
struct Ba {
    cams: Vec<[f64; 11]>,
    points: Vec<[f64; 3]>,
    weights: Vec<f64>,
    features: Vec<[f64; 2]>,
}

impl Ba {
    fn from_input(i: Input) -> Result<Ba, String> {
        if i.n == 0 || i.m == 0 || i.p == 0 {
            return Err(format!("ba: n = {}, m = {}, p = {}", i.n, i.m, i.p));
        }
        Ok(Ba {
            cams: vec![i.cam; i.n],
            points: vec![i.x; i.m],
            weights: vec![i.w; i.p],
            features: vec![i.feat; i.p],
        })
    }

    fn observation(&self, i: usize) -> (&[f64; 11], &[f64; 3], f64, &[f64; 2]) {
        (
            &self.cams[i % self.cams.len()],
            &self.points[i % self.points.len()],
            self.weights[i],
            &self.features[i],
        )
    }

    /// The 2p reprojection residuals and the p weight residuals.
    fn residuals(&self) -> (Vec<f64>, Vec<f64>) {
        let p = self.weights.len();
        let mut reproj = vec![0.0; 2 * p];
        reproj.par_chunks_mut(2).enumerate().for_each(|(i, pair)| {
            let (cam, point, w, feat) = self.observation(i);
            pair.copy_from_slice(&reprojection(cam, point, w, feat));
        });
        let weight = self
            .weights
            .par_iter()
            .map(|&w| weight_residual(w))
            .collect();
        (reproj, weight)
    }

    /// The Jacobian in CSR form: 15 entries per reprojection row (its camera's 11
    /// columns, its point's 3, its weight's), one per weight row. The values are written
    /// in place, an observation's two rows at a time, in parallel.
    fn jacobian(&self) -> Csr {
        let (n, m, p) = (self.cams.len(), self.points.len(), self.weights.len());
        let mut vals = vec![0.0; 31 * p];
        let (reproj, weight) = vals.split_at_mut(30 * p);
        reproj
            .par_chunks_mut(30)
            .enumerate()
            .for_each(|(i, block)| {
                let (cam, point, w, feat) = self.observation(i);
                let (_, grads) = reprojection_block(cam, point, w, feat);
                for (row, (dcam, dpoint, dw)) in block.chunks_mut(15).zip(grads) {
                    row[..11].copy_from_slice(&dcam);
                    row[11..14].copy_from_slice(&dpoint);
                    row[14] = dw;
                }
            });
        weight
            .par_iter_mut()
            .zip(&self.weights)
            .for_each(|(d, &w)| *d = weight_residual_grad(w).1);
        let mut cols = Vec::with_capacity(31 * p);
        for r in 0..2 * p {
            let i = r / 2;
            let (c, j) = (i % n, i % m);
            cols.extend(11 * c..11 * c + 11);
            cols.extend(11 * n + 3 * j..11 * n + 3 * j + 3);
            cols.push(11 * n + 3 * m + i);
        }
        cols.extend((0..p).map(|i| 11 * n + 3 * m + i));
        let rows = (0..=2 * p)
            .map(|r| 15 * r)
            .chain((1..=p).map(|i| 30 * p + i))
            .collect();
        Csr { rows, cols, vals }
    }
}

struct Csr {
    rows: Vec<usize>,
    cols: Vec<usize>,
    vals: Vec<f64>,
}

/// The first 30 entries and the last, as GradBench compares them.
fn ends<T: Copy + serde::Serialize>(xs: &[T]) -> Value {
    let mut kept: Vec<T> = xs.iter().take(30).copied().collect();
    kept.extend(xs.last());
    json!(kept)
}

pub fn job(function: &str, input: Value) -> Result<Box<dyn Job>, String> {
    let ba = Ba::from_input(parse(input)?)?;
    match function {
        "objective" => Ok(computation(ba, Ba::residuals, |(e, we)| {
            json!({
                "reproj_error": {"elements": &e[..2], "repeated": e.len() / 2},
                "w_err": {"element": we[0], "repeated": we.len()},
            })
        })),
        "jacobian" => Ok(computation(
            ba,
            Ba::jacobian,
            |j| json!({"rows": ends(&j.rows), "cols": ends(&j.cols), "vals": ends(&j.vals)}),
        )),
        _ => Err(unknown("ba", function)),
    }
}
