//! 2-D convolution (PyTorch's `nn.Conv2d`, cross-correlation), in parallel over the
//! batch: direct loops for stride 1 and kernels of size 1, 3 or 5 (`direct.rs`), otherwise
//! im2col and a matrix product per image.
//!
//! For image `n` with columns `Xₙ = im2col(xₙ)` (`C·k·k × OH·OW`):
//! `yₙ = W Xₙ + b 𝟙ᵀ`, so `W̄ = Σₙ ȳₙ Xₙᵀ`, `b̄ = Σₙ ȳₙ 𝟙` and `x̄ₙ = col2im(Wᵀ ȳₙ)`.

use super::direct::{self, Planes, STRIP};
use super::pool::unpool_plane;
use super::Init;
use crate::needs::needs;
use crate::tensor::{gemm, matrix, matrix_mut, matrix_transposed, strided_mut, zeroed, Tensor};
use rayon::prelude::*;

mod pooled;

/// A 2-D convolution: `weight` `(out, in, k, k)`, `bias` `(out)`, square kernel, the same
/// stride and zero padding in both directions.
#[derive(Clone, Debug, crate::Differentiable)]
pub struct Conv2d {
    /// The kernels, `(out, in, k, k)`.
    pub weight: Tensor,
    /// One bias per output channel.
    pub bias: Tensor,
    #[inactive]
    /// The step between windows.
    pub stride: usize,
    #[inactive]
    /// Zeros added on each side.
    pub padding: usize,
}

/// `Σ xs` in eight interleaved partial sums, which LLVM keeps in one SIMD register (a
/// single running sum waits on every addition, several times slower).
fn sum(xs: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 8];
    let (whole, rest) = xs.as_chunks::<8>();
    for chunk in whole {
        for (l, &v) in lanes.iter_mut().zip(chunk) {
            *l += v;
        }
    }
    lanes.iter().sum::<f32>() + rest.iter().sum::<f32>()
}

/// Buffers of one thread, reused from image to image.
#[derive(Default)]
struct Scratch {
    a: Vec<f32>,
    b: Vec<f32>,
    c: Vec<f32>,
}

/// The cotangent of the output: dense, or that of the max-pooled output of a fused
/// convolution and pooling (`pooled.rs`), with the offset of each window's maximum in its
/// plane.
#[derive(Clone, Copy)]
enum OutputCotangent<'a> {
    Dense(&'a [f32]),
    Pooled {
        dp: &'a [f32],
        arg: &'a [u32],
        plane: usize,
    },
}

impl OutputCotangent<'_> {
    /// The output cotangent of a block of images, where it is, or scattered from the pooled
    /// cotangent into `buffer` (a few images: it stays in cache for the pullback).
    fn block<'b>(
        &'b self,
        g: &Geometry,
        images: std::ops::Range<usize>,
        buffer: &'b mut Vec<f32>,
    ) -> &'b [f32] {
        let planes = images.start * g.out..images.end * g.out;
        match *self {
            OutputCotangent::Dense(dy) => &dy[planes.start * g.ohw()..planes.end * g.ohw()],
            OutputCotangent::Pooled { dp, arg, plane } => {
                buffer.clear();
                buffer.resize(planes.len() * g.ohw(), 0.0);
                let pooled = planes.start * plane..planes.end * plane;
                let windows = dp[pooled.clone()]
                    .chunks(plane)
                    .zip(arg[pooled].chunks(plane));
                for (dy, (dp, arg)) in buffer.chunks_mut(g.ohw()).zip(windows) {
                    unpool_plane(dp, arg, dy);
                }
                buffer
            }
        }
    }
}

/// The sizes of one convolution of one batch.
#[derive(Clone, Copy, Debug)]
struct Geometry {
    n: usize,
    c: usize,
    h: usize,
    w: usize,
    out: usize,
    k: usize,
    stride: usize,
    pad: usize,
    oh: usize,
    ow: usize,
}

impl Geometry {
    /// Rows of the column matrix: one per input channel and kernel offset.
    fn ckk(&self) -> usize {
        self.c * self.k * self.k
    }

    /// Output pixels per channel.
    fn ohw(&self) -> usize {
        self.oh * self.ow
    }

    fn in_len(&self) -> usize {
        self.c * self.h * self.w
    }

    fn out_len(&self) -> usize {
        self.out * self.ohw()
    }

