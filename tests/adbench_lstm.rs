//! ADBench's LSTM objective differentiated by `#[differentiable]` (its state is a local
//! array written in place); validated against the references in `tests/data/adbench/lstm`
//! at ADBench's tolerance (ρ ≤ 1e-8).

#![cfg(feature = "gradbench")]

mod adbench;

use adbench::lstm::{lstm_objective_grad, lstm_objective_jvp, read_lstm};

fn check(name: &str) {
    let m = read_lstm(name);
    let (value, (gm, ge)) = lstm_objective_grad(&m.main, &m.extra, &m.state, &m.seq, m.l, m.c, m.b);
    let gradient = [gm, ge].concat();
    adbench::assert_matches_reference("lstm", name, value, &gradient);
    // Forward mode along one direction agrees with the gradient.
    let dm = adbench::direction(m.main.len(), 0.31, false);
    let de = adbench::direction(m.extra.len(), 0.77, true);
    let (_, t) = lstm_objective_jvp(&m.main, &m.extra, &m.state, &m.seq, m.l, m.c, m.b, &dm, &de);
    adbench::assert_forward_matches(name, t, &[dm, de].concat(), &gradient);
}

#[test]
fn two_layers() {
    check("lstm_l2_c1024");
}

#[test]
#[ignore = "needs the full ADBench data: ADBENCH_DATA=<folder> cargo test -- --ignored"]
fn the_larger_sizes() {
    check("lstm_l2_c4096");
    check("lstm_l4_c1024");
    check("lstm_l4_c4096");
}
