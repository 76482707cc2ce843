//! The repro bundle of a reduction, ready to attach upstream: model.onnx, inputs.npz, the
//! reference's and each runtime's outputs (.npy), report.md, report.json, repro.py and a Rust
//! `#[test]`. It reproduces on its own, and the same reduction gives byte-identical files.

use std::collections::{BTreeMap, HashMap};
use std::io::Write as _;
use std::path::Path;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use sysnoise_boundary::{Model, NamedTensors, Runtime};

use super::{Reduced, Target};
use crate::compare::{CompareOptions, compare};
use crate::error::EngineError;
use crate::machine::{Machine, isa_dependence};
use crate::metrics::Metrics;
use crate::pernode::format_attribute;
use crate::tolerance::{Tolerance, ToleranceModel};

/// What report.json holds.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BundleReport {
    /// `Op on runtimes: symptom`.
    pub signature: String,
    pub op_type: String,
    /// Diverging runtimes.
    pub runtimes: Vec<String>,
    pub symptom: String,
    /// Every runtime compared (the Rust test and repro.py run these).
    pub compared: Vec<String>,
    /// The model the reduction started from (its file name).
    pub source: String,
    /// The first node that diverged alone in the source model.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_node: Option<String>,
    pub nodes_before: usize,
    pub nodes_after: usize,
    pub input_elements_before: usize,
    pub input_elements: usize,
    pub evaluations: usize,
    pub steps: Vec<String>,
    /// Every node of the reduced model: op type and attributes as ONNX text shows them.
    pub nodes: Vec<NodeSummary>,
    pub inputs: Vec<TensorSummary>,
    /// Constants (initialisers) of the reduced model, with their values when small.
    pub constants: Vec<ConstantSummary>,
    pub outputs: Vec<OutputSummary>,
    /// What the ONNX specification says, when sysnoise knows (cases/spec_notes.yaml).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spec: Option<String>,
    pub spec_url: String,
    pub versions: BTreeMap<String, String>,
    pub machine: Machine,
    /// Diverging runtimes whose results on this model depend on the CPU's instruction set.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub isa_notes: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NodeSummary {
    pub op_type: String,
    pub attributes: BTreeMap<String, String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TensorSummary {
    pub name: String,
    pub dtype: String,
    pub shape: Vec<usize>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ConstantSummary {
    pub name: String,
    pub dtype: String,
    pub shape: Vec<usize>,
    /// The values when there are at most 16.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<f64>>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OutputSummary {
    pub name: String,
    /// Stem of `expected/<file>.npy` and `actual/<runtime>/<file>.npy`.
    pub file: String,
    pub dtype: String,
    pub shape: Vec<usize>,
    pub tolerance: Tolerance,
    /// Who produced `expected/` (the reference when it ran).
    pub expected_from: String,
    pub metrics: BTreeMap<String, Metrics>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub errors: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct SpecNote {
    text: String,
}

fn spec_note(op_type: &str) -> Option<String> {
    static NOTES: OnceLock<HashMap<String, SpecNote>> = OnceLock::new();
    NOTES
        .get_or_init(|| {
            serde_yaml_ng::from_str(include_str!("../../cases/spec_notes.yaml"))
                .expect("cases/spec_notes.yaml is valid (checked by a unit test)")
        })
        .get(op_type)
        .map(|n| n.text.clone())
}

/// A file-name stem for a tensor name (ONNX names may hold `/`, `:` ...).
fn file_stem(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// An .npz whose bytes depend only on the tensors (stored entries, fixed timestamps).
pub fn npz_bytes(tensors: &NamedTensors) -> Result<Vec<u8>, EngineError> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::FileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .last_modified_time(zip::DateTime::default());
    for (name, tensor) in tensors {
        let npy = crate::npy::to_npy_bytes(tensor)?;
        zip.start_file(format!("{name}.npy"), options)
            .and_then(|()| zip.write_all(&npy).map_err(Into::into))
            .map_err(|e| EngineError::Input(format!("writing {name} into inputs.npz: {e}")))?;
    }
    let cursor = zip
        .finish()
        .map_err(|e| EngineError::Input(format!("finishing inputs.npz: {e}")))?;
    Ok(cursor.into_inner())
}

/// Builds report.json's content.
fn summarise(reduced: &Reduced, compared: &[String], source: &str) -> BundleReport {
    let Target {
        op_type,
        runtimes,
        symptom,
    } = &reduced.target;
    let observed = &reduced.observed;
    let machine = Machine::here();
    let mut outputs = Vec::new();
    if let Some(judgement) = &observed.judgement {
        let expected_from = observed.runs[judgement.baseline].name.clone();
        for output in &judgement.outputs {
            let errors = observed
                .runs
                .iter()
                .filter_map(|r| r.outputs.as_ref().err().map(|e| (r.name.clone(), e.to_string())))
                .collect();
            outputs.push(OutputSummary {
                name: output.name.clone(),
                file: file_stem(&output.name),
                dtype: output.dtype.clone(),
                shape: output.shape.clone(),
                tolerance: output.tolerance,
                expected_from: expected_from.clone(),
                metrics: output.metrics.clone(),
                errors,
            });
        }
    }
    let versions = compared
        .iter()
        .filter_map(|name| crate::registry::build(name).ok().map(|rt| (name.clone(), rt.version())))
        .collect();
    BundleReport {
        signature: reduced.target.to_string(),
        op_type: op_type.clone(),
        runtimes: runtimes.clone(),
        symptom: symptom.name().into(),
        compared: compared.to_vec(),
        source: source.to_string(),
        source_node: reduced.attribution.as_ref().map(|a| a.node.clone()),
        nodes_before: reduced.before.nodes,
        nodes_after: reduced.after.nodes,
        input_elements_before: reduced.before.input_elements,
        input_elements: reduced.after.input_elements,
        evaluations: reduced.evaluations,
        steps: reduced.steps.clone(),
        nodes: reduced
            .model
            .graph()
            .node
            .iter()
            .map(|n| NodeSummary {
                op_type: n.op_type.clone(),
                attributes: n
                    .attribute
                    .iter()
                    .map(|a| (a.name.clone(), format_attribute(a)))
                    .collect(),
            })
            .collect(),
        inputs: reduced
            .inputs
            .iter()
            .map(|(name, t)| TensorSummary {
                name: name.clone(),
                dtype: t.dtype().to_string(),
                shape: t.shape().to_vec(),
            })
            .collect(),
        constants: reduced
            .model
            .initializers()
            .unwrap_or_default()
            .into_iter()
            .map(|(name, t)| ConstantSummary {
                name,
                dtype: t.dtype().to_string(),
                shape: t.shape().to_vec(),
                values: (t.len() <= 16 && t.dtype() != sysnoise_boundary::DType::String).then(|| t.to_f64_vec()),
            })
            .collect(),
        outputs,
        spec: spec_note(op_type),
        spec_url: format!("https://onnx.ai/onnx/operators/onnx__{op_type}.html"),
        versions,
        isa_notes: runtimes
            .iter()
            .filter_map(|r| isa_dependence(&reduced.model, r, &machine))
            .collect(),
        machine,
    }
}

/// Writes the bundle into `dir` (replacing it whole: written aside, then renamed).
pub fn write(
    dir: &Path,
    reduced: &Reduced,
    tolerances: &ToleranceModel,
    compared: &[String],
    source: &str,
) -> Result<BundleReport, EngineError> {
    let report = summarise(reduced, compared, source);
    let parent = dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(|e| EngineError::io(parent, e))?;
    let tmp = crate::atomic::temporary_dir_in(parent, ".reduce-")?;
    let root = tmp.path();
    let put = |relative: &str, bytes: &[u8]| -> Result<(), EngineError> {
        let path = root.join(relative);
        if let Some(p) = path.parent() {
            std::fs::create_dir_all(p).map_err(|e| EngineError::io(p, e))?;
        }
        std::fs::write(&path, bytes).map_err(|e| EngineError::io(&path, e))
    };
    put("model.onnx", &reduced.model.to_bytes())?;
    put("inputs.npz", &npz_bytes(&reduced.inputs)?)?;
    if let Some(judgement) = &reduced.observed.judgement {
        let baseline = &reduced.observed.runs[judgement.baseline];
        for run in &reduced.observed.runs {
            let Ok(outputs) = &run.outputs else { continue };
            for (name, tensor) in outputs {
                let npy = crate::npy::to_npy_bytes(tensor)?;
                if run.name == baseline.name {
                    put(&format!("expected/{}.npy", file_stem(name)), &npy)?;
                } else {
                    put(&format!("actual/{}/{}.npy", run.name, file_stem(name)), &npy)?;
                }
            }
        }
    }
    let tolerance_yaml = serde_yaml_ng::to_string(tolerances).expect("tolerances serialise");
    put("tolerances.yaml", tolerance_yaml.as_bytes())?;
    put(
        "report.json",
        &serde_json::to_vec_pretty(&report).expect("the report serialises"),
    )?;
    put("report.md", render_markdown(&report).as_bytes())?;
    put("repro.py", repro_python(&report).as_bytes())?;
    put("repro_test.rs", repro_rust(&report, dir).as_bytes())?;
    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(|e| EngineError::io(dir, e))?;
    }
    let kept = tmp.keep();
    std::fs::rename(&kept, dir).map_err(|e| EngineError::io(dir, e))?;
    Ok(report)
}

fn fmt_value(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.3e}")
    } else {
        format!("{v}")
    }
}

