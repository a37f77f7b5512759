//! Checks of functions of matrices and parameter structs: values of any
//! `Differentiable` type seen through their flat list of numbers.

use autodiff::gradcheck::{check_gradient, Tolerance};
use autodiff::nalgebra::DMatrix;
use autodiff::Differentiable;

/// A reproducible stream of numbers in [-1, 1) (no dependency for a test helper).
pub struct Numbers(pub u64);

impl Numbers {
    pub fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
    }

    pub fn matrix(&mut self, r: usize, c: usize) -> DMatrix<f64> {
        DMatrix::from_fn(r, c, |_, _| self.next())
    }

    /// A value shaped like `like` with fresh numbers.
    pub fn like<P: Differentiable + Clone>(&mut self, like: &P) -> P {
        let mut p = like.clone();
        let flat: Vec<f64> = (0..p.num_floats()).map(|_| self.next()).collect();
        p.set_flat(&flat);
        p
    }
}

/// Checks a scalar function of parameters `p` (one value or a tuple) in all three modes.
pub fn check<P: Differentiable + Clone>(
    name: &str,
    p: &P,
    f: impl Fn(&P) -> f64,
    grad: impl Fn(&P) -> (f64, P),
    jvp: impl Fn(&P, &P) -> (f64, f64),
    numbers: &mut Numbers,
) {
    let tol = Tolerance::F64;
    let value = f(p);
    let (v, g) = grad(p);
    assert_eq!(v.to_bits(), value.to_bits(), "{name}: f_grad's value");
    let flat = p.to_flat();
    let at = |x: &[f64]| {
        let mut q = p.clone();
        q.set_flat(x);
        f(&q)
    };
    check_gradient(at, &g.to_flat(), &flat, tol).unwrap_or_else(|e| panic!("{name}: {e}"));
    // ⟨∇f, t⟩ from reverse mode equals the forward-mode derivative along t.
    let t = numbers.like(p);
    let (v, dv) = jvp(p, &t);
    assert_eq!(v.to_bits(), value.to_bits(), "{name}: f_jvp's value");
    let reverse = g.inner(&t);
    assert!(tol.agrees(dv, reverse), "{name}: jvp {dv} vs vjp {reverse}");
}
