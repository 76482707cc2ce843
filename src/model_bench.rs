//! `sysnoise bench models`: each runtime's wall time and peak memory on real models, every
//! measurement in a process of its own (a clean peak, and a crash or hang costs one row).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use sysnoise_boundary::{Model, NamedTensors};

use crate::error::EngineError;
use crate::{inputs, registry};

/// A model to measure and the input shapes its symbolic dims take.
#[derive(Clone, Debug)]
pub struct ModelCase {
    pub label: String,
    pub path: PathBuf,
    pub shapes: HashMap<String, Vec<usize>>,
    /// Inputs to feed (`.npz`); generated from the seed 0 when absent.
    pub inputs: Option<PathBuf>,
}

/// The default suite: the benchmark's real models (scripts/setup.sh prepares them) at their
/// task's input sizes, and the committed Fashion-MNIST CNN.
pub fn default_suite(assets: &Path) -> Vec<ModelCase> {
    let case = |label: &str, path: PathBuf, shapes: &[(&str, &[usize])]| ModelCase {
        label: label.into(),
        path,
        shapes: shapes.iter().map(|(n, s)| (n.to_string(), s.to_vec())).collect(),
        inputs: None,
    };
    vec![
        case("fashion-mnist cnn", crate::noise::fmnist::model_path(), &[]),
        case(
            "efficientnet-lite0",
            assets.join("efficientnet_lite0.onnx"),
            &[("input", &[1, 3, 224, 224])],
        ),
        case("pp-ocrv4 rec", assets.join("ocr/rec.onnx"), &[("x", &[1, 3, 48, 320])]),
        case("nanodet-m", assets.join("nanodet/nanodet.onnx"), &[]),
        case(
            "all-minilm-l6-v2",
            assets.join("minilm/minilm.onnx"),
            &[("input_ids", &[8, 32]), ("attention_mask", &[8, 32])],
        ),
    ]
}

/// The real-model suite as scripts/setup.sh prepared it (cases/real_models.yaml): every
/// `<root>/<name>/` with a model and the inputs its package feeds, by name.
pub fn real_model_suite(root: &Path) -> Vec<ModelCase> {
    let Ok(dirs) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    let mut cases: Vec<ModelCase> = dirs
        .filter_map(Result::ok)
        .map(|d| d.path())
        .filter(|dir| dir.join(".complete").exists() && dir.join("model.onnx").exists())
        .map(|dir| ModelCase {
            label: dir.file_name().unwrap_or_default().to_string_lossy().into_owned(),
            path: dir.join("model.onnx"),
            shapes: HashMap::new(),
            inputs: Some(dir.join("inputs.npz")),
        })
        .collect();
    cases.sort_by(|a, b| a.label.cmp(&b.label));
    cases
}

/// One runtime on one model.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Measurement {
    pub runtime: String,
    /// `ran`, `unsupported`, `error`, or `crashed` (the process died or timed out).
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Seconds to prepare the session (parse, optimise).
    pub prepare_s: f64,
    /// Seconds of one inference (the fastest of [`RUNS`]).
    pub run_s: f64,
    /// The process's peak resident memory above what it held before the runtime was built, MiB
    /// (Linux; absent elsewhere): the runtime's own footprint on this model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_mib: Option<f64>,
}

/// Inferences per measurement; the fastest is reported (the first pays for allocations).
pub const RUNS: usize = 3;

#[derive(Clone, Debug, Serialize)]
pub struct ModelRow {
    pub model: String,
    pub nodes: usize,
    /// The shapes fed, `name:dims`.
    pub inputs: Vec<String>,
    pub measurements: Vec<Measurement>,
}

/// A memory line of /proc/self/status (`VmHWM`: peak resident, `VmRSS`: resident now), MiB.
fn status_mib(field: &str) -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// The child's side: prepare and run `runtime` on `model` once, in this process.
pub fn measure_here(runtime: &str, model: &Model, feeds: &NamedTensors) -> Measurement {
    let mut m = Measurement {
        runtime: runtime.into(),
        status: "ran".into(),
        message: None,
        prepare_s: 0.0,
        run_s: 0.0,
        peak_mib: None,
    };
    let before = status_mib("VmRSS:");
    let outcome = (|| -> Result<(), sysnoise_boundary::RuntimeError> {
        let rt =
            registry::build(runtime).map_err(|e| sysnoise_boundary::RuntimeError::failed(runtime, e.to_string()))?;
        let started = Instant::now();
        let mut session = rt.prepare(model)?;
        m.prepare_s = started.elapsed().as_secs_f64();
        m.run_s = f64::INFINITY;
        for _ in 0..RUNS {
            let started = Instant::now();
            session.run(feeds)?;
            m.run_s = m.run_s.min(started.elapsed().as_secs_f64());
        }
        Ok(())
    })();
    if let Err(e) = outcome {
        m.status = if e.is_unsupported() { "unsupported" } else { "error" }.into();
        m.message = Some(e.to_string().lines().next().unwrap_or("").chars().take(200).collect());
    }
    if !m.run_s.is_finite() {
        m.run_s = 0.0;
    }
    m.peak_mib = status_mib("VmHWM:")
        .zip(before)
        .map(|(peak, before)| (peak - before).max(0.0));
    m
}

