//! Data sets of labelled images held as bytes, their readers (MNIST IDX, the CIFAR-10
//! binary release, image folders), per-channel normalisation and shuffled mini-batches.
//! A malformed or truncated file is an [`DataError`] naming the file and what is wrong.

mod cifar;
#[cfg(feature = "download")]
pub mod download;
mod folder;
mod mnist;

pub use cifar::read_cifar10_binary;
pub use folder::read_image_folder;
pub use mnist::read_mnist;

use crate::Tensor;
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use std::fmt;
use std::path::{Path, PathBuf};

/// What went wrong reading a data file.
#[derive(Debug)]
pub struct DataError {
    /// The file that could not be read.
    pub path: PathBuf,
    /// What is wrong with it.
    pub message: String,
}

impl DataError {
    fn new(path: &Path, message: impl Into<String>) -> DataError {
        DataError {
            path: path.to_path_buf(),
            message: message.into(),
        }
    }
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.message)
    }
}

impl std::error::Error for DataError {}

/// Labelled images: `len()` images of `channels × height × width` bytes, row-major planes.
#[derive(Clone, Debug, Default)]
pub struct Dataset {
    /// The pixels of all images, one image after another.
    pub images: Vec<u8>,
    /// The class of each image.
    pub labels: Vec<u8>,
    /// Channels per image (3 for RGB, 1 for grey).
    pub channels: usize,
    /// Rows per image.
    pub height: usize,
    /// Columns per image.
    pub width: usize,
    /// Class names by label, where the source has them.
    pub classes: Vec<String>,
}

/// `(x / 255 − mean[c]) / std[c]` per channel `c`.
#[derive(Clone, Debug)]
pub struct Normalize {
    /// The mean of each channel, on the 0–1 scale.
    pub mean: Vec<f32>,
    /// The standard deviation of each channel, on the 0–1 scale.
    pub std: Vec<f32>,
}

impl Normalize {
    /// `(scale, shift)` of channel `c`: a byte `p` becomes `p·scale − shift`.
    fn affine(&self, c: usize) -> (f32, f32) {
        (1.0 / (255.0 * self.std[c]), self.mean[c] / self.std[c])
    }

    /// The same mean and standard deviation for every channel.
    pub fn uniform(channels: usize, mean: f32, std: f32) -> Normalize {
        Normalize {
            mean: vec![mean; channels],
            std: vec![std; channels],
        }
    }
}

impl Dataset {
    /// The number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are no images.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Bytes per image.
    pub fn image_len(&self) -> usize {
        self.channels * self.height * self.width
    }

    /// Image `i`'s bytes.
    pub fn image(&self, i: usize) -> &[u8] {
        &self.images[i * self.image_len()..][..self.image_len()]
    }

    /// The images at `indices` as a normalised `(N, C, H, W)` batch, and their labels.
    pub fn batch(&self, indices: &[usize], norm: &Normalize) -> (Tensor, Vec<usize>) {
        let plane = self.height * self.width;
        let mut data = vec![0.0f32; indices.len() * self.image_len()];
        data.par_chunks_mut(self.image_len())
            .zip(indices.par_iter())
            .for_each(|(out, &i)| {
                let planes = out.chunks_mut(plane).zip(self.image(i).chunks(plane));
                for (c, (out, pixels)) in planes.enumerate() {
                    let (scale, shift) = norm.affine(c);
                    for (o, &p) in out.iter_mut().zip(pixels) {
                        *o = f32::from(p) * scale - shift;
                    }
                }
            });
        let shape = [indices.len(), self.channels, self.height, self.width];
        let labels = indices
            .iter()
            .map(|&i| usize::from(self.labels[i]))
            .collect();
        (Tensor::new(&shape, data).expect("batch shape"), labels)
    }