    /// Whether the direct loops apply (stride 1, a kernel they have, padding below `k`).
    fn direct(&self) -> bool {
        self.stride == 1 && direct::supported(self.k) && self.pad < self.k
    }

    /// The direct path's output planes: rows rounded up to whole strips.
    fn out_at(&self) -> Planes {
        Planes {
            h: self.oh,
            row: self.ow.next_multiple_of(STRIP),
        }
    }

    /// The direct path's padded input planes (`oh + k − 1 = h + 2p` rows).
    fn xp_at(&self) -> Planes {
        Planes {
            h: self.oh + self.k - 1,
            row: self.out_at().row + self.k - 1,
        }
    }

    /// The input cotangent's planes on the direct path.
    fn dx_at(&self) -> Planes {
        Planes {
            h: self.h,
            row: self.w.next_multiple_of(STRIP),
        }
    }

    /// The output cotangent padded by `k − 1 − p` for the input cotangent.
    fn dyp_at(&self) -> Planes {
        Planes {
            h: self.h + self.k - 1,
            row: self.dx_at().row + self.k - 1,
        }
    }

    /// `Xₙ`: row `(c, i, j)` holds the input pixel under kernel offset `(i, j)` of each
    /// output pixel (zero in the padding).
    fn im2col(&self, x: &[f32], cols: &mut [f32]) {
        let (k, s, ohw) = (self.k, self.stride, self.ohw());
        for c in 0..self.c {
            let plane = &x[c * self.h * self.w..][..self.h * self.w];
            for i in 0..k {
                for j in 0..k {
                    let row = &mut cols[((c * k + i) * k + j) * ohw..][..ohw];
                    for oy in 0..self.oh {
                        let dst = &mut row[oy * self.ow..][..self.ow];
                        match (oy * s + i).checked_sub(self.pad).filter(|&y| y < self.h) {
                            Some(y) => self.gather_row(&plane[y * self.w..][..self.w], j, dst),
                            None => dst.fill(0.0),
                        }
                    }
                }
            }
        }
    }

    /// The outputs `ox` whose input column `ox·s + j − pad` lies in the image: `lo..hi`.
    fn valid_columns(&self, j: usize) -> (usize, usize) {
        let s = self.stride;
        // ox·s + j ≥ pad  and  ox·s + j − pad < w
        let lo = self.pad.saturating_sub(j).div_ceil(s).min(self.ow);
        let hi = (self.w + self.pad)
            .saturating_sub(j)
            .div_ceil(s)
            .min(self.ow);
        (lo, hi.max(lo))
    }

    /// One output row's inputs at kernel column `j`: `dst[ox] = src[ox·s + j − pad]`, zero
    /// in the padding (a plain copy for stride 1).
    fn gather_row(&self, src: &[f32], j: usize, dst: &mut [f32]) {
        let (lo, hi) = self.valid_columns(j);
        dst[..lo].fill(0.0);
        dst[hi..].fill(0.0);
        let first = lo * self.stride + j - self.pad;
        if self.stride == 1 {
            dst[lo..hi].copy_from_slice(&src[first..first + (hi - lo)]);
        } else {
            for (d, &v) in dst[lo..hi]
                .iter_mut()
                .zip(src[first..].iter().step_by(self.stride))
            {
                *d = v;
            }
        }
    }

    /// The adjoint of `gather_row`: `dst[ox·s + j − pad] += src[ox]`.
    fn scatter_row(&self, src: &[f32], j: usize, dst: &mut [f32]) {
        let (lo, hi) = self.valid_columns(j);
        let first = lo * self.stride + j - self.pad;
        if self.stride == 1 {
            for (d, &v) in dst[first..first + (hi - lo)].iter_mut().zip(&src[lo..hi]) {
                *d += v;
            }
        } else {
            for (d, &v) in dst[first..]
                .iter_mut()
                .step_by(self.stride)
                .zip(&src[lo..hi])
            {
                *d += v;
            }
        }
    }

