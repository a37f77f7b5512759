//! The GradBench tool (`src/bin/gradbench-tool`) driven over its stdin and stdout as
//! GradBench's harness drives it: recorded message exchanges written from the protocol
//! (GradBench's `PROTOCOL.md`), and each module's outputs against independent
//! references (closed forms, finite differences, and ADBench's reference files).

#![cfg(feature = "gradbench")]

mod adbench;

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

/// The tool as a child process, one message and one reply line at a time.
struct Tool {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    next_id: u64,
}

impl Tool {
    fn start() -> Tool {
        Tool::start_with(&[])
    }

    fn start_with(args: &[&str]) -> Tool {
        let mut child = Command::new(env!("CARGO_BIN_EXE_gradbench-tool"))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("gradbench-tool starts");
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().expect("stdout"));
        Tool {
            child,
            stdin,
            stdout,
            next_id: 0,
        }
    }

    /// Sends one line, reads one reply line, checks it carries the message's id.
    fn send_line(&mut self, line: &str) -> Value {
        let stdin = self.stdin.as_mut().expect("stdin open");
        writeln!(stdin, "{line}").expect("write");
        stdin.flush().expect("flush");
        let mut reply = String::new();
        self.stdout.read_line(&mut reply).expect("read a reply");
        assert!(
            reply.ends_with('\n'),
            "a reply is one whole line: {reply:?}"
        );
        serde_json::from_str(&reply).unwrap_or_else(|e| panic!("reply {reply:?} is not JSON: {e}"))
    }

    /// Sends `message` with the next id and returns the reply.
    fn send(&mut self, mut message: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        message["id"] = json!(id);
        let reply = self.send_line(&message.to_string());
        assert_eq!(reply["id"], json!(id), "reply to {message}");
        reply
    }

    /// start and define `module`, which must succeed.
    fn open(module: &str) -> Tool {
        Tool::open_with(module, &[])
    }

    fn open_with(module: &str, args: &[&str]) -> Tool {
        let mut tool = Tool::start_with(args);
        let reply = tool.send(json!({"kind": "start", "eval": module}));
        assert_eq!(reply["tool"], "autodiff");
        let reply = tool.send(json!({"kind": "define", "module": module}));
        assert_eq!(reply, json!({"id": 1, "success": true}));
        tool
    }

    /// Evaluates `function` once on `input` (with `min_runs` 1 and `min_seconds` 0 merged
    /// in, as the evals do), checks the reply, and sends the analysis message.
    fn evaluate(&mut self, module: &str, function: &str, mut input: Value) -> Value {
        input["min_runs"] = json!(1);
        input["min_seconds"] = json!(0);
        let reply = self.send(json!({
            "kind": "evaluate", "module": module, "function": function, "input": input,
        }));
        assert_eq!(reply["success"], true, "{module}.{function}: {reply}");
        assert!(reply.get("error").is_none());
        assert_timings(&reply, 1);
        let of = reply["id"].clone();
        assert_eq!(
            self.send(json!({"kind": "analysis", "of": of, "valid": true}))
                .as_object()
                .map(|o| o.len()),
            Some(1),
            "an analysis is answered with the id alone"
        );
        reply["output"].clone()
    }

    /// Closes stdin: the tool must exit with status 0, having written nothing more.
    fn finish(mut self) {
        drop(self.stdin.take());
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut self.stdout, &mut rest).expect("read");
        assert_eq!(rest, "", "nothing after the last reply");
        let status = self.child.wait().expect("wait");
        assert!(status.success(), "exit status {status}");
    }
}

/// `evaluate` timings: `runs` entries, each a non-negative integer of nanoseconds.
fn assert_timings(reply: &Value, runs: usize) {
    let timings = reply["timings"].as_array().expect("timings");
    let evaluate: Vec<&Value> = timings.iter().filter(|t| t["name"] == "evaluate").collect();
    assert_eq!(evaluate.len(), runs, "{reply}");
    for t in timings {
        assert!(t["nanoseconds"].is_u64(), "integer nanoseconds: {t}");
    }
}

