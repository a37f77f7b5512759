//! Optimizers over any [`Differentiable`] parameter value, with PyTorch's update equations.
//! `step(&mut params, &grads)` updates the parameters in place; the state (moments) is
//! kept per parameter in visit order.

use crate::{Differentiable, Floats, FloatsMut};
use rayon::prelude::*;

/// Below this many numbers a parameter is updated on one thread.
const PARALLEL: usize = 1 << 15;

/// Adam (Kingma & Ba), as `torch.optim.Adam`: with `g` the gradient (plus `weight_decay·p`
/// unless decoupled), `m = β₁m + (1−β₁)g`, `v = β₂v + (1−β₂)g²`,
/// `p −= lr · (m / (1−β₁ᵗ)) / (√(v / (1−β₂ᵗ)) + ε)`. With `decoupled` (AdamW),
/// `p −= lr·weight_decay·p` first and the gradient is left alone.
#[derive(Clone, Debug)]
pub struct Adam {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
    pub decoupled: bool,
    t: u64,
    m: Vec<Vec<f32>>,
    v: Vec<Vec<f32>>,
}

impl Adam {
    /// PyTorch's defaults: betas (0.9, 0.999), eps 1e-8, no weight decay.
    pub fn new(lr: f64) -> Adam {
        Adam {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
            decoupled: false,
            t: 0,
            m: Vec::new(),
            v: Vec::new(),
        }
    }

    /// AdamW (`torch.optim.AdamW`, default weight decay 0.01).
    pub fn adamw(lr: f64, weight_decay: f64) -> Adam {
        Adam {
            weight_decay,
            decoupled: true,
            ..Adam::new(lr)
        }
    }

    /// The number of steps taken.
    pub fn steps(&self) -> u64 {
        self.t
    }

    /// One update of `params` with `grads` (of the same shape).
    pub fn step<P: Differentiable>(&mut self, params: &mut P, grads: &P) {
        self.t += 1;
        let t = self.t as i32;
        let c1 = 1.0 - self.beta1.powi(t);
        let c2 = 1.0 - self.beta2.powi(t);
        let h = Hyper {
            lr: (self.lr / c1) as f32,
            beta1: self.beta1 as f32,
            beta2: self.beta2 as f32,
            inv_c2: (1.0 / c2) as f32,
            eps: self.eps as f32,
            decay: self.weight_decay as f32,
            decoupled_shrink: (1.0 - self.lr * self.weight_decay) as f32,
            decoupled: self.decoupled,
        };
        let mut k = 0;
        let (ms, vs) = (&mut self.m, &mut self.v);
        params.visit_pair(grads, "", &mut |_, p, g| {
            if ms.len() == k {
                ms.push(vec![0.0; p.len()]);
                vs.push(vec![0.0; p.len()]);
            }
            update(p, g, &mut ms[k], &mut vs[k], &h);
            k += 1;
        });
    }
}

/// The step's numbers in `f32`: `lr` already divided by `1 − β₁ᵗ`.
struct Hyper {
    lr: f32,
    beta1: f32,
    beta2: f32,
    inv_c2: f32,
    eps: f32,
    decay: f32,
    decoupled_shrink: f32,
    decoupled: bool,
}

fn update(p: FloatsMut<'_>, g: Floats<'_>, m: &mut [f32], v: &mut [f32], h: &Hyper) {
    match (p, g) {
        (FloatsMut::F32(p), Floats::F32(g)) => {
            if p.len() >= PARALLEL {
                let chunk = p.len().div_ceil(rayon::current_num_threads().max(1));
                p.par_chunks_mut(chunk)
                    .zip(g.par_chunks(chunk))
                    .zip(m.par_chunks_mut(chunk))
                    .zip(v.par_chunks_mut(chunk))
                    .for_each(|(((p, g), m), v)| adam_f32(p, g, m, v, h));
            } else {
                adam_f32(p, g, m, v, h);
            }
        }
        (mut p, g) => {
            // f64 parameters (rare in training): the same equations, element by element.
            for i in 0..p.len() {
                let (x, gi) = (p.get(i), g.get(i));
                let h64 = |v: f32| f64::from(v);
                let (x, gi) = if h.decoupled {
                    (x * h64(h.decoupled_shrink), gi)
                } else {
                    (x, gi + h64(h.decay) * x)
                };
                let mi = h64(h.beta1) * h64(m[i]) + (1.0 - h64(h.beta1)) * gi;
                let vi = h64(h.beta2) * h64(v[i]) + (1.0 - h64(h.beta2)) * gi * gi;
                m[i] = mi as f32;
                v[i] = vi as f32;
                p.set(
                    i,
                    x - h64(h.lr) * mi / ((vi * h64(h.inv_c2)).sqrt() + h64(h.eps)),
                );
            }
        }
    }
}

fn adam_f32(p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], h: &Hyper) {
    for (((p, &g), m), v) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
        let g = if h.decoupled {
            *p *= h.decoupled_shrink;
            g
        } else {
            g + h.decay * *p
        };
        *m = h.beta1 * *m + (1.0 - h.beta1) * g;
        *v = h.beta2 * *v + (1.0 - h.beta2) * g * g;
        *p -= h.lr * *m / ((*v * h.inv_c2).sqrt() + h.eps);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two steps computed by hand from PyTorch's equations.
    #[test]
    fn adam_matches_hand_computed_steps() {
        let mut p = vec![1.0f32, -2.0];
        let g = vec![0.5f32, 0.1];
        let mut opt = Adam::new(0.1);
        opt.step(&mut p, &g);
        // t = 1: m̂ = g, v̂ = g², step = lr · g / (|g| + ε) = ±0.1.
        assert!((p[0] - 0.9).abs() < 1e-6 && (p[1] + 2.1).abs() < 1e-6);
        opt.step(&mut p, &g);
        // f32 arithmetic, as in PyTorch: agreement to a few ulps of the step.
        assert!(
            (p[0] - 0.8).abs() < 1e-5 && (p[1] + 2.2).abs() < 1e-5,
            "{p:?}"
        );
    }

    #[test]
    fn adamw_decays_before_the_step() {
        let mut p = vec![2.0f32];
        let mut opt = Adam::adamw(0.1, 0.5);
        opt.step(&mut p, &vec![0.0f32]);
        // p·(1 − 0.1·0.5) and no gradient step.
        assert!((p[0] - 1.9).abs() < 1e-6);
    }
}