    /// Like [`batch`](Self::batch), each image randomly augmented as torchvision's
    /// `RandomCrop(size, padding=pad)` and `RandomHorizontalFlip()`: a crop of the image's
    /// size at a random offset of the image zero-padded by `pad` (after normalisation the
    /// padding is the normalised zero), then a mirror image with probability ½.
    pub fn batch_augmented(
        &self,
        indices: &[usize],
        norm: &Normalize,
        pad: usize,
        rng: &mut ChaCha8Rng,
    ) -> (Tensor, Vec<usize>) {
        let (h, w) = (self.height, self.width);
        // The random choices in order (reproducible), the pixels in parallel.
        let choices: Vec<(usize, usize, bool)> = indices
            .iter()
            .map(|_| {
                let (dy, dx) = (rng.random_range(0..=2 * pad), rng.random_range(0..=2 * pad));
                (dy, dx, rng.random_bool(0.5))
            })
            .collect();
        let mut data = vec![0.0f32; indices.len() * self.image_len()];
        data.par_chunks_mut(self.image_len())
            .zip(indices.par_iter().zip(&choices))
            .for_each(|(out, (&i, &(dy, dx, flip)))| {
                let planes = out.chunks_mut(h * w).zip(self.image(i).chunks(h * w));
                for (c, (out, plane)) in planes.enumerate() {
                    let (scale, shift) = norm.affine(c);
                    for y in 0..h {
                        for x in 0..w {
                            // Output (y, x) shows padded (y + dy, x' + dx), x' mirrored if
                            // flipped.
                            let xs = if flip { w - 1 - x } else { x };
                            let (sy, sx) = ((y + dy).checked_sub(pad), (xs + dx).checked_sub(pad));
                            let byte = match (sy, sx) {
                                (Some(sy), Some(sx)) if sy < h && sx < w => plane[sy * w + sx],
                                _ => 0,
                            };
                            out[y * w + x] = f32::from(byte) * scale - shift;
                        }
                    }
                }
            });
        let shape = [indices.len(), self.channels, h, w];
        let labels = indices
            .iter()
            .map(|&i| usize::from(self.labels[i]))
            .collect();
        (Tensor::new(&shape, data).expect("batch shape"), labels)
    }

    /// A random subset of `n` images (all if `n ≥ len`), from `seed`.
    pub fn subset(&self, n: usize, seed: u64) -> Dataset {
        let mut order: Vec<usize> = (0..self.len()).collect();
        order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
        order.truncate(n.min(self.len()));
        order.sort_unstable();
        let mut out = Dataset {
            images: Vec::with_capacity(order.len() * self.image_len()),
            labels: Vec::with_capacity(order.len()),
            channels: self.channels,
            height: self.height,
            width: self.width,
            classes: self.classes.clone(),
        };
        for i in order {
            out.images.extend_from_slice(self.image(i));
            out.labels.push(self.labels[i]);
        }
        out
    }
}

/// The indices `0..n` in a random order.
pub fn shuffled(n: usize, rng: &mut ChaCha8Rng) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(rng);
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn augmentation_crops_within_the_padding_and_mirrors() {
        let set = Dataset {
            images: (0..16).collect(),
            labels: vec![3],
            channels: 1,
            height: 4,
            width: 4,
            classes: Vec::new(),
        };
        let norm = Normalize::uniform(1, 0.0, 1.0 / 255.0);
        let (plain, _) = set.batch(&[0], &norm);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut seen_flip = false;
        for _ in 0..50 {
            let (x, labels) = set.batch_augmented(&[0], &norm, 1, &mut rng);
            assert_eq!((x.shape(), labels[0]), (&[1usize, 1, 4, 4][..], 3));
            // Every pixel is either padding or a pixel of the image; rows stay rows.
            assert!(x
                .data()
                .iter()
                .all(|&v| v == 0.0 || plain.data().contains(&v)));
            seen_flip |= x.data()[5] > x.data()[6] && x.data()[6] > 0.0;
        }
        assert!(seen_flip, "some crops are mirrored");
    }
}