/// report.md: what diverges, the op, the metrics, the spec, the versions, how to reproduce.
pub fn render_markdown(report: &BundleReport) -> String {
    let mut md = String::new();
    let push = |md: &mut String, line: &str| {
        md.push_str(line);
        md.push('\n');
    };
    push(&mut md, &format!("# {}", report.signature));
    push(&mut md, "");
    push(
        &mut md,
        &format!(
            "`{}` gives a different result on **{}** than the f64 reference (symptom: {}). \
             Reduced by sysnoise from `{}`{}: {} → {} nodes, {} → {} input elements.",
            report.op_type,
            report.runtimes.join(", "),
            report.symptom,
            report.source,
            report
                .source_node
                .as_ref()
                .map_or(String::new(), |n| format!(" (node `{n}`)")),
            report.nodes_before,
            report.nodes_after,
            report.input_elements_before,
            report.input_elements
        ),
    );
    push(&mut md, "");
    push(&mut md, "## The model");
    push(&mut md, "");
    for node in &report.nodes {
        let attributes: Vec<String> = node.attributes.iter().map(|(k, v)| format!("{k}={v}")).collect();
        push(
            &mut md,
            &format!(
                "- `{}`{}",
                node.op_type,
                if attributes.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", attributes.join(", "))
                }
            ),
        );
    }
    for input in &report.inputs {
        push(
            &mut md,
            &format!("- input `{}`: {} {:?}", input.name, input.dtype, input.shape),
        );
    }
    for constant in &report.constants {
        let values = constant.values.as_ref().map_or(String::new(), |values| {
            let shown: Vec<String> = values
                .iter()
                .map(|&v| match constant.dtype.as_str() {
                    "f32" | "f16" | "bf16" => format!("{}", v as f32),
                    "f64" => format!("{v}"),
                    _ => format!("{}", v as i64),
                })
                .collect();
            format!(" = [{}]", shown.join(", "))
        });
        push(
            &mut md,
            &format!(
                "- constant `{}`: {} {:?}{values}",
                constant.name, constant.dtype, constant.shape
            ),
        );
    }
    push(&mut md, "");
    push(&mut md, "## What differs");
    push(&mut md, "");
    push(
        &mut md,
        "| output | runtime | max abs | max rel | mismatches | NaN/Inf agree | within tolerance |",
    );
    push(&mut md, "|---|---|---|---|---|---|---|");
    for output in &report.outputs {
        for (runtime, m) in &output.metrics {
            if *runtime == output.expected_from {
                continue;
            }
            push(
                &mut md,
                &format!(
                    "| `{}` {} {:?} | {} | {} | {} | {} | {} | {} |",
                    output.name,
                    output.dtype,
                    output.shape,
                    runtime,
                    fmt_value(m.max_abs),
                    fmt_value(m.max_rel),
                    m.mismatches,
                    if m.nan_inf_agree { "yes" } else { "NO" },
                    if m.within_tolerance { "yes" } else { "NO" }
                ),
            );
        }
        for (runtime, error) in &output.errors {
            push(
                &mut md,
                &format!(
                    "| `{}` | {runtime} | failed: {} | | | | |",
                    output.name,
                    error.replace('|', "/")
                ),
            );
        }
    }
    if let Some(output) = report.outputs.first() {
        push(&mut md, "");
        push(
            &mut md,
            &format!(
                "Expected values: `{}` (`expected/*.npy`); tolerance abs {} rel {}.",
                output.expected_from, output.tolerance.abs, output.tolerance.rel
            ),
        );
    }
    push(&mut md, "");
    push(&mut md, "## Who is right");
    push(&mut md, "");
    match &report.spec {
        Some(text) => push(&mut md, &format!("ONNX specification ({}): {text}", report.spec_url)),
        None => push(
            &mut md,
            &format!(
                "The ONNX operator specification decides: {}. The f64 reference implements it literally.",
                report.spec_url
            ),
        ),
    }
    push(&mut md, "");
    push(&mut md, "## Versions");
    push(&mut md, "");
    for (runtime, version) in &report.versions {
        push(&mut md, &format!("- {runtime}: {version}"));
    }
    push(
        &mut md,
        &format!(
            "- machine: {}, sysnoise {}",
            report.machine.summary(),
            report.machine.sysnoise
        ),
    );
    for note in &report.isa_notes {
        push(&mut md, &format!("- CPU-dependent: {note}"));
    }
    push(&mut md, "");
    push(&mut md, "## Reproduce");
    push(&mut md, "");
    push(&mut md, "```sh");
    push(
        &mut md,
        "python repro.py            # numpy + the runtime's package; exit 1 while the bug is present",
    );
    push(
        &mut md,
        &format!(
            "sysnoise compare model.onnx --inputs inputs.npz --runtimes {} --tol-file tolerances.yaml",
            report.compared.join(",")
        ),
    );
    push(&mut md, "```");
    push(&mut md, "");
    push(&mut md, "## Reduction steps");
    push(&mut md, "");
    for step in &report.steps {
        push(&mut md, &format!("1. {step}"));
    }
    push(&mut md, &format!("\n{} candidates evaluated.", report.evaluations));
    md
}

