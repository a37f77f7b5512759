//! GradBench's gradient descent (PROTOCOL.md §2.11), used by `particle` and `saddle`: a
//! step size that doubles after ten accepted steps and halves on a rejected one.

/// Minimises `f` from `x0` with the gradient `grad`.
pub fn minimize(
    f: impl Fn(&[f64]) -> f64,
    grad: impl Fn(&[f64]) -> Vec<f64>,
    x0: &[f64],
) -> Vec<f64> {
    let norm = |v: &[f64]| v.iter().map(|a| a * a).sum::<f64>().sqrt();
    let mut x = x0.to_vec();
    let mut fx = f(&x);
    let mut g = grad(&x);
    let mut eta = 1e-5;
    let mut i = 0;
    loop {
        if norm(&g) <= 1e-5 {
            return x;
        }
        if i == 10 {
            eta *= 2.0;
            i = 0;
            continue;
        }
        let next: Vec<f64> = x.iter().zip(&g).map(|(a, b)| a - eta * b).collect();
        let step: Vec<f64> = x.iter().zip(&next).map(|(a, b)| a - b).collect();
        if norm(&step) <= 1e-5 {
            return x;
        }
        let f_next = f(&next);
        if f_next < fx {
            x = next;
            fx = f_next;
            g = grad(&x);
            i += 1;
        } else {
            eta /= 2.0;
            i = 0;
        }
    }
}

/// Maximises `f`: minimises `−f`.
pub fn maximize(
    f: impl Fn(&[f64]) -> f64,
    grad: impl Fn(&[f64]) -> Vec<f64>,
    x0: &[f64],
) -> Vec<f64> {
    minimize(|x| -f(x), |x| grad(x).into_iter().map(|g| -g).collect(), x0)
}
