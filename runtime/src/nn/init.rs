//! Seeded initialisation as in PyTorch's `nn.Linear` and `nn.Conv2d`: weights and biases
//! uniform in `(−1/√fan_in, 1/√fan_in)` (what `kaiming_uniform_(a = √5)` gives for the
//! weights), from a named generator so that a seed gives the same model everywhere.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The random source of initialisation (and of anything else a seed should fix).
pub struct Init {
    rng: ChaCha8Rng,
}

impl Init {
    /// A generator seeded with `seed`: the same seed gives the same weights.
    pub fn new(seed: u64) -> Init {
        Init {
            rng: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    /// `n` numbers uniform in `(−bound, bound)`.
    pub fn uniform(&mut self, n: usize, bound: f32) -> Vec<f32> {
        (0..n)
            .map(|_| self.rng.random_range(-bound..bound))
            .collect()
    }

    /// A value shaped like `like` with numbers uniform in `(−1, 1)` (a random tangent or
    /// cotangent, for tests of rules).
    pub fn like<P: crate::Differentiable + Clone>(&mut self, like: &P) -> P {
        let mut p = like.clone();
        let flat: Vec<f64> = (0..p.num_floats())
            .map(|_| self.rng.random_range(-1.0..1.0))
            .collect();
        p.set_flat(&flat);
        p
    }

    /// PyTorch's default for a layer with `fan_in` inputs per output.
    pub fn default_weights(&mut self, n: usize, fan_in: usize) -> Vec<f32> {
        self.uniform(n, 1.0 / (fan_in as f32).sqrt())
    }
}
