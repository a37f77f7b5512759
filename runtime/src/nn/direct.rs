//! Direct convolution for stride 1 and kernels of size 1, 3 or 5: no column matrix and
//! no packing, which cost more than the multiplications themselves at the channel counts
//! of small CNNs.
//!
//! An image's planes are first copied into zero-padded planes `xp` whose rows are long
//! enough for every output row to be a whole number of `STRIP`-float strips. Then
//! - `correlate`: `out[o][y][x] = Σ_{c,i,j} w[o][c][i][j] · xp[c][y+i][x+j]`;
//! - `weight_grad`: `w̄[o][c][i][j] += Σ_{n,y,x} ȳₙ[o][y][x] · xpₙ[c][y+i][x+j]`, over a
//!   block of images at once;
//! - the input cotangent is `correlate` again, of `ȳ` padded by `k − 1 − p` with the
//!   weights flipped and transposed: `x̄[c][y][x] = Σ_{o,i,j} w[o][c][k−1−i][k−1−j] ·
//!   ȳp[o][y+i][x+j]`.
//!
//! The kernels are written with `pulp`'s SIMD vectors: each is compiled for AVX2 + FMA
//! and for plain scalars, and the version is chosen at run time.

/// Output rows are computed in strips of this many floats (two AVX registers).
pub(super) const STRIP: usize = 16;

/// Output channels computed together: they share every input load.
const BLOCK: usize = 4;

/// Kernel sizes with a direct path.
pub(super) fn supported(k: usize) -> bool {
    matches!(k, 1 | 3 | 5)
}

/// A stack of `planes` planes of `h × w` floats, stored with rows of `row` floats
/// (`row ≥ w`).
#[derive(Clone, Copy, Debug)]
pub(super) struct Planes {
    pub h: usize,
    pub row: usize,
}

impl Planes {
    pub fn len(&self, planes: usize) -> usize {
        planes * self.h * self.row
    }
}

/// Copies planes of `h × w` from `src` into `dst` laid out as `to`, at row and column
/// offset `pad`, with zeros everywhere else.
pub(super) fn pad_planes(src: &[f32], h: usize, w: usize, pad: usize, to: Planes, dst: &mut [f32]) {
    dst.fill(0.0);
    let plane = to.h * to.row;
    for (s, d) in src.chunks_exact(h * w).zip(dst.chunks_exact_mut(plane)) {
        for (y, row) in s.chunks_exact(w).enumerate() {
            d[(y + pad) * to.row + pad..][..w].copy_from_slice(row);
        }
    }
}

/// The first `w` floats of every row of `src` (laid out as `from`) into `dst` (dense
/// `h × w` planes).
pub(super) fn unpad_planes(src: &[f32], from: Planes, w: usize, dst: &mut [f32]) {
    let plane = from.h * w;
    for (p, d) in dst.chunks_exact_mut(plane).enumerate() {
        let s = &src[p * from.h * from.row..];
        for (y, row) in d.chunks_exact_mut(w).enumerate() {
            row.copy_from_slice(&s[y * from.row..][..w]);
        }
    }
}

/// `out` (`outs` planes laid out as `out_at`, whose row length is a multiple of `STRIP`)
/// `=` the correlation of `xp` (`ins` planes laid out as `xp_at`, with rows at least
/// `out_at.row + k − 1` long and `out_at.h + k − 1` rows) with `w` `(outs, ins, k, k)`,
/// plus `bias[o]` on plane `o` if given.
pub(super) fn correlate(
    xp: &[f32],
    xp_at: Planes,
    (w, bias): (&[f32], Option<&[f32]>),
    k: usize,
    out: &mut [f32],
    out_at: Planes,
) {
    let op = Correlate {
        x: (xp, xp_at),
        w,
        bias,
        out,
        out_at,
    };
    let arch = pulp::Arch::new();
    match k {
        1 => arch.dispatch(CorrelateK::<1>(op)),
        3 => arch.dispatch(CorrelateK::<3>(op)),
        5 => arch.dispatch(CorrelateK::<5>(op)),
        _ => unreachable!("the direct convolution was chosen for a {k}×{k} kernel"),
    }
}

struct Correlate<'a> {
    x: (&'a [f32], Planes),
    w: &'a [f32],
    bias: Option<&'a [f32]>,
    out: &'a mut [f32],
    out_at: Planes,
}