    /// The adjoint of `im2col`: adds each column entry back onto its input pixel.
    fn col2im(&self, cols: &[f32], x: &mut [f32]) {
        let (k, s, ohw) = (self.k, self.stride, self.ohw());
        for c in 0..self.c {
            let plane = &mut x[c * self.h * self.w..][..self.h * self.w];
            for i in 0..k {
                for j in 0..k {
                    let row = &cols[((c * k + i) * k + j) * ohw..][..ohw];
                    for oy in 0..self.oh {
                        let Some(y) = (oy * s + i).checked_sub(self.pad).filter(|&y| y < self.h)
                        else {
                            continue;
                        };
                        let dst = &mut plane[y * self.w..][..self.w];
                        self.scatter_row(&row[oy * self.ow..][..self.ow], j, dst);
                    }
                }
            }
        }
    }
}

impl Conv2d {
    /// A layer with PyTorch's default initialisation.
    pub fn new(
        in_channels: usize,
        out_channels: usize,
        kernel: usize,
        stride: usize,
        padding: usize,
        init: &mut Init,
    ) -> Conv2d {
        let fan_in = in_channels * kernel * kernel;
        let shape = [out_channels, in_channels, kernel, kernel];
        let weight = init.default_weights(shape.iter().product(), fan_in);
        let bias = init.default_weights(out_channels, fan_in);
        Conv2d {
            weight: Tensor::new(&shape, weight).expect("shape"),
            bias: Tensor::new(&[out_channels], bias).expect("shape"),
            stride,
            padding,
        }
    }

    /// # Panics
    /// If `x` is not a `(N, C, H, W)` batch with this layer's input channels, or the image
    /// is smaller than the kernel.
    fn geometry(&self, x: &Tensor) -> Geometry {
        let &[out, c_in, k, k2] = self.weight.shape() else {
            panic!(
                "Conv2d: weight of shape {:?} is not (out, in, k, k)",
                self.weight.shape()
            )
        };
        let &[n, c, h, w] = x.shape() else {
            panic!("Conv2d: input of shape {:?} is not (N, C, H, W)", x.shape())
        };
        assert!(
            k == k2 && c == c_in && self.stride > 0,
            "Conv2d: input of shape {:?} for weight {:?} and stride {}",
            x.shape(),
            self.weight.shape(),
            self.stride
        );
        let span = |len: usize| {
            (len + 2 * self.padding)
                .checked_sub(k)
                .map(|d| d / self.stride + 1)
        };
        let (Some(oh), Some(ow)) = (span(h), span(w)) else {
            panic!("Conv2d: a {h}×{w} image is smaller than the {k}×{k} kernel")
        };
        Geometry {
            n,
            c,
            h,
            w,
            out,
            k,
            stride: self.stride,
            pad: self.padding,
            oh,
            ow,
        }
    }

    /// The convolution of a batch `(N, C, H, W)`: `(N, out, OH, OW)`.
    pub fn forward(&self, x: &Tensor) -> Tensor {
        self.run(x).0
    }

    /// The output of every image, in parallel over the batch.
    fn run(&self, x: &Tensor) -> (Tensor, Geometry) {
        let g = self.geometry(x);
        let mut out = zeroed(g.n * g.out_len());
        out.par_chunks_mut(g.out_len())
            .zip(x.data().par_chunks(g.in_len()))
            .for_each_init(Scratch::default, |s, (y, x)| {
                self.image_forward(&g, x, y, s)
            });
        let y = Tensor::new(&[g.n, g.out, g.oh, g.ow], out).expect("shape");
        (y, g)
    }

    /// Image `x`'s output `y` (dense `out × OH × OW`). On the direct path the input is
    /// padded into the thread's buffer first; on the im2col path the column matrix is built
    /// in it and used at once (it stays in cache; the pullback builds it again from the
    /// input, which is a tenth of its size).
    fn image_forward(&self, g: &Geometry, x: &[f32], y: &mut [f32], s: &mut Scratch) {
        if g.direct() {
            let (xp_at, out_at) = (g.xp_at(), g.out_at());
            let params = (self.weight.data(), Some(self.bias.data()));
            s.a.resize(xp_at.len(g.c), 0.0);
            direct::pad_planes(x, g.h, g.w, g.pad, xp_at, &mut s.a);
            if out_at.row == g.ow {
                // Rows of whole strips are the dense layout: written in place.
                direct::correlate(&s.a, xp_at, params, g.k, y, out_at);
            } else {
                s.b.resize(out_at.len(g.out), 0.0);
                direct::correlate(&s.a, xp_at, params, g.k, &mut s.b, out_at);
                direct::unpad_planes(&s.b, out_at, g.ow, y);
            }
        } else {
            let (ckk, ohw) = (g.ckk(), g.ohw());
            s.a.resize(ckk * ohw, 0.0);
            g.im2col(x, &mut s.a);
            for (row, &b) in y.chunks_mut(ohw).zip(self.bias.data()) {
                row.fill(b);
            }
            let w = matrix(self.weight.data(), g.out, ckk);
            gemm(
                &mut matrix_mut(y, g.out, ohw),
                1.0,
                &w,
                &matrix(&s.a, ckk, ohw),
                1.0,
            );
        }
    }

