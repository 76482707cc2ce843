//! `sysnoise reduce`: shrinks a divergence to the smallest graph, shapes, attributes and input
//! values that still show the same signature (guilty op type, diverging runtimes, symptom).
//!
//! 1. Attribution: every node is re-run alone, fed the baseline's values; the first one that
//!    diverges names the guilty op and runtimes, and is the starting point.
//! 2. When no node diverges alone (a fusion or whole-graph bug), delta debugging over node
//!    subsets: each candidate is the subgraph the subset induces, fed recorded values.
//! 3. Then shapes, ranks, attributes and input values shrink, one deterministic step at a time, each
//!    kept only if the signature persists.

pub mod bundle;
pub mod planted;
mod shrink;
mod subgraph;

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;
use sysnoise_boundary::{Model, NamedTensors, Tensor};

use crate::compare::REFERENCE;
use crate::error::EngineError;
use crate::fuzz::signature::Symptom;
use crate::fuzz::{Observed, observe};
use crate::pernode::{constant_values, guarded_baseline_values, node_name, single_node_case};
use crate::tolerance::ToleranceModel;
use crate::worker::Worker;

/// How to reduce.
#[derive(Clone)]
pub struct ReduceOptions {
    /// Runtimes to compare (registry names); the reference should be among them.
    pub runtimes: Vec<String>,
    pub tolerances: ToleranceModel,
    /// Per runtime call.
    pub timeout: Duration,
    /// The `sysnoise` executable that serves as worker.
    pub worker_exe: PathBuf,
    /// At most this many candidate evaluations (each runs every runtime once).
    pub max_evaluations: usize,
}

/// The divergence a reduction preserves.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Target {
    /// The guilty op type, or `graph` when no node diverges alone.
    pub op_type: String,
    /// Diverging runtimes, sorted.
    pub runtimes: Vec<String>,
    pub symptom: Symptom,
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} on {}: {}",
            self.op_type,
            self.runtimes.join("+"),
            self.symptom.name()
        )
    }
}

/// Size of a model and its inputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Size {
    pub nodes: usize,
    pub input_elements: usize,
}

impl Size {
    pub fn of(model: &Model, inputs: &NamedTensors) -> Size {
        Size {
            nodes: model.graph().node.len(),
            input_elements: inputs.iter().map(|(_, t)| t.len()).sum(),
        }
    }
}

/// The node attribution named in the original model.
#[derive(Clone, Debug, Serialize)]
pub struct Attribution {
    pub node: String,
    pub index: usize,
}

/// A finished reduction.
pub struct Reduced {
    pub target: Target,
    /// The first node that diverges alone (none for a graph-level divergence).
    pub attribution: Option<Attribution>,
    pub model: Model,
    pub inputs: NamedTensors,
    pub before: Size,
    pub after: Size,
    /// Candidates evaluated.
    pub evaluations: usize,
    /// Each kept step, in order (deterministic, for the report).
    pub steps: Vec<String>,
    /// The runs of the reduced model (outputs of every runtime, the vote).
    pub observed: Observed,
}

/// What `reduce` found.
pub enum Outcome {
    /// Every runtime agrees (within tolerance): nothing to reduce.
    Clean,
    Reduced(Box<Reduced>),
}

/// Runs candidates on the runtimes (in worker processes) and checks the signature.
pub(crate) struct Oracle {
    workers: Vec<Worker>,
    tolerances: ToleranceModel,
    timeout: Duration,
    pub evaluations: usize,
    budget: usize,
}

impl Oracle {
    fn new(options: &ReduceOptions) -> Oracle {
        Oracle {
            workers: options
                .runtimes
                .iter()
                .map(|r| Worker::new(&options.worker_exe, r))
                .collect(),
            tolerances: options.tolerances.clone(),
            timeout: options.timeout,
            evaluations: 0,
            budget: options.max_evaluations,
        }
    }

    fn observe(&mut self, model: &Model, inputs: &NamedTensors) -> Result<Observed, EngineError> {
        self.evaluations += 1;
        observe(&mut self.workers, model, inputs, &self.tolerances, self.timeout)
    }

