//! `kmeans`: the k-means cost `Σᵢ minⱼ ‖pᵢ − cⱼ‖²` and the Newton direction `J ⊘ H` in the
//! centroids, with `J` the gradient and `H` the diagonal of the Hessian. The Hessian is
//! diagonal, so its diagonal is the Hessian times the all-ones vector: the gradient of
//! the directional derivative along ones (reverse over forward), which gives `J` too.

use super::{computation, flatten, parse, rows, unknown, Job};
use autodiff::differentiable;
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize)]
struct Input {
    points: Vec<Vec<f64>>,
    centroids: Vec<Vec<f64>>,
}

struct KMeans {
    points: Vec<f64>,
    centroids: Vec<f64>,
    d: usize,
}

/// The index of the centroid nearest to point `i` (the first of equals).
fn nearest(points: &[f64], centroids: &[f64], i: usize, d: usize) -> usize {
    let point = &points[i * d..(i + 1) * d];
    let mut best = (0, f64::INFINITY);
    for (j, centroid) in centroids.chunks_exact(d).enumerate() {
        let dist: f64 = point
            .iter()
            .zip(centroid)
            .map(|(p, c)| (p - c) * (p - c))
            .sum();
        if dist < best.1 {
            best = (j, dist);
        }
    }
    best.0
}

/// Each point's squared distance to its nearest centroid (the first of equals), summed.
/// The search is an integer computation, so the derivatives go through the one distance
/// that counts (as the minimum's derivative does) and record nothing of the others.
#[allow(clippy::needless_range_loop)]
#[differentiable(wrt(centroids), nested)]
pub fn cost(points: &[f64], centroids: &[f64], d: usize) -> f64 {
    let n = points.len() / d;
    let mut total = 0.0;
    for i in 0..n {
        let j = nearest(points, centroids, i, d);
        for t in 0..d {
            let diff = points[i * d + t] - centroids[j * d + t];
            total += diff * diff;
        }
    }
    total
}

impl KMeans {
    /// `J ⊘ H`: one reverse pass over the directional derivative along ones gives
    /// `(H·1, J)`.
    fn direction(&self) -> Vec<f64> {
        let ones = vec![1.0; self.centroids.len()];
        let (_, (hessian, gradient)) = cost_dir_grad(&self.points, &self.centroids, self.d, &ones);
        gradient.iter().zip(&hessian).map(|(j, h)| j / h).collect()
    }
}

pub fn job(function: &str, input: Value) -> Result<Box<dyn Job>, String> {
    let input: Input = parse(input)?;
    let d = input.points.first().map_or(0, Vec::len);
    if d == 0 || input.centroids.is_empty() {
        return Err("kmeans: points and centroids must not be empty".into());
    }
    let k = KMeans {
        points: flatten(&input.points, d, "points")?,
        centroids: flatten(&input.centroids, d, "centroids")?,
        d,
    };
    match function {
        "cost" => Ok(computation(
            k,
            |k| cost(&k.points, &k.centroids, k.d),
            |c| json!(c),
        )),
        "dir" => Ok(computation(k, KMeans::direction, move |v| {
            json!(rows(v, d))
        })),
        _ => Err(unknown("kmeans", function)),
    }
}
