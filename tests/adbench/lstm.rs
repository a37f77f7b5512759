//! ADBench's LSTM files; the objective (`lstm.h`) is the GradBench tool's.

use super::{dir, numbers};

#[allow(unused_imports)]
pub use autodiff::gradbench::objectives::lstm::*;

/// One LSTM instance as read from an ADBench file.
pub struct Lstm {
    pub l: usize,
    pub c: usize,
    pub b: usize,
    pub main: Vec<f64>,
    pub extra: Vec<f64>,
    pub state: Vec<f64>,
    pub seq: Vec<f64>,
}

pub fn read_lstm(name: &str) -> Lstm {
    let v = numbers(&dir().join(format!("lstm/{name}.txt")));
    let (l, c, b) = (v[0] as usize, v[1] as usize, v[2] as usize);
    let mut at = 3;
    let mut take = |len: usize| {
        let part = v[at..at + len].to_vec();
        at += len;
        part
    };
    let (main, extra, state, seq) = (take(8 * l * b), take(3 * b), take(2 * l * b), take(c * b));
    Lstm {
        l,
        c,
        b,
        main,
        extra,
        state,
        seq,
    }
}