    /// True when the candidate still shows `target` (and still holds the guilty op).
    pub fn keeps(&mut self, target: &Target, model: &Model, inputs: &NamedTensors) -> Result<bool, EngineError> {
        if self.evaluations >= self.budget {
            return Ok(false);
        }
        if target.op_type != "graph" && !model.graph().node.iter().any(|n| n.op_type == target.op_type) {
            return Ok(false);
        }
        let observed = self.observe(model, inputs)?;
        Ok(!observed.skipped && observed.by_symptom.get(&target.symptom) == Some(&target.runtimes))
    }
}

/// The most severe symptom seen and who shows it (crash over hang over ... over numeric).
fn most_severe(observed: &Observed, op_type: &str) -> Option<Target> {
    observed
        .by_symptom
        .iter()
        .next_back()
        .map(|(symptom, runtimes)| Target {
            op_type: op_type.to_string(),
            runtimes: runtimes.clone(),
            symptom: *symptom,
        })
}

/// Every value of the model, from the reference, or from the first runtime that runs it when
/// the reference cannot (in process, panics contained).
fn recorded_values(options: &ReduceOptions, model: &Model, inputs: &NamedTensors) -> Option<HashMap<String, Tensor>> {
    let mut order: Vec<&str> = vec![REFERENCE];
    order.extend(options.runtimes.iter().map(String::as_str).filter(|r| *r != REFERENCE));
    order.into_iter().find_map(|name| {
        let runtime = crate::registry::build(name).ok()?;
        guarded_baseline_values(runtime.as_ref(), model, inputs)
    })
}

/// Reduces the divergence of `model` on `inputs`.
pub fn reduce(model: &Model, inputs: &NamedTensors, options: &ReduceOptions) -> Result<Outcome, EngineError> {
    let mut oracle = Oracle::new(options);
    let whole = oracle.observe(model, inputs)?;
    if whole.skipped || whole.by_symptom.is_empty() {
        return Ok(Outcome::Clean);
    }
    let before = Size::of(model, inputs);
    let mut steps = Vec::new();
    let values = recorded_values(options, model, inputs);
    let (target, attribution, mut current) = match values.as_ref().map(|v| attribute(&mut oracle, model, v)) {
        Some(Ok(Some((index, target, single, feeds)))) => {
            let name = node_name(&model.graph().node[index], index);
            steps.push(format!("node {name} ({}) diverges alone", target.op_type));
            (target, Some(Attribution { node: name, index }), (single, feeds))
        }
        Some(Err(e)) => return Err(e),
        _ => {
            let target = most_severe(&whole, "graph").expect("a divergence");
            let current = match &values {
                Some(values) => subgraph::minimise_nodes(&mut oracle, &target, model, values, &mut steps)?,
                None => (model.clone(), inputs.clone()),
            };
            (target, None, current)
        }
    };
    current.0 = subgraph::loosen_output_shapes(&current.0);
    current = shrink::shapes(&mut oracle, &target, current, &mut steps)?;
    current = shrink::ranks(&mut oracle, &target, current, &mut steps)?;
    current = shrink::attributes(&mut oracle, &target, current, &mut steps)?;
    current = shrink::values(&mut oracle, &target, current, &mut steps)?;
    let (model_after, inputs_after) = current;
    let observed = oracle.observe(&model_after, &inputs_after)?;
    Ok(Outcome::Reduced(Box::new(Reduced {
        after: Size::of(&model_after, &inputs_after),
        target,
        attribution,
        model: model_after,
        inputs: inputs_after,
        before,
        evaluations: oracle.evaluations,
        steps,
        observed,
    })))
}