    /// The output and the pullback, which gives the layer's cotangent and, if the caller
    /// needs it, the input's (for the first layer of a network, it does not).
    pub fn forward_vjp(
        &self,
        x: &Tensor,
    ) -> (Tensor, impl FnOnce(Tensor) -> (Conv2d, Tensor) + '_) {
        let needs = needs([
            "forward",
            core::any::type_name::<Self>(),
            crate::needs::type_name_of(x),
        ]);
        let (y, g) = self.run(x);
        let x = x.clone();
        let pullback = move |dy: Tensor| {
            assert_eq!(
                dy.shape(),
                [g.n, g.out, g.oh, g.ow],
                "Conv2d: cotangent shape"
            );
            self.cotangents(&g, &x, OutputCotangent::Dense(dy.data()), needs & 2 != 0)
        };
        (y, pullback)
    }

    /// `W̄ = Σₙ ȳₙ Xₙᵀ`, `b̄ = Σₙ ȳₙ 𝟙` and, if `need_dx`, `x̄ₙ`, in one pass over the
    /// images: blocks of images in parallel, each summing its share of `W̄` and `b̄`
    /// (then the shares are added) and writing its images' `x̄ₙ`.
    fn cotangents(
        &self,
        g: &Geometry,
        x: &Tensor,
        dy: OutputCotangent<'_>,
        need_dx: bool,
    ) -> (Conv2d, Tensor) {
        // Four blocks per thread: a thread that starts late (woken late, or sharing its
        // core) leaves blocks for the others to take.
        let per = g.n.div_ceil(4 * rayon::current_num_threads().max(1)).max(1);
        let wt = if g.direct() {
            direct::flipped_transposed(self.weight.data(), g.out, g.c, g.k)
        } else {
            Vec::new()
        };
        let block = |first: usize, dx_block: &mut [f32]| {
            let (mut dw, mut db) = (vec![0.0f32; self.weight.len()], vec![0.0f32; g.out]);
            let (mut scratch, mut dy_buffer) = (Scratch::default(), Vec::new());
            let images = first..(first + per).min(g.n);
            let dy = dy.block(g, images.clone(), &mut dy_buffer);
            if g.direct() {
                self.block_weight_grad(g, x.data(), dy, images.clone(), &mut dw, &mut scratch);
            }
            for (k, n) in images.enumerate() {
                let dy_n = &dy[k * g.out_len()..][..g.out_len()];
                let x_n = &x.data()[n * g.in_len()..][..g.in_len()];
                let dx_n = need_dx.then(|| &mut dx_block[k * g.in_len()..][..g.in_len()]);
                for (b, row) in db.iter_mut().zip(dy_n.chunks(g.ohw())) {
                    *b += sum(row);
                }
                match dx_n {
                    Some(dx_n) if g.direct() => {
                        self.image_dx_direct(g, dy_n, &wt, dx_n, &mut scratch)
                    }
                    _ if g.direct() => {}
                    dx_n => self.image_im2col(g, x_n, dy_n, &mut dw, dx_n, &mut scratch),
                }
            }
            (dw, db)
        };
        let mut dx = zeroed(if need_dx { g.n * g.in_len() } else { 0 });
        let partials: Vec<(Vec<f32>, Vec<f32>)> = if need_dx {
            dx.par_chunks_mut(per * g.in_len())
                .enumerate()
                .map(|(p, dx_block)| block(p * per, dx_block))
                .collect()
        } else {
            (0..g.n.div_ceil(per))
                .into_par_iter()
                .map(|p| block(p * per, &mut []))
                .collect()
        };
        let (mut dw, mut db) = (vec![0.0f32; self.weight.len()], vec![0.0f32; g.out]);
        for (pw, pb) in partials {
            dw.iter_mut().zip(pw).for_each(|(a, b)| *a += b);
            db.iter_mut().zip(pb).for_each(|(a, b)| *a += b);
        }
        let layer = Conv2d {
            weight: Tensor::new(self.weight.shape(), dw).expect("shape"),
            bias: Tensor::new(&[g.out], db).expect("shape"),
            stride: self.stride,
            padding: self.padding,
        };
        let dx = if need_dx {
            Tensor::new(&[g.n, g.c, g.h, g.w], dx).expect("shape")
        } else {
            Tensor::default()
        };
        (layer, dx)
    }

