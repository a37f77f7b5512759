//! Parameter structs: `#[derive(Differentiable)]`, field reads on active struct
//! parameters (nested too), gradients of the struct's own type, methods with `&self`.

use autodiff::nalgebra::{DMatrix, DVector};
use autodiff::{differentiable, Differentiable};

#[derive(Clone, Debug, Differentiable)]
pub struct Affine {
    pub w: DMatrix<f64>,
    pub b: DVector<f64>,
    #[inactive]
    pub name: &'static str,
}

#[derive(Clone, Debug, Differentiable)]
pub struct Model {
    pub first: Affine,
    pub second: Affine,
    pub scale: f64,
}

#[differentiable]
fn loss(p: &Model, x: &DVector<f64>) -> f64 {
    let h = &p.first.w * x + &p.first.b;
    let y = &p.second.w * &h + &p.second.b;
    p.scale * y.norm_squared()
}

#[test]
fn nested_struct_gradient() {
    let affine = |r: usize, c: usize, k: f64, name| Affine {
        w: DMatrix::from_fn(r, c, |i, j| (i as f64 - j as f64 * k).sin()),
        b: DVector::from_fn(r, |i, _| 0.1 * i as f64 - k),
        name,
    };
    let p = Model {
        first: affine(3, 2, 0.5, "first"),
        second: affine(2, 3, -0.25, "second"),
        scale: 0.7,
    };
    let x = DVector::from_vec(vec![0.3, -1.2]);
    let (v, (g, gx)) = loss_grad(&p, &x);
    println!("{v} {g:?} {gx}");
}

impl Affine {
    #[differentiable]
    pub fn apply(&self, x: &DVector<f64>) -> DVector<f64> {
        &self.w * x + &self.b
    }
}

impl Model {
    #[differentiable]
    pub fn predict(&self, x: &DVector<f64>) -> f64 {
        let h = self.first.apply(x);
        let y = self.second.apply(&h);
        self.scale * y.norm_squared()
    }
}

#[test]
fn methods() {
    let affine = |r: usize, c: usize, k: f64, name| Affine {
        w: DMatrix::from_fn(r, c, |i, j| (i as f64 - j as f64 * k).sin()),
        b: DVector::from_fn(r, |i, _| 0.1 * i as f64 - k),
        name,
    };
    let p = Model {
        first: affine(3, 2, 0.5, "first"),
        second: affine(2, 3, -0.25, "second"),
        scale: 0.7,
    };
    let x = DVector::from_vec(vec![0.3, -1.2]);
    let (v, (g, gx)) = p.predict_grad(&x);
    let (v2, (g2, gx2)) = loss_grad(&p, &x);
    assert_eq!(v, v2);
    assert_eq!(g.to_flat(), g2.to_flat());
    assert_eq!(gx, gx2);
}

#[path = "mlp/mod.rs"]
mod mlp;

/// A reproducible stream of numbers in [-1, 1).
fn numbers(seed: u64) -> impl FnMut() -> f64 {
    let mut state = seed;
    move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
    }
}

#[test]
fn mlp_loss_gradient() {
    use autodiff::gradcheck::{check_gradient, Tolerance};
    use mlp::double::Mlp;
    let mut next = numbers(3);
    let model = Mlp::new([5, 4, 3], &mut next);
    let x = DMatrix::from_fn(5, 6, |_, _| next());
    let labels = [0, 2, 1, 1, 0, 2];
    let (loss, grad) = model.loss_grad(&x, &labels);
    let (by_hand, grad_by_hand) = model.loss_grad_by_hand(&x, &labels);
    assert!((loss - by_hand).abs() < 1e-12);
    let (g, h) = (grad.to_flat(), grad_by_hand.to_flat());
    assert!(g.iter().zip(&h).all(|(a, b)| (a - b).abs() < 1e-12));
    let at = |flat: &[f64]| {
        let mut m = model.clone();
        m.set_flat(flat);
        m.loss(&x, &labels)
    };
    check_gradient(at, &g, &model.to_flat(), Tolerance::F64).unwrap();
}
