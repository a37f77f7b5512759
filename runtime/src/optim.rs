//! Optimizers over any [`Differentiable`] parameter value, with PyTorch's update equations.
//! `step(&mut params, &grads)` updates the parameters in place; the state (moments) is
//! kept per parameter in visit order.

use crate::{Differentiable, Floats, FloatsMut};
use rayon::prelude::*;

/// What every optimizer here does: one update of the parameters from their gradient (a
/// value of the parameters' own type, as `f_grad` gives it), at a learning rate that a
/// [`Schedule`] may change between steps. Write training loops over `O: Optimizer` to
/// swap Adam for SGD without other changes.
pub trait Optimizer {
    /// One update of `params` with `grads` (of the same shape).
    fn step<P: Differentiable>(&mut self, params: &mut P, grads: &P);
    /// The learning rate of the next step.
    fn learning_rate(&self) -> f64;
    /// Sets the learning rate of the steps to come.
    fn set_learning_rate(&mut self, lr: f64);
}

/// Implements [`Optimizer`] through each type's own `step` and its `lr` field.
macro_rules! optimizer {
    ($($t:ty),*) => {$(
        impl Optimizer for $t {
            fn step<P: Differentiable>(&mut self, params: &mut P, grads: &P) {
                <$t>::step(self, params, grads);
            }
            fn learning_rate(&self) -> f64 {
                self.lr
            }
            fn set_learning_rate(&mut self, lr: f64) {
                self.lr = lr;
            }
        }
    )*};
}

optimizer!(Adam, Sgd, AdaGrad, RmsProp);

/// Below this many numbers a parameter is updated on one thread.
const PARALLEL: usize = 1 << 15;

/// Adam (Kingma & Ba), as `torch.optim.Adam`: with `g` the gradient (plus `weight_decay·p`
/// unless decoupled), `m = β₁m + (1−β₁)g`, `v = β₂v + (1−β₂)g²`,
/// `p −= lr · (m / (1−β₁ᵗ)) / (√(v / (1−β₂ᵗ)) + ε)`. With `decoupled` (AdamW),
/// `p −= lr·weight_decay·p` first and the gradient is left alone.
#[derive(Clone, Debug)]
pub struct Adam {
    /// The learning rate.
    pub lr: f64,
    /// The decay of the first moment (β₁, 0.9 by default).
    pub beta1: f64,
    /// The decay of the second moment (β₂, 0.999 by default).
    pub beta2: f64,
    /// Added to the denominator, for stability.
    pub eps: f64,
    /// The L2 penalty's factor (0: none).
    pub weight_decay: f64,
    /// Weight decay applied to the parameters directly (AdamW) rather than added to the gradient.
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

/// Stochastic gradient descent as `torch.optim.SGD`: with `g` the gradient plus
/// `weight_decay·p`, the velocity `b = momentum·b + g` (`b = g` at the first step), and
/// `p −= lr · (g + momentum·b)` with Nesterov or `p −= lr · b` without.
#[derive(Clone, Debug)]
pub struct Sgd {
    /// The learning rate.
    pub lr: f64,
    /// The momentum factor (0: none).
    pub momentum: f64,
    /// Nesterov's momentum rather than heavy-ball.
    pub nesterov: bool,
    /// The L2 penalty's factor (0: none).
    pub weight_decay: f64,
    velocity: Vec<Vec<f64>>,
}

impl Sgd {
    /// Plain SGD (no momentum, no weight decay).
    pub fn new(lr: f64) -> Sgd {
        Sgd {
            lr,
            momentum: 0.0,
            nesterov: false,
            weight_decay: 0.0,
            velocity: Vec::new(),
        }
    }

    /// SGD with (heavy-ball, or Nesterov) momentum.
    pub fn momentum(lr: f64, momentum: f64, nesterov: bool) -> Sgd {
        Sgd {
            momentum,
            nesterov,
            ..Sgd::new(lr)
        }
    }

