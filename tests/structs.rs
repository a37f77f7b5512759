//! Parameter structs: `#[derive(Differentiable)]`, field reads on active struct
//! parameters (nested too), gradients of the struct's own type, methods with `&self`.

mod common;

use autodiff::nalgebra::{DMatrix, DVector};
use autodiff::{differentiable, Differentiable};
use common::objects::{check, Numbers};

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

/// Two affine layers and a scale, with values that are not special.
fn model() -> Model {
    let affine = |r: usize, c: usize, k: f64, name| Affine {
        w: DMatrix::from_fn(r, c, |i, j| (i as f64 - j as f64 * k).sin()),
        b: DVector::from_fn(r, |i, _| 0.1 * i as f64 - k),
        name,
    };
    Model {
        first: affine(3, 2, 0.5, "first"),
        second: affine(2, 3, -0.25, "second"),
        scale: 0.7,
    }
}

#[test]
fn nested_struct_gradient() {
    let mut n = Numbers(5);
    let x = DVector::from_vec(vec![0.3, -1.2]);
    check(
        "loss",
        &(model(), x),
        |(p, x)| loss(p, x),
        |(p, x)| loss_grad(p, x),
        |(p, x), (tp, tx)| loss_jvp(p, x, tp, tx),
        &mut n,
    );
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
    let p = model();
    let x = DVector::from_vec(vec![0.3, -1.2]);
    let (v, (g, gx)) = p.predict_grad(&x);
    let (v2, (g2, gx2)) = loss_grad(&p, &x);
    assert_eq!(v, v2);
    assert_eq!(g.to_flat(), g2.to_flat());
    assert_eq!(gx, gx2);
}

use autodiff::models::mlp;

#[test]
fn mlp_loss_gradient() {
    use autodiff::gradcheck::{check_gradient, Tolerance};
    use mlp::double::Mlp;
    let mut next = mlp::numbers(3);
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

#[derive(Clone, Debug, Differentiable)]
pub struct Pair(pub f32, pub [f32; 2]);

#[test]
fn derived_visit_names_accumulate_scale_and_zero() {
    let p = Model {
        first: Affine {
            w: DMatrix::from_element(2, 1, 1.0),
            b: DVector::from_element(2, 2.0),
            name: "first",
        },
        second: Affine {
            w: DMatrix::from_element(1, 2, 3.0),
            b: DVector::from_element(1, 4.0),
            name: "second",
        },
        scale: 5.0,
    };
    let mut names = Vec::new();
    p.visit("model", &mut |name, xs| {
        names.push((name.to_string(), xs.len()))
    });
    let expected = [
        ("model.first.w", 2),
        ("model.first.b", 2),
        ("model.second.w", 2),
        ("model.second.b", 1),
        ("model.scale", 1),
    ];
    assert_eq!(
        names,
        expected.map(|(n, k)| (n.to_string(), k)).to_vec(),
        "inactive fields are not visited"
    );
    let mut q = p.clone();
    q.accumulate(&p);
    q.scale(0.5);
    assert_eq!(q.to_flat(), p.to_flat());
    let z = p.zero_like();
    assert!(z.to_flat().iter().all(|&v| v == 0.0));
    assert_eq!((z.first.name, z.first.w.shape()), ("first", (2, 1)));
    let mut r = p.clone();
    r.set_flat(&vec![1.5; p.num_floats()]);
    assert!(r.to_flat().iter().all(|&v| v == 1.5));

    let mut pair = Pair(1.0, [2.0, 3.0]);
    let mut seen = Vec::new();
    pair.visit_mut("", &mut |name, mut xs| {
        seen.push(name.to_string());
        for i in 0..xs.len() {
            let v = xs.get(i);
            xs.set(i, v * 10.0);
        }
    });
    assert_eq!(seen, ["0", "1"]);
    assert_eq!(pair.to_flat(), [10.0, 20.0, 30.0]);
}

/// A frozen parameter struct: gradients with respect to the input only. The caller asks
/// the layer's pullback for the input's cotangent; the struct's is a placeholder.
#[differentiable(wrt(x))]
fn input_gradient(p: &Model, x: &DVector<f64>) -> f64 {
    p.predict(x)
}

#[test]
fn gradient_with_respect_to_the_input_only() {
    let p = model();
    let x = DVector::from_vec(vec![0.4, -0.9]);
    let (v, gx) = input_gradient_grad(&p, &x);
    let (v2, (_, gx_full)) = p.predict_grad(&x);
    assert_eq!(v, v2);
    assert_eq!(gx, gx_full);
}

#[derive(Clone, Debug, Differentiable)]
pub struct Spring {
    pub k: f64,
    pub rest: [f64; 2],
    pub damping: Vec<f64>,
}

#[differentiable]
fn stretch(k: f64, dx: f64, dy: f64) -> f64 {
    0.5 * k * (dx * dx + dy * dy)
}

/// Fields as users write them: a float field passed to a call by value, array and `Vec`
/// fields indexed in place, an array field bound whole, a field bound with a type. Before
/// these were fixed, rustc rejected the generated code (`&f64` passed for `f64`, an
/// array indexed as a matrix).
#[differentiable]
fn spring_energy(s: &Spring, p: &[f64]) -> f64 {
    let (dx, dy) = (p[0] - s.rest[0], p[1] - s.rest[1]);
    let rest = s.rest;
    let k: f64 = s.k;
    let damped = s.damping[0] * dx + s.damping[1] * dy * rest[1];
    stretch(s.k, dx, dy) + stretch(k, damped, rest[0]) + s.k.sqrt()
}

#[test]
fn fields_passed_to_calls_and_indexed() {
    let mut n = Numbers(11);
    let s = Spring {
        k: 2.5,
        rest: [0.5, -0.75],
        damping: vec![0.1, -0.3],
    };
    check(
        "spring_energy",
        &(s, vec![1.25, 0.0]),
        |(s, p)| spring_energy(s, p),
        |(s, p)| spring_energy_grad(s, p),
        |(s, p), (ts, tp)| spring_energy_jvp(s, p, ts, tp),
        &mut n,
    );
}
