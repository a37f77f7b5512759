//! Element-wise functions and broadcasting helpers on nalgebra matrices and vectors, each
//! with its hand-written rules (`f_vjp`, `f_jvp`), so differentiable code can call them
//! like any `#[differentiable]` function:
//!
//! ```
//! # extern crate autodiff_runtime as autodiff;
//! use autodiff::differentiable;
//! use autodiff::linalg::*; // brings `relu_vjp`, `relu_jvp`, .. into scope with `relu`
//! use autodiff::nalgebra::{DMatrix, DVector};
//!
//! #[differentiable]
//! fn layer(w: &DMatrix<f64>, b: &DVector<f64>, x: &DMatrix<f64>) -> f64 {
//!     let h = relu(&add_columns(&(w * x), b));
//!     h.sum()
//! }
//! # let (w, b, x) = (DMatrix::identity(2, 2), DVector::zeros(2), DMatrix::identity(2, 3));
//! # let (v, (dw, db, dx)) = layer_grad(&w, &b, &x);
//! ```
//!
//! They are the runtime's own custom rules: the same path a user takes to make an opaque
//! function differentiable. Pullbacks own what they keep (no borrow of the arguments).
//!
//! Kinks: `relu'(0) = 0`.

use nalgebra::allocator::Allocator;
use nalgebra::{convert, DefaultAllocator, Dim, OMatrix, OVector, RealField, U1};

/// Element types of the matrices here: `f32` and `f64`.
pub trait Element: RealField + Copy {}
impl Element for f32 {}
impl Element for f64 {}

/// Matrices and tensors, for the element-wise functions.
pub trait Array: Sized {
    /// The element type.
    type Elem: Element;
    /// `f` applied to every element.
    fn map_elems(&self, f: impl Fn(Self::Elem) -> Self::Elem + Sync) -> Self;
    /// `f` applied to corresponding elements of two arrays of one shape.
    fn zip_map_elems(
        &self,
        other: &Self,
        f: impl Fn(Self::Elem, Self::Elem) -> Self::Elem + Sync,
    ) -> Self;
}

impl<T: Element, R: Dim, C: Dim> Array for OMatrix<T, R, C>
where
    DefaultAllocator: Allocator<R, C>,
{
    type Elem = T;
    fn map_elems(&self, f: impl Fn(T) -> T + Sync) -> Self {
        self.map(f)
    }
    fn zip_map_elems(&self, other: &Self, f: impl Fn(T, T) -> T + Sync) -> Self {
        self.zip_map(other, f)
    }
}

#[cfg(feature = "train")]
impl Array for crate::Tensor {
    type Elem = f32;
    fn map_elems(&self, f: impl Fn(f32) -> f32 + Sync) -> Self {
        self.map(f)
    }
    fn zip_map_elems(&self, other: &Self, f: impl Fn(f32, f32) -> f32 + Sync) -> Self {
        self.zip_map(other, f)
    }
}