    /// One step: updates `params` from their gradients `grads` (of the same structure).
    pub fn step<P: Differentiable>(&mut self, params: &mut P, grads: &P) {
        let mut k = 0;
        let velocity = &mut self.velocity;
        params.visit_pair(grads, "", &mut |_, mut p, g| {
            let first = velocity.len() == k;
            if first {
                velocity.push(vec![0.0; p.len()]);
            }
            for (i, b) in velocity[k].iter_mut().enumerate() {
                let x = p.get(i);
                let g = g.get(i) + self.weight_decay * x;
                let d = if self.momentum == 0.0 {
                    g
                } else {
                    *b = if first { g } else { self.momentum * *b + g };
                    if self.nesterov {
                        g + self.momentum * *b
                    } else {
                        *b
                    }
                };
                p.set(i, x - self.lr * d);
            }
            k += 1;
        });
    }
}

/// AdaGrad as `torch.optim.Adagrad` (no learning-rate decay): `s += g²`,
/// `p −= lr · g / (√s + ε)`, with `g` the gradient plus `weight_decay·p`.
#[derive(Clone, Debug)]
pub struct AdaGrad {
    /// The learning rate.
    pub lr: f64,
    /// Added to the denominator, for stability.
    pub eps: f64,
    /// The L2 penalty's factor (0: none).
    pub weight_decay: f64,
    sum: Vec<Vec<f64>>,
}

impl AdaGrad {
    /// PyTorch's defaults: eps 1e-10.
    pub fn new(lr: f64) -> AdaGrad {
        AdaGrad {
            lr,
            eps: 1e-10,
            weight_decay: 0.0,
            sum: Vec::new(),
        }
    }

    /// One step: updates `params` from their gradients `grads` (of the same structure).
    pub fn step<P: Differentiable>(&mut self, params: &mut P, grads: &P) {
        let mut k = 0;
        let sums = &mut self.sum;
        params.visit_pair(grads, "", &mut |_, mut p, g| {
            if sums.len() == k {
                sums.push(vec![0.0; p.len()]);
            }
            for (i, s) in sums[k].iter_mut().enumerate() {
                let x = p.get(i);
                let g = g.get(i) + self.weight_decay * x;
                *s += g * g;
                p.set(i, x - self.lr * g / (s.sqrt() + self.eps));
            }
            k += 1;
        });
    }
}

/// RMSProp as `torch.optim.RMSprop` (not centred, no momentum): `v = α v + (1−α) g²`,
/// `p −= lr · g / (√v + ε)`, with `g` the gradient plus `weight_decay·p`.
#[derive(Clone, Debug)]
pub struct RmsProp {
    /// The learning rate.
    pub lr: f64,
    /// The decay of the running mean of squared gradients (α).
    pub alpha: f64,
    /// Added to the denominator, for stability.
    pub eps: f64,
    /// The L2 penalty's factor (0: none).
    pub weight_decay: f64,
    square: Vec<Vec<f64>>,
}

impl RmsProp {
    /// PyTorch's defaults: alpha 0.99, eps 1e-8.
    pub fn new(lr: f64) -> RmsProp {
        RmsProp {
            lr,
            alpha: 0.99,
            eps: 1e-8,
            weight_decay: 0.0,
            square: Vec::new(),
        }
    }