    /// A block of images' share of `W̄` (`dy`: the block's output cotangents), by the direct
    /// loops: their inputs padded into the thread's buffer, then one pass over all of them,
    /// reading `ȳ` where it is.
    fn block_weight_grad(
        &self,
        g: &Geometry,
        x: &[f32],
        dy: &[f32],
        images: std::ops::Range<usize>,
        dw: &mut [f32],
        s: &mut Scratch,
    ) {
        let x_at = Planes {
            h: g.oh + g.k - 1,
            row: g.ow + g.k - 1,
        };
        let x_len = x_at.len(g.c);
        s.a.resize(images.len() * x_len, 0.0);
        for (n, xp) in images.clone().zip(s.a.chunks_exact_mut(x_len)) {
            let x_n = &x[n * g.in_len()..][..g.in_len()];
            direct::pad_planes(x_n, g.h, g.w, g.pad, x_at, xp);
        }
        direct::weight_grad(&s.a, x_at, dy, (g.oh, g.ow), images.len(), g.k, dw);
    }

    /// One image's `x̄ₙ` by the direct loops; `wt` holds the weights flipped and transposed.
    fn image_dx_direct(
        &self,
        g: &Geometry,
        dy_n: &[f32],
        wt: &[f32],
        dx_n: &mut [f32],
        s: &mut Scratch,
    ) {
        let (dyp_at, dx_at) = (g.dyp_at(), g.dx_at());
        s.a.resize(dyp_at.len(g.out), 0.0);
        direct::pad_planes(dy_n, g.oh, g.ow, g.k - 1 - g.pad, dyp_at, &mut s.a);
        if dx_at.row == g.w {
            // Rows of whole strips are the dense layout: written in place.
            direct::correlate(&s.a, dyp_at, (wt, None), g.k, dx_n, dx_at);
        } else {
            s.c.resize(dx_at.len(g.c), 0.0);
            direct::correlate(&s.a, dyp_at, (wt, None), g.k, &mut s.c, dx_at);
            direct::unpad_planes(&s.c, dx_at, g.w, dx_n);
        }
    }

    /// One image's share of `W̄ᵀ += Xₙ ȳₙᵀ` (the column matrix is built again and read row
    /// by row, as it was built) and `x̄ₙ = col2im(Wᵀ ȳₙ)`.
    fn image_im2col(
        &self,
        g: &Geometry,
        x_n: &[f32],
        dy_n: &[f32],
        dw: &mut [f32],
        dx_n: Option<&mut [f32]>,
        s: &mut Scratch,
    ) {
        let (ckk, ohw) = (g.ckk(), g.ohw());
        s.a.resize(ckk * ohw, 0.0);
        g.im2col(x_n, &mut s.a);
        gemm(
            &mut strided_mut(dw, ckk, g.out, 1, ckk),
            1.0,
            &matrix(&s.a, ckk, ohw),
            &matrix_transposed(dy_n, g.out, ohw),
            1.0,
        );
        if let Some(dx_n) = dx_n {
            s.b.resize(ckk * ohw, 0.0);
            let wt = matrix_transposed(self.weight.data(), g.out, ckk);
            let dy_m = matrix(dy_n, g.out, ohw);
            gemm(&mut matrix_mut(&mut s.b, ckk, ohw), 1.0, &wt, &dy_m, 0.0);
            g.col2im(&s.b, dx_n);
        }
    }