/// `BLOCK` output channels at a time: for each strip of an output row (two registers),
/// `2·BLOCK` accumulators stay in registers while every input channel and kernel offset
/// is added (one load of the input row serves all the block's channels).
struct CorrelateK<'a, const K: usize>(Correlate<'a>);

impl<const K: usize> pulp::WithSimd for CorrelateK<'_, K> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, simd: S) {
        let Correlate {
            x: (xp, xp_at),
            w,
            bias,
            out,
            out_at,
        } = self.0;
        let lanes = S::F32_LANES;
        debug_assert!(out_at.row % (2 * lanes) == 0, "rows of whole strips");
        let load = |s: &[f32]| -> S::f32s {
            pulp::bytemuck::pod_read_unaligned(pulp::bytemuck::cast_slice(&s[..lanes]))
        };
        let out_plane = out_at.h * out_at.row;
        let outs = out.len() / out_plane;
        let per = w.len() / outs;
        let plane = xp_at.h * xp_at.row;
        for first in (0..outs).step_by(BLOCK) {
            let block = BLOCK.min(outs - first);
            // The block's weights as `[c][i][j] -> [w of each output channel]`, zero for
            // channels past the last.
            let wb: Vec<[f32; BLOCK]> = (0..per)
                .map(|t| {
                    std::array::from_fn(|b| {
                        if b < block {
                            w[(first + b) * per + t]
                        } else {
                            0.0
                        }
                    })
                })
                .collect();
            for y in 0..out_at.h {
                for x0 in (0..out_at.row).step_by(2 * lanes) {
                    // Each channel's sum starts at its bias.
                    let mut acc: [[S::f32s; 2]; BLOCK] = std::array::from_fn(|b| {
                        let start = bias.map_or(0.0, |bias| bias[(first + b).min(outs - 1)]);
                        [simd.splat_f32s(start); 2]
                    });
                    for (c, wc) in wb.chunks_exact(K * K).enumerate() {
                        for (i, wi) in wc.chunks_exact(K).enumerate() {
                            let row =
                                &xp[c * plane + (y + i) * xp_at.row + x0..][..2 * lanes + K - 1];
                            for (j, wj) in wi.iter().enumerate() {
                                let (r0, r1) = (load(&row[j..]), load(&row[j + lanes..]));
                                for (a, &wv) in acc.iter_mut().zip(wj) {
                                    let wv = simd.splat_f32s(wv);
                                    a[0] = simd.mul_add_e_f32s(wv, r0, a[0]);
                                    a[1] = simd.mul_add_e_f32s(wv, r1, a[1]);
                                }
                            }
                        }
                    }
                    for (b, a) in acc.iter().enumerate().take(block) {
                        let a: &[f32] = pulp::bytemuck::cast_slice(a);
                        out[(first + b) * out_plane + y * out_at.row + x0..][..2 * lanes]
                            .copy_from_slice(a);
                    }
                }
            }
        }
    }
}

/// The most `f32` lanes of a SIMD register the kernels may be compiled for (AVX-512).
const MAX_LANES: usize = 16;

/// `dw` `(outs, ins, k, k)` `+=` `Σ_{n,y,x} ȳₙ[o][y][x] · xpₙ[c][y+i][x+j]` over a block of
/// `images`: `xp` laid out as for [`correlate`] (rows of at least `ow + k − 1` floats),
/// image after image, and `ȳ` as it is, dense `oh × ow` planes.
#[allow(clippy::too_many_arguments)]
pub(super) fn weight_grad(
    xp: &[f32],
    xp_at: Planes,
    dy: &[f32],
    (oh, ow): (usize, usize),
    images: usize,
    k: usize,
    dw: &mut [f32],
) {
    let op = WeightGrad {
        x: (xp, xp_at),
        dy,
        out: (oh, ow),
        images,
        dw,
    };
    let arch = pulp::Arch::new();
    match k {
        1 => arch.dispatch(WeightGradK::<1>(op)),
        3 => arch.dispatch(WeightGradK::<3>(op)),
        5 => arch.dispatch(WeightGradK::<5>(op)),
        _ => unreachable!("the direct convolution was chosen for a {k}×{k} kernel"),
    }
}

struct WeightGrad<'a> {
    x: (&'a [f32], Planes),
    dy: &'a [f32],
    out: (usize, usize),
    images: usize,
    dw: &'a mut [f32],
}