    /// One step: updates `params` from their gradients `grads` (of the same structure).
    pub fn step<P: Differentiable>(&mut self, params: &mut P, grads: &P) {
        let mut k = 0;
        let squares = &mut self.square;
        params.visit_pair(grads, "", &mut |_, mut p, g| {
            if squares.len() == k {
                squares.push(vec![0.0; p.len()]);
            }
            for (i, v) in squares[k].iter_mut().enumerate() {
                let x = p.get(i);
                let g = g.get(i) + self.weight_decay * x;
                *v = self.alpha * *v + (1.0 - self.alpha) * g * g;
                p.set(i, x - self.lr * g / (v.sqrt() + self.eps));
            }
            k += 1;
        });
    }
}

/// Scales `grads` so that their global norm `‖g‖₂` (over every parameter) is at most
/// `max_norm`, as `torch.nn.utils.clip_grad_norm_`; returns the norm before clipping.
pub fn clip_grad_norm<P: Differentiable>(grads: &mut P, max_norm: f64) -> f64 {
    let norm = grads.inner(grads).sqrt();
    if norm > max_norm {
        grads.scale(max_norm / (norm + 1e-6));
    }
    norm
}

/// The learning rate at `epoch` (from 0) of a schedule over a base rate.
#[derive(Clone, Copy, Debug)]
pub enum Schedule {
    /// `base · gamma^⌊epoch / step⌋`, as `StepLR`.
    Step {
        /// Epochs between decays.
        step: usize,
        /// The factor of each decay.
        gamma: f64,
    },
    /// `min + (base − min)(1 + cos(π·epoch/total))/2`, as `CosineAnnealingLR`.
    Cosine {
        /// The epochs of the whole schedule.
        total: usize,
        /// The rate at the end.
        min: f64,
    },
}

impl Schedule {
    /// The learning rate at `epoch` (counted from 0) for the base rate `base`.
    pub fn rate(&self, base: f64, epoch: usize) -> f64 {
        match *self {
            Schedule::Step { step, gamma } => base * gamma.powi((epoch / step.max(1)) as i32),
            Schedule::Cosine { total, min } => {
                let t = epoch.min(total) as f64 / total.max(1) as f64;
                min + (base - min) * (1.0 + (std::f64::consts::PI * t).cos()) / 2.0
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `steps` updates of any optimizer on `f(p) = ½‖p − c‖²` (gradient `p − c`) from 0.
    fn minimise<O: Optimizer>(mut opt: O, steps: usize) -> Vec<f32> {
        let c = [1.5f32, -0.5, 2.0];
        let mut p = vec![0.0f32; 3];
        for _ in 0..steps {
            let g: Vec<f32> = p.iter().zip(&c).map(|(p, c)| p - c).collect();
            opt.step(&mut p, &g);
        }
        p
    }

    /// The five optimizers through the trait, each close to the minimum after enough
    /// steps; and the learning rate read and set through it.
    #[test]
    fn every_optimizer_minimises_a_quadratic_through_the_trait() {
        let near = |p: Vec<f32>, name: &str| {
            let c = [1.5f32, -0.5, 2.0];
            let err = p
                .iter()
                .zip(&c)
                .map(|(p, c)| (p - c).abs())
                .fold(0.0, f32::max);
            assert!(err < 1e-2, "{name}: {p:?}");
        };
        near(minimise(Sgd::new(0.1), 200), "sgd");
        near(minimise(Sgd::momentum(0.05, 0.9, true), 300), "nesterov");
        near(minimise(Adam::new(0.05), 800), "adam");
        near(minimise(Adam::adamw(0.05, 0.0), 800), "adamw");
        near(minimise(AdaGrad::new(0.5), 800), "adagrad");
        near(minimise(RmsProp::new(0.01), 800), "rmsprop");
        let mut opt = Sgd::new(0.1);
        Optimizer::set_learning_rate(&mut opt, 0.02);
        assert_eq!(Optimizer::learning_rate(&opt), 0.02);
    }

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
    fn sgd_momentum_and_nesterov_follow_pytorch() {
        // g = 2p for f(p) = p²; p = 1, lr 0.1, momentum 0.9.
        let mut p = vec![1.0f64];
        let mut opt = Sgd::momentum(0.1, 0.9, false);
        let g = vec![2.0 * p[0]];
        opt.step(&mut p, &g); // b = 2, p = 0.8
        let g = vec![2.0 * p[0]];
        opt.step(&mut p, &g); // b = 0.9·2 + 1.6 = 3.4, p = 0.46
        assert!((p[0] - 0.46).abs() < 1e-12, "{p:?}");
        let mut q = vec![1.0f64];
        let mut nesterov = Sgd::momentum(0.1, 0.9, true);
        nesterov.step(&mut q, &vec![2.0]); // b = 2, step g + 0.9 b = 3.8, q = 0.62
        assert!((q[0] - 0.62).abs() < 1e-12, "{q:?}");
        let mut r = vec![1.0f64];
        let mut decay = Sgd::new(0.1);
        decay.weight_decay = 0.5;
        decay.step(&mut r, &vec![0.0]);
        assert!((r[0] - 0.95).abs() < 1e-12);
    }

    #[test]
    fn adagrad_and_rmsprop_follow_pytorch() {
        let mut p = vec![1.0f64];
        let mut ada = AdaGrad::new(0.1);
        ada.step(&mut p, &vec![0.5]); // s = 0.25, step 0.1·0.5/0.5
        ada.step(&mut p, &vec![0.5]); // s = 0.5, step 0.1·0.5/√0.5
        let expected = 1.0 - 0.1 - 0.1 * 0.5 / 0.5f64.sqrt();
        assert!((p[0] - expected).abs() < 1e-9, "{p:?}");
        let mut q = vec![1.0f64];
        let mut rms = RmsProp::new(0.01);
        rms.step(&mut q, &vec![2.0]); // v = 0.01·4 = 0.04, step 0.01·2/0.2
        assert!((q[0] - 0.9).abs() < 1e-6, "{q:?}");
    }

    #[test]
    fn clipping_and_schedules() {
        let mut g = vec![3.0f64, 4.0];
        assert_eq!(clip_grad_norm(&mut g, 10.0), 5.0);
        assert_eq!(g, [3.0, 4.0]);
        assert_eq!(clip_grad_norm(&mut g, 1.0), 5.0);
        assert!((g.inner(&g).sqrt() - 1.0).abs() < 1e-5);
        let step = Schedule::Step {
            step: 2,
            gamma: 0.5,
        };
        assert_eq!(
            [0, 1, 2, 5].map(|e| step.rate(1.0, e)),
            [1.0, 1.0, 0.5, 0.25]
        );
        let cosine = Schedule::Cosine { total: 4, min: 0.0 };
        assert!((cosine.rate(2.0, 2) - 1.0).abs() < 1e-12 && cosine.rate(2.0, 4).abs() < 1e-12);
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
