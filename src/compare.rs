//! `compare`: run one model on several runtimes, measure every output against the reference (or
//! the majority), vote a verdict per runtime, and optionally find the first diverging node.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use sysnoise_boundary::{Model, NamedTensors, Runtime, RuntimeError, Tensor};

use crate::error::EngineError;
use crate::machine::{Machine, isa_dependence};

use crate::metrics::{Metrics, compare as measure};
use crate::pernode::{self, Culprit};
use crate::sensitivity::Sensitivity;
use crate::tolerance::{Tolerance, ToleranceModel};

/// The name of the oracle runtime.
pub const REFERENCE: &str = "reference";

/// What a runtime did with the model.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Ran,
    Unsupported,
    Error,
}

/// A runtime's verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Matches the winning side of the vote within tolerance.
    Agree,
    /// Ran, but differs beyond tolerance.
    Diverge,
    /// Failed on a model that other runtimes ran.
    Error,
    /// Declined the model (op, dtype or attribute it does not implement): not a divergence.
    Skipped,
}

#[derive(Clone, Debug, Serialize)]
pub struct RuntimeReport {
    pub name: String,
    pub version: String,
    pub status: Status,
    pub verdict: Verdict,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct OutputReport {
    pub name: String,
    pub dtype: String,
    pub shape: Vec<usize>,
    /// Op type of the node that produces the output (selects the tolerance).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub op_type: Option<String>,
    pub tolerance: Tolerance,
    /// Metrics of each runtime that ran, against the baseline.
    pub metrics: BTreeMap<String, Metrics>,
}

/// Everything `compare` found; serialised as the `--json` report.
#[derive(Clone, Debug, Serialize)]
pub struct CompareReport {
    pub model: String,
    /// Where the inputs came from (`seed 42`, a file name).
    pub inputs: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    pub verdict: String,
    pub diverging_runtimes: Vec<String>,
    /// The runtime every output is measured against: the reference when it ran, else the
    /// runtime that won the vote.
    pub baseline: String,
    pub runtimes: Vec<RuntimeReport>,
    pub outputs: Vec<OutputReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub culprit: Option<Culprit>,
    /// With `--per-node` and a divergence but no single node beyond tolerance.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per_node_note: Option<String>,
    /// What the verdict rests on when it is less than a vote with the oracle: fewer than two
    /// runtimes produced outputs (`inconclusive`), or the reference did not run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vote_note: Option<String>,
    /// When rounding alone moves the reference's outputs beyond tolerance: by how much, and that
    /// those outputs' tolerances were widened for this comparison.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rounding_note: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sensitivity: Option<Sensitivity>,
    /// The machine the runtimes ran on (CPU model and ISA features).
    pub machine: Machine,
    /// Runtimes whose results on this model depend on the CPU's instruction set, and how.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub isa_notes: Vec<String>,
}

impl CompareReport {
    pub fn diverges(&self) -> bool {
        self.verdict == "diverge"
    }

    /// Fewer than two runtimes produced outputs and none failed: nothing was compared.
    pub fn is_inconclusive(&self) -> bool {
        self.verdict == INCONCLUSIVE
    }
}

/// The verdict of a comparison in which fewer than two runtimes produced outputs (and none
/// failed where another ran): neither "agree" nor "diverge" can be claimed.
pub const INCONCLUSIVE: &str = "inconclusive";

/// The first line of a message, at most 160 characters: what a note quotes of an error.
fn first_line(message: &str) -> String {
    message.lines().next().unwrap_or("").chars().take(160).collect()
}

/// `name (first line of why it has no outputs)` of every run without outputs.
fn missing_runs(runs: &[Run]) -> Vec<String> {
    runs.iter()
        .filter_map(|r| {
            let e = r.outputs.as_ref().err()?;
            Some(format!("{} ({})", r.name, first_line(&e.to_string())))
        })
        .collect()
}

/// Why the verdict is less than a vote with the oracle, if it is.
fn vote_note(runs: &[Run], inconclusive: bool) -> Option<String> {
    let ran: Vec<&str> = runs
        .iter()
        .filter(|r| r.outputs.is_ok())
        .map(|r| r.name.as_str())
        .collect();
    let missing = missing_runs(runs);
    if inconclusive {
        let others = if missing.is_empty() {
            "no other runtime was asked for (`-r` names at least two)".to_string()
        } else {
            format!("no outputs from {}", missing.join("; "))
        };
        return Some(format!(
            "only {} produced outputs, so nothing was compared: {others}",
            ran.join(", ")
        ));
    }
    match runs.iter().find(|r| r.name == REFERENCE) {
        Some(r) if r.outputs.is_ok() => None,
        Some(r) => Some(format!(
            "the reference (the oracle) did not run: {}; the verdict is a majority vote of {} without it",
            missing_runs(std::slice::from_ref(r)).join(""),
            ran.join(", ")
        )),
        None => Some(format!(
            "the reference (the oracle) was not asked for: the verdict is a majority vote of {}",
            ran.join(", ")
        )),
    }
}

/// Options of one comparison.
pub struct CompareOptions<'a> {
    pub tolerances: &'a ToleranceModel,
    pub per_node: bool,
    /// Shown in the report as the model's name.
    pub model_label: String,
    pub inputs_label: String,
    pub seed: Option<u64>,
}