/// Measures `runtime` on the model at `model_path` with the inputs in `inputs_dir` in a child
/// `sysnoise bench measure` process, killed after `timeout`.
fn measure_in_child(exe: &Path, runtime: &str, model_path: &Path, inputs_dir: &Path, timeout: Duration) -> Measurement {
    let crashed = |message: String| Measurement {
        runtime: runtime.into(),
        status: "crashed".into(),
        message: Some(message),
        prepare_s: 0.0,
        run_s: 0.0,
        peak_mib: None,
    };
    let child = Command::new(exe)
        .args(["bench", "measure", "--runtime", runtime, "--model"])
        .arg(model_path)
        .arg("--inputs")
        .arg(inputs_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => return crashed(format!("cannot start {}: {e}", exe.display())),
    };
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if started.elapsed() > timeout => {
                let _ = child.kill();
                let _ = child.wait();
                return crashed(format!("no result within {} s", timeout.as_secs()));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return crashed(e.to_string()),
        }
    }
    let output = match child.wait_with_output() {
        Ok(o) => o,
        Err(e) => return crashed(e.to_string()),
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    match stdout
        .lines()
        .last()
        .and_then(|l| serde_json::from_str::<Measurement>(l).ok())
    {
        Some(m) => m,
        None => crashed(format!(
            "{} ({})",
            output.status,
            String::from_utf8_lossy(&output.stderr).lines().last().unwrap_or("")
        )),
    }
}

/// Measures every runtime on every case; `progress` is told each model's label.
pub fn run(
    exe: &Path,
    cases: &[ModelCase],
    runtimes: &[String],
    timeout: Duration,
    mut progress: impl FnMut(&str),
) -> Result<Vec<ModelRow>, EngineError> {
    let mut rows = Vec::new();
    for case in cases {
        progress(&case.label);
        let model = Model::load(&case.path)?;
        let feeds = match &case.inputs {
            Some(path) => inputs::load(&model, &[path.display().to_string()])?,
            None => inputs::generate(&model, 0, &case.shapes)?,
        };
        let dir = tempfile::tempdir().map_err(|e| EngineError::io(Path::new("a temporary directory"), e))?;
        inputs::write_pb_dir(dir.path(), &feeds)?;
        let measurements = runtimes
            .iter()
            .map(|rt| measure_in_child(exe, rt, &case.path, dir.path(), timeout))
            .collect();
        rows.push(ModelRow {
            model: case.label.clone(),
            nodes: model.graph().node.len(),
            inputs: feeds
                .iter()
                .map(|(n, t)| {
                    let dims: Vec<String> = t.shape().iter().map(usize::to_string).collect();
                    format!("{n}:{}", dims.join("x"))
                })
                .collect(),
            measurements,
        });
    }
    Ok(rows)
}

/// The table: per model and runtime, prepare and run seconds, peak memory and the ratios to
/// `baseline` (ORT).
pub fn render(rows: &[ModelRow], baseline: &str) -> String {
    let mut table = comfy_table::Table::new();
    table.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
    table.set_header([
        "model",
        "nodes",
        "runtime",
        "status",
        "prepare s",
        "run s",
        "+peak MiB",
        "run ×",
        "peak ×",
    ]);
    for row in rows {
        let base = row
            .measurements
            .iter()
            .find(|m| m.runtime == baseline && m.status == "ran");
        for m in &row.measurements {
            let ratio = |a: f64, b: f64| if b > 0.0 { format!("{:.1}", a / b) } else { "-".into() };
            let (run_ratio, peak_ratio) = match (base, m.status.as_str()) {
                (Some(b), "ran") => (
                    ratio(m.run_s, b.run_s),
                    match (m.peak_mib, b.peak_mib) {
                        (Some(p), Some(q)) => ratio(p, q),
                        _ => "-".into(),
                    },
                ),
                _ => ("-".into(), "-".into()),
            };
            let status = match &m.message {
                Some(msg) => format!("{}: {}", m.status, msg.chars().take(60).collect::<String>()),
                None => m.status.clone(),
            };
            table.add_row([
                row.model.clone(),
                row.nodes.to_string(),
                m.runtime.clone(),
                status,
                format!("{:.3}", m.prepare_s),
                format!("{:.3}", m.run_s),
                m.peak_mib.map_or("-".into(), |p| format!("{p:.0}")),
                run_ratio,
                peak_ratio,
            ]);
        }
    }
    format!("{table}\n")
}
