//! The message protocol: one reply per message, with the `id` of the message; evaluate
//! runs the function at least `min_runs` times and for at least `min_seconds` of measured
//! time, one `evaluate` timing per run.

use super::evals::{self, Job};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::time::Instant;

/// A message from the eval: its id, its kind, and the fields its kind uses (absent ones
/// are empty). The id is echoed back as sent.
#[derive(Deserialize)]
struct Message {
    #[serde(default)]
    id: Value,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    module: String,
    #[serde(default)]
    function: String,
    #[serde(default)]
    input: Value,
}

/// A reply: the message's id and the fields of the answer to its kind.
#[derive(Serialize, Default)]
struct Reply {
    id: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    config: Option<Config>,
    #[serde(skip_serializing_if = "Option::is_none")]
    success: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    output: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    timings: Option<Vec<Timing>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// The tool's configuration, reported in the reply to `start`.
#[derive(Serialize)]
struct Config {
    threads: usize,
}

/// One measured phase of an evaluation.
#[derive(Serialize)]
struct Timing {
    name: &'static str,
    nanoseconds: u64,
}

/// What the tool remembers between messages.
pub struct Session {
    threads: usize,
}

impl Session {
    /// A session whose evals may use `threads` threads (0: all cores).
    pub fn new(threads: usize) -> Session {
        Session { threads }
    }

    /// The reply line (without its newline) to one message line.
    pub fn reply(&mut self, line: &str) -> Value {
        let reply = match serde_json::from_str::<Value>(line) {
            // Without an id there is nothing to answer to; say what went wrong.
            Err(e) => failure(Value::Null, format!("not JSON: {e}")),
            Ok(value) => {
                let id = value.get("id").cloned().unwrap_or(Value::Null);
                match Message::deserialize(value) {
                    Ok(message) => self.answer(message),
                    Err(e) => failure(id, format!("malformed message: {e}")),
                }
            }
        };
        serde_json::to_value(reply).unwrap_or(Value::Null)
    }

    fn answer(&mut self, message: Message) -> Reply {
        let id = message.id.clone();
        match message.kind.as_str() {
            "start" => Reply {
                id,
                tool: Some("autodiff"),
                config: Some(Config {
                    threads: self.threads,
                }),
                ..Reply::default()
            },
            "define" if evals::implements(&message.module) => Reply {
                id,
                success: Some(true),
                ..Reply::default()
            },
            "define" => failure(
                id,
                format!("module {:?} is not implemented", message.module),
            ),
            "evaluate" => evaluate(message),
            // "analysis" and any kind we do not know: the id alone.
            _ => Reply {
                id,
                ..Reply::default()
            },
        }
    }
}

fn evaluate(message: Message) -> Reply {
    let Message {
        id,
        module,
        function,
        input,
        ..
    } = message;
    let repeat = Repeat::of(&input);
    let start = Instant::now();
    let job = match evals::job(&module, &function, input) {
        Ok(job) => job,
        Err(e) => return failure(id, e),
    };
    let prepare = start.elapsed();
    match run(job, repeat) {
        Ok((output, mut timings)) => {
            timings.push(Timing {
                name: "prepare",
                nanoseconds: nanos(prepare),
            });
            Reply {
                id,
                success: Some(true),
                output: Some(output),
                timings: Some(timings),
                ..Reply::default()
            }
        }
        Err(e) => failure(id, e),
    }
}

fn failure(id: Value, error: String) -> Reply {
    Reply {
        id,
        success: Some(false),
        error: Some(error),
        ..Reply::default()
    }
}

/// How often to run a function: at least `min_runs` times and until the measured runs
/// add up to `min_seconds` (GradBench's defaults are 1 and 1; `hello` sends neither and
/// runs once).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Repeat {
    /// Runs at least this many times.
    pub min_runs: u64,
    /// Runs until the measured runs add up to this.
    pub min_seconds: f64,
}

impl Repeat {
    /// The repetition a GradBench input asks for (`min_runs`, `min_seconds`).
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
fn run(mut job: Box<dyn Job>, repeat: Repeat) -> Result<(Value, Vec<Timing>), String> {
    let (mut runs, mut seconds) = (0u64, 0.0f64);
    let mut timings = Vec::new();
    while runs < repeat.min_runs || seconds < repeat.min_seconds {
        let start = Instant::now();
        job.run()?;
        let elapsed = start.elapsed();
        seconds += elapsed.as_secs_f64();
        runs += 1;
        timings.push(Timing {
            name: "evaluate",
            nanoseconds: nanos(elapsed),
        });
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
    use serde_json::json;

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

    /// Messages are read into typed fields: a known kind is answered, a field of the wrong
    /// type is a failure that still carries the id, and text that is not JSON one without.
    #[test]
    fn messages_are_typed() {
        let mut session = Session::new(2);
        let start = session.reply(r#"{"id": 1, "kind": "start"}"#);
        assert_eq!(
            start,
            json!({"id": 1, "tool": "autodiff", "config": {"threads": 2}})
        );
        let define = session.reply(r#"{"id": 2, "kind": "define", "module": "nope"}"#);
        assert_eq!(define["success"], json!(false));
        let bad = session.reply(r#"{"id": 3, "kind": 5}"#);
        assert_eq!(
            (bad["id"].clone(), bad["success"].clone()),
            (json!(3), json!(false))
        );
        let garbage = session.reply("{oops");
        assert_eq!(
            (garbage["id"].clone(), garbage["success"].clone()),
            (Value::Null, json!(false))
        );
        let other = session.reply(r#"{"id": 4, "kind": "analysis"}"#);
        assert_eq!(other, json!({"id": 4}));
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
