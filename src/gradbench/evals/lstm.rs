//! `lstm`: the loss of an l-layer LSTM predicting each character of a text from the
//! previous ones (ADBench's), and its gradient in the parameters.

use super::{computation, flatten, parse, unknown, Job};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::gradbench::objectives::lstm::{lstm_objective, lstm_objective_grad};

#[derive(Deserialize)]
struct Input {
    main_params: Vec<Vec<f64>>,
    extra_params: Vec<Vec<f64>>,
    state: Vec<Vec<f64>>,
    sequence: Vec<Vec<f64>>,
}

/// The flat row-major arrays and sizes (l layers, c characters of b bits).
struct Lstm {
    main: Vec<f64>,
    extra: Vec<f64>,
    state: Vec<f64>,
    seq: Vec<f64>,
    l: usize,
    c: usize,
    b: usize,
}

impl Lstm {
    fn from_input(i: Input) -> Result<Lstm, String> {
        let l = i.main_params.len() / 2;
        let b = i.main_params.first().map_or(0, Vec::len) / 4;
        let c = i.sequence.len();
        if l == 0 || b == 0 || c < 2 || i.extra_params.len() != 3 || i.state.len() != 2 * l {
            return Err(format!(
                "lstm: {} parameter rows, {} extra rows, {} state rows, {c} characters",
                i.main_params.len(),
                i.extra_params.len(),
                i.state.len()
            ));
        }
        Ok(Lstm {
            main: flatten(&i.main_params, 4 * b, "main_params")?,
            extra: flatten(&i.extra_params, b, "extra_params")?,
            state: flatten(&i.state, b, "state")?,
            seq: flatten(&i.sequence, b, "sequence")?,
            l,
            c,
            b,
        })
    }
}

pub fn job(function: &str, input: Value) -> Result<Box<dyn Job>, String> {
    let lstm = Lstm::from_input(parse(input)?)?;
    match function {
        "objective" => Ok(computation(
            lstm,
            |m| lstm_objective(&m.main, &m.extra, &m.state, &m.seq, m.l, m.c, m.b),
            |y| json!(y),
        )),
        "jacobian" => Ok(computation(
            lstm,
            |m| {
                let (_, (main, extra)) =
                    lstm_objective_grad(&m.main, &m.extra, &m.state, &m.seq, m.l, m.c, m.b);
                [main, extra].concat()
            },
            |g| json!(g),
        )),
        _ => Err(unknown("lstm", function)),
    }
}
