//! A 784-128-10 perceptron, batch 64, `f32`: loss and gradient through `#[differentiable]`
//! (parameter struct, one method per layer, runtime rules for ReLU, the bias and the
//! cross-entropy) against the same backpropagation written by hand with nalgebra.
//!
//! `cargo bench --bench mlp` prints the ratio (best of alternating batches, one thread),
//! then runs the criterion benchmarks.

use autodiff::models::mlp::numbers;
use autodiff::models::mlp::single::Mlp;
use autodiff::nalgebra::DMatrix;
use criterion::Criterion;
use std::hint::black_box;
use std::time::{Duration, Instant};

struct Problem {
    model: Mlp,
    x: DMatrix<f32>,
    labels: Vec<usize>,
}

fn problem() -> Problem {
    let mut next = numbers(1);
    let model = Mlp::new([784, 128, 10], &mut next);
    let x = DMatrix::from_fn(784, 64, |_, _| (0.5 + 0.5 * next()) as f32);
    let labels = (0..64).map(|i| (i * 7) % 10).collect();
    Problem { model, x, labels }
}

/// Seconds per call of `a` and of `b`: the best over alternating batches of ten calls.
fn best_alternating(mut a: impl FnMut(), mut b: impl FnMut()) -> (f64, f64) {
    let (mut best_a, mut best_b) = (f64::INFINITY, f64::INFINITY);
    let deadline = Instant::now() + Duration::from_secs(4);
    while Instant::now() < deadline {
        let start = Instant::now();
        (0..10).for_each(|_| a());
        best_a = best_a.min(start.elapsed().as_secs_f64() / 10.0);
        let start = Instant::now();
        (0..10).for_each(|_| b());
        best_b = best_b.min(start.elapsed().as_secs_f64() / 10.0);
    }
    (best_a, best_b)
}

fn main() {
    let p = problem();
    let (generated, by_hand) = best_alternating(
        || {
            black_box(p.model.loss_grad(black_box(&p.x), &p.labels));
        },
        || {
            black_box(p.model.loss_grad_by_hand(black_box(&p.x), &p.labels));
        },
    );
    let forward = best_alternating(
        || {
            black_box(p.model.loss(black_box(&p.x), &p.labels));
        },
        || {},
    )
    .0;
    println!("\nMLP 784-128-10, batch 64, f32, one thread (best of alternating batches)");
    println!("loss only                      {:>8.3} ms", forward * 1e3);
    println!("loss + gradient, by hand       {:>8.3} ms", by_hand * 1e3);
    println!("loss + gradient, generated     {:>8.3} ms", generated * 1e3);
    println!(
        "generated / by hand            {:>8.3}",
        generated / by_hand
    );

    let mut c = Criterion::default().configure_from_args();
    let mut group = c.benchmark_group("mlp 784-128-10 batch 64");
    group.bench_function("generated", |b| {
        b.iter(|| p.model.loss_grad(black_box(&p.x), &p.labels))
    });
    group.bench_function("by hand", |b| {
        b.iter(|| p.model.loss_grad_by_hand(black_box(&p.x), &p.labels))
    });
    group.finish();
    c.final_summary();
}