/// repro.py: runs the diverging runtimes' Python packages on the bundle and compares with
/// expected/*.npy under the same tolerance.
fn repro_python(report: &BundleReport) -> String {
    let spec = serde_json::json!({
        "signature": report.signature,
        "runtimes": report.runtimes,
        "inputs": report.inputs.iter().map(|i| &i.name).collect::<Vec<_>>(),
        "outputs": report.outputs.iter().map(|o| serde_json::json!({
            "name": o.name, "file": o.file, "abs": o.tolerance.abs, "rel": o.tolerance.rel,
            "outliers": o.tolerance.outliers,
        })).collect::<Vec<_>>(),
    });
    REPRO_PY
        .replace("{signature}", &report.signature)
        .replace("{spec}", &serde_json::to_string_pretty(&spec).expect("json"))
}

const REPRO_PY: &str = r#"#!/usr/bin/env python3
"""sysnoise repro: {signature}

Runs the diverging runtime(s) on model.onnx with inputs.npz and compares every output with
expected/*.npy (the f64 reference's) under the tolerance sysnoise used. Needs numpy plus the
runtime's package: onnxruntime for ort* (onnxruntime-gpu for ort-cuda*/ort-trt*), tract for tract. Exit status: 1 while the divergence
is present, 0 once fixed, 2 when a runtime's package is missing.
"""
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SPEC = json.loads(r'''{spec}''')
LEVELS = {"ort": "ORT_ENABLE_ALL", "ort-O0": "ORT_DISABLE_ALL", "ort-O1": "ORT_ENABLE_BASIC",
          "ort-O2": "ORT_ENABLE_EXTENDED", "ort-mt": "ORT_ENABLE_ALL"}
