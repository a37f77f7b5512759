//! Derivatives of five GradBench evals written by hand, as a careful Rust programmer would
//! write them with each eval's structure in mind (no tape; what can be computed again is),
//! to time the generated ones against in the same minutes (`cargo bench --bench
//! gradbench`). Each takes the eval's input as JSON and returns the eval's output.

use serde_json::Value;

/// The numbers of a JSON array or array of rows, flattened.
pub fn floats(v: &Value) -> Vec<f64> {
    let values = v.as_array().expect("an array");
    values
        .iter()
        .flat_map(|e| match e.as_array() {
            Some(row) => row.iter().map(|x| x.as_f64().expect("a number")).collect(),
            None => vec![e.as_f64().expect("a number")],
        })
        .collect()
}

/// The derivative the eval asks for, by hand, for the modules that have one here: the
/// input read once (as the tool reads it before timing), then a computation to time.
pub fn derivative(module: &str, input: &Value) -> Option<Box<dyn Fn() -> Vec<f64>>> {
    let x = || floats(&input["x"]);
    let count = |key: &str| input[key].as_u64().expect("a count") as usize;
    Some(match module {
        "lse" => {
            let x = x();
            Box::new(move || softmax(&x))
        }
        "llsq" => {
            let (x, n) = (x(), count("n"));
            Box::new(move || least_squares_gradient(&x, n))
        }
        "kmeans" => {
            let d = input["points"][0].as_array().expect("a point").len();
            let (points, centroids) = (floats(&input["points"]), floats(&input["centroids"]));
            Box::new(move || newton_direction(&points, &centroids, d))
        }
        "ode" => {
            let (x, s) = (x(), count("s"));
            Box::new(move || last_gradient(&x, s))
        }
        "gmm" => {
            let g = Mixture {
                dims: (count("d"), count("k"), count("n")),
                x: x(),
                alpha: floats(&input["alpha"]),
                mu: floats(&input["mu"]),
                q: floats(&input["q"]),
                l: floats(&input["l"]),
                m: input["m"].as_f64().expect("m"),
                gamma: input["gamma"].as_f64().expect("gamma"),
            };
            Box::new(move || mixture_gradient(&g))
        }
        _ => return None,
    })
}

/// The numbers of the eval's output: an array, or GMM's gradient object in its order.
pub fn output_floats(module: &str, output: &Value) -> Vec<f64> {
    match module {
        "gmm" => ["alpha", "mu", "q", "l"]
            .iter()
            .flat_map(|key| floats(&output[*key]))
            .collect(),
        _ => floats(output),
    }
}

/// `∇ log Σ exp(xᵢ)`: the softmax.
fn softmax(x: &[f64]) -> Vec<f64> {
    let top = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut g: Vec<f64> = x.iter().map(|v| (v - top).exp()).collect();
    let total: f64 = g.iter().sum();
    g.iter_mut().for_each(|v| *v /= total);
    g
}

/// `∂/∂xⱼ ½ Σᵢ rᵢ² = −Σᵢ rᵢ tᵢʲ`: the residuals forward, then their powers again.
fn least_squares_gradient(x: &[f64], n: usize) -> Vec<f64> {
    let mut g = vec![0.0; x.len()];
    for i in 0..n {
        let t = -1.0 + 2.0 * (i as f64) / ((n - 1) as f64);
        let mut r = if t > 0.0 {
            1.0
        } else if t < 0.0 {
            -1.0
        } else {
            0.0
        };
        let mut power = 1.0;
        for xj in x {
            r -= xj * power;
            power *= t;
        }
        let mut power = 1.0;
        for gj in &mut g {
            *gj -= r * power;
            power *= t;
        }
    }
    g
}

/// `J ⊘ H` of `Σᵢ minⱼ ‖pᵢ − cⱼ‖²`: each centroid's `J = 2 Σ (c − p)` over the points it
/// owns, `H = 2·count` on its diagonal.
fn newton_direction(points: &[f64], centroids: &[f64], d: usize) -> Vec<f64> {
    let k = centroids.len() / d;
    let mut gradient = vec![0.0; centroids.len()];
    let mut count = vec![0.0; k];
    for point in points.chunks_exact(d) {
        let mut best = (0, f64::INFINITY);
        for (j, c) in centroids.chunks_exact(d).enumerate() {
            let dist: f64 = point.iter().zip(c).map(|(p, c)| (p - c) * (p - c)).sum();
            if dist < best.1 {
                best = (j, dist);
            }
        }
        let j = best.0;
        count[j] += 2.0;
        for t in 0..d {
            gradient[j * d + t] += 2.0 * (centroids[j * d + t] - point[t]);
        }
    }
    for (j, g) in gradient.chunks_exact_mut(d).enumerate() {
        g.iter_mut().for_each(|v| *v /= count[j]);
    }
    gradient
}

/// `k = F(y)` with `F(y)₀ = x₀`, `F(y)ᵢ = xᵢ·yᵢ₋₁`, from `y + c·k_prev`.
fn stage(x: &[f64], y: &[f64], c: f64, previous: &[f64], k: &mut [f64]) {
    k[0] = x[0];
    for i in 1..x.len() {
        k[i] = x[i] * (y[i - 1] + c * previous[i - 1]);
    }
}

/// The four Runge–Kutta stages of one step from `y`.
fn stages(x: &[f64], y: &[f64], h: f64, k: &mut [Vec<f64>; 4]) {
    let [k1, k2, k3, k4] = k;
    stage(x, y, 0.0, y, k1);
    stage(x, y, 0.5 * h, k1, k2);
    stage(x, y, 0.5 * h, k2, k3);
    stage(x, y, h, k3, k4);
}

