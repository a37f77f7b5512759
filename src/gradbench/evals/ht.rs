//! `ht`: hand tracking. A skinned hand model posed by 26 parameters (global rotation and
//! translation, finger angles); the residuals are the distances from data points to the
//! vertices (simple variant) or to points on the mesh's triangles (complicated variant),
//! and the Jacobian is taken in forward mode: one pass per parameter.

use super::{computation, flatten, parse, unknown, Job};
use autodiff::{differentiable, Lanes, Zero};

/// The Jacobian's columns per forward pass (vector forward mode): 26 or 28 columns in two
/// passes. Against eight lanes (four passes, each posing every vertex again) the Jacobian
/// took 0.83× the time at 100 points and 0.84× at 100,000; 10 lanes measured the same as
/// 14, 16 lanes 0.94×, and 28 lanes (one pass) 1.5×, its tangents too wide to stay in
/// registers.
const LANES: usize = 14;
use rayon::prelude::*;
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize)]
struct Input {
    theta: Vec<f64>,
    us: Vec<Vec<f64>>,
    data: Data,
}

#[derive(Deserialize)]
struct Data {
    correspondences: Vec<usize>,
    points: Vec<Vec<f64>>,
    model: ModelInput,
}

#[derive(Deserialize)]
struct ModelInput {
    bone_count: usize,
    parents: Vec<i64>,
    base_relatives: Vec<Vec<Vec<f64>>>,
    inverse_base_absolutes: Vec<Vec<Vec<f64>>>,
    base_positions: Vec<Vec<f64>>,
    weights: Vec<Vec<f64>>,
    triangles: Vec<Vec<usize>>,
    is_mirrored: bool,
}

/// `f(θ, us, <the model and data of hand>, extra..)`: the argument list `residuals` and
/// its derivatives share.
macro_rules! with_hand {
    ($f:path, $hand:expr $(, $extra:expr)*) => {{
        let h = $hand;
        $f(
            &h.theta, &h.us, h.bones, &h.parents, &h.relatives, &h.inverse_absolutes,
            &h.positions, &h.weights, &h.triangles, &h.correspondences, &h.points, h.mirrored
            $(, $extra)*
        )
    }};
}

/// The Jacobian, row-major.
struct Jacobian {
    width: usize,
    rows: Vec<f64>,
}

/// The problem with flat row-major arrays (4×4 matrices as 16 numbers, rows first).
struct Hand {
    theta: Vec<f64>,
    /// `[N][2]` flattened; empty in the simple variant.
    us: Vec<f64>,
    bones: usize,
    parents: Vec<i64>,
    relatives: Vec<f64>,
    inverse_absolutes: Vec<f64>,
    positions: Vec<f64>,
    weights: Vec<f64>,
    triangles: Vec<usize>,
    correspondences: Vec<usize>,
    points: Vec<f64>,
    mirrored: bool,
}

fn matrices(ms: &[Vec<Vec<f64>>], what: &str) -> Result<Vec<f64>, String> {
    let mut flat = Vec::with_capacity(16 * ms.len());
    for m in ms {
        flat.extend(flatten(m, 4, what)?);
    }
    if flat.len() != 16 * ms.len() {
        return Err(format!("{what}: every matrix must be 4×4"));
    }
    Ok(flat)
}

impl Hand {
    fn from_input(i: Input) -> Result<Hand, String> {
        let m = i.data.model;
        let bones = m.bone_count;
        let n = i.data.correspondences.len();
        let vertices = m.base_positions.len();
        let complicated = !i.us.is_empty();
        let triangles = flatten(
            &m.triangles
                .iter()
                .map(|t| t.iter().map(|&v| v as f64).collect())
                .collect::<Vec<Vec<f64>>>(),
            3,
            "triangles",
        )?
        .into_iter()
        .map(|v| v as usize)
        .collect::<Vec<usize>>();
        let hand = Hand {
            theta: i.theta,
            us: flatten(&i.us, 2, "us")?,
            bones,
            parents: m.parents,
            relatives: matrices(&m.base_relatives, "base_relatives")?,
            inverse_absolutes: matrices(&m.inverse_base_absolutes, "inverse_base_absolutes")?,
            positions: flatten(&m.base_positions, 4, "base_positions")?,
            weights: flatten(&m.weights, bones, "weights")?,
            triangles,
            correspondences: i.data.correspondences,
            points: flatten(&i.data.points, 3, "points")?,
            mirrored: m.is_mirrored,
        };
        let ok = hand.theta.len() == 26
            && bones == 22
            && hand.parents.len() == bones
            && hand.parents.iter().enumerate().all(|(b, &p)| p < b as i64)
            && hand.relatives.len() == 16 * bones
            && hand.inverse_absolutes.len() == 16 * bones
            && hand.points.len() == 3 * n
            && (!complicated || hand.us.len() == 2 * n)
            && hand.correspondences.iter().all(|&c| {
                if complicated {
                    3 * c + 2 < hand.triangles.len()
                } else {
                    c < vertices
                }
            })
            && hand.triangles.iter().all(|&v| v < vertices);
        if !ok {
            return Err("ht: the model, points or correspondences are inconsistent".into());
        }
        Ok(hand)
    }