/// The first node that diverges alone, fed recorded values: its index, the target it shows,
/// and the single-node model with its feeds.
fn attribute(
    oracle: &mut Oracle,
    model: &Model,
    values: &HashMap<String, Tensor>,
) -> Result<Option<(usize, Target, Model, NamedTensors)>, EngineError> {
    let constants = constant_values(model);
    for (index, node) in model.graph().node.iter().enumerate() {
        let Some((single, feeds)) = single_node_case(model, &constants, node, values) else {
            continue;
        };
        let observed = oracle.observe(&single, &feeds)?;
        if observed.skipped {
            continue;
        }
        if let Some(target) = most_severe(&observed, &node.op_type) {
            return Ok(Some((index, target, single, feeds)));
        }
    }
    Ok(None)
}

/// What reducing a campaign's findings gave.
#[derive(Debug, Default, Serialize)]
pub struct CampaignReduction {
    /// Finding directories (relative to the campaign) now holding a `reduced/` bundle.
    pub reduced: Vec<String>,
    /// Findings that no longer diverge when re-run (flaky or fixed).
    pub clean: Vec<String>,
    /// Findings left for later (time budget or a stop request).
    pub left: Vec<String>,
    /// Findings whose reduction failed, with why.
    pub failed: Vec<(String, String)>,
}

/// Reduces every finding of the campaign in `dir` that has no `reduced/` bundle yet, until
/// `deadline` or a stop request. Runtimes default to the campaign's own.
pub fn reduce_campaign(
    dir: &std::path::Path,
    options: &ReduceOptions,
    deadline: Option<std::time::Instant>,
    stop: &std::sync::atomic::AtomicBool,
    progress: bool,
) -> Result<CampaignReduction, EngineError> {
    let state = crate::fuzz::store::read_state(dir)?
        .ok_or_else(|| EngineError::Input(format!("{}: no state.json (not a campaign directory)", dir.display())))?;
    let mut options_here = options.clone();
    if options_here.runtimes.is_empty() {
        options_here.runtimes = state.runtimes.clone();
    }
    if options_here.runtimes.is_empty() {
        return Err(EngineError::Usage(format!(
            "{}: the campaign does not record its runtimes: pass --runtimes",
            dir.display()
        )));
    }
    let bar = if progress {
        indicatif::ProgressBar::new(state.findings.len() as u64)
    } else {
        indicatif::ProgressBar::hidden()
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} reduce {bar:30} {pos}/{len} findings {msg} eta {eta}")
            .expect("valid template"),
    );
    let mut result = CampaignReduction::default();
    for record in &state.findings {
        bar.inc(1);
        let finding = dir.join(&record.dir);
        let out = finding.join("reduced");
        if out.exists() {
            result.reduced.push(record.dir.clone());
            continue;
        }
        let out_of_time = deadline.is_some_and(|d| std::time::Instant::now() >= d);
        if out_of_time || stop.load(std::sync::atomic::Ordering::SeqCst) {
            result.left.push(record.dir.clone());
            continue;
        }
        bar.set_message(record.signature.to_string());
        match reduce_finding(&finding, &options_here) {
            Ok(true) => result.reduced.push(record.dir.clone()),
            Ok(false) => result.clean.push(record.dir.clone()),
            Err(e) => result.failed.push((record.dir.clone(), e.to_string())),
        }
    }
    bar.finish_and_clear();
    Ok(result)
}

/// Reduces one finding directory (model.onnx + inputs/) into its `reduced/` bundle; false
/// when it no longer diverges.
pub fn reduce_finding(finding: &std::path::Path, options: &ReduceOptions) -> Result<bool, EngineError> {
    let model = Model::load(&finding.join("model.onnx"))?;
    let inputs = crate::inputs::load(&model, &[finding.join("inputs").display().to_string()])?;
    match reduce(&model, &inputs, options)? {
        Outcome::Clean => Ok(false),
        Outcome::Reduced(reduced) => {
            let source = finding.file_name().map_or_else(
                || "model.onnx".into(),
                |n| format!("{}/model.onnx", n.to_string_lossy()),
            );
            bundle::write(
                &finding.join("reduced"),
                &reduced,
                &options.tolerances,
                &options.runtimes,
                &source,
            )?;
            Ok(true)
        }
    }
}
