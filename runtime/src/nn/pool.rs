//! Max pooling over `k × k` windows with stride `k` (PyTorch's `MaxPool2d(k)`), and the
//! flattening of a batch of images into a matrix with one example per column.

use crate::tensor::{zeroed, Tensor};
use nalgebra::DMatrix;
use rayon::prelude::*;

/// The largest value of each `k × k` window (stride `k`, no padding; a partial window at
/// the edge is dropped, as in PyTorch). Ties go to the first element of the window.
///
/// # Panics
/// If `x` is not `(N, C, H, W)` with `H, W ≥ k ≥ 1`.
pub fn max_pool2d(x: &Tensor, k: usize) -> Tensor {
    pool(x, k).0
}

/// The pooled batch and, for each output, the offset of its maximum within its input plane.
fn pool(x: &Tensor, k: usize) -> (Tensor, Vec<u32>) {
    let &[n, c, h, w] = x.shape() else {
        panic!(
            "max_pool2d: input of shape {:?} is not (N, C, H, W)",
            x.shape()
        )
    };
    assert!(
        k >= 1 && h >= k && w >= k,
        "max_pool2d: a {h}×{w} image and a {k}×{k} window"
    );
    let (oh, ow) = (h / k, w / k);
    let mut y = zeroed(n * c * oh * ow);
    let mut arg = zeroed(n * c * oh * ow);
    y.par_chunks_mut(oh * ow)
        .zip(arg.par_chunks_mut(oh * ow))
        .zip(x.data().par_chunks(h * w))
        .for_each(|((y, arg), plane)| pool_plane(plane, w, k, y, arg));
    (Tensor::new(&[n, c, oh, ow], y).expect("shape"), arg)
}

/// One plane `w` wide: the maximum of each window into `y` (`oh × ow`) and its offset in
/// the plane into `arg`.
pub(super) fn pool_plane(plane: &[f32], w: usize, k: usize, y: &mut [f32], arg: &mut [u32]) {
    let ow = w / k;
    let oh = y.len() / ow;
    if k == 2 {
        pool_2x2(plane, w, (oh, ow), y, arg);
    } else {
        pool_k(plane, w, k, (oh, ow), y, arg);
    }
}

/// Any `k × k` window: the first element of the window wins ties.
fn pool_k(
    plane: &[f32],
    w: usize,
    k: usize,
    (oh, ow): (usize, usize),
    y: &mut [f32],
    arg: &mut [u32],
) {
    for oy in 0..oh {
        for ox in 0..ow {
            let mut best = (oy * k) * w + ox * k;
            for i in 0..k {
                for j in 0..k {
                    let at = (oy * k + i) * w + ox * k + j;
                    if plane[at] > plane[best] {
                        best = at;
                    }
                }
            }
            y[oy * ow + ox] = plane[best];
            arg[oy * ow + ox] = best as u32;
        }
    }
}

/// The common 2×2 window, two input rows at a time, without branches: the data decide
/// every comparison, so a branch would be mispredicted about half the time.
fn pool_2x2(plane: &[f32], w: usize, (oh, ow): (usize, usize), y: &mut [f32], arg: &mut [u32]) {
    for oy in 0..oh {
        let top = &plane[2 * oy * w..][..2 * ow];
        let bottom = &plane[(2 * oy + 1) * w..][..2 * ow];
        let (y, arg) = (&mut y[oy * ow..][..ow], &mut arg[oy * ow..][..ow]);
        let rows = top.chunks_exact(2).zip(bottom.chunks_exact(2));
        for (ox, ((y, arg), (t, b))) in y.iter_mut().zip(arg).zip(rows).enumerate() {
            // First of the window wins ties: a later element must be strictly greater.
            let top_right = t[1] > t[0];
            let bottom_right = b[1] > b[0];
            let t_best = if top_right { t[1] } else { t[0] };
            let b_best = if bottom_right { b[1] } else { b[0] };
            let lower = b_best > t_best;
            *y = if lower { b_best } else { t_best };
            let column = u32::from(if lower { bottom_right } else { top_right });
            *arg = ((2 * oy + usize::from(lower)) * w + 2 * ox) as u32 + column;
        }
    }
}