    fn residuals(&self) -> Vec<f64> {
        with_hand!(residuals, self)
    }

    /// Rows of the Jacobian: per residual, `∂/∂us[i]` (complicated variant) then `∂/∂θ`.
    /// The columns come from forward passes in vector mode, `LANES` columns a pass
    /// (`residuals_jvp_lanes`); the passes run in parallel when the tool has more than
    /// one thread.
    fn jacobian(&self) -> Jacobian {
        let complicated = !self.us.is_empty();
        // (θ direction, u direction): each residual depends on its own point's u only, so
        // one pass with every u₀ moved (then every u₁) gives all of those derivatives.
        let mut directions: Vec<(Option<usize>, Option<usize>)> = Vec::new();
        if complicated {
            directions.extend([(None, Some(0)), (None, Some(1))]);
        }
        directions.extend((0..26).map(|p| (Some(p), None)));
        let blocks: Vec<Vec<Lanes<f64, LANES>>> = directions
            .par_chunks(LANES)
            .map(|block| self.tangents(block))
            .collect();
        // Row by row, each block's lanes for that residual in turn: the Jacobian is
        // written once, front to back, without zeroing it first.
        let width = directions.len();
        let rows = 3 * self.correspondences.len();
        let mut jac = Vec::with_capacity(rows * width);
        let last = width - (blocks.len() - 1) * LANES;
        for r in 0..rows {
            let (full, partial) = blocks.split_at(blocks.len() - 1);
            for lanes in full {
                jac.extend_from_slice(&lanes[r].0);
            }
            jac.extend_from_slice(&partial[0][r].0[..last]);
        }
        Jacobian { width, rows: jac }
    }

    /// The residuals' tangents along up to `LANES` directions `(θ index, u index)` at
    /// once: lane `k` of each is the derivative along direction `k`.
    fn tangents(&self, block: &[(Option<usize>, Option<usize>)]) -> Vec<Lanes<f64, LANES>> {
        let mut dtheta = vec![Lanes::<f64, LANES>::zero(); 26];
        let mut dus = vec![Lanes::<f64, LANES>::zero(); self.us.len()];
        for (k, &(p, which)) in block.iter().enumerate() {
            if let Some(p) = p {
                dtheta[p].0[k] = 1.0;
            }
            if let Some(which) = which {
                dus.iter_mut()
                    .skip(which)
                    .step_by(2)
                    .for_each(|d| d.0[k] = 1.0);
            }
        }
        with_hand!(residuals_jvp_lanes::<LANES>, self, &dtheta, &dus).1
    }
}