/// Defines `name`, `name_vjp` and `name_jvp` for an element-wise function `y = f(x)` whose
/// derivative is written with `x` and `y`, for matrices and tensors.
macro_rules! elementwise {
    ($(#[$doc:meta])* $name:ident, $vjp:ident, $jvp:ident, |$x:ident| $f:expr, |$xx:ident, $y:ident| $df:expr) => {
        $(#[$doc])*
        pub fn $name<X: Array>(x: &X) -> X {
            #[allow(clippy::redundant_closure_call)]
            fn value<T: Element>($x: T) -> T {
                $f
            }
            x.map_elems(value)
        }

        #[doc = concat!("Value of [`", stringify!($name), "`] and its pullback.")]
        pub fn $vjp<X: Array>(x: &X) -> (X, impl FnOnce(X) -> X + use<X>) {
            fn slope<T: Element>($xx: T, $y: T) -> T {
                $df
            }
            let y = $name(x);
            // The derivative at each element, computed now: the pullback keeps one array.
            let dydx = x.zip_map_elems(&y, slope);
            (y, move |d: X| d.zip_map_elems(&dydx, |d, g| d * g))
        }

        #[doc = concat!("Value of [`", stringify!($name), "`] and its tangent along `dx`.")]
        pub fn $jvp<X: Array>(x: &X, dx: &X) -> (X, X) {
            fn slope<T: Element>($xx: T, $y: T) -> T {
                $df
            }
            let y = $name(x);
            let dydx = x.zip_map_elems(&y, slope);
            let t = dx.zip_map_elems(&dydx, |t, g| t * g);
            (y, t)
        }
    };
}

elementwise!(
    /// `eˣ`, element by element.
    exp, exp_vjp, exp_jvp, |x| x.exp(), |_x, y| y
);
elementwise!(
    /// `ln x`, element by element.
    ln, ln_vjp, ln_jvp, |x| x.ln(), |x, _y| x.recip()
);
elementwise!(
    /// `tanh x`, element by element.
    tanh, tanh_vjp, tanh_jvp, |x| x.tanh(), |_x, y| T::one() - y * y
);
elementwise!(
    /// `σ(x) = 1 / (1 + e⁻ˣ)`, element by element.
    sigmoid, sigmoid_vjp, sigmoid_jvp, |x| T::one() / (T::one() + (-x).exp()), |_x, y| y * (T::one() - y)
);
elementwise!(
    /// `max(x, 0)`, element by element; the derivative at 0 is 0.
    relu, relu_vjp, relu_jvp, |x| if x > T::zero() { x } else { T::zero() },
    |x, _y| if x > T::zero() { T::one() } else { T::zero() }
);
elementwise!(
    /// `ln(1 + eˣ)`, element by element, without overflow for large `x`.
    softplus, softplus_vjp, softplus_jvp,
    |x| if x > T::zero() { x + (-x).exp().ln_1p() } else { x.exp().ln_1p() },
    |x, _y| T::one() / (T::one() + (-x).exp())
);
elementwise!(
    /// `max(x, 0.01·x)`, element by element (`nn.LeakyReLU()`); the derivative at 0 is 0.01.
    leaky_relu, leaky_relu_vjp, leaky_relu_jvp,
    |x| if x > T::zero() { x } else { x * convert::<f64, T>(0.01) },
    |x, _y| if x > T::zero() { T::one() } else { convert::<f64, T>(0.01) }
);
elementwise!(
    /// GELU with the tanh approximation (`nn.GELU(approximate="tanh")`):
    /// `½x(1 + tanh(√(2/π)(x + 0.044715x³)))`.
    gelu, gelu_vjp, gelu_jvp,
    |x| {
        let u = convert::<f64, T>(0.797_884_560_802_865_4) * (x + convert::<f64, T>(0.044715) * x * x * x);
        convert::<f64, T>(0.5) * x * (T::one() + u.tanh())
    },
    |x, _y| {
        let c = convert::<f64, T>(0.797_884_560_802_865_4);
        let a = convert::<f64, T>(0.044715);
        let t = (c * (x + a * x * x * x)).tanh();
        let half = convert::<f64, T>(0.5);
        half * (T::one() + t) + half * x * (T::one() - t * t) * c * (T::one() + convert::<f64, T>(3.0) * a * x * x)
    }
);

/// The softmax of each column: `exp(zᵢ − max) / Σ exp(z − max)`.
pub fn softmax<T: Element, R: Dim, C: Dim>(z: &OMatrix<T, R, C>) -> OMatrix<T, R, C>
where
    DefaultAllocator: Allocator<R, C>,
{
    let mut y = z.clone();
    for mut col in y.column_iter_mut() {
        let max = col.max();
        col.apply(|v| *v = (*v - max).exp());
        let sum = col.sum();
        col /= sum;
    }
    y
}

/// Value of [`softmax`] and its pullback: per column `z̄ = y ∘ (ȳ − ⟨ȳ, y⟩)`.
#[allow(clippy::type_complexity)]
pub fn softmax_vjp<T: Element, R: Dim, C: Dim>(
    z: &OMatrix<T, R, C>,
) -> (
    OMatrix<T, R, C>,
    impl FnOnce(OMatrix<T, R, C>) -> OMatrix<T, R, C> + use<T, R, C>,
)
where
    DefaultAllocator: Allocator<R, C>,
{
    let y = softmax(z);
    let kept = y.clone();
    (y, move |mut d: OMatrix<T, R, C>| {
        for (mut dc, yc) in d.column_iter_mut().zip(kept.column_iter()) {
            let inner = dc.dot(&yc);
            dc.zip_apply(&yc, |g, y| *g = y * (*g - inner));
        }
        d
    })
}

/// Value of [`softmax`] and its tangent: per column `ẏ = y ∘ (ż − ⟨ż, y⟩)`.
pub fn softmax_jvp<T: Element, R: Dim, C: Dim>(
    z: &OMatrix<T, R, C>,
    dz: &OMatrix<T, R, C>,
) -> (OMatrix<T, R, C>, OMatrix<T, R, C>)
where
    DefaultAllocator: Allocator<R, C>,
{
    let (y, pullback) = softmax_vjp(z);
    // The Jacobian of a column's softmax is symmetric: the pullback is the pushforward.
    (y, pullback(dz.clone()))
}

/// The log-softmax of each column: `zᵢ − max − ln Σ exp(z − max)`.
pub fn log_softmax<T: Element, R: Dim, C: Dim>(z: &OMatrix<T, R, C>) -> OMatrix<T, R, C>
where
    DefaultAllocator: Allocator<R, C>,
{
    let mut y = z.clone();
    for mut col in y.column_iter_mut() {
        let max = col.max();
        let lse = col.iter().fold(T::zero(), |s, &v| s + (v - max).exp()).ln() + max;
        col.apply(|v| *v -= lse);
    }
    y
}

/// Value of [`log_softmax`] and its pullback: per column `z̄ = ȳ − softmax(z) Σ ȳ`.
#[allow(clippy::type_complexity)]
pub fn log_softmax_vjp<T: Element, R: Dim, C: Dim>(
    z: &OMatrix<T, R, C>,
) -> (
    OMatrix<T, R, C>,
    impl FnOnce(OMatrix<T, R, C>) -> OMatrix<T, R, C> + use<T, R, C>,
)
where
    DefaultAllocator: Allocator<R, C>,
{
    let y = log_softmax(z);
    let p = y.map(|v| v.exp());
    (y, move |mut d: OMatrix<T, R, C>| {
        for (mut dc, pc) in d.column_iter_mut().zip(p.column_iter()) {
            let total = dc.sum();
            dc.zip_apply(&pc, |g, p| *g -= p * total);
        }
        d
    })
}

/// Value of [`log_softmax`] and its tangent: per column `ẏ = ż − ⟨ż, softmax(z)⟩`.
pub fn log_softmax_jvp<T: Element, R: Dim, C: Dim>(
    z: &OMatrix<T, R, C>,
    dz: &OMatrix<T, R, C>,
) -> (OMatrix<T, R, C>, OMatrix<T, R, C>)
where
    DefaultAllocator: Allocator<R, C>,
{
    let y = log_softmax(z);
    let mut t = dz.clone();
    for ((mut tc, yc), _) in t.column_iter_mut().zip(y.column_iter()).zip(0..) {
        let inner = tc
            .iter()
            .zip(yc.iter())
            .fold(T::zero(), |s, (a, b)| s + *a * b.exp());
        tc.apply(|v| *v -= inner);
    }
    (y, t)
}

/// `m + b 𝟙ᵀ`: the column vector `b` added to every column of `m` (a bias added to every
/// example of a batch stored one example per column).
pub fn add_columns<T: Element, R: Dim, C: Dim>(
    m: &OMatrix<T, R, C>,
    b: &OVector<T, R>,
) -> OMatrix<T, R, C>
where
    DefaultAllocator: Allocator<R, C> + Allocator<R>,
{
    let mut out = m.clone();
    for mut col in out.column_iter_mut() {
        col += b;
    }
    out
}

/// Value of [`add_columns`] and its pullback: `m` gets `D`, `b` gets `D 𝟙` (row sums).
#[allow(clippy::type_complexity)]
pub fn add_columns_vjp<T: Element, R: Dim, C: Dim>(
    m: &OMatrix<T, R, C>,
    b: &OVector<T, R>,
) -> (
    OMatrix<T, R, C>,
    impl FnOnce(OMatrix<T, R, C>) -> (OMatrix<T, R, C>, OVector<T, R>) + use<T, R, C>,
)
where
    DefaultAllocator: Allocator<R, C> + Allocator<R> + Allocator<U1, C>,
{
    let y = add_columns(m, b);
    (y, move |d: OMatrix<T, R, C>| {
        let db = d.column_sum();
        (d, db)
    })
}

/// Value of [`add_columns`] and its tangent.
pub fn add_columns_jvp<T: Element, R: Dim, C: Dim>(
    m: &OMatrix<T, R, C>,
    b: &OVector<T, R>,
    dm: &OMatrix<T, R, C>,
    db: &OVector<T, R>,
) -> (OMatrix<T, R, C>, OMatrix<T, R, C>)
where
    DefaultAllocator: Allocator<R, C> + Allocator<R>,
{
    (add_columns(m, b), add_columns(dm, db))
}

/// The mean cross-entropy of the softmax of each column of `logits` against the class in
/// `labels` (one per column): `−(1/n) Σⱼ log softmax(zⱼ)[labels[j]]`, computed with the
/// column maximum subtracted so that large logits do not overflow.
///
/// # Panics
/// If `labels` does not have one entry per column, or a label is not a row index.
pub fn cross_entropy<T: Element, R: Dim, C: Dim>(logits: &OMatrix<T, R, C>, labels: &[usize]) -> T
where
    DefaultAllocator: Allocator<R, C>,
{
    cross_entropy_parts(logits, labels).0
}

/// The loss and the softmax probabilities (the gradient is `(P − Y) / n`).
fn cross_entropy_parts<T: Element, R: Dim, C: Dim>(
    logits: &OMatrix<T, R, C>,
    labels: &[usize],
) -> (T, OMatrix<T, R, C>)
where
    DefaultAllocator: Allocator<R, C>,
{
    assert_eq!(
        labels.len(),
        logits.ncols(),
        "cross_entropy: {} labels for {} columns",
        labels.len(),
        logits.ncols()
    );
    let mut probs = logits.clone();
    let mut total = T::zero();
    for (j, mut col) in probs.column_iter_mut().enumerate() {
        let max = col.max();
        col.apply(|z| *z = (*z - max).exp());
        let sum = col.sum();
        let label = labels[j];
        assert!(
            label < col.len(),
            "cross_entropy: label {label} out of range"
        );
        total += sum.ln() - col[label].ln();
        col /= sum;
    }
    let n = nalgebra::convert::<f64, T>(labels.len().max(1) as f64);
    (total / n, probs)
}

/// Value of [`cross_entropy`] and its pullback: `∂/∂Z = (softmax(Z) − onehot) / n`.
pub fn cross_entropy_vjp<T: Element, R: Dim, C: Dim>(
    logits: &OMatrix<T, R, C>,
    labels: &[usize],
) -> (T, impl FnOnce(T) -> OMatrix<T, R, C> + use<T, R, C>)
where
    DefaultAllocator: Allocator<R, C>,
{
    let (loss, mut grad) = cross_entropy_parts(logits, labels);
    let n = nalgebra::convert::<f64, T>(labels.len().max(1) as f64);
    for (j, &label) in labels.iter().enumerate() {
        grad[(label, j)] -= T::one();
    }
    (loss, move |d: T| {
        grad *= d / n;
        grad
    })
}

/// Value of [`cross_entropy`] and its tangent along `dlogits`.
pub fn cross_entropy_jvp<T: Element, R: Dim, C: Dim>(
    logits: &OMatrix<T, R, C>,
    labels: &[usize],
    dlogits: &OMatrix<T, R, C>,
) -> (T, T)
where
    DefaultAllocator: Allocator<R, C>,
{
    let (loss, pullback) = cross_entropy_vjp(logits, labels);
    (loss, pullback(T::one()).dot(dlogits))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::{check_gradient, dot_product_test, Tolerance};
    use nalgebra::DMatrix;

    /// Checks a matrix function's pullback against finite differences (of `⟨f(z), w⟩`)
    /// and against its tangent (the dot-product test).
    fn check<F, V, J>(f: F, vjp: V, jvp: J)
    where
        F: Fn(&DMatrix<f64>) -> DMatrix<f64>,
        V: Fn(&DMatrix<f64>, DMatrix<f64>) -> DMatrix<f64>,
        J: Fn(&DMatrix<f64>, &DMatrix<f64>) -> DMatrix<f64>,
    {
        // Away from kinks (finite differences straddle them); the kinks are checked apart.
        let z = DMatrix::from_row_slice(3, 2, &[0.5, -1.2, 2.0, 0.1, -0.3, 1.5]);
        let w = DMatrix::from_row_slice(3, 2, &[1.0, -0.5, 0.25, 2.0, -1.0, 0.75]);
        let grad = vjp(&z, w.clone());
        let at = |v: &[f64]| f(&DMatrix::from_column_slice(3, 2, v)).dot(&w);
        check_gradient(at, grad.as_slice(), z.as_slice(), Tolerance::F64).unwrap();
        let t = z.map(|v| v.cos());
        dot_product_test(
            |dz| {
                jvp(&z, &DMatrix::from_column_slice(3, 2, dz))
                    .as_slice()
                    .to_vec()
            },
            |ybar| {
                vjp(&z, DMatrix::from_column_slice(3, 2, ybar))
                    .as_slice()
                    .to_vec()
            },
            t.as_slice(),
            w.as_slice(),
            Tolerance::F64,
        )
        .unwrap();
    }

    /// `check` of `f` with its `f_vjp` and `f_jvp`.
    macro_rules! check_rules {
        ($($f:ident, $vjp:ident, $jvp:ident);* $(;)?) => {
            $(check($f, |z, d| $vjp(z).1(d), |z, t| $jvp(z, t).1);)*
        };
    }

    #[test]
    fn activations_and_softmaxes() {
        check_rules! {
            leaky_relu, leaky_relu_vjp, leaky_relu_jvp;
            gelu, gelu_vjp, gelu_jvp;
            softmax, softmax_vjp, softmax_jvp;
            log_softmax, log_softmax_vjp, log_softmax_jvp;
            sigmoid, sigmoid_vjp, sigmoid_jvp;
            tanh, tanh_vjp, tanh_jvp;
            softplus, softplus_vjp, softplus_jvp;
        }
        let s = softmax(&DMatrix::from_row_slice(2, 1, &[1.0, 1.0]));
        assert_eq!(s, DMatrix::from_row_slice(2, 1, &[0.5, 0.5]));
        let l = log_softmax(&DMatrix::from_row_slice(2, 1, &[1000.0, 1000.0]));
        assert!(
            (l[0] - 0.5f64.ln()).abs() < 1e-12,
            "stable for large logits"
        );
        assert!((gelu(&DMatrix::from_element(1, 1, 1.0f64))[0] - 0.841_192).abs() < 1e-5);
        let zero = DMatrix::from_element(1, 1, 0.0f64);
        let one = DMatrix::from_element(1, 1, 1.0f64);
        assert_eq!(
            leaky_relu_jvp(&zero, &one).1[0],
            0.01,
            "leaky_relu'(0) = 0.01"
        );
        assert_eq!(relu_jvp(&zero, &one).1[0], 0.0, "relu'(0) = 0");
    }
}