/// One plane of the pullback: each window's cotangent `dy` added to `dx` at its maximum
/// (`arg`: offsets in the plane, as [`pool_plane`] gives them).
pub(super) fn unpool_plane(dy: &[f32], arg: &[u32], dx: &mut [f32]) {
    for (&d, &a) in dy.iter().zip(arg) {
        dx[a as usize] += d;
    }
}

/// Value of [`max_pool2d`] and its pullback: each output's cotangent goes to the input that
/// was the maximum of its window.
pub fn max_pool2d_vjp(x: &Tensor, k: usize) -> (Tensor, impl FnOnce(Tensor) -> Tensor + use<>) {
    let (y, arg) = pool(x, k);
    let in_shape = x.shape().to_vec();
    let pullback = move |dy: Tensor| {
        let plane = in_shape[2] * in_shape[3];
        let out_plane = (in_shape[2] / k) * (in_shape[3] / k);
        let mut dx = zeroed(in_shape.iter().product());
        dx.par_chunks_mut(plane)
            .zip(dy.data().par_chunks(out_plane))
            .zip(arg.par_chunks(out_plane))
            .for_each(|((dx, dy), arg)| unpool_plane(dy, arg, dx));
        Tensor::new(&in_shape, dx).expect("shape")
    };
    (y, pullback)
}

/// Value of [`max_pool2d`] and its tangent: the tangent at each window's maximum.
pub fn max_pool2d_jvp(x: &Tensor, k: usize, dx: &Tensor) -> (Tensor, Tensor) {
    let (y, arg) = pool(x, k);
    let (h, w) = (x.shape()[2], x.shape()[3]);
    let out_plane = (h / k) * (w / k);
    let t = Tensor::from_fn(y.shape(), |i| {
        let plane = i / out_plane;
        dx.data()[plane * h * w + arg[i] as usize]
    });
    (y, t)
}

/// The mean of each `k × k` window (stride `k`, no padding), as `AvgPool2d(k)`.
///
/// # Panics
/// If `x` is not `(N, C, H, W)` with `H, W ≥ k ≥ 1`.
pub fn avg_pool2d(x: &Tensor, k: usize) -> Tensor {
    let &[n, c, h, w] = x.shape() else {
        panic!(
            "avg_pool2d: input of shape {:?} is not (N, C, H, W)",
            x.shape()
        )
    };
    assert!(
        k >= 1 && h >= k && w >= k,
        "avg_pool2d: a {h}×{w} image and a {k}×{k} window"
    );
    let (oh, ow) = (h / k, w / k);
    let scale = 1.0 / (k * k) as f32;
    let mut y = vec![0.0f32; n * c * oh * ow];
    y.par_chunks_mut(oh * ow)
        .zip(x.data().par_chunks(h * w))
        .for_each(|(y, plane)| {
            for (i, row) in plane.chunks(w).enumerate().take(oh * k) {
                for (x, &v) in row.iter().enumerate().take(ow * k) {
                    y[(i / k) * ow + x / k] += v * scale;
                }
            }
        });
    Tensor::new(&[n, c, oh, ow], y).expect("shape")
}

/// Value of [`avg_pool2d`] and its pullback: each input of a window gets its output's
/// cotangent over `k²` (inputs outside every window get zero).
pub fn avg_pool2d_vjp(x: &Tensor, k: usize) -> (Tensor, impl FnOnce(Tensor) -> Tensor + use<>) {
    let y = avg_pool2d(x, k);
    let shape = x.shape().to_vec();
    (y, move |dy: Tensor| {
        let (h, w) = (shape[2], shape[3]);
        let (oh, ow) = (h / k, w / k);
        let scale = 1.0 / (k * k) as f32;
        Tensor::from_fn(&shape, |i| {
            let (plane, at) = (i / (h * w), i % (h * w));
            let (y, x) = (at / w, at % w);
            if y < oh * k && x < ow * k {
                dy.data()[plane * oh * ow + (y / k) * ow + x / k] * scale
            } else {
                0.0
            }
        })
    })
}

/// Value of [`avg_pool2d`] and its tangent (the pooled tangent: it is linear).
pub fn avg_pool2d_jvp(x: &Tensor, k: usize, dx: &Tensor) -> (Tensor, Tensor) {
    (avg_pool2d(x, k), avg_pool2d(dx, k))
}