fn numbers(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("an array")
        .iter()
        .map(|x| x.as_f64().expect("a number"))
        .collect()
}

/// GradBench's comparison: `|a − b| / max(1, |a| + |b|) ≤ tolerance`.
fn assert_close(what: &str, ours: f64, reference: f64, tolerance: f64) {
    let rho = adbench::rho(ours, reference);
    assert!(
        rho <= tolerance,
        "{what}: {ours} vs {reference} (rho {rho:e})"
    );
}

fn assert_all_close(what: &str, ours: &[f64], reference: &[f64], tolerance: f64) {
    assert_eq!(ours.len(), reference.len(), "{what}: length");
    for (i, (a, b)) in ours.iter().zip(reference).enumerate() {
        assert_close(&format!("{what}[{i}]"), *a, *b, tolerance);
    }
}

#[test]
fn hello_session_as_in_the_protocol() {
    let mut tool = Tool::start();
    assert_eq!(
        tool.send_line(r#"{"id": 0, "kind": "start", "eval": "hello"}"#)["id"],
        0
    );
    assert_eq!(
        tool.send_line(r#"{"id": 1, "kind": "define", "module": "hello"}"#),
        json!({"id": 1, "success": true})
    );
    // The eight calls, each fed the previous output, each followed by its analysis.
    let mut x = 1.0;
    let mut id = 2;
    for step in 0..8 {
        let function = if step % 2 == 0 { "square" } else { "double" };
        let line = format!(
            r#"{{"id": {id}, "kind": "evaluate", "module": "hello", "function": "{function}", "input": {x:?}}}"#
        );
        let reply = tool.send_line(&line);
        assert_eq!(reply["id"], id);
        assert_eq!(reply["success"], true);
        assert_timings(&reply, 1);
        let expected = if function == "square" { x * x } else { 2.0 * x };
        assert_eq!(reply["output"].as_f64(), Some(expected), "{function}({x})");
        x = expected;
        let analysis = format!(
            r#"{{"id": {}, "kind": "analysis", "of": {id}, "valid": true}}"#,
            id + 1
        );
        assert_eq!(tool.send_line(&analysis), json!({"id": id + 1}));
        id += 2;
    }
    assert_eq!(x, 32768.0);
    tool.finish();
}

#[test]
fn unknown_modules_functions_kinds_and_bad_inputs() {
    let mut tool = Tool::start();
    tool.send(json!({"kind": "start"}));
    let reply = tool.send(json!({"kind": "define", "module": "no-such-eval"}));
    assert_eq!(reply["success"], false);
    assert!(reply["error"]
        .as_str()
        .is_some_and(|e| e.contains("no-such-eval")));
    let reply = tool.send(
        json!({"kind": "evaluate", "module": "lse", "function": "hessian",
        "input": {"x": [1.0], "min_runs": 1, "min_seconds": 0}}),
    );
    assert_eq!(reply["success"], false);
    assert!(reply["error"]
        .as_str()
        .is_some_and(|e| e.contains("hessian")));
    let reply = tool.send(
        json!({"kind": "evaluate", "module": "lse", "function": "primal",
        "input": {"y": [1.0], "min_runs": 1, "min_seconds": 0}}),
    );
    assert_eq!(
        reply["success"], false,
        "a missing field is an error, not a panic"
    );
    let reply = tool.send(
        json!({"kind": "evaluate", "module": "ode", "function": "primal",
        "input": {"x": [], "s": 1, "min_runs": 1, "min_seconds": 0}}),
    );
    assert_eq!(reply["success"], false);
    // Kinds the tool does not know, with extra fields: the id alone.
    assert_eq!(
        tool.send(json!({"kind": "shutdown", "extra": [1, 2]})),
        json!({"id": 5})
    );
    // min_runs is honoured: one timing per run.
    let reply = tool.send(
        json!({"kind": "evaluate", "module": "lse", "function": "gradient",
        "input": {"x": [0.0, 1.0], "min_runs": 5, "min_seconds": 0}}),
    );
    assert_timings(&reply, 5);
    tool.finish();
}

#[test]
fn lse_is_the_softmax_and_llsq_the_normal_equations() {
    let mut tool = Tool::open("lse");
    let x: Vec<f64> = (0..2500)
        .map(|i| ((i * 7919) % 1000) as f64 / 1000.0)
        .collect();
    let value = tool
        .evaluate("lse", "primal", json!({"x": x}))
        .as_f64()
        .unwrap();
    let direct = x.iter().map(|v| v.exp()).sum::<f64>().ln();
    assert_close("lse", value, direct, 1e-12);
    let gradient = numbers(&tool.evaluate("lse", "gradient", json!({"x": x})));
    let softmax: Vec<f64> = x.iter().map(|v| (v - direct).exp()).collect();
    assert_all_close("softmax", &gradient, &softmax, 1e-12);
    tool.finish();

    let mut tool = Tool::open("llsq");
    let (m, n) = (6, 33);
    let x: Vec<f64> = (0..m).map(|j| 0.3 - 0.1 * j as f64).collect();
    let input = json!({"x": x, "n": n});
    let gradient = numbers(&tool.evaluate("llsq", "gradient", input.clone()));
    // ∂/∂xⱼ = −Σᵢ rᵢ tᵢʲ with rᵢ = sᵢ − Σₖ xₖ tᵢᵏ.
    let mut expected = vec![0.0; m];
    let mut value = 0.0;
    for i in 0..n {
        let t = -1.0 + 2.0 * i as f64 / (n - 1) as f64;
        let s = if t > 0.0 {
            1.0
        } else if t < 0.0 {
            -1.0
        } else {
            0.0
        };
        let r = s - (0..m).map(|j| x[j] * t.powi(j as i32)).sum::<f64>();
        value += 0.5 * r * r;
        for (j, e) in expected.iter_mut().enumerate() {
            *e -= r * t.powi(j as i32);
        }
    }
    assert_close(
        "llsq",
        tool.evaluate("llsq", "primal", input).as_f64().unwrap(),
        value,
        1e-12,
    );
    assert_all_close("llsq gradient", &gradient, &expected, 1e-12);
    tool.finish();
}

#[test]
fn ode_primal_and_gradient_against_finite_differences() {
    let mut tool = Tool::open("ode");
    let x: Vec<f64> = (0..6).map(|i| 0.2 + 0.13 * i as f64).collect();
    let last = |tool: &mut Tool, x: &[f64]| {
        numbers(&tool.evaluate("ode", "primal", json!({"x": x, "s": 10})))[x.len() - 1]
    };
    let gradient = numbers(&tool.evaluate("ode", "gradient", json!({"x": x, "s": 10})));
    for i in 0..x.len() {
        let h = 1e-6;
        let (mut up, mut down) = (x.clone(), x.clone());
        up[i] += h;
        down[i] -= h;
        let fd = (last(&mut tool, &up) - last(&mut tool, &down)) / (2.0 * h);
        assert_close(&format!("dy/dx{i}"), gradient[i], fd, 1e-7);
    }
    tool.finish();
}

/// An ADBench GMM file as GradBench's input.
fn gmm_input(g: &adbench::gmm::Gmm) -> Value {
    let rows = |v: &[f64], w: usize| v.chunks(w.max(1)).map(<[f64]>::to_vec).collect::<Vec<_>>();
    json!({
        "d": g.d, "k": g.k, "n": g.n,
        "x": rows(&g.x, g.d), "alpha": g.alpha, "mu": rows(&g.mu, g.d),
        "q": rows(&g.q, g.d), "l": rows(&g.l, g.d * (g.d - 1) / 2),
        "m": g.m as usize, "gamma": g.gamma,
    })
}

/// The tool's GMM objective and gradient for ADBench's instance `name` against its
/// references (converted to GradBench's objective).
fn check_gmm(tool: &mut Tool, name: &str) {
    let g = adbench::gmm::read_gmm(name);
    let (ref_f, ref_j) = adbench::gmm::reference(&g, name);
    let value = tool.evaluate("gmm", "objective", gmm_input(&g));
    assert_close(name, value.as_f64().unwrap(), ref_f, 1e-8);
    let j = tool.evaluate("gmm", "jacobian", gmm_input(&g));
    let flat = |key: &str| -> Vec<f64> {
        j[key]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(numbers)
            .collect()
    };
    let gradient = [numbers(&j["alpha"]), flat("mu"), flat("q"), flat("l")].concat();
    assert_all_close(name, &gradient, &ref_j, 1e-8);
}

#[test]
fn gmm_against_adbench_references() {
    let mut tool = Tool::open("gmm");
    for name in ["test", "1k/gmm_d2_K5", "1k/gmm_d10_K10"] {
        check_gmm(&mut tool, name);
    }
    tool.finish();
}

/// With `--multithreaded` the objective and gradient are sums over blocks of points.
#[test]
fn multithreaded_gmm_adds_up_blocks_of_points() {
    let mut tool = Tool::open_with("gmm", &["--multithreaded"]);
    check_gmm(&mut tool, "1k/gmm_d10_K10");
    tool.finish();
}

#[test]
fn lstm_against_adbench_reference() {
    let mut tool = Tool::open("lstm");
    let m = adbench::lstm::read_lstm("lstm_l2_c1024");
    let rows = |v: &[f64], w: usize| v.chunks(w).map(<[f64]>::to_vec).collect::<Vec<_>>();
    let input = json!({
        "main_params": rows(&m.main, 4 * m.b), "extra_params": rows(&m.extra, m.b),
        "state": rows(&m.state, m.b), "sequence": rows(&m.seq, m.b),
    });
    let dir = adbench::dir().join("lstm");
    let ref_f = adbench::numbers(&dir.join("lstm_l2_c1024.ref_F.txt"))[0];
    let ref_j = adbench::numbers(&dir.join("lstm_l2_c1024.ref_J.txt"));
    let value = tool
        .evaluate("lstm", "objective", input.clone())
        .as_f64()
        .unwrap();
    assert_close("objective", value, ref_f, 1e-8);
    let gradient = numbers(&tool.evaluate("lstm", "jacobian", input));
    assert_all_close("gradient", &gradient, &ref_j, 1e-8);
    tool.finish();
}

#[test]
fn ba_against_adbench_reference_rows() {
    let name = "ba1_n49_m7776_p31843";
    let v = adbench::numbers(&adbench::dir().join(format!("ba/{name}.txt")));
    let (n, m, p) = (v[0] as usize, v[1] as usize, v[2] as usize);
    let input = json!({"n": n, "m": m, "p": p, "cam": &v[3..14], "x": &v[14..17], "w": v[17],
        "feat": &v[18..20]});
    let dir = adbench::dir().join("ba");
    let ref_f: Vec<f64> = adbench::numbers(&dir.join(format!("{name}.ref_F_rows.txt")));
    let reference_f = |row: usize| {
        ref_f
            .chunks(2)
            .find(|c| c[0] as usize == row)
            .map(|c| c[1])
            .expect("reference row")
    };
    let mut tool = Tool::open("ba");
    let objective = tool.evaluate("ba", "objective", input.clone());
    assert_eq!(objective["reproj_error"]["repeated"], p);
    assert_eq!(objective["w_err"]["repeated"], p);
    let e = numbers(&objective["reproj_error"]["elements"]);
    assert_all_close("reprojection", &e, &[reference_f(0), reference_f(1)], 1e-8);
    assert_close(
        "weight residual",
        objective["w_err"]["element"].as_f64().unwrap(),
        reference_f(2 * p),
        1e-8,
    );

    let j = tool.evaluate("ba", "jacobian", input);
    let ints = |key: &str| -> Vec<u64> {
        j[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap())
            .collect()
    };
    let mut rows: Vec<u64> = (0..30).map(|r| 15 * r).collect();
    rows.push(31 * p as u64);
    assert_eq!(ints("rows"), rows);
    let block: Vec<u64> = (0..11)
        .chain([11 * n, 11 * n + 1, 11 * n + 2, 11 * n + 3 * m])
        .map(|c| c as u64)
        .collect();
    let mut cols = [block.clone(), block].concat();
    cols.push((11 * n + 3 * m + p - 1) as u64);
    assert_eq!(ints("cols"), cols);
    let ref_j = adbench::numbers(&dir.join(format!("{name}.ref_J_rows.txt")));
    let reference_j = |r: usize, c: usize| {
        ref_j
            .chunks(3)
            .find(|e| e[0] as usize == r && e[1] as usize == c)
            .map(|e| e[2])
    };
    let vals = numbers(&j["vals"]);
    let mut compared = 0;
    for (k, &c) in cols[..30].iter().enumerate() {
        // Entries the reference file lists (it leaves out some zeros).
        if let Some(reference) = reference_j(k / 15, c as usize) {
            assert_close(&format!("J[{}, {c}]", k / 15), vals[k], reference, 1e-8);
            compared += 1;
        }
    }
    assert!(compared >= 28, "only {compared} entries have a reference");
    assert_close("dw", vals[30], -2.0 * v[17], 1e-12);
    tool.finish();
}

/// The determinant by recursive cofactor expansion, written independently of the tool.
fn cofactor_det(a: &[f64], n: usize) -> f64 {
    if n == 1 {
        return a[0];
    }
    (0..n)
        .map(|j| {
            let sign = if j % 2 == 0 { 1.0 } else { -1.0 };
            sign * a[j] * cofactor_det(&minor(a, n, 0, j), n - 1)
        })
        .sum()
}

/// `a` without row `i` and column `j`.
fn minor(a: &[f64], n: usize, i: usize, j: usize) -> Vec<f64> {
    (0..n * n)
        .filter(|&t| t / n != i && t % n != j)
        .map(|t| a[t])
        .collect()
}

#[test]
fn det_and_its_cofactor_matrix() {
    let mut tool = Tool::open("det");
    // ℓ = 7 and 8 run the expansion in two and ten checkpointed segments.
    for ell in [1, 2, 5, 7, 8] {
        let a: Vec<f64> = (0..ell * ell)
            .map(|t| ((t * 7919 + 13) % 1000) as f64 / 1000.0 - 0.3)
            .collect();
        let input = json!({"A": a, "ell": ell});
        let value = tool
            .evaluate("det", "primal", input.clone())
            .as_f64()
            .unwrap();
        assert_close(&format!("det ℓ={ell}"), value, cofactor_det(&a, ell), 1e-12);
        let gradient = numbers(&tool.evaluate("det", "gradient", input));
        let cofactors: Vec<f64> = (0..ell * ell)
            .map(|t| {
                let (i, j) = (t / ell, t % ell);
                let sign = if (i + j) % 2 == 0 { 1.0 } else { -1.0 };
                if ell == 1 {
                    1.0
                } else {
                    sign * cofactor_det(&minor(&a, ell, i, j), ell - 1)
                }
            })
            .collect();
        assert_all_close(&format!("cofactors ℓ={ell}"), &gradient, &cofactors, 1e-12);
    }
    tool.finish();
}

/// A small hand: bones as GradBench's (wrist 0, fingers 4f+1..4f+4 in a chain, forearm 21),
/// identity base transforms, and `vertices` vertices with positions and normalised
/// weights from a fixed sequence.
fn hand_model(vertices: usize, relatives_offset: f64) -> Value {
    let parents: Vec<i64> = (0..22)
        .map(|b| match b {
            0 => -1,
            21 => 0,
            b if (b - 1) % 4 == 0 => 0,
            b => b - 1,
        })
        .collect();
    let identity = |shift: f64| -> Vec<Vec<f64>> {
        (0..4)
            .map(|i| {
                (0..4)
                    .map(|j| {
                        if i == j {
                            1.0
                        } else if j == 3 && i < 3 {
                            shift * (i + 1) as f64
                        } else {
                            0.0
                        }
                    })
                    .collect()
            })
            .collect()
    };
    let next = |k: usize| ((k * 7919 + 17) % 997) as f64 / 997.0;
    let positions: Vec<Vec<f64>> = (0..vertices)
        .map(|v| {
            vec![
                next(3 * v) - 0.5,
                next(3 * v + 1),
                next(3 * v + 2) * 0.3,
                1.0,
            ]
        })
        .collect();
    let weights: Vec<Vec<f64>> = (0..vertices)
        .map(|v| {
            let raw: Vec<f64> = (0..22)
                .map(|b| {
                    if (v + b) % 5 == 0 {
                        next(v * 22 + b)
                    } else {
                        0.0
                    }
                })
                .collect();
            let total: f64 = raw.iter().sum::<f64>().max(1e-9);
            raw.iter().map(|w| w / total).collect()
        })
        .collect();
    let triangles: Vec<[usize; 3]> = (0..vertices)
        .map(|v| [v, (v + 1) % vertices, (v + 7) % vertices])
        .collect();
    json!({
        "bone_count": 22,
        "bone_names": (0..22).map(|b| format!("bone{b}")).collect::<Vec<_>>(),
        "parents": parents,
        "base_relatives": (0..22).map(|_| identity(relatives_offset)).collect::<Vec<_>>(),
        "inverse_base_absolutes": (0..22).map(|_| identity(0.0)).collect::<Vec<_>>(),
        "base_positions": positions,
        "weights": weights,
        "triangles": triangles,
        "is_mirrored": false,
    })
}

fn hand_input(theta: &[f64], us: &[[f64; 2]], model: &Value, n: usize) -> Value {
    let points: Vec<[f64; 3]> = (0..n)
        .map(|i| [0.1 * i as f64, -0.2, 0.05 * (i % 3) as f64])
        .collect();
    let correspondences: Vec<usize> = (0..n).map(|i| (i * 5) % 30).collect();
    json!({"theta": theta, "us": us,
        "data": {"correspondences": correspondences, "points": points, "model": model}})
}

#[test]
fn ht_objective_in_closed_form_and_jacobian_against_finite_differences() {
    let n = 6;
    let mut tool = Tool::open("ht");
    // Identity transforms and zero angles: every vertex stays where it is, and the global
    // translation θ[3..6] moves all of them.
    let model = hand_model(30, 0.0);
    let mut theta = vec![0.0; 26];
    theta[3..6].copy_from_slice(&[0.5, -1.0, 2.0]);
    let err = numbers(&tool.evaluate("ht", "objective", hand_input(&theta, &[], &model, n)));
    let positions = &model["base_positions"];
    for i in 0..n {
        let v = (i * 5) % 30;
        for j in 0..3 {
            let point = [0.1 * i as f64, -0.2, 0.05 * (i % 3) as f64][j];
            let expected = point - (positions[v][j].as_f64().unwrap() + theta[3 + j]);
            assert_close(&format!("err[{i}][{j}]"), err[3 * i + j], expected, 1e-12);
        }
    }
    // A general pose, both variants: each Jacobian column against central differences.
    let model = hand_model(30, 0.1);
    let theta: Vec<f64> = (0..26)
        .map(|p| 0.1 + 0.05 * p as f64 * if p % 2 == 0 { 1.0 } else { -1.0 })
        .collect();
    let us: Vec<[f64; 2]> = (0..n).map(|i| [0.2 + 0.1 * (i % 3) as f64, 0.3]).collect();
    for variant in [&[][..], &us[..]] {
        let complicated = !variant.is_empty();
        let jac = tool.evaluate("ht", "jacobian", hand_input(&theta, variant, &model, n));
        let rows: Vec<Vec<f64>> = jac.as_array().unwrap().iter().map(numbers).collect();
        assert_eq!(rows.len(), 3 * n);
        let h = 1e-6;
        let mut objective = |theta: &[f64], us: &[[f64; 2]]| {
            numbers(&tool.evaluate("ht", "objective", hand_input(theta, us, &model, n)))
        };
        for p in 0..26 {
            let (mut up, mut down) = (theta.clone(), theta.clone());
            up[p] += h;
            down[p] -= h;
            let (eu, ed) = (objective(&up, variant), objective(&down, variant));
            for r in 0..3 * n {
                let fd = (eu[r] - ed[r]) / (2.0 * h);
                let column = if complicated { p + 2 } else { p };
                assert_close(
                    &format!("d err[{r}] / d theta[{p}]"),
                    rows[r][column],
                    fd,
                    1e-6,
                );
            }
        }
        if complicated {
            for which in 0..2 {
                let (mut up, mut down) = (us.clone(), us.clone());
                for u in &mut up {
                    u[which] += h;
                }
                for u in &mut down {
                    u[which] -= h;
                }
                let (eu, ed) = (objective(&theta, &up), objective(&theta, &down));
                for r in 0..3 * n {
                    let fd = (eu[r] - ed[r]) / (2.0 * h);
                    assert_close(
                        &format!("d err[{r}] / d u{which}"),
                        rows[r][which],
                        fd,
                        1e-6,
                    );
                }
            }
        }
    }
    tool.finish();
}

#[test]
fn particle_and_saddle_through_nested_derivatives() {
    // All four combinations of the outer and inner modes: ff, fr (an inner gradient by
    // reverse mode, differentiated in forward mode), rf, rr.
    let mut tool = Tool::open("particle");
    for variant in ["ff", "fr", "rf", "rr"] {
        let w = tool.evaluate("particle", variant, json!({"w": 0.0}));
        // GradBench's constant (reproduced independently from the protocol's procedure).
        assert_close(variant, w.as_f64().unwrap(), 0.2071918746486116, 1e-10);
    }
    tool.finish();

    let mut tool = Tool::open("saddle");
    for variant in ["ff", "fr", "rf", "rr"] {
        let out = numbers(&tool.evaluate("saddle", variant, json!({"start": [1.0, 1.0]})));
        assert_eq!(out.len(), 4);
        for v in out {
            assert_close(variant, v, 8.246324826140356e-06, 1e-12);
        }
    }
    tool.finish();
}

#[test]
fn kmeans_cost_and_newton_direction() {
    let (n, k, d) = (200, 7, 3);
    let next = |t: usize| ((t * 7919 + 31) % 1009) as f64 / 1009.0;
    let points: Vec<Vec<f64>> = (0..n)
        .map(|i| (0..d).map(|t| next(i * d + t)).collect())
        .collect();
    // The last k points, as the eval chooses them: every centroid owns a point.
    let centroids: Vec<Vec<f64>> = points[n - k..].to_vec();
    let input = json!({"points": points, "centroids": centroids});
    let dist = |p: &[f64], c: &[f64]| p.iter().zip(c).map(|(a, b)| (a - b) * (a - b)).sum::<f64>();
    let nearest = |p: &[f64]| {
        (0..k).fold(0, |best, j| {
            if dist(p, &centroids[j]) < dist(p, &centroids[best]) {
                j
            } else {
                best
            }
        })
    };
    let cost: f64 = points.iter().map(|p| dist(p, &centroids[nearest(p)])).sum();
    let mut tool = Tool::open("kmeans");
    assert_close(
        "cost",
        tool.evaluate("kmeans", "cost", input.clone())
            .as_f64()
            .unwrap(),
        cost,
        1e-12,
    );
    // J ⊘ H = C − mean of the points each centroid owns.
    let dir = tool.evaluate("kmeans", "dir", input);
    for (j, c) in centroids.iter().enumerate() {
        let owned: Vec<&Vec<f64>> = points.iter().filter(|p| nearest(p) == j).collect();
        for t in 0..d {
            let mean = owned.iter().map(|p| p[t]).sum::<f64>() / owned.len() as f64;
            assert_close(
                &format!("dir[{j}][{t}]"),
                dir[j][t].as_f64().unwrap(),
                c[t] - mean,
                1e-12,
            );
        }
    }
    tool.finish();
}