/// One runtime's run: outputs, or why there are none.
pub struct Run {
    pub name: String,
    pub outputs: Result<NamedTensors, RuntimeError>,
}

pub(crate) fn run_one(
    runtime: &dyn Runtime,
    model: &Model,
    inputs: &NamedTensors,
) -> Result<NamedTensors, RuntimeError> {
    runtime.prepare(model)?.run(inputs)
}

/// The tolerance of every graph output, from its dtype and producing op.
fn output_tolerance(
    model: &Model,
    tolerances: &ToleranceModel,
    name: &str,
    tensor: &Tensor,
) -> (Option<String>, Tolerance) {
    let op = model.producer(name).map(|n| n.op_type.clone());
    let tol = tolerances.resolve(Some(name), op.as_deref(), tensor.dtype());
    (op, tol)
}

/// True when every output of `a` matches `b`'s within tolerance (either way round, unless one
/// is the reference, which is then the expected side).
fn agree(model: &Model, tolerances: &ToleranceModel, a: &Run, b: &Run) -> bool {
    let (Ok(xa), Ok(xb)) = (&a.outputs, &b.outputs) else {
        return false;
    };
    let (actual, expected, both_ways) = if a.name == REFERENCE {
        (xb, xa, false)
    } else {
        (xa, xb, b.name != REFERENCE)
    };
    actual.iter().zip(expected).all(|((name, x), (_, y))| {
        let (_, tol) = output_tolerance(model, tolerances, name, y);
        measure(x, y, &tol).within_tolerance || (both_ways && measure(y, x, &tol).within_tolerance)
    })
}

/// Picks the side the vote says is right: each runtime that ran scores the weight of the
/// runtimes agreeing with it (the reference weighs 1.5, so it wins ties; two runtimes that
/// agree with each other outvote it). Returns the index of the winner.
fn vote(model: &Model, tolerances: &ToleranceModel, runs: &[Run]) -> Option<usize> {
    let weight = |r: &Run| if r.name == REFERENCE { 1.5 } else { 1.0 };
    let ran: Vec<usize> = (0..runs.len()).filter(|&i| runs[i].outputs.is_ok()).collect();
    let score = |i: usize| -> f64 {
        ran.iter()
            .filter(|&&j| i == j || agree(model, tolerances, &runs[i], &runs[j]))
            .map(|&j| weight(&runs[j]))
            .sum()
    };
    ran.iter()
        .copied()
        .map(|i| (i, score(i)))
        .fold(None, |best: Option<(usize, f64)>, (i, s)| match best {
            Some((_, bs)) if bs >= s => best,
            _ => Some((i, s)),
        })
        .map(|(i, _)| i)
}

/// How the vote went for one set of runs.
#[derive(Clone, Debug)]
pub struct Judgement {
    /// Index of the run that won the vote.
    pub winner: usize,
    /// Index of the run every output is measured against (the reference when it ran).
    pub baseline: usize,
    /// One verdict per run.
    pub verdicts: Vec<Verdict>,
    /// Metrics of every run that produced outputs, against the baseline.
    pub outputs: Vec<OutputReport>,
}