    /// The output and its tangent: the convolution is bilinear in the layer and the input,
    /// `ẏ = conv(ẋ; W, ḃ) + conv(x; Ẇ, 0)`.
    pub fn forward_jvp(&self, x: &Tensor, d_self: &Conv2d, dx: &Tensor) -> (Tensor, Tensor) {
        let y = self.forward(x);
        let through_input = Conv2d {
            weight: self.weight.clone(),
            bias: d_self.bias.clone(),
            ..self.clone()
        }
        .forward(dx);
        let through_weight = Conv2d {
            weight: d_self.weight.clone(),
            bias: Tensor::zeros(self.bias.shape()),
            ..self.clone()
        }
        .forward(x);
        (y, through_input.zip_map(&through_weight, |a, b| a + b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Differentiable;

    /// The definition, one output at a time.
    fn naive(layer: &Conv2d, x: &Tensor) -> Tensor {
        let g = layer.geometry(x);
        Tensor::from_fn(&[g.n, g.out, g.oh, g.ow], |flat| {
            let (n, rest) = (flat / g.out_len(), flat % g.out_len());
            let (o, p) = (rest / g.ohw(), rest % g.ohw());
            let (oy, ox) = (p / g.ow, p % g.ow);
            let mut s = layer.bias.data()[o];
            for c in 0..g.c {
                for i in 0..g.k {
                    for j in 0..g.k {
                        let y = (oy * g.stride + i) as isize - g.pad as isize;
                        let x_ = (ox * g.stride + j) as isize - g.pad as isize;
                        if y >= 0 && x_ >= 0 && (y as usize) < g.h && (x_ as usize) < g.w {
                            let wv = layer.weight.data()[((o * g.c + c) * g.k + i) * g.k + j];
                            s += wv
                                * x.data()[((n * g.c + c) * g.h + y as usize) * g.w + x_ as usize];
                        }
                    }
                }
            }
            s
        })
    }

    #[test]
    fn matches_the_definition_with_padding_and_stride() {
        let mut init = Init::new(3);
        // Direct (stride 1, k = 1, 3, 5, p < k) and im2col cases, widths below, at and
        // above a strip of 16.
        for (k, stride, padding, size) in [
            (3, 1, 1, 9),
            (3, 2, 0, 8),
            (3, 1, 0, 7),
            (3, 2, 1, 11),
            (3, 1, 2, 5),
            (5, 1, 2, 16),
            (1, 1, 0, 18),
            (3, 1, 1, 33),
            (2, 1, 0, 6),
        ] {
            let layer = Conv2d::new(3, 7, k, stride, padding, &mut init);
            let x =
                Tensor::new(&[2, 3, size, size], init.uniform(2 * 3 * size * size, 1.0)).unwrap();
            let (fast, slow) = (layer.forward(&x), naive(&layer, &x));
            assert_eq!(fast.shape(), slow.shape());
            for (a, b) in fast.data().iter().zip(slow.data()) {
                assert!((a - b).abs() < 1e-4, "{a} vs {b}");
            }
        }
    }

    #[test]
    fn pullback_is_the_adjoint_of_the_tangent() {
        let mut init = Init::new(5);
        for (k, stride, padding) in [(3, 1, 1), (3, 2, 1), (5, 1, 1), (1, 1, 0), (3, 1, 3)] {
            let layer = Conv2d::new(2, 6, k, stride, padding, &mut init);
            let x = Tensor::new(&[3, 2, 8, 8], init.uniform(3 * 2 * 64, 1.0)).unwrap();
            let d_layer = init.like(&layer);
            let dx = Tensor::new(x.shape(), init.uniform(x.len(), 1.0)).unwrap();
            let (y, dy) = layer.forward_jvp(&x, &d_layer, &dx);
            let ybar = Tensor::new(y.shape(), init.uniform(y.len(), 1.0)).unwrap();
            let (_, pullback) = layer.forward_vjp(&x);
            let (layer_bar, x_bar) = pullback(ybar.clone());
            // b̄ is ȳ summed over images and pixels, channel by channel.
            let plane = y.shape()[2] * y.shape()[3];
            for (o, &b) in layer_bar.bias.data().iter().enumerate() {
                let sum: f32 = (0..3)
                    .map(|n| {
                        ybar.data()[(n * 6 + o) * plane..][..plane]
                            .iter()
                            .sum::<f32>()
                    })
                    .sum();
                assert!((b - sum).abs() < 1e-4, "b̄[{o}] = {b}, Σ ȳ = {sum}");
            }
            let forward = dy.inner(&ybar);
            let reverse = layer_bar.inner(&d_layer) + x_bar.inner(&dx);
            assert!(
                (forward - reverse).abs() < 1e-3 * forward.abs().max(1.0),
                "{forward} vs {reverse}"
            );
        }
    }
}
