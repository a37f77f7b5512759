//! A two-layer perceptron (`Linear` → ReLU → `Linear` → cross-entropy) on nalgebra
//! matrices, for `f32` (`single`) and `f64` (`double`): parameters in a
//! `#[derive(Differentiable)]` struct, one `#[differentiable]` method per layer, and the
//! same loss with its backpropagation written by hand, which the tests and the `mlp`
//! benchmark compare against.

macro_rules! mlp {
    ($t:ty) => {
        use autodiff::linalg::*;
        use autodiff::nalgebra::{DMatrix, DVector};
        use autodiff::{differentiable, Differentiable};

        /// `y = W x + b` for a batch `x` with one example per column.
        #[derive(Clone, Debug, Differentiable)]
        pub struct Linear {
            /// `out × in`.
            pub w: DMatrix<$t>,
            /// `out`.
            pub b: DVector<$t>,
        }

        impl Linear {
            /// PyTorch's default initialisation: `U(−1/√fan_in, 1/√fan_in)` for both.
            pub fn new(inputs: usize, outputs: usize, next: &mut impl FnMut() -> f64) -> Self {
                let bound = 1.0 / (inputs as f64).sqrt();
                let mut draw = || (bound * next()) as $t;
                Linear {
                    w: DMatrix::from_fn(outputs, inputs, |_, _| draw()),
                    b: DVector::from_fn(outputs, |_, _| draw()),
                }
            }

            #[differentiable]
            /// `W x + b`, one example per column.
            pub fn apply(&self, x: &DMatrix<$t>) -> DMatrix<$t> {
                add_columns(&(&self.w * x), &self.b)
            }
        }

        #[derive(Clone, Debug, Differentiable)]
        /// `Linear` → ReLU → `Linear`.
        pub struct Mlp {
            /// The hidden layer.
            pub l1: Linear,
            /// The output layer.
            pub l2: Linear,
        }

        impl Mlp {
            /// Input, hidden and output sizes; `next` draws uniformly from [−1, 1].
            pub fn new(sizes: [usize; 3], next: &mut impl FnMut() -> f64) -> Self {
                Mlp {
                    l1: Linear::new(sizes[0], sizes[1], next),
                    l2: Linear::new(sizes[1], sizes[2], next),
                }
            }

            /// Mean cross-entropy of the logits of batch `x` against `labels`.
            #[differentiable(wrt(self))]
            pub fn loss(&self, x: &DMatrix<$t>, labels: &[usize]) -> $t {
                let h = relu(&self.l1.apply(x));
                let logits = self.l2.apply(&h);
                cross_entropy(&logits, labels)
            }

            /// The same loss and its gradient, backpropagated by hand.
            pub fn loss_grad_by_hand(&self, x: &DMatrix<$t>, labels: &[usize]) -> ($t, Mlp) {
                let mut a1 = &self.l1.w * x;
                for mut col in a1.column_iter_mut() {
                    col += &self.l1.b;
                }
                let h = a1.map(|v| v.max(0.0));
                let mut z = &self.l2.w * &h;
                for mut col in z.column_iter_mut() {
                    col += &self.l2.b;
                }
                let n = labels.len() as $t;
                let mut loss = 0.0;
                for (j, mut col) in z.column_iter_mut().enumerate() {
                    let max = col.max();
                    col.apply(|v| *v = (*v - max).exp());
                    let sum = col.sum();
                    loss += sum.ln() - col[labels[j]].ln();
                    col /= sum;
                    col[labels[j]] -= 1.0;
                }
                let dz = z / n;
                let dw2 = &dz * h.transpose();
                let db2 = dz.column_sum();
                let mut dh = self.l2.w.tr_mul(&dz);
                dh.zip_apply(&a1, |d, a| {
                    if a <= 0.0 {
                        *d = 0.0
                    }
                });
                let dw1 = &dh * x.transpose();
                let db1 = dh.column_sum();
                let grad = Mlp {
                    l1: Linear { w: dw1, b: db1 },
                    l2: Linear { w: dw2, b: db2 },
                };
                (loss / n, grad)
            }
        }
    };
}

/// A reproducible stream of numbers in [-1, 1), for weights and inputs.
pub fn numbers(seed: u64) -> impl FnMut() -> f64 {
    let mut state = seed;
    move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
    }
}

/// The perceptron over `f32`.
pub mod single {
    mlp!(f32);
}

/// The perceptron over `f64`.
pub mod double {
    mlp!(f64);
}
