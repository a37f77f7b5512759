//! One training step of the seed's CIFAR-10 CNN (batch 64, `f32`, all cores) on a
//! synthetic batch: the forward pass alone, loss and gradient, and the Adam update.
//!
//! `cargo bench --bench cnn` prints milliseconds per call (best of batches of ten) and the
//! epoch time they imply (782 steps of 64 images), then runs the criterion benchmarks.

use autodiff::nn::CifarNet as Net;
use autodiff::nn::Init;
use autodiff::optim::Adam;
use autodiff::Tensor;
use criterion::Criterion;
use std::hint::black_box;
use std::time::{Duration, Instant};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A batch of 64 images with values in [-1, 1] and labels 0..10.
fn batch() -> (Tensor, Vec<usize>) {
    let mut init = Init::new(7);
    let x = Tensor::new(&[64, 3, 32, 32], init.uniform(64 * 3 * 32 * 32, 1.0)).expect("shape");
    (x, (0..64).map(|i| (i * 7) % 10).collect())
}

/// Seconds per call: the best mean over batches of ten calls within `seconds`.
fn best(seconds: u64, mut f: impl FnMut()) -> f64 {
    let mut best = f64::INFINITY;
    let deadline = Instant::now() + Duration::from_secs(seconds);
    while Instant::now() < deadline {
        let start = Instant::now();
        (0..10).for_each(|_| f());
        best = best.min(start.elapsed().as_secs_f64() / 10.0);
    }
    best
}

/// Everything runs on a worker of the pool, as the `cifar10` example trains.
fn main() {
    let pool = rayon::ThreadPoolBuilder::new()
        .build()
        .expect("thread pool");
    pool.install(measure);
}

fn measure() {
    let (x, labels) = batch();
    let mut net = Net::new(0);
    let mut adam = Adam::new(1e-3);
    let forward = best(3, || {
        black_box(net.logits(black_box(&x)));
    });
    let grad = best(5, || {
        black_box(net.loss_grad(black_box(&x), &labels));
    });
    let (_, g) = net.loss_grad(&x, &labels);
    let update = best(2, || adam.step(&mut net, black_box(&g)));
    let step = grad + update;
    println!(
        "threads {}: forward {:.2} ms, loss+gradient {:.2} ms, Adam {:.2} ms; \
         a step {:.2} ms, so {:.1} s per 782-step epoch (without data loading)",
        rayon::current_num_threads(),
        forward * 1e3,
        grad * 1e3,
        update * 1e3,
        step * 1e3,
        step * 782.0
    );
    let mut c = Criterion::default()
        .configure_from_args()
        .sample_size(20)
        .measurement_time(Duration::from_secs(5));
    c.bench_function("cnn forward", |b| b.iter(|| net.logits(black_box(&x))));
    c.bench_function("cnn loss_grad", |b| {
        b.iter(|| net.loss_grad(black_box(&x), &labels))
    });
    c.final_summary();
}