/// The gradient of `y(2)ₙ₋₁` for `ode`: the state saved once a step, each step's stages
/// computed again in the reverse sweep.
fn last_gradient(x: &[f64], s: usize) -> Vec<f64> {
    let (n, h) = (x.len(), 2.0 / s as f64);
    let mut y = vec![0.0; n];
    let mut k = [vec![0.0; n], vec![0.0; n], vec![0.0; n], vec![0.0; n]];
    let mut saved = Vec::with_capacity(n * s);
    for _ in 0..s {
        saved.extend_from_slice(&y);
        stages(x, &y, h, &mut k);
        for i in 0..n {
            y[i] += h / 6.0 * (k[0][i] + 2.0 * k[1][i] + 2.0 * k[2][i] + k[3][i]);
        }
    }
    let mut dy = vec![0.0; n];
    dy[n - 1] = 1.0;
    let mut dx = vec![0.0; n];
    let mut g = [vec![0.0; n], vec![0.0; n], vec![0.0; n], vec![0.0; n]];
    for step in (0..s).rev() {
        let y = &saved[step * n..(step + 1) * n];
        stages(x, y, h, &mut k);
        for i in 0..n {
            let w = h / 6.0 * dy[i];
            (g[0][i], g[1][i], g[2][i], g[3][i]) = (w, 2.0 * w, 2.0 * w, w);
        }
        // Stage c + 1 read y + s·k_c at i − 1.
        for (c, scale) in [(2, h), (1, 0.5 * h), (0, 0.5 * h)] {
            for i in (1..n).rev() {
                let a = g[c + 1][i];
                dx[i] += a * (y[i - 1] + scale * k[c][i - 1]);
                dy[i - 1] += a * x[i];
                g[c][i - 1] += scale * a * x[i];
            }
        }
        for i in (1..n).rev() {
            dx[i] += g[0][i] * y[i - 1];
            dy[i - 1] += g[0][i] * x[i];
        }
        dx[0] += g[0][0] + g[1][0] + g[2][0] + g[3][0];
    }
    dx
}

/// A Gaussian mixture problem as GradBench states it: `(d, k, n)`, the points, and the
/// parameters with `l` holding each `Q`'s strictly lower triangle column by column.
struct Mixture {
    dims: (usize, usize, usize),
    x: Vec<f64>,
    alpha: Vec<f64>,
    mu: Vec<f64>,
    q: Vec<f64>,
    l: Vec<f64>,
    m: f64,
    gamma: f64,
}

/// The gradient of GMM's log posterior in `(α, μ, q, l)`: per point, the component terms
/// `βₖ = αₖ + Σⱼ qₖⱼ − ½‖zₖ‖²` with `zₖ = Qₖ(x − μₖ)`, then their softmax weights `pₖ`
/// pushed back: `∂β/∂qⱼ = 1 − zⱼ e^{qⱼ} (x − μ)ⱼ`, `∂β/∂Lⱼₜ = −zⱼ (x − μ)ₜ`, `∂β/∂μ = Qᵀz`;
/// then `−N·softmax(α)` and the prior's `m − γ² e^{2q}` and `−γ² L`.
fn mixture_gradient(g: &Mixture) -> Vec<f64> {
    let (d, k, n) = g.dims;
    let lower = d * (d - 1) / 2;
    let at = |c: usize, j: usize, t: usize| c * lower + t * (2 * d - t - 3) / 2 + j - 1;
    let eq: Vec<f64> = g.q.iter().map(|v| v.exp()).collect();
    let sum_q: Vec<f64> = g.q.chunks_exact(d).map(|r| r.iter().sum()).collect();
    let (mut ga, mut gmu) = (vec![0.0; k], vec![0.0; k * d]);
    let (mut gq, mut gl) = (vec![0.0; k * d], vec![0.0; k * lower]);
    let (mut beta, mut z, mut xc) = (vec![0.0; k], vec![0.0; k * d], vec![0.0; k * d]);
    for xi in g.x.chunks_exact(d) {
        for c in 0..k {
            let mut sqnorm = 0.0;
            for j in 0..d {
                xc[c * d + j] = xi[j] - g.mu[c * d + j];
                let mut row = eq[c * d + j] * xc[c * d + j];
                for t in 0..j {
                    row += g.l[at(c, j, t)] * xc[c * d + t];
                }
                z[c * d + j] = row;
                sqnorm += row * row;
            }
            beta[c] = g.alpha[c] + sum_q[c] - 0.5 * sqnorm;
        }
        let top = beta.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let total: f64 = beta.iter().map(|b| (b - top).exp()).sum();
        for c in 0..k {
            let p = (beta[c] - top).exp() / total;
            ga[c] += p;
            for j in 0..d {
                let pz = p * z[c * d + j];
                gq[c * d + j] += p - pz * eq[c * d + j] * xc[c * d + j];
                gmu[c * d + j] += pz * eq[c * d + j];
                for t in 0..j {
                    gl[at(c, j, t)] -= pz * xc[c * d + t];
                    gmu[c * d + t] += pz * g.l[at(c, j, t)];
                }
            }
        }
    }
    let top = g.alpha.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let total: f64 = g.alpha.iter().map(|a| (a - top).exp()).sum();
    for (ga, a) in ga.iter_mut().zip(&g.alpha) {
        *ga -= n as f64 * (a - top).exp() / total;
    }
    let gamma2 = g.gamma * g.gamma;
    for (gq, e) in gq.iter_mut().zip(&eq) {
        *gq += g.m - gamma2 * e * e;
    }
    for (gl, l) in gl.iter_mut().zip(&g.l) {
        *gl -= gamma2 * l;
    }
    [ga, gmu, gq, gl].concat()
}