/// Votes and measures a set of runs of `model`; `None` when no run produced outputs.
pub fn judge(model: &Model, runs: &[Run], tolerances: &ToleranceModel) -> Option<Judgement> {
    let winner = vote(model, tolerances, runs)?;
    let baseline = runs
        .iter()
        .position(|r| r.name == REFERENCE && r.outputs.is_ok())
        .unwrap_or(winner);
    let verdicts = runs
        .iter()
        .map(|run| match &run.outputs {
            Ok(_) if run.name == runs[winner].name || agree(model, tolerances, &runs[winner], run) => Verdict::Agree,
            Ok(_) => Verdict::Diverge,
            Err(e) if e.is_unsupported() => Verdict::Skipped,
            Err(_) => Verdict::Error,
        })
        .collect();
    let expected = runs[baseline].outputs.as_ref().expect("the baseline ran");
    let outputs = expected
        .iter()
        .enumerate()
        .map(|(i, (name, want))| {
            let (op_type, tolerance) = output_tolerance(model, tolerances, name, want);
            let metrics = runs
                .iter()
                .filter_map(|r| {
                    let got = r.outputs.as_ref().ok()?;
                    let m = got
                        .get(i)
                        .map_or_else(Metrics::shape_mismatch, |(_, t)| measure(t, want, &tolerance));
                    Some((r.name.clone(), m))
                })
                .collect();
            OutputReport {
                name: name.clone(),
                dtype: want.dtype().to_string(),
                shape: want.shape().to_vec(),
                op_type,
                tolerance,
                metrics,
            }
        })
        .collect();
    Some(Judgement {
        winner,
        baseline,
        verdicts,
        outputs,
    })
}

/// Why `--per-node` found no single diverging node. For runtimes that failed on the whole model
/// this is not accumulation: each node alone ran, so the failure is the graph's (its shapes,
/// types, or the runtime's loader), at the node the error names when it names one.
fn no_culprit_note(runtimes: &[RuntimeReport]) -> String {
    let failed: Vec<String> = runtimes
        .iter()
        .filter(|r| r.verdict == Verdict::Error)
        .map(|r| {
            let message = first_line(r.message.as_deref().unwrap_or(""));
            match &r.node {
                Some(node) => format!("{} failed at node '{node}' ({message})", r.name),
                None => format!("{} failed ({message})", r.name),
            }
        })
        .collect();
    let diverged = runtimes.iter().any(|r| r.verdict == Verdict::Diverge);
    if failed.is_empty() {
        "no single node diverges beyond tolerance when fed the baseline's values: the difference accumulates across nodes".into()
    } else if diverged {
        format!(
            "{}; no single node diverges or fails when fed the baseline's values: the numeric difference accumulates across nodes, and the failure comes from the graph as a whole (shapes, types or the loader), not one node's arithmetic",
            failed.join("; ")
        )
    } else {
        format!(
            "{} on the whole model, but every node runs alone on the baseline's values: the failure comes from the graph as a whole (shapes, types or the runtime's loader), not one node's arithmetic",
            failed.join("; ")
        )
    }
}

/// The model's rounding sensitivity and the tolerances widened for it, measured only when the
/// reference ran, another runtime is off it beyond tolerance, and rounding alone moves it.
fn rounding_sensitivity(
    model: &Model,
    inputs: &NamedTensors,
    runs: &[Run],
    tolerances: &ToleranceModel,
) -> Option<(Sensitivity, ToleranceModel)> {
    let reference_run = runs.iter().find(|r| r.name == REFERENCE)?;
    let reference = reference_run.outputs.as_ref().ok()?;
    let off = runs
        .iter()
        .any(|r| r.name != REFERENCE && r.outputs.is_ok() && !agree(model, tolerances, reference_run, r));
    if !off {
        return None;
    }
    let tolerance_of = |name: &str, t: &Tensor| output_tolerance(model, tolerances, name, t).1;
    // An output counts as rounding-sensitive when rounding moves it beyond the default tolerance
    // of its type: beyond ordinary f32 noise. A stricter tolerance the user asks for stays as
    // asked on a well-conditioned model.
    let defaults = ToleranceModel::default();
    let default_of = |name: &str, t: &Tensor| output_tolerance(model, &defaults, name, t).1;
    let s = Sensitivity::measure(model, inputs, reference, default_of)?;
    if !s.matters() {
        return None;
    }
    let base = |name: &str| {
        let tensor = &reference.iter().find(|(n, _)| n == name).expect("measured outputs").1;
        tolerance_of(name, tensor)
    };
    let widened = s.widen(tolerances, base);
    Some((s, widened))
}