# The GPU runtimes (onnxruntime-gpu): sysnoise turns TF32 off unless the name says -tf32; for
# TensorRT that is only possible process-wide (NVIDIA_TF32_OVERRIDE=0, set before the session).
CUDA = ("CUDAExecutionProvider", {"use_tf32": "0"})
PROVIDERS = {
    "ort-cuda": [CUDA],
    "ort-cuda-tf32": [("CUDAExecutionProvider", {"use_tf32": "1"})],
    "ort-trt": [("TensorrtExecutionProvider", {}), CUDA],
    "ort-trt-tf32": [("TensorrtExecutionProvider", {}), ("CUDAExecutionProvider", {"use_tf32": "1"})],
    "ort-trt-fp16": [("TensorrtExecutionProvider", {"trt_fp16_enable": "True"}), CUDA],
    "ort-trt-int8": [("TensorrtExecutionProvider", {"trt_int8_enable": "True"}), CUDA],
}


def run_ort(name, inputs):
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.graph_optimization_level = getattr(ort.GraphOptimizationLevel, LEVELS.get(name, "ORT_ENABLE_ALL"))
    options.intra_op_num_threads = 4 if name == "ort-mt" else 1
    providers = PROVIDERS.get(name, ["CPUExecutionProvider"])
    # As the sysnoise binary: TF32 off process-wide unless the runtime's name allows it.
    os.environ["NVIDIA_TF32_OVERRIDE"] = "1" if name.endswith("-tf32") else "0"
    table = os.environ.get("SYSNOISE_TRT_INT8_CALIBRATION_TABLE")
    if name == "ort-trt-int8" and table:
        with open(table, "rb") as f:
            native = f.read(4) == b"TRT-"
        providers = [("TensorrtExecutionProvider", dict(providers[0][1], trt_int8_calibration_table_name=table,
                                                          trt_int8_use_native_calibration_table=str(native))),
                     providers[1]]
    session = ort.InferenceSession(os.path.join(HERE, "model.onnx"), options, providers=providers)
    if providers[0] != "CPUExecutionProvider" and providers[0][0] not in session.get_providers():
        raise ImportError("%s is not available here (onnxruntime-gpu and a GPU are needed)" % providers[0][0])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(None, inputs)))


