//! The message protocol: one reply per message, with the `id` of the message; evaluate
//! runs the function at least `min_runs` times and for at least `min_seconds` of measured
//! time, one `evaluate` timing per run.

use super::evals::{self, Job};
use serde_json::{json, Map, Value};
use std::time::Instant;

/// What the tool remembers between messages.
pub struct Session {
    threads: usize,
}

impl Session {
    pub fn new(threads: usize) -> Session {
        Session { threads }
    }

    /// The reply line (without its newline) to one message line.
    pub fn reply(&mut self, line: &str) -> Value {
        let message: Value = match serde_json::from_str(line) {
            Ok(m) => m,
            Err(e) => {
                // Without an id there is nothing to answer to; say what went wrong.
                return json!({"id": null, "success": false, "error": format!("not JSON: {e}")});
            }
        };
        let id = message.get("id").cloned().unwrap_or(Value::Null);
        let kind = message.get("kind").and_then(Value::as_str).unwrap_or("");
        match kind {
            "start" => json!({
                "id": id,
                "tool": "autodiff",
                "config": {"threads": self.threads},
            }),
            "define" => define(id, &message),
            "evaluate" => evaluate(id, message),
            // "analysis" and any kind we do not know: the id alone.
            _ => json!({ "id": id }),
        }
    }
}

fn define(id: Value, message: &Value) -> Value {
    let module = message.get("module").and_then(Value::as_str).unwrap_or("");
    if evals::implements(module) {
        json!({"id": id, "success": true})
    } else {
        json!({"id": id, "success": false, "error": format!("module {module:?} is not implemented")})
    }
}

fn evaluate(id: Value, mut message: Value) -> Value {
    let text = |key: &str| {
        message
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let (module, function) = (text("module"), text("function"));
    let input = message
        .get_mut("input")
        .map(Value::take)
        .unwrap_or(Value::Null);
    let repeat = Repeat::of(&input);
    let start = Instant::now();
    let job = match evals::job(&module, &function, input) {
        Ok(job) => job,
        Err(e) => return failure(id, e),
    };
    let prepare = start.elapsed();
    match run(job, repeat) {
        Ok((output, mut timings)) => {
            timings.push(json!({"name": "prepare", "nanoseconds": nanos(prepare)}));
            json!({"id": id, "success": true, "output": output, "timings": timings})
        }
        Err(e) => failure(id, e),
    }
}

fn failure(id: Value, error: String) -> Value {
    json!({"id": id, "success": false, "error": error})
}

/// How often to run a function: at least `min_runs` times and until the measured runs
/// add up to `min_seconds` (GradBench's defaults are 1 and 1; `hello` sends neither and
/// runs once).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Repeat {
    pub min_runs: u64,
    pub min_seconds: f64,
}

impl Repeat {
    pub fn of(input: &Value) -> Repeat {
        let Some(fields) = input.as_object() else {
            return Repeat {
                min_runs: 1,
                min_seconds: 0.0,
            };
        };
        Repeat {
            min_runs: fields
                .get("min_runs")
                .and_then(Value::as_u64)
                .unwrap_or(1)
                .max(1),
            min_seconds: fields
                .get("min_seconds")
                .and_then(Value::as_f64)
                .unwrap_or(1.0),
        }
    }
}

/// Runs `job` as `repeat` says, timing only the computation of each run; the output is
/// the last run's, converted to JSON after the clock stops.
fn run(mut job: Box<dyn Job>, repeat: Repeat) -> Result<(Value, Vec<Value>), String> {
    let (mut runs, mut seconds) = (0u64, 0.0f64);
    let mut timings = Vec::new();
    while runs < repeat.min_runs || seconds < repeat.min_seconds {
        let start = Instant::now();
        job.run()?;
        let elapsed = start.elapsed();
        seconds += elapsed.as_secs_f64();
        runs += 1;
        timings.push(json!({"name": "evaluate", "nanoseconds": nanos(elapsed)}));
    }
    let output = job.output();
    if let Some(path) = non_finite(&output, String::new()) {
        return Err(format!("the output has a non-finite number at {path}"));
    }
    Ok((output, timings))
}

fn nanos(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// Where `value` holds a `null` (what serde_json makes of NaN and ±∞), if anywhere.
fn non_finite(value: &Value, at: String) -> Option<String> {
    match value {
        Value::Null => Some(if at.is_empty() { "the top".into() } else { at }),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| non_finite(v, format!("{at}[{i}]"))),
        Value::Object(fields) => fields_non_finite(fields, &at),
        _ => None,
    }
}

fn fields_non_finite(fields: &Map<String, Value>, at: &str) -> Option<String> {
    fields
        .iter()
        .find_map(|(k, v)| non_finite(v, format!("{at}.{k}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeat_reads_the_merged_fields() {
        let r = Repeat::of(&json!({"x": [1.0], "min_runs": 3, "min_seconds": 0.5}));
        assert_eq!(
            r,
            Repeat {
                min_runs: 3,
                min_seconds: 0.5
            }
        );
        assert_eq!(
            Repeat::of(&json!(2.0)),
            Repeat {
                min_runs: 1,
                min_seconds: 0.0
            }
        );
        assert_eq!(Repeat::of(&json!({})).min_seconds, 1.0);
    }

    #[test]
    fn nulls_are_found() {
        assert_eq!(
            non_finite(&json!({"a": [1.0, null]}), String::new()),
            Some(".a[1]".into())
        );
        assert_eq!(non_finite(&json!([1.0, {"b": 2}]), String::new()), None);
    }
}