/// Runs `model` on every runtime and builds the report.
pub fn compare(
    runtimes: &[Box<dyn Runtime>],
    model: &Model,
    inputs: &NamedTensors,
    options: &CompareOptions,
) -> Result<CompareReport, EngineError> {
    let runs: Vec<Run> = runtimes
        .iter()
        .map(|rt| Run {
            name: rt.name().to_string(),
            outputs: run_one(rt.as_ref(), model, inputs),
        })
        .collect();
    if let Some(unavailable) = runs.iter().find_map(|r| match &r.outputs {
        Err(e @ RuntimeError::Unavailable { .. }) => Some(e.clone()),
        _ => None,
    }) {
        return Err(EngineError::Runtime(unavailable));
    }
    // Where rounding alone moves the reference's outputs beyond tolerance, tolerances widen to
    // what the model's conditioning allows (see `sensitivity`).
    let (sensitivity, widened) = rounding_sensitivity(model, inputs, &runs, options.tolerances).unzip();
    let tolerances = widened.as_ref().unwrap_or(options.tolerances);
    let Some(judgement) = judge(model, &runs, tolerances) else {
        let reasons: Vec<String> = runs
            .iter()
            .filter_map(|r| r.outputs.as_ref().err().map(|e| e.to_string()))
            .collect();
        return Err(EngineError::Input(format!(
            "no runtime could run the model:\n  {}",
            reasons.join("\n  ")
        )));
    };
    let runtime_reports: Vec<RuntimeReport> = runs
        .iter()
        .zip(runtimes)
        .zip(&judgement.verdicts)
        .map(|((run, rt), &verdict)| {
            let err = run.outputs.as_ref().err();
            RuntimeReport {
                name: run.name.clone(),
                version: rt.version(),
                status: match err {
                    None => Status::Ran,
                    Some(e) if e.is_unsupported() => Status::Unsupported,
                    Some(_) => Status::Error,
                },
                verdict,
                message: err.map(|e| e.to_string()),
                node: err.and_then(|e| e.node().map(str::to_string)),
            }
        })
        .collect();
    let diverging: Vec<String> = runtime_reports
        .iter()
        .filter(|r| matches!(r.verdict, Verdict::Diverge | Verdict::Error))
        .map(|r| r.name.clone())
        .collect();
    let baseline = judgement.baseline;
    let machine = Machine::here();
    let produced = runs.iter().filter(|r| r.outputs.is_ok()).count();
    // A runtime failing where another ran is a divergence (error against success); otherwise one
    // runtime's outputs alone agree with nothing.
    let inconclusive = diverging.is_empty() && produced < 2;
    let verdict = if !diverging.is_empty() {
        "diverge"
    } else if inconclusive {
        INCONCLUSIVE
    } else {
        "agree"
    };
    let mut report = CompareReport {
        model: options.model_label.clone(),
        inputs: options.inputs_label.clone(),
        seed: options.seed,
        vote_note: vote_note(&runs, inconclusive),
        verdict: verdict.to_string(),
        diverging_runtimes: diverging,
        baseline: runs[baseline].name.clone(),
        runtimes: runtime_reports,
        outputs: judgement.outputs,
        culprit: None,
        per_node_note: None,
        rounding_note: sensitivity.as_ref().and_then(Sensitivity::note),
        sensitivity,
        isa_notes: runs
            .iter()
            .filter(|run| run.outputs.is_ok())
            .filter_map(|run| isa_dependence(model, &run.name, &machine))
            .collect(),
        machine,
    };
    if options.per_node && report.diverges() {
        let baseline_rt = runtimes[baseline].as_ref();
        let suspects: Vec<&dyn Runtime> = runtimes
            .iter()
            .filter(|rt| report.diverging_runtimes.iter().any(|d| d == rt.name()))
            .map(|rt| rt.as_ref())
            .collect();
        let values: HashMap<String, Tensor> = pernode::baseline_values(baseline_rt, model, inputs)?;
        report.culprit = pernode::first_divergent_node(model, &values, &suspects, tolerances)?;
        if report.culprit.is_none() {
            report.per_node_note = Some(no_culprit_note(&report.runtimes));
        }
    }
    Ok(report)
}
