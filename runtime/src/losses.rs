//! Losses on batches stored one example per column (`features × N`), each with its
//! hand-written rules (`f_vjp`, `f_jvp`) so `#[differentiable]` code calls them directly.
//! Every loss is a mean over the batch, as PyTorch's default `reduction="mean"`.

pub use crate::linalg::{cross_entropy, cross_entropy_jvp, cross_entropy_vjp};

use crate::linalg::Element;
use nalgebra::allocator::Allocator;
use nalgebra::{convert, DefaultAllocator, Dim, OMatrix};

type M<T, R, C> = OMatrix<T, R, C>;

fn count<T: Element>(n: usize) -> T {
    convert::<f64, T>(n.max(1) as f64)
}

/// A loss that is a mean over the elements of `f(p, t)`, with `∂f/∂p = g(p, t)` and
/// `∂f/∂t = h(p, t)`: the value and both cotangent matrices at unit seed.
fn elementwise_mean<T: Element, R: Dim, C: Dim>(
    pred: &M<T, R, C>,
    target: &M<T, R, C>,
    f: impl Fn(T, T) -> (T, T, T),
) -> (T, M<T, R, C>, M<T, R, C>)
where
    DefaultAllocator: Allocator<R, C>,
{
    assert_eq!(
        pred.shape(),
        target.shape(),
        "loss: prediction and target shapes differ"
    );
    let n = count::<T>(pred.len());
    let mut total = T::zero();
    let mut dp = pred.clone();
    let mut dt = target.clone();
    for ((p, t), (a, b)) in pred
        .iter()
        .zip(target.iter())
        .zip(dp.iter_mut().zip(dt.iter_mut()))
    {
        let (v, gp, gt) = f(*p, *t);
        total += v;
        *a = gp / n;
        *b = gt / n;
    }
    (total / n, dp, dt)
}

