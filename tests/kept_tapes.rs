//! Tapes are kept between calls, per thread (`autodiff::release_tapes`): a gradient
//! computed after others, of other sizes, must be the one a fresh thread computes.

use autodiff::differentiable;

/// Explicit Euler steps of a heat equation with a cubic reaction, over an array written
/// in place (its adjoint reads windows of it), then a loop nest (rows of a matrix, the
/// inner loops on one stack) and a long counted loop (a tape of its own).
#[allow(clippy::needless_range_loop)]
#[differentiable(wrt(u0, kappa))]
pub fn heat(u0: &[f64], kappa: f64, rows: usize) -> f64 {
    let n = u0.len();
    let mut u = u0.to_vec();
    let mut k = vec![0.0; n];
    for _ in 0..3 {
        for i in 1..n - 1 {
            k[i] = kappa * (u[i - 1] - 2.0 * u[i] + u[i + 1]) - u[i] * u[i] * u[i];
        }
        for i in 0..n {
            u[i] += 0.1 * k[i];
        }
    }
    let cols = n / rows;
    let mut total = 0.0;
    for r in 0..rows {
        let mut row = 0.0;
        for c in 0..cols {
            row += (u[r * cols + c] * kappa).sin();
        }
        total += row * row;
    }
    let mut energy = 0.0;
    for i in 0..n {
        energy += (u[i] * u[i]).exp() * 0.5;
    }
    total.sqrt() + energy
}

fn input(n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| ((i * 7919) % 1000) as f64 / 1000.0 - 0.5)
        .collect()
}

type Grad = (f64, (Vec<f64>, f64));

fn gradient(n: usize, kappa: f64) -> Grad {
    heat_grad(&input(n), kappa, 4)
}

fn on_fresh_thread(n: usize, kappa: f64) -> Grad {
    std::thread::spawn(move || gradient(n, kappa))
        .join()
        .expect("the gradient panicked")
}

#[test]
fn gradients_after_others_are_those_of_a_fresh_thread() {
    // Tapes of 8,000 records (64 KiB) and less, the small ones not kept.
    let calls = [
        (8000, 0.3),
        (5000, -0.2),
        (8000, 0.3),
        (12, 0.0),
        (8000, -1.5),
    ];
    for (n, kappa) in calls {
        assert_eq!(gradient(n, kappa), on_fresh_thread(n, kappa), "n = {n}");
    }
    // Two pullbacks alive at once each read their own tapes, the second after the
    // first gave its tapes back.
    let (x, y) = (input(6000), input(5000));
    let ((_, first), (_, second)) = (heat_vjp(&x, 0.3, 4), heat_vjp(&y, -0.7, 4));
    let (a, b) = (first(1.0), second(1.0));
    assert_eq!(a, on_fresh_thread(6000, 0.3).1);
    assert_eq!(b, on_fresh_thread(5000, -0.7).1);
    autodiff::release_tapes();
    assert_eq!(gradient(8000, 0.3), on_fresh_thread(8000, 0.3));
}

#[test]
fn the_gradient_is_right_at_a_small_size() {
    let (u0, kappa) = (vec![0.5, -1.0, 0.0, 2.0, 0.25, -0.3, 0.0, 1.0], -0.4);
    let (_, (du, dk)) = heat_grad(&u0, kappa, 2);
    let h = 1e-6;
    for i in 0..u0.len() {
        let (mut up, mut down) = (u0.clone(), u0.clone());
        up[i] += h;
        down[i] -= h;
        let fd = (heat(&up, kappa, 2) - heat(&down, kappa, 2)) / (2.0 * h);
        assert!(
            (du[i] - fd).abs() <= 1e-6 * (1.0 + fd.abs()),
            "du[{i}] {} against {fd}",
            du[i]
        );
    }
    let fd = (heat(&u0, kappa + h, 2) - heat(&u0, kappa - h, 2)) / (2.0 * h);
    assert!(
        (dk - fd).abs() <= 1e-6 * (1.0 + fd.abs()),
        "dκ {dk} against {fd}"
    );
}