/// Inverted dropout (`nn.Dropout(p)`): in training, each element is zeroed with
/// probability `p` and the others scaled by `1/(1 − p)`, with a mask drawn from `seed`
/// (pass a different seed each step); in evaluation (`train == false`), the identity.
pub fn dropout(x: &Tensor, p: f32, train: bool, seed: u64) -> Tensor {
    match mask(x, p, train, seed) {
        Some(m) => x.zip_map(&m, |v, m| v * m),
        None => x.clone(),
    }
}

/// The scale of each element: `0` or `1/(1 − p)`; `None` for the identity.
fn mask(x: &Tensor, p: f32, train: bool, seed: u64) -> Option<Tensor> {
    use rand::{RngExt, SeedableRng};
    if !train || p <= 0.0 {
        return None;
    }
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let keep = 1.0 / (1.0 - p.min(1.0 - f32::EPSILON));
    Some(Tensor::from_fn(x.shape(), |_| {
        if rng.random_range(0.0f32..1.0) < p {
            0.0
        } else {
            keep
        }
    }))
}

/// Value of [`dropout`] and its pullback: the same mask on the cotangent (`p` gets zero).
#[allow(clippy::type_complexity)]
pub fn dropout_vjp(
    x: &Tensor,
    p: f32,
    train: bool,
    seed: u64,
) -> (Tensor, impl FnOnce(Tensor) -> (Tensor, f32) + use<>) {
    let m = mask(x, p, train, seed);
    let y = match &m {
        Some(m) => x.zip_map(m, |v, m| v * m),
        None => x.clone(),
    };
    (y, move |d: Tensor| {
        let dx = match &m {
            Some(m) => d.zip_map(m, |v, m| v * m),
            None => d,
        };
        (dx, 0.0)
    })
}

/// Value of [`dropout`] and its tangent.
pub fn dropout_jvp(
    x: &Tensor,
    p: f32,
    train: bool,
    seed: u64,
    dx: &Tensor,
    _dp: f32,
) -> (Tensor, Tensor) {
    (dropout(x, p, train, seed), dropout(dx, p, train, seed))
}

/// A batch `(N, C, H, W)` as the matrix `(C·H·W) × N`, one example per column with its
/// features in PyTorch's `flatten` order (the same memory: column-major columns are the
/// row-major images).
///
/// # Panics
/// If `x` has no dimensions.
pub fn flatten(x: &Tensor) -> DMatrix<f32> {
    let n = *x
        .shape()
        .first()
        .expect("flatten: a tensor without dimensions");
    let features = x.len() / n.max(1);
    DMatrix::from_column_slice(features, n, x.data())
}

/// Value of [`flatten`] and its pullback (the same numbers in the input's shape).
pub fn flatten_vjp(x: &Tensor) -> (DMatrix<f32>, impl FnOnce(DMatrix<f32>) -> Tensor + use<>) {
    let shape = x.shape().to_vec();
    (flatten(x), move |d: DMatrix<f32>| {
        Tensor::new(&shape, d.as_slice().to_vec()).expect("flatten: cotangent shape")
    })
}

