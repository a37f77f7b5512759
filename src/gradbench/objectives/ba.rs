//! The bundle adjustment residuals of ADBench and GradBench (the same camera model) as
//! plain Rust, differentiated by `#[differentiable]`. Shared by the GradBench tool and the
//! ADBench tests and benchmarks.

use autodiff::differentiable;

/// Reprojection residual of one observation, both components (x, y):
/// `w · (project(cam, point) − feature)`. The camera is
/// `[r (Rodrigues, 3), C (centre, 3), f, x0 (2), κ (2)]`.
#[differentiable(wrt(cam, point, w))]
pub fn reprojection(cam: &[f64; 11], point: &[f64; 3], w: f64, feature: &[f64; 2]) -> [f64; 2] {
    // Y = X − C, rotated by the Rodrigues vector r.
    let y0 = point[0] - cam[3];
    let y1 = point[1] - cam[4];
    let y2 = point[2] - cam[5];
    let (r0, r1, r2) = (cam[0], cam[1], cam[2]);
    let sqtheta = r0 * r0 + r1 * r1 + r2 * r2;
    let mut xc0 = y0 + (r1 * y2 - r2 * y1);
    let mut xc1 = y1 + (r2 * y0 - r0 * y2);
    let mut xc2 = y2 + (r0 * y1 - r1 * y0);
    if sqtheta != 0.0 {
        let theta = sqtheta.sqrt();
        let (c, s) = (theta.cos(), theta.sin());
        let (w0, w1, w2) = (r0 / theta, r1 / theta, r2 / theta);
        let tmp = (w0 * y0 + w1 * y1 + w2 * y2) * (1.0 - c);
        xc0 = y0 * c + (w1 * y2 - w2 * y1) * s + w0 * tmp;
        xc1 = y1 * c + (w2 * y0 - w0 * y2) * s + w1 * tmp;
        xc2 = y2 * c + (w0 * y1 - w1 * y0) * s + w2 * tmp;
    }
    // Perspective division, radial distortion, focal length and principal point.
    let px = xc0 / xc2;
    let py = xc1 / xc2;
    let rsq = px * px + py * py;
    let distortion = 1.0 + cam[9] * rsq + cam[10] * rsq * rsq;
    [
        w * (px * distortion * cam[6] + cam[7] - feature[0]),
        w * (py * distortion * cam[6] + cam[8] - feature[1]),
    ]
}

/// A residual and its Jacobian rows `(∂r/∂cam, ∂r/∂point, ∂r/∂w)`, one per component.
pub type Block = ([f64; 2], [([f64; 11], [f64; 3], f64); 2]);

/// [`reprojection`] and its 2×15 Jacobian block: one primal sweep, whose pullback (a
/// straight-line function's, so it may be called again) is seeded with each component
/// in turn.
pub fn reprojection_block(cam: &[f64; 11], point: &[f64; 3], w: f64, feature: &[f64; 2]) -> Block {
    let (r, pullback) = reprojection_vjp(cam, point, w, feature);
    (r, [pullback([1.0, 0.0]), pullback([0.0, 1.0])])
}

/// The weight residual `1 − w²`.
#[differentiable]
pub fn weight_residual(w: f64) -> f64 {
    1.0 - w * w
}