def run_tract(name, inputs):
    import tract
    runnable = tract.onnx().load(os.path.join(HERE, "model.onnx")).into_model().into_runnable()
    values = runnable.run([inputs[n] for n in SPEC["inputs"]])
    return {o["name"]: v.to_numpy() for o, v in zip(SPEC["outputs"], values)}


def differs(actual, expected, spec):
    if actual.shape != expected.shape:
        return "shape %s, expected %s" % (actual.shape, expected.shape)
    a = actual.astype(np.float64)
    e = expected.astype(np.float64)
    a_bad, e_bad = ~np.isfinite(a), ~np.isfinite(e)
    if not np.array_equal(a_bad, e_bad) or not np.array_equal(np.where(a_bad, a, 0), np.where(e_bad, e, 0)) \
            and not np.array_equal(np.isnan(a), np.isnan(e)):
        return "NaN/Inf at other places (%d vs %d expected)" % (a_bad.sum(), e_bad.sum())
    both = ~a_bad & ~e_bad
    error = np.abs(a[both] - e[both])
    bad = error > spec["abs"] + spec["rel"] * np.abs(e[both])
    if bad.sum() > spec["outliers"] * max(e.size, 1):
        return "%d of %d elements beyond abs %g + rel %g; max abs error %g" % (
            bad.sum(), e.size, spec["abs"], spec["rel"], error.max())
    return None


def run_here(name, out):
    """Child process: run one runtime and save its outputs (a crash kills only this process)."""
    with np.load(os.path.join(HERE, "inputs.npz")) as archive:
        inputs = {k: archive[k] for k in archive.files}
    runner = run_tract if name.startswith("tract") else run_ort
    try:
        got = runner(name, inputs)
    except ImportError as e:
        print("its Python package is missing (%s)" % e, file=sys.stderr)
        return 2
    except Exception as e:
        print("failed: %s" % e, file=sys.stderr)
        return 3
    np.savez(out, **{"o%d" % i: np.asarray(got[o["name"]]) for i, o in enumerate(SPEC["outputs"])})
    return 0


