//! The LSTM objective of ADBench and GradBench (they are identical) as plain loops over
//! flat parameter slices, with the state kept in a local array written in place;
//! differentiated by `#[differentiable]`. Shared by the GradBench tool and the ADBench
//! tests and benchmarks.

use autodiff::differentiable;

#[differentiable]
/// `1 / (1 + e^(−x))`.
pub fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// The loss of predicting each character of `seq` (c × b bits) from the previous ones
/// with an l-layer LSTM of hidden size b. `main` holds per layer a weight row and a bias
/// row, each `[forget | ingate | outgate | change]` (4b); `extra` holds the input weights,
/// output weights and output biases (b each); `state0` per layer the hidden state and the
/// cell (b each). ADBench's "logsumexp" is `ln(Σ exp ŷ + 2)`, kept on purpose.
#[allow(
    clippy::too_many_arguments,
    clippy::needless_range_loop,
    clippy::manual_memcpy
)]
#[differentiable(wrt(main, extra))]
pub fn lstm_objective(
    main: &[f64],
    extra: &[f64],
    state0: &[f64],
    seq: &[f64],
    l: usize,
    c: usize,
    b: usize,
) -> f64 {
    let mut state = vec![0.0; 2 * l * b];
    for k in 0..2 * l * b {
        state[k] = state0[k];
    }
    let mut y = vec![0.0; b];
    let mut total = 0.0;
    for t in 0..c - 1 {
        for j in 0..b {
            y[j] = seq[t * b + j] * extra[j];
        }
        for layer in 0..l {
            let w = layer * 8 * b;
            let hs = layer * 2 * b;
            for j in 0..b {
                let h = state[hs + j];
                let forget = sigmoid(y[j] * main[w + j] + main[w + 4 * b + j]);
                let ingate = sigmoid(h * main[w + b + j] + main[w + 5 * b + j]);
                let outgate = sigmoid(y[j] * main[w + 2 * b + j] + main[w + 6 * b + j]);
                let change = (h * main[w + 3 * b + j] + main[w + 7 * b + j]).tanh();
                let cell = state[hs + b + j] * forget + ingate * change;
                state[hs + b + j] = cell;
                let hidden = outgate * cell.tanh();
                state[hs + j] = hidden;
                y[j] = hidden;
            }
        }
        let mut sum = 0.0;
        for j in 0..b {
            sum += (y[j] * extra[b + j] + extra[2 * b + j]).exp();
        }
        let lse = (sum + 2.0).ln();
        for j in 0..b {
            total += seq[(t + 1) * b + j] * (y[j] * extra[b + j] + extra[2 * b + j] - lse);
        }
    }
    -total / ((c - 1) * b) as f64
}