/// Value of [`flatten`] and its tangent.
pub fn flatten_jvp(x: &Tensor, dx: &Tensor) -> (DMatrix<f32>, DMatrix<f32>) {
    (flatten(x), flatten(dx))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Differentiable;

    #[test]
    fn pools_each_window_and_routes_the_cotangent_to_its_maximum() {
        let x = Tensor::new(&[1, 1, 2, 4], vec![1.0, 5.0, 2.0, 0.0, 3.0, 4.0, 9.0, -1.0]).unwrap();
        let (y, pullback) = max_pool2d_vjp(&x, 2);
        assert_eq!(y.data(), [5.0, 9.0]);
        let dx = pullback(Tensor::new(&[1, 1, 1, 2], vec![10.0, 20.0]).unwrap());
        assert_eq!(dx.data(), [0.0, 10.0, 0.0, 0.0, 0.0, 0.0, 20.0, 0.0]);
        let t = Tensor::from_fn(x.shape(), |i| i as f32);
        assert_eq!(max_pool2d_jvp(&x, 2, &t).1.data(), [1.0, 6.0]);
    }

    /// The branch-free 2×2 loop picks the same element as the loop for any `k`: values
    /// drawn from a handful, so that windows have ties in every position, and odd sizes
    /// whose last row and column belong to no window.
    #[test]
    fn the_2x2_loop_agrees_with_the_general_one() {
        for (h, w) in [(2, 2), (5, 7), (8, 9), (32, 32)] {
            let plane: Vec<f32> = (0..h * w).map(|i| ((i * 7919) % 5) as f32 - 2.0).collect();
            let (oh, ow) = (h / 2, w / 2);
            let (mut y, mut arg) = (vec![0.0; oh * ow], vec![0; oh * ow]);
            let (mut y2, mut arg2) = (vec![0.0; oh * ow], vec![0; oh * ow]);
            pool_k(&plane, w, 2, (oh, ow), &mut y, &mut arg);
            pool_2x2(&plane, w, (oh, ow), &mut y2, &mut arg2);
            assert_eq!((y, arg), (y2, arg2), "{h}×{w}");
        }
    }

    /// ReLU and max pooling commute, cotangents included, so a network may pool first.
    #[test]
    fn relu_and_max_pooling_commute() {
        use crate::linalg::{relu, relu_vjp};
        let x = Tensor::from_fn(&[2, 3, 4, 6], |i| ((i * 37) % 23) as f32 - 11.0);
        let dy = Tensor::from_fn(&[2, 3, 2, 3], |i| (i % 5) as f32 + 0.5);
        let (a, pool_after) = max_pool2d_vjp(&relu(&x), 2);
        let (b, pool_first) = max_pool2d_vjp(&x, 2);
        let (b, relu_after) = relu_vjp(&b);
        assert_eq!(a, b);
        let (_, relu_first) = relu_vjp(&x);
        let through_relu_first = relu_first(pool_after(dy.clone()));
        let through_pool_first = pool_first(relu_after(dy));
        assert_eq!(through_relu_first, through_pool_first);
    }

    #[test]
    fn average_pooling_and_dropout() {
        let x = Tensor::from_fn(&[1, 1, 2, 5], |i| i as f32);
        assert_eq!(avg_pool2d(&x, 2).data(), [3.0, 5.0]);
        let (_, pullback) = avg_pool2d_vjp(&x, 2);
        let dx = pullback(Tensor::new(&[1, 1, 1, 2], vec![4.0, 8.0]).unwrap());
        assert_eq!(
            dx.data(),
            [1.0, 1.0, 2.0, 2.0, 0.0, 1.0, 1.0, 2.0, 2.0, 0.0]
        );
        // ⟨pool(t), ȳ⟩ = ⟨t, pullback(ȳ)⟩.
        let t = Tensor::from_fn(x.shape(), |i| (i as f32).sin());
        let ybar = Tensor::new(&[1, 1, 1, 2], vec![0.3, -1.1]).unwrap();
        let forward = avg_pool2d_jvp(&x, 2, &t).1.inner(&ybar);
        let reverse = avg_pool2d_vjp(&x, 2).1(ybar).inner(&t);
        assert!((forward - reverse).abs() < 1e-6);

        let ones = Tensor::from_fn(&[4, 1000], |_| 1.0);
        let y = dropout(&ones, 0.25, true, 7);
        let kept = y.data().iter().filter(|&&v| v > 0.0).count();
        assert!((2800..3200).contains(&kept), "{kept} of 4000 kept");
        assert!(y
            .data()
            .iter()
            .all(|&v| v == 0.0 || (v - 4.0 / 3.0).abs() < 1e-6));
        assert_eq!(dropout(&ones, 0.25, false, 7), ones);
        let (y2, pullback) = dropout_vjp(&ones, 0.25, true, 7);
        assert_eq!(y2, y);
        assert_eq!(
            pullback(ones.clone()).0,
            y,
            "the same mask on the cotangent"
        );
    }

    #[test]
    fn flatten_keeps_pytorch_order() {
        let x = Tensor::from_fn(&[2, 2, 1, 3], |i| i as f32);
        let m = flatten(&x);
        assert_eq!(m.shape(), (6, 2));
        assert_eq!(m[(4, 1)], 10.0);
        let (_, pullback) = flatten_vjp(&x);
        assert_eq!(pullback(m).to_flat(), x.to_flat());
    }
}