/// Defines `name`, `name_vjp`, `name_jvp` for a mean of an element-wise `f(p, t)`.
macro_rules! pointwise_loss {
    ($(#[$doc:meta])* $name:ident, $vjp:ident, $jvp:ident, |$p:ident, $t:ident| $body:expr) => {
        $(#[$doc])*
        pub fn $name<T: Element, R: Dim, C: Dim>(pred: &M<T, R, C>, target: &M<T, R, C>) -> T
        where
            DefaultAllocator: Allocator<R, C>,
        {
            elementwise_mean(pred, target, |$p, $t| $body).0
        }

        #[doc = concat!("Value of [`", stringify!($name), "`] and its pullback (prediction, target).")]
        #[allow(clippy::type_complexity)]
        pub fn $vjp<T: Element, R: Dim, C: Dim>(
            pred: &M<T, R, C>,
            target: &M<T, R, C>,
        ) -> (T, impl FnOnce(T) -> (M<T, R, C>, M<T, R, C>) + use<T, R, C>)
        where
            DefaultAllocator: Allocator<R, C>,
        {
            let (v, dp, dt) = elementwise_mean(pred, target, |$p, $t| $body);
            (v, move |d: T| (dp * d, dt * d))
        }

        #[doc = concat!("Value of [`", stringify!($name), "`] and its tangent.")]
        pub fn $jvp<T: Element, R: Dim, C: Dim>(
            pred: &M<T, R, C>,
            target: &M<T, R, C>,
            d_pred: &M<T, R, C>,
            d_target: &M<T, R, C>,
        ) -> (T, T)
        where
            DefaultAllocator: Allocator<R, C>,
        {
            let (v, dp, dt) = elementwise_mean(pred, target, |$p, $t| $body);
            (v, dp.dot(d_pred) + dt.dot(d_target))
        }
    };
}

pointwise_loss!(
    /// Mean squared error `mean((p − t)²)` (`nn.MSELoss`).
    mse, mse_vjp, mse_jvp,
    |p, t| {
        let r = p - t;
        let two: T = convert(2.0);
        (r * r, two * r, -two * r)
    }
);

pointwise_loss!(
    /// Binary cross-entropy from logits, `mean(max(z, 0) − z·y + ln(1 + e^−|z|))`
    /// (`nn.BCEWithLogitsLoss`), stable for large `|z|`: `∂/∂z = σ(z) − y`, `∂/∂y = −z`.
    bce_with_logits, bce_with_logits_vjp, bce_with_logits_jvp,
    |z, y| {
        let v = z.max(T::zero()) - z * y + (-z.abs()).exp().ln_1p();
        let sigma = T::one() / (T::one() + (-z).exp());
        (v, sigma - y, -z)
    }
);

/// `mean(huber_δ(p − t))` (`nn.HuberLoss(delta)`): `½r²` for `|r| ≤ δ`, else
/// `δ(|r| − ½δ)`; the derivative is `clamp(r, −δ, δ)`.
pub fn huber<T: Element, R: Dim, C: Dim>(pred: &M<T, R, C>, target: &M<T, R, C>, delta: T) -> T
where
    DefaultAllocator: Allocator<R, C>,
{
    elementwise_mean(pred, target, huber_at(delta)).0
}

fn huber_at<T: Element>(delta: T) -> impl Fn(T, T) -> (T, T, T) {
    move |p, t| {
        let r = p - t;
        let half: T = convert(0.5);
        let v = if r.abs() <= delta {
            half * r * r
        } else {
            delta * (r.abs() - half * delta)
        };
        let g = r.max(-delta).min(delta);
        (v, g, -g)
    }
}

/// Value of [`huber`] and its pullback (prediction, target).
#[allow(clippy::type_complexity)]
pub fn huber_vjp<T: Element, R: Dim, C: Dim>(
    pred: &M<T, R, C>,
    target: &M<T, R, C>,
    delta: T,
) -> (
    T,
    impl FnOnce(T) -> (M<T, R, C>, M<T, R, C>, T) + use<T, R, C>,
)
where
    DefaultAllocator: Allocator<R, C>,
{
    let (v, dp, dt) = elementwise_mean(pred, target, huber_at(delta));
    // δ is a hyper-parameter: its cotangent is reported as zero.
    (v, move |d: T| (dp * d, dt * d, T::zero()))
}

/// Value of [`huber`] and its tangent.
pub fn huber_jvp<T: Element, R: Dim, C: Dim>(
    pred: &M<T, R, C>,
    target: &M<T, R, C>,
    delta: T,
    d_pred: &M<T, R, C>,
    d_target: &M<T, R, C>,
    _d_delta: T,
) -> (T, T)
where
    DefaultAllocator: Allocator<R, C>,
{
    let (v, dp, dt) = elementwise_mean(pred, target, huber_at(delta));
    (v, dp.dot(d_pred) + dt.dot(d_target))
}

/// The negative log-likelihood `−mean_j logp[labels[j], j]` of log-probabilities, one
/// column per example (`nn.NLLLoss`).
///
/// # Panics
/// If there is not one label per column or a label is not a row.
pub fn nll<T: Element, R: Dim, C: Dim>(log_probs: &M<T, R, C>, labels: &[usize]) -> T
where
    DefaultAllocator: Allocator<R, C>,
{
    assert_eq!(labels.len(), log_probs.ncols(), "nll: one label per column");
    let total = labels
        .iter()
        .enumerate()
        .fold(T::zero(), |s, (j, &l)| s + log_probs[(l, j)]);
    -total / count(labels.len())
}

/// Value of [`nll`] and its pullback: `−1/n` at each example's label.
pub fn nll_vjp<T: Element, R: Dim, C: Dim>(
    log_probs: &M<T, R, C>,
    labels: &[usize],
) -> (T, impl FnOnce(T) -> M<T, R, C> + use<T, R, C>)
where
    DefaultAllocator: Allocator<R, C>,
{
    let v = nll(log_probs, labels);
    let (r, c) = log_probs.shape_generic();
    let labels = labels.to_vec();
    (v, move |d: T| {
        let mut g = OMatrix::zeros_generic(r, c);
        let n = count::<T>(labels.len());
        for (j, &l) in labels.iter().enumerate() {
            g[(l, j)] = -d / n;
        }
        g
    })
}

/// Value of [`nll`] and its tangent.
pub fn nll_jvp<T: Element, R: Dim, C: Dim>(
    log_probs: &M<T, R, C>,
    labels: &[usize],
    d_log_probs: &M<T, R, C>,
) -> (T, T)
where
    DefaultAllocator: Allocator<R, C>,
{
    let (v, pullback) = nll_vjp(log_probs, labels);
    (v, pullback(T::one()).dot(d_log_probs))
}

/// Cross-entropy from logits with label smoothing `ε` (`nn.CrossEntropyLoss(
/// label_smoothing=ε)`): the target of each example is `(1 − ε)·onehot + ε/K`.
///
/// # Panics
/// As [`cross_entropy`].
pub fn cross_entropy_smoothed<T: Element, R: Dim, C: Dim>(
    logits: &M<T, R, C>,
    labels: &[usize],
    smoothing: T,
) -> T
where
    DefaultAllocator: Allocator<R, C>,
{
    smoothed(logits, labels, smoothing).0
}

/// The loss and its gradient at unit seed: `(softmax − target) / n`.
fn smoothed<T: Element, R: Dim, C: Dim>(
    logits: &M<T, R, C>,
    labels: &[usize],
    eps: T,
) -> (T, M<T, R, C>)
where
    DefaultAllocator: Allocator<R, C>,
{
    assert_eq!(
        labels.len(),
        logits.ncols(),
        "cross_entropy: one label per column"
    );
    let k = count::<T>(logits.nrows());
    let n = count::<T>(labels.len());
    let mut grad = logits.clone();
    let mut total = T::zero();
    for (j, mut col) in grad.column_iter_mut().enumerate() {
        let max = col.max();
        let lse = col.iter().fold(T::zero(), |s, &z| s + (z - max).exp()).ln() + max;
        // −Σ target·log softmax = lse − (1 − ε) z_label − (ε/K) Σ z
        let sum_z = col.sum();
        total += lse - (T::one() - eps) * col[labels[j]] - eps / k * sum_z;
        col.apply(|z| *z = ((*z - lse).exp() - eps / k) / n);
        col[labels[j]] -= (T::one() - eps) / n;
    }
    (total / n, grad)
}

/// Value of [`cross_entropy_smoothed`] and its pullback (the smoothing is a constant: its
/// cotangent is reported as zero).
#[allow(clippy::type_complexity)]
pub fn cross_entropy_smoothed_vjp<T: Element, R: Dim, C: Dim>(
    logits: &M<T, R, C>,
    labels: &[usize],
    smoothing: T,
) -> (T, impl FnOnce(T) -> (M<T, R, C>, T) + use<T, R, C>)
where
    DefaultAllocator: Allocator<R, C>,
{
    let (v, g) = smoothed(logits, labels, smoothing);
    (v, move |d: T| (g * d, T::zero()))
}

/// Value of [`cross_entropy_smoothed`] and its tangent.
pub fn cross_entropy_smoothed_jvp<T: Element, R: Dim, C: Dim>(
    logits: &M<T, R, C>,
    labels: &[usize],
    smoothing: T,
    d_logits: &M<T, R, C>,
    _d_smoothing: T,
) -> (T, T)
where
    DefaultAllocator: Allocator<R, C>,
{
    let (v, g) = smoothed(logits, labels, smoothing);
    (v, g.dot(d_logits))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::{check_gradient, Tolerance};
    use nalgebra::DMatrix;

    fn data() -> (DMatrix<f64>, DMatrix<f64>) {
        let p = DMatrix::from_row_slice(3, 2, &[0.5, -1.2, 2.0, 0.0, -0.3, 4.0]);
        let t = DMatrix::from_row_slice(3, 2, &[1.0, 0.0, 0.0, 1.0, 1.0, 0.0]);
        (p, t)
    }

    fn check(f: impl Fn(&DMatrix<f64>) -> f64, grad: &DMatrix<f64>, at: &DMatrix<f64>) {
        let shape = at.shape();
        let flat = |v: &[f64]| f(&DMatrix::from_column_slice(shape.0, shape.1, v));
        check_gradient(flat, grad.as_slice(), at.as_slice(), Tolerance::F64).unwrap();
    }

    #[test]
    fn pointwise_losses_against_finite_differences() {
        let (p, t) = data();
        let (_, pb) = mse_vjp(&p, &t);
        check(|q| mse(q, &t), &pb(1.0).0, &p);
        let (_, pb) = bce_with_logits_vjp(&p, &t);
        let (dp, dt) = pb(1.0);
        check(|q| bce_with_logits(q, &t), &dp, &p);
        check(|s| bce_with_logits(&p, s), &dt, &t);
        let (_, pb) = huber_vjp(&p, &t, 1.0);
        check(|q| huber(q, &t, 1.0), &pb(1.0).0, &p);
        // Huber is ½r² near zero and linear beyond δ.
        let r = DMatrix::from_element(1, 1, 3.0);
        assert_eq!(huber(&r, &DMatrix::zeros(1, 1), 1.0), 2.5);
    }

    #[test]
    fn nll_and_smoothed_cross_entropy_against_finite_differences() {
        let (p, _) = data();
        let labels = [2, 0];
        let (_, pb) = nll_vjp(&p, &labels);
        check(|q| nll(q, &labels), &pb(1.0), &p);
        let (v, pb) = cross_entropy_smoothed_vjp(&p, &labels, 0.1);
        check(|q| cross_entropy_smoothed(q, &labels, 0.1), &pb(1.0).0, &p);
        // Without smoothing it is the plain cross-entropy.
        assert!(
            (cross_entropy_smoothed(&p, &labels, 0.0) - cross_entropy(&p, &labels)).abs() < 1e-12
        );
        assert!(v > cross_entropy(&p, &labels) - 1.0);
    }
}