/// The residuals `points[i] − model point i`, `3N` of them. The model point is the
/// vertex `correspondences[i]` (no `us`: the simple variant) or the point
/// `u₀·g_{t0} + u₁·g_{t1} + (1 − u₀ − u₁)·g_{t2}` of triangle `correspondences[i]`.
// `(1..=20).contains(&b)` is a range outside a `for` loop, which the macro does not take.
#[allow(
    clippy::too_many_arguments,
    clippy::needless_range_loop,
    clippy::manual_range_contains
)]
#[differentiable(wrt(theta, us), jacobian)]
pub fn residuals(
    theta: &[f64],
    us: &[f64],
    bones: usize,
    parents: &[i64],
    relatives: &[f64],
    inverse_absolutes: &[f64],
    positions: &[f64],
    weights: &[f64],
    triangles: &[usize],
    correspondences: &[usize],
    points: &[f64],
    mirrored: bool,
) -> Vec<f64> {
    // Skinning transforms T_b = A_b · inverse_absolutes[b], with A_b the absolute pose.
    let mut absolute = vec![0.0; 16 * bones];
    let mut skin = vec![0.0; 16 * bones];
    for b in 0..bones {
        // Euler angles: fingers f = 0..4 have bones 4f+1..4f+4; segments 2–4 move.
        let mut e0 = 0.0;
        let mut e1 = 0.0;
        if b >= 1 && b <= 20 {
            let f = (b - 1) / 4;
            let segment = (b - 1) % 4;
            if segment == 1 {
                e0 = theta[6 + 4 * f];
                e1 = theta[7 + 4 * f];
            }
            if segment >= 2 {
                e0 = theta[6 + 4 * f + segment];
            }
        }
        // R = Rz(e1)·Ry(0)·Rx(e0), rows listed.
        let (c0, s0, c1, s1) = (e0.cos(), e0.sin(), e1.cos(), e1.sin());
        let mut r = [0.0; 16];
        r[0] = c1;
        r[1] = -s1 * c0;
        r[2] = s1 * s0;
        r[4] = s1;
        r[5] = c1 * c0;
        r[6] = -c1 * s0;
        r[9] = s0;
        r[10] = c0;
        r[15] = 1.0;
        // L_b = relatives[b] · H(R); A_b = A_parent · L_b.
        let mut local = [0.0; 16];
        for i in 0..4 {
            for j in 0..4 {
                let mut sum = 0.0;
                for k in 0..4 {
                    sum += relatives[16 * b + 4 * i + k] * r[4 * k + j];
                }
                local[4 * i + j] = sum;
            }
        }
        let parent = parents[b];
        for i in 0..4 {
            for j in 0..4 {
                let mut sum = local[4 * i + j];
                if parent >= 0 {
                    let p = parent as usize;
                    sum = 0.0;
                    for k in 0..4 {
                        sum += absolute[16 * p + 4 * i + k] * local[4 * k + j];
                    }
                }
                absolute[16 * b + 4 * i + j] = sum;
            }
        }
        for i in 0..4 {
            for j in 0..4 {
                let mut sum = 0.0;
                for k in 0..4 {
                    sum += absolute[16 * b + 4 * i + k] * inverse_absolutes[16 * b + 4 * k + j];
                }
                skin[16 * b + 4 * i + j] = sum;
            }
        }
    }
    // The global rotation G (axis-angle θ[0..3]) and translation θ[3..6].
    let (w0, w1, w2) = (theta[0], theta[1], theta[2]);
    let angle = (w0 * w0 + w1 * w1 + w2 * w2).sqrt();
    let mut g = [0.0; 9];
    g[0] = 1.0;
    g[4] = 1.0;
    g[8] = 1.0;
    if angle >= 1e-4 {
        let (k0, k1, k2) = (w0 / angle, w1 / angle, w2 / angle);
        let (c, s) = (angle.cos(), angle.sin());
        let t = 1.0 - c;
        g[0] = c + t * k0 * k0;
        g[1] = t * k0 * k1 - s * k2;
        g[2] = t * k0 * k2 + s * k1;
        g[3] = t * k1 * k0 + s * k2;
        g[4] = c + t * k1 * k1;
        g[5] = t * k1 * k2 - s * k0;
        g[6] = t * k2 * k0 - s * k1;
        g[7] = t * k2 * k1 + s * k0;
        g[8] = c + t * k2 * k2;
    }
    // The posed vertices: g_v = G · Σ_b weights[v][b] · (T_b · position_v) + translation.
    let vertices = positions.len() / 4;
    let mut posed = vec![0.0; 3 * vertices];
    for v in 0..vertices {
        let mut p = [0.0f64; 3];
        for b in 0..bones {
            let w = weights[bones * v + b];
            if w != 0.0 {
                for i in 0..3 {
                    let mut sum = 0.0;
                    for k in 0..4 {
                        sum += skin[16 * b + 4 * i + k] * positions[4 * v + k];
                    }
                    p[i] += w * sum;
                }
            }
        }
        if mirrored {
            p[0] = -p[0];
        }
        for i in 0..3 {
            posed[3 * v + i] =
                g[3 * i] * p[0] + g[3 * i + 1] * p[1] + g[3 * i + 2] * p[2] + theta[3 + i];
        }
    }
    let n = correspondences.len();
    let mut err = vec![0.0; 3 * n];
    for i in 0..n {
        let c = correspondences[i];
        for j in 0..3 {
            let mut model = 0.0;
            if us.is_empty() {
                model += posed[3 * c + j];
            } else {
                let (u0, u1) = (us[2 * i], us[2 * i + 1]);
                let (a, b, d) = (triangles[3 * c], triangles[3 * c + 1], triangles[3 * c + 2]);
                model += u0 * posed[3 * a + j]
                    + u1 * posed[3 * b + j]
                    + (1.0 - u0 - u1) * posed[3 * d + j];
            }
            err[3 * i + j] = points[3 * i + j] - model;
        }
    }
    err
}

pub fn job(function: &str, input: Value) -> Result<Box<dyn Job>, String> {
    let hand = Hand::from_input(parse(input)?)?;
    match function {
        "objective" => Ok(computation(hand, Hand::residuals, |e| json!(e))),
        "jacobian" => Ok(computation(hand, Hand::jacobian, |j| {
            json!(j.rows.chunks(j.width).collect::<Vec<_>>())
        })),
        _ => Err(unknown("ht", function)),
    }
}