/// For each group of output channels, input channel `c` and kernel row `i`, `GROUP·K`
/// accumulators (one per output channel and kernel column `j`) run along the rows of
/// every image's `ȳ` and its input rows shifted by `(i, j)`, a register of pixels at a
/// time (a row's last, partial register read through a zero-filled copy). Their lanes are
/// summed once per block of images.
struct WeightGradK<'a, const K: usize>(WeightGrad<'a>);

/// Output channels per pass of [`WeightGradK`].
const GROUP: usize = 4;

impl<const K: usize> pulp::WithSimd for WeightGradK<'_, K> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, simd: S) {
        let WeightGrad {
            x: (xp, xp_at),
            dy,
            out: (oh, ow),
            images,
            dw,
        } = self.0;
        let lanes = S::F32_LANES;
        debug_assert!(lanes <= MAX_LANES && xp_at.row >= ow + K - 1);
        let load = |s: &[f32]| -> S::f32s {
            pulp::bytemuck::pod_read_unaligned(pulp::bytemuck::cast_slice(&s[..lanes]))
        };
        let (plane, dy_plane) = (xp_at.h * xp_at.row, oh * ow);
        let outs = dy.len() / (images * dy_plane);
        let ins = xp.len() / (images * plane);
        let (whole, rest) = (ow - ow % lanes, ow % lanes);
        for o in (0..outs).step_by(GROUP) {
            let group = GROUP.min(outs - o);
            for c in 0..ins {
                for i in 0..K {
                    let mut acc = [[simd.splat_f32s(0.0); K]; GROUP];
                    for n in 0..images {
                        // Channels past the last repeat it (and are not stored).
                        let planes: [&[f32]; GROUP] = std::array::from_fn(|b| {
                            &dy[(n * outs + o + b.min(group - 1)) * dy_plane..][..dy_plane]
                        });
                        let x = &xp[(n * ins + c) * plane + i * xp_at.row..];
                        for y in 0..oh {
                            let xrow = &x[y * xp_at.row..][..ow + K - 1];
                            let rows: [&[f32]; GROUP] =
                                std::array::from_fn(|b| &planes[b][y * ow..][..ow]);
                            for x0 in (0..whole).step_by(lanes) {
                                let xv = std::array::from_fn(|j| load(&xrow[x0 + j..]));
                                let ds = std::array::from_fn(|b| load(&rows[b][x0..]));
                                accumulate(simd, &mut acc, &xv, ds);
                            }
                            if rest > 0 {
                                // A partial register, through zero-filled copies.
                                let part = |s: &[f32]| {
                                    let mut t = [0.0f32; MAX_LANES];
                                    t[..s.len()].copy_from_slice(s);
                                    load(&t)
                                };
                                let xv = std::array::from_fn(|j| part(&xrow[whole + j..][..rest]));
                                let ds = std::array::from_fn(|b| part(&rows[b][whole..]));
                                accumulate(simd, &mut acc, &xv, ds);
                            }
                        }
                    }
                    for (b, acc) in acc.iter().enumerate().take(group) {
                        for (j, a) in acc.iter().enumerate() {
                            let a: &[f32] = pulp::bytemuck::cast_slice(std::slice::from_ref(a));
                            dw[(((o + b) * ins + c) * K + i) * K + j] += a.iter().sum::<f32>();
                        }
                    }
                }
            }
        }
    }
}

/// `acc[b][j] += ds[b] · xv[j]`: one register of pixels of `GROUP` output channels' `ȳ`
/// times the input at each kernel column. (A function, not a closure, so that it is
/// compiled inline with the caller's instruction set.)
#[inline(always)]
fn accumulate<S: pulp::Simd, const K: usize>(
    simd: S,
    acc: &mut [[S::f32s; K]; GROUP],
    xv: &[S::f32s; K],
    ds: [S::f32s; GROUP],
) {
    for (acc, d) in acc.iter_mut().zip(ds) {
        for (a, &x) in acc.iter_mut().zip(xv) {
            *a = simd.mul_add_e_f32s(d, x, *a);
        }
    }
}

/// `w` `(outs, ins, k, k)` as `(ins, outs, k, k)` with each kernel turned by 180°: the
/// weights that make the input cotangent a correlation.
pub(super) fn flipped_transposed(w: &[f32], outs: usize, ins: usize, k: usize) -> Vec<f32> {
    let kk = k * k;
    let mut t = vec![0.0f32; w.len()];
    for o in 0..outs {
        for c in 0..ins {
            for ij in 0..kk {
                t[(c * outs + o) * kk + (kk - 1 - ij)] = w[(o * ins + c) * kk + ij];
            }
        }
    }
    t
}