def run_isolated(name):
    """The outputs of `name`, or why there are none, running it in a child process."""
    import subprocess
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "outputs.npz")
        child = subprocess.run([sys.executable, os.path.abspath(__file__), "--run", name, out],
                               capture_output=True, text=True)
        if child.returncode == 2:
            return None, "missing"
        if child.returncode != 0:
            last = (child.stderr.strip().splitlines() or ["(no message)"])[-1]
            return None, "exit status %d: %s" % (child.returncode, last)
        with np.load(out) as archive:
            return [archive["o%d" % i] for i in range(len(SPEC["outputs"]))], None


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--run":
        return run_here(sys.argv[2], sys.argv[3])
    present = False
    for name in SPEC["runtimes"]:
        if not (name.startswith("tract") or name.startswith("ort")):
            print("%s: no Python package runs it; see report.md" % name)
            continue
        got, problem = run_isolated(name)
        if problem == "missing":
            print("%s: its Python package is missing (onnxruntime for ort, tract for tract)" % name)
            return 2
        if problem:
            # The runtime failing or crashing on a model the reference runs is the bug.
            print("%s FAILED (%s)" % (name, problem))
            present = True
            continue
        for output, actual in zip(SPEC["outputs"], got):
            expected = np.load(os.path.join(HERE, "expected", output["file"] + ".npy"))
            difference = differs(actual, expected, output)
            if difference:
                present = True
                print("%s: output %s differs from the reference: %s" % (name, output["name"], difference))
            else:
                print("%s: output %s matches the reference" % (name, output["name"]))
    print("divergence present" if present else "divergence gone")
    return 1 if present else 0


if __name__ == "__main__":
    sys.exit(main())
"#;

/// repro_test.rs: a `#[test]` that fails while the divergence is present.
fn repro_rust(report: &BundleReport, dir: &Path) -> String {
    let test_name: String = format!(
        "{}_on_{}_matches_the_reference",
        report.op_type,
        report.runtimes.join("_")
    )
    .to_lowercase()
    .chars()
    .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
    .collect();
    let folder = dir
        .file_name()
        .map_or_else(|| "bundle".into(), |n| n.to_string_lossy().into_owned());
    format!(
        r#"//! Regression test for: {signature}
//! Copy this bundle folder into your crate as tests/{folder}/ and this file into tests/, with
//! `sysnoise` as a dev-dependency. It fails while the divergence is present.

#[test]
fn {test_name}() {{
    let bundle = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/{folder}");
    if let Err(divergence) = sysnoise::reduce::bundle::check(&bundle) {{
        panic!("{{divergence}}");
    }}
}}
"#,
        signature = report.signature,
    )
}

/// Re-runs a bundle on the runtimes it names (in process) with its tolerances: `Err` with the
/// rendered comparison while any runtime diverges from the reference.
pub fn check(dir: &Path) -> Result<(), String> {
    let fail = |e: EngineError| e.to_string();
    let json = std::fs::read(dir.join("report.json")).map_err(|e| format!("{}: {e}", dir.display()))?;
    let report: BundleReport =
        serde_json::from_slice(&json).map_err(|e| format!("{}: bad report.json: {e}", dir.display()))?;
    let model = Model::load(&dir.join("model.onnx")).map_err(|e| e.to_string())?;
    let inputs = crate::inputs::load(&model, &[dir.join("inputs.npz").display().to_string()]).map_err(fail)?;
    let tolerances = ToleranceModel::load(&dir.join("tolerances.yaml")).map_err(fail)?;
    let runtimes: Vec<Box<dyn Runtime>> = report
        .compared
        .iter()
        .map(|name| crate::registry::build(name))
        .collect::<Result<_, _>>()
        .map_err(fail)?;
    let options = CompareOptions {
        tolerances: &tolerances,
        per_node: false,
        model_label: "model.onnx".into(),
        inputs_label: "inputs.npz".into(),
        seed: None,
    };
    let compared = compare(&runtimes, &model, &inputs, &options).map_err(fail)?;
    if compared.diverges() {
        Err(crate::report::render(&compared, crate::report::Precision::Normal))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_notes_parse() {
        assert!(spec_note("Resize").is_some());
        assert!(spec_note("NoSuchOp").is_none());
    }

    #[test]
    fn npz_bytes_do_not_depend_on_the_clock() {
        let t = sysnoise_boundary::Tensor::zeros(sysnoise_boundary::DType::F32, &[2, 3]);
        let inputs = vec![("x".to_string(), t)];
        let a = npz_bytes(&inputs).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(2100));
        assert_eq!(a, npz_bytes(&inputs).unwrap());
    }
}
