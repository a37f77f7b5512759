//! ADBench's LSTM objective differentiated by `#[differentiable]` (its state is a local
//! array written in place); validated against the references in `../shared/adbench/lstm`
//! at ADBench's tolerance (ρ ≤ 1e-8).

mod adbench;

use adbench::lstm::{lstm_objective_grad, lstm_objective_jvp, read_lstm};

fn check(name: &str) {
    let m = read_lstm(name);
    let (value, (gm, ge)) = lstm_objective_grad(&m.main, &m.extra, &m.state, &m.seq, m.l, m.c, m.b);
    let dir = adbench::dir().join("lstm");
    let ref_f = adbench::numbers(&dir.join(format!("{name}.ref_F.txt")))[0];
    let ref_j = adbench::numbers(&dir.join(format!("{name}.ref_J.txt")));
    let rho_f = adbench::rho(value, ref_f);
    let ours = [gm, ge].concat();
    let (rho_j, at) = adbench::max_rho(&ours, &ref_j);
    eprintln!("{name}: F = {value} (reference {ref_f}), objective rho {rho_f:e}, gradient max rho {rho_j:e}");
    assert!(
        rho_f <= 1e-8,
        "{name}: objective {value} vs reference {ref_f}"
    );
    assert!(
        rho_j <= 1e-8,
        "{name}: gradient entry {at} is {} vs reference {}",
        ours[at],
        ref_j[at]
    );
    // Forward mode along one direction agrees with the gradient.
    let dm: Vec<f64> = (0..m.main.len()).map(|i| (i as f64 * 0.31).sin()).collect();
    let de: Vec<f64> = (0..m.extra.len())
        .map(|i| (i as f64 * 0.77).cos())
        .collect();
    let (_, t) = lstm_objective_jvp(&m.main, &m.extra, &m.state, &m.seq, m.l, m.c, m.b, &dm, &de);
    let expected: f64 = [dm, de]
        .concat()
        .iter()
        .zip(&ours)
        .map(|(a, b)| a * b)
        .sum();
    assert!(
        adbench::rho(t, expected) <= 1e-10,
        "{name}: forward {t} vs reverse {expected}"
    );
}

#[test]
fn two_layers() {
    check("lstm_l2_c1024");
    check("lstm_l2_c4096");
}

#[test]
fn four_layers() {
    check("lstm_l4_c1024");
    check("lstm_l4_c4096");
}
