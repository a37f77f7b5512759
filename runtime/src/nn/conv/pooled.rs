//! A convolution followed by max pooling, fused: `conv.forward_max_pool(x, k)` is
//! `max_pool2d(&conv.forward(x), k)`, with the same derivatives.
//!
//! The unfused pair writes the batch's whole convolution output (4 MB for the first layer
//! of the CIFAR-10 network) for the pooling to read back, and its pullback writes a
//! cotangent of that size, three quarters zeros, for the convolution's pullback to read.
//! Fused, each image's output is pooled while it is in cache, and the pullback scatters
//! the pooled cotangent of a few images at a time into a buffer of the thread's, used at
//! once.

use super::{Conv2d, Geometry, OutputCotangent, Scratch};
use crate::needs::needs;
use crate::nn::pool::{max_pool2d_jvp, pool_plane};
use crate::tensor::{zeroed, Tensor};
use rayon::prelude::*;

impl Conv2d {
    /// `max_pool2d(&self.forward(x), k)` in one pass over the images.
    ///
    /// # Panics
    /// As [`forward`](Self::forward), and if the output is smaller than the window.
    pub fn forward_max_pool(&self, x: &Tensor, k: usize) -> Tensor {
        self.run_pooled(x, k).0
    }

    /// The pooled output, the offset of each window's maximum in its plane, the geometry
    /// and the pooled plane's size.
    fn run_pooled(&self, x: &Tensor, k: usize) -> (Tensor, Vec<u32>, Geometry, usize) {
        let g = self.geometry(x);
        assert!(
            k >= 1 && g.oh >= k && g.ow >= k,
            "max_pool2d: a {}×{} image and a {k}×{k} window",
            g.oh,
            g.ow
        );
        let (ph, pw) = (g.oh / k, g.ow / k);
        let plane = ph * pw;
        let (mut pooled, mut arg) = (zeroed(g.n * g.out * plane), zeroed(g.n * g.out * plane));
        pooled
            .par_chunks_mut(g.out * plane)
            .zip(arg.par_chunks_mut(g.out * plane))
            .zip(x.data().par_chunks(g.in_len()))
            .for_each_init(
                || (Scratch::default(), vec![0.0f32; g.out_len()]),
                |(s, y), ((pooled, arg), x)| {
                    self.image_forward(&g, x, y, s);
                    let planes = y.chunks(g.ohw()).zip(pooled.chunks_mut(plane));
                    for ((y, pooled), arg) in planes.zip(arg.chunks_mut(plane)) {
                        pool_plane(y, g.ow, k, pooled, arg);
                    }
                },
            );
        let shape = [g.n, g.out, ph, pw];
        (Tensor::new(&shape, pooled).expect("shape"), arg, g, plane)
    }

    /// The pooled output and the pullback: each pooled cotangent goes to its window's
    /// maximum, then through the convolution's pullback (which gives the input's cotangent
    /// only if the caller needs it).
    pub fn forward_max_pool_vjp(
        &self,
        x: &Tensor,
        k: usize,
    ) -> (Tensor, impl FnOnce(Tensor) -> (Conv2d, Tensor) + '_) {
        let needs = needs([
            "forward_max_pool",
            core::any::type_name::<Self>(),
            crate::needs::type_name_of(x),
        ]);
        let (y, arg, g, plane) = self.run_pooled(x, k);
        let shape = y.shape().to_vec();
        let x = x.clone();
        let pullback = move |dp: Tensor| {
            assert_eq!(
                dp.shape(),
                shape,
                "Conv2d::forward_max_pool: cotangent shape"
            );
            let dp = OutputCotangent::Pooled {
                dp: dp.data(),
                arg: &arg,
                plane,
            };
            self.cotangents(&g, &x, dp, needs & 2 != 0)
        };
        (y, pullback)
    }

    /// The pooled output and its tangent: the convolution's tangent at each window's
    /// maximum.
    pub fn forward_max_pool_jvp(
        &self,
        x: &Tensor,
        k: usize,
        d_self: &Conv2d,
        dx: &Tensor,
    ) -> (Tensor, Tensor) {
        let (y, dy) = self.forward_jvp(x, d_self, dx);
        max_pool2d_jvp(&y, k, &dy)
    }
}

#[cfg(test)]
mod tests {
    use crate::nn::{max_pool2d, max_pool2d_vjp, Conv2d, Init};
    use crate::{Differentiable, Tensor};

    /// Layers on both paths (direct loops; stride 2 by im2col) and windows of 2 and 3 (odd
    /// sizes leave rows and columns outside every window): the fused layer gives the
    /// unfused pair's value exactly and its cotangents up to rounding, and its tangent
    /// passes the dot-product test with its pullback.
    #[test]
    fn fused_is_the_convolution_then_the_pooling() {
        let mut init = Init::new(11);
        for (k, stride, padding, pool, size) in [
            (3, 1, 1, 2, 8),
            (3, 1, 1, 2, 32),
            (3, 2, 1, 2, 9),
            (5, 1, 2, 3, 10),
            (1, 1, 0, 2, 7),
        ] {
            let layer = Conv2d::new(3, 6, k, stride, padding, &mut init);
            let values = init.uniform(2 * 3 * size * size, 1.0);
            let x = Tensor::new(&[2, 3, size, size], values).unwrap();
            let y = max_pool2d(&layer.forward(&x), pool);
            assert_eq!(layer.forward_max_pool(&x, pool), y);
            let (fused, fused_pullback) = layer.forward_max_pool_vjp(&x, pool);
            assert_eq!(fused, y);
            let ybar = Tensor::new(y.shape(), init.uniform(y.len(), 1.0)).unwrap();
            let (conv_y, conv_pullback) = layer.forward_vjp(&x);
            let (_, pool_pullback) = max_pool2d_vjp(&conv_y, pool);
            let (want_layer, want_x) = conv_pullback(pool_pullback(ybar.clone()));
            let (got_layer, got_x) = fused_pullback(ybar);
            let close = |a: &Tensor, b: &Tensor| {
                a.data()
                    .iter()
                    .zip(b.data())
                    .all(|(a, b)| (a - b).abs() <= 1e-5 * b.abs().max(1.0))
            };
            assert!(close(&got_x, &want_x), "x̄ for k = {k}, stride {stride}");
            assert!(close(&got_layer.weight, &want_layer.weight), "W̄");
            assert!(close(&got_layer.bias, &want_layer.bias), "b̄");
            // The tangent: ⟨ẏ, ȳ⟩ = ⟨(Ẇ, ḃ, ẋ), pullback(ȳ)⟩.
            let (d_layer, dx) = (
                init.like(&layer),
                Tensor::new(x.shape(), init.uniform(x.len(), 1.0)).unwrap(),
            );
            let (_, dy) = layer.forward_max_pool_jvp(&x, pool, &d_layer, &dx);
            let ybar = Tensor::new(y.shape(), init.uniform(y.len(), 1.0)).unwrap();
            let (_, pullback) = layer.forward_max_pool_vjp(&x, pool);
            let (layer_bar, x_bar) = pullback(ybar.clone());
            let forward = dy.inner(&ybar);
            let reverse = layer_bar.inner(&d_layer) + x_bar.inner(&dx);
            assert!((forward - reverse).abs() < 1e-3 * forward.abs().max(1.0));
        }
    }
}
