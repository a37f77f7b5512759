//! The GradBench modules this tool implements, each in its own file: the functions of an
//! eval written once with `#[differentiable]`, their inputs as sent, and their outputs.

mod ba;
mod det;
mod gd;
mod gmm;
mod hello;
mod ht;
mod kmeans;
mod llsq;
mod lse;
mod lstm;
mod ode;
mod particle;
mod saddle;

use serde::de::DeserializeOwned;
use serde_json::Value;

/// One function on one input, ready to run: `run` is what the clock measures (it recomputes
/// everything from the input), `output` converts the last result to JSON afterwards.
pub trait Job {
    /// Computes the result from the input (what is timed).
    fn run(&mut self) -> Result<(), String>;
    /// The last result, as GradBench's JSON.
    fn output(&self) -> Value;
}

type Make = fn(&str, Value) -> Result<Box<dyn Job>, String>;

/// The modules, by name: `define` accepts these.
const EVALS: &[(&str, Make)] = &[
    ("hello", hello::job),
    ("gmm", gmm::job),
    ("ba", ba::job),
    ("ht", ht::job),
    ("lstm", lstm::job),
    ("det", det::job),
    ("kmeans", kmeans::job),
    ("llsq", llsq::job),
    ("lse", lse::job),
    ("ode", ode::job),
    ("particle", particle::job),
    ("saddle", saddle::job),
];

/// Whether the tool implements `module`.
pub fn implements(module: &str) -> bool {
    EVALS.iter().any(|(name, _)| *name == module)
}

/// The job for `function` of `module` on `input`.
pub fn job(module: &str, function: &str, input: Value) -> Result<Box<dyn Job>, String> {
    let (_, make) = EVALS
        .iter()
        .find(|(name, _)| *name == module)
        .ok_or_else(|| format!("module {module:?} is not implemented"))?;
    make(function, input)
}

struct Computation<I, O, F, J> {
    input: I,
    compute: F,
    to_json: J,
    out: Option<O>,
}

impl<I, O, F, J> Job for Computation<I, O, F, J>
where
    F: FnMut(&I) -> O,
    J: Fn(&O) -> Value,
{
    fn run(&mut self) -> Result<(), String> {
        // The last result goes first, so that this run can reuse its memory.
        self.out = None;
        self.out = Some((self.compute)(&self.input));
        Ok(())
    }

    fn output(&self) -> Value {
        self.out.as_ref().map_or(Value::Null, &self.to_json)
    }
}

/// A job computing `compute(&input)`, whose result `to_json` writes out.
pub fn computation<I: 'static, O: 'static>(
    input: I,
    compute: impl FnMut(&I) -> O + 'static,
    to_json: impl Fn(&O) -> Value + 'static,
) -> Box<dyn Job> {
    Box::new(Computation {
        input,
        compute,
        to_json,
        out: None,
    })
}

/// The input as the module's input type.
pub fn parse<T: DeserializeOwned>(input: Value) -> Result<T, String> {
    serde_json::from_value(input).map_err(|e| format!("unexpected input: {e}"))
}

/// The error for a function a module does not have.
pub fn unknown(module: &str, function: &str) -> String {
    format!("module {module:?} has no function {function:?}")
}

/// `[[a, b], [c, d]]` as `[a, b, c, d]`, checking every row has `width` numbers.
pub fn flatten(rows: &[Vec<f64>], width: usize, what: &str) -> Result<Vec<f64>, String> {
    if let Some(bad) = rows.iter().position(|r| r.len() != width) {
        return Err(format!(
            "{what}: row {bad} has {} numbers, expected {width}",
            rows[bad].len()
        ));
    }
    Ok(rows.concat())
}

/// `flat` cut into rows of `width`.
pub fn rows(flat: &[f64], width: usize) -> Vec<Vec<f64>> {
    flat.chunks(width.max(1)).map(<[f64]>::to_vec).collect()
}
