//! `sysnoise fuzz`: a differential campaign. Each case is generated from `(seed, index)` by the
//! operator catalog, run on every runtime in worker processes (crash- and hang-proof), judged
//! against the reference, and each distinct divergence is kept once, by signature.

pub mod graph;
pub mod signature;
pub mod store;
pub mod undefined;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::channel;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use sysnoise_boundary::{DType, Model, NamedTensors, RuntimeError};

use crate::catalog::{OpCase, OpSpec, Role, catalog};
use crate::compare::{Run, Verdict, judge};
use crate::error::EngineError;
use crate::tolerance::ToleranceModel;
use crate::values::{self, Regime};
use crate::worker::{EncodedRequest, WorkOutcome, Worker};
use signature::{Signature, Symptom};
use store::{FindingRecord, State, Store};

fn default_runtimes() -> Vec<String> {
    ["ort", "tract", "reference"].map(String::from).to_vec()
}

fn default_cases() -> u64 {
    1000
}

fn default_timeout_ms() -> u64 {
    10_000
}

/// A campaign: what to generate and which runtimes to compare. YAML files in `cases/campaigns/`
/// hold these; the `fuzz` command builds one from its options.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Campaign {
    #[serde(default)]
    pub name: String,
    #[serde(default = "default_runtimes")]
    pub runtimes: Vec<String>,
    /// Op types or catalog family names; empty means every op in the catalog.
    #[serde(default)]
    pub ops: Vec<String>,
    /// dtype names (`f32`, `f16`, `i64`, ...); empty means every dtype an op is generated in.
    #[serde(default)]
    pub dtypes: Vec<String>,
    #[serde(default)]
    pub regime: Regime,
    #[serde(default = "default_cases")]
    pub cases: u64,
    #[serde(default)]
    pub seed: u64,
    #[serde(default)]
    pub tolerances: ToleranceModel,
    /// Per runtime call; past it the runtime is recorded as hanging.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// Generate only op × dtype pairs that at least two of the runtimes run (from the cached
    /// support matrices, see `sysnoise support`).
    #[serde(default = "default_true")]
    pub supported_only: bool,
    /// Nodes per case: 1 makes single-op cases; more makes random DAGs of up to that many
    /// nodes (see [`graph`]), whose divergences are attributed to the first node that
    /// diverges alone.
    #[serde(default = "default_nodes")]
    pub nodes: usize,
}

fn default_nodes() -> usize {
    1
}

fn default_true() -> bool {
    true
}

impl Default for Campaign {
    fn default() -> Self {
        Campaign {
            name: String::new(),
            runtimes: default_runtimes(),
            ops: Vec::new(),
            dtypes: Vec::new(),
            regime: Regime::Typical,
            cases: default_cases(),
            seed: 0,
            tolerances: ToleranceModel::default(),
            timeout_ms: default_timeout_ms(),
            supported_only: true,
            nodes: default_nodes(),
        }
    }
}

impl Campaign {
    /// Reads a YAML campaign file; errors name the file.
    pub fn load(path: &Path) -> Result<Campaign, EngineError> {
        let text = std::fs::read_to_string(path).map_err(|e| EngineError::io(path, e))?;
        let mut campaign: Campaign = serde_yaml_ng::from_str(&text)
            .map_err(|e| EngineError::Input(format!("{}: bad campaign file: {e}", path.display())))?;
        if campaign.name.is_empty() {
            campaign.name = path
                .file_stem()
                .map_or_else(String::new, |s| s.to_string_lossy().into_owned());
        }
        Ok(campaign)
    }

    /// Everything that decides which cases are made and how they are judged.
    fn fingerprint(&self) -> String {
        let key = (
            &self.runtimes,
            &self.ops,
            &self.dtypes,
            self.regime,
            self.seed,
            &self.tolerances,
            self.nodes,
        );
        serde_json::to_string(&key).expect("serialisable")
    }

    /// The per-call timeout of the runtimes.
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }

    /// The (op, dtype) pairs this campaign draws from, in a stable order.
    pub fn pairs<'a>(&self, specs: &'a [OpSpec]) -> Result<Vec<(&'a OpSpec, DType)>, EngineError> {
        for wanted in &self.ops {
            if !specs.iter().any(|s| s.op_type == wanted || s.family == wanted) {
                return Err(EngineError::Usage(format!(
                    "campaign '{}': no op or family '{wanted}' in the catalog",
                    self.name
                )));
            }
        }
        let dtypes: Vec<DType> = self
            .dtypes
            .iter()
            .map(|d| DType::from_name(d).ok_or_else(|| EngineError::Usage(format!("unknown dtype '{d}'"))))
            .collect::<Result<_, _>>()?;
        let pairs: Vec<(&OpSpec, DType)> = specs
            .iter()
            .filter(|s| self.ops.is_empty() || self.ops.iter().any(|o| o == s.op_type || o == s.family))
            .flat_map(|s| s.dtypes.iter().map(move |&d| (s, d)))
            .filter(|(_, d)| dtypes.is_empty() || dtypes.contains(d))
            .collect();
        if pairs.is_empty() {
            return Err(EngineError::Usage(format!(
                "campaign '{}' selects no op × dtype",
                self.name
            )));
        }
        Ok(pairs)
    }
}

/// A generated case, ready to run.
pub struct GeneratedCase {
    pub index: u64,
    /// The catalog case of each node, in node order (one for a single-op case).
    pub nodes: Vec<OpCase>,
    pub model: Model,
    pub inputs: NamedTensors,
}

impl GeneratedCase {
    /// The op and its attributes for a single-op case; the node count and ops for a graph.
    pub fn describe(&self) -> String {
        match self.nodes.as_slice() {
            [single] => single.describe(),
            nodes => format!(
                "graph of {} nodes: {}",
                nodes.len(),
                nodes.iter().map(|n| n.op_type).collect::<Vec<_>>().join(" ")
            ),
        }
    }
}

/// Case `index` of `campaign` exactly as a campaign run makes it (for replay and tests). Support
/// filtering is not applied: use the campaign's own ops and dtypes.
pub fn replay(campaign: &Campaign, index: u64) -> Result<GeneratedCase, EngineError> {
    let specs = catalog();
    let pairs = campaign.pairs(&specs)?;
    generate(campaign, &pairs, index)
}

/// The seed of case `index`: splitmix64 of the campaign seed and the index.
fn case_seed(seed: u64, index: u64) -> u64 {
    let mut z = seed ^ index.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Case `index` of the campaign: the same `(seed, index)` always gives the same case.
fn generate(campaign: &Campaign, pairs: &[(&OpSpec, DType)], index: u64) -> Result<GeneratedCase, EngineError> {
    let mut rng = ChaCha8Rng::seed_from_u64(case_seed(campaign.seed, index));
    if campaign.nodes > 1 {
        let built = graph::generate_graph(pairs, campaign.nodes, &mut rng, campaign.regime);
        return Ok(GeneratedCase {
            index,
            nodes: built.cases,
            model: built.model,
            inputs: built.inputs,
        });
    }
    let (spec, dtype) = pairs[rng.random_range(0..pairs.len())];
    let runner_seed: [u8; 32] = rng.random();
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &runner_seed),
    );
    let mut case = (spec.strategy)(dtype)
        .new_tree(&mut runner)
        .map_err(|e| EngineError::Input(format!("{}: cannot generate a case: {e}", spec.op_type)))?
        .current();
    if case.inputs.iter().any(|d| d.role == Role::Weight) {
        case.constant_weights = rng.random_bool(0.5);
    }
    let (inputs, model) = match campaign.regime {
        Regime::Finite => finite_values(&case, &mut rng),
        regime => {
            let (inputs, weights) = values::for_case(&case, &mut rng, regime);
            let model = case.model(&weights);
            (inputs, model)
        }
    };
    Ok(GeneratedCase {
        index,
        nodes: vec![case],
        model,
        inputs,
    })
}

/// Attempts of the finite-value search before keeping the last draw.
const FINITE_ATTEMPTS: i32 = 8;

/// How attempt `n` of the finite search reshapes typical values: first as drawn, then positive
/// and away from zero (domains of Log, Sqrt, Reciprocal, Pow), then ever smaller magnitudes
/// (against overflow in Exp, Pow, products), alternating signed and positive.
fn finite_attempt_transform(attempt: i32) -> impl Fn(f64) -> f64 {
    let scale = 0.5f64.powi(attempt / 2);
    let positive = attempt % 2 == 1;
    move |v| if positive { (v.abs() + 0.5) * scale } else { v * scale }
}

/// Attempt `attempt` of the finite search for `case`: `(graph inputs, weights)` drawn typical,
/// then reshaped by [`finite_attempt_transform`].
fn finite_attempt_values(case: &OpCase, rng: &mut ChaCha8Rng, attempt: i32) -> (NamedTensors, NamedTensors) {
    let transform = finite_attempt_transform(attempt);
    let (inputs, weights) = values::for_case(case, rng, Regime::Typical);
    let reshape = |named: NamedTensors| -> NamedTensors {
        named
            .into_iter()
            .map(|(n, t)| (n, values::mapped(&t, &transform)))
            .collect()
    };
    (reshape(inputs), reshape(weights))
}

/// True when every float output is finite.
fn all_finite(outputs: &NamedTensors) -> bool {
    outputs
        .iter()
        .all(|(_, t)| !t.dtype().is_float() || t.to_f64_vec().iter().all(|v| v.is_finite()))
}

/// The NaN/Inf-avoiding search: draw typical values, run the (trusted, in-process) reference,
/// and redraw (see [`finite_attempt_transform`]) until every output is finite. Keeps the last
/// draw when no attempt succeeds.
fn finite_values(case: &OpCase, rng: &mut ChaCha8Rng) -> (NamedTensors, Model) {
    let reference = crate::registry::build(crate::compare::REFERENCE).expect("the reference is always available");
    let mut last = None;
    for attempt in 0..FINITE_ATTEMPTS {
        let (inputs, weights) = finite_attempt_values(case, rng, attempt);
        let model = case.model(&weights);
        let finite = crate::guard::guarded(crate::compare::REFERENCE, || reference.prepare(&model)?.run(&inputs))
            .is_ok_and(|outputs| all_finite(&outputs));
        if finite {
            return (inputs, model);
        }
        last = Some((inputs, model));
    }
    last.expect("at least one attempt")
}

/// The smallest model that shows a case's findings: the case itself, or for a graph the
/// culprit node alone fed the reference's values (the whole graph kept beside it).
struct Reproducer {
    model: Model,
    inputs: NamedTensors,
    example: String,
    culprit_node: Option<String>,
    graph: Option<(Model, NamedTensors)>,
}

/// A finding's signature with each runtime's message or metrics, for humans.
type Found = (Signature, BTreeMap<String, String>);

/// What one case showed.
struct CaseResult {
    index: u64,
    /// Fewer than two runtimes produced outputs and none crashed: nothing to compare.
    skipped: bool,
    /// The case meets a rule of cases/undefined.yaml: its divergences are not findings.
    undefined: bool,
    /// A graph's numeric divergence that no node shows alone (accumulated rounding).
    unattributed: bool,
    findings: Vec<Found>,
    /// Set when there are findings.
    reproducer: Option<Reproducer>,
}

impl CaseResult {
    fn nothing(index: u64) -> CaseResult {
        CaseResult {
            index,
            skipped: false,
            undefined: false,
            unattributed: false,
            findings: Vec::new(),
            reproducer: None,
        }
    }
}

/// What the runs of one model showed: the diverging runtimes by symptom, with details.
pub struct Observed {
    /// Nothing to compare (fewer than two results and no failure).
    pub skipped: bool,
    /// Diverging runtimes (sorted) by symptom.
    pub by_symptom: BTreeMap<Symptom, Vec<String>>,
    pub details: BTreeMap<String, String>,
    /// Every runtime's run, in worker order.
    pub runs: Vec<Run>,
    pub judgement: Option<crate::compare::Judgement>,
}

/// Runs `model` on every worker and judges the results.
pub fn observe(
    workers: &mut [Worker],
    model: &Model,
    inputs: &NamedTensors,
    tolerances: &ToleranceModel,
    timeout: Duration,
) -> Result<Observed, EngineError> {
    let mut observed = observe_batch(workers, &[(model, inputs)], tolerances, timeout)?;
    Ok(observed.pop().expect("one observation per case"))
}

/// [`observe`] for several cases at once: each worker gets them all in one exchange (see
/// [`Worker::run_batch`]), which saves a wake-up per case and runtime.
pub fn observe_batch(
    workers: &mut [Worker],
    cases: &[(&Model, &NamedTensors)],
    tolerances: &ToleranceModel,
    timeout: Duration,
) -> Result<Vec<Observed>, EngineError> {
    let requests: Vec<EncodedRequest> = cases.iter().map(|(m, i)| EncodedRequest::new(m, i)).collect();
    let request_refs: Vec<&EncodedRequest> = requests.iter().collect();
    let mut per_case: Vec<(Vec<Run>, HashMap<String, Symptom>)> =
        cases.iter().map(|_| (Vec::new(), HashMap::new())).collect();
    // One runtime at a time: with 2 cores, parallel dispatch measured slower (jobs already
    // keep the cores busy).
    for worker in workers.iter_mut() {
        let name = worker.runtime().to_string();
        for ((runs, forced), outcome) in per_case.iter_mut().zip(worker.run_batch(&request_refs, timeout)) {
            let outputs = match outcome {
                WorkOutcome::Done(Err(e @ RuntimeError::Unavailable { .. })) => {
                    return Err(EngineError::Runtime(e));
                }
                WorkOutcome::Done(result) => result,
                WorkOutcome::Crashed(how) => {
                    forced.insert(name.clone(), Symptom::Crash);
                    Err(RuntimeError::failed(&name, format!("worker crashed: {how}")))
                }
                WorkOutcome::TimedOut => {
                    forced.insert(name.clone(), Symptom::Hang);
                    Err(RuntimeError::failed(
                        &name,
                        format!("no answer within {} ms", timeout.as_millis()),
                    ))
                }
            };
            runs.push(Run {
                name: name.clone(),
                outputs,
            });
        }
    }
    Ok(cases
        .iter()
        .zip(per_case)
        .map(|((model, _), (runs, forced))| judged(model, runs, &forced, tolerances))
        .collect())
}

/// Votes on one case's runs and groups the diverging runtimes by symptom.
fn judged(model: &Model, runs: Vec<Run>, forced: &HashMap<String, Symptom>, tolerances: &ToleranceModel) -> Observed {
    let ran = runs.iter().filter(|r| r.outputs.is_ok()).count();
    let failed = runs
        .iter()
        .any(|r| r.outputs.as_ref().is_err_and(|e| !e.is_unsupported()));
    let mut observed = Observed {
        skipped: false,
        by_symptom: BTreeMap::new(),
        details: BTreeMap::new(),
        runs: Vec::new(),
        judgement: None,
    };
    let judgement = judge(model, &runs, tolerances);
    match &judgement {
        // Something to compare: two results, or one result and a runtime that failed.
        Some(judgement) if ran >= 2 || failed => {
            for (run, verdict) in runs.iter().zip(&judgement.verdicts) {
                let symptom = match verdict {
                    Verdict::Agree | Verdict::Skipped => continue,
                    Verdict::Error => forced.get(&run.name).copied().unwrap_or(Symptom::ErrorVsSuccess),
                    // An outvoted baseline (the reference) has zero error against itself: its
                    // symptom is what the winner's outputs look like against it.
                    Verdict::Diverge if run.name == runs[judgement.baseline].name => {
                        output_symptom(judgement, &runs[judgement.winner].name)
                    }
                    Verdict::Diverge => output_symptom(judgement, &run.name),
                };
                observed.by_symptom.entry(symptom).or_default().push(run.name.clone());
                let detail = if run.name == runs[judgement.baseline].name && *verdict == Verdict::Diverge {
                    let winner = &runs[judgement.winner];
                    format!(
                        "outvoted; {} (and those agreeing with it) vs this: {}",
                        winner.name,
                        describe_run(winner, judgement)
                    )
                } else {
                    describe_run(run, judgement)
                };
                observed.details.insert(run.name.clone(), detail);
            }
        }
        // Nobody produced outputs, but some runtime crashed or hung: still a finding.
        None if !forced.is_empty() => {
            for run in runs.iter().filter(|r| forced.contains_key(&r.name)) {
                observed
                    .by_symptom
                    .entry(forced[&run.name])
                    .or_default()
                    .push(run.name.clone());
                observed.details.insert(
                    run.name.clone(),
                    run.outputs.as_ref().err().map(ToString::to_string).unwrap_or_default(),
                );
            }
        }
        _ => observed.skipped = true,
    }
    for runtimes in observed.by_symptom.values_mut() {
        runtimes.sort();
    }
    observed.runs = runs;
    observed.judgement = judgement;
    observed
}

/// The findings of one op case's observation: `(undefined, findings)`. Crashes and hangs are
/// findings whatever the inputs; value divergences on spec-undefined behaviour are not.
fn findings_of(case: &OpCase, inputs: &NamedTensors, observed: Observed) -> (bool, Vec<Found>) {
    let mut by_symptom = observed.by_symptom;
    let undefined = undefined::matching_rule(case, inputs, undefined::rules()).is_some();
    if undefined {
        by_symptom.retain(|symptom, _| matches!(symptom, Symptom::Crash | Symptom::Hang));
    }
    let findings = signatures(
        by_symptom,
        case.op_type,
        &case.attribute_class(),
        &case.dtype.to_string(),
        &observed.details,
    );
    (undefined, findings)
}

/// One finding per symptom group (runtimes come sorted from [`observe`]).
fn signatures(
    by_symptom: BTreeMap<Symptom, Vec<String>>,
    op_type: &str,
    attribute_class: &str,
    dtype: &str,
    details: &BTreeMap<String, String>,
) -> Vec<Found> {
    by_symptom
        .into_iter()
        .map(|(symptom, runtimes)| {
            let signature = Signature {
                op_type: op_type.to_string(),
                attribute_class: attribute_class.to_string(),
                dtype: dtype.to_string(),
                runtimes,
                symptom,
            };
            (signature, details.clone())
        })
        .collect()
}

/// The findings of a case whose runs `observed` holds (a graph's divergence is attributed
/// with further runs on the workers).
fn run_case(
    workers: &mut [Worker],
    generated: &GeneratedCase,
    campaign: &Campaign,
    observed: Observed,
) -> Result<CaseResult, EngineError> {
    let mut result = CaseResult::nothing(generated.index);
    if observed.skipped {
        result.skipped = true;
        return Ok(result);
    }
    if observed.by_symptom.is_empty() {
        return Ok(result);
    }
    if let [case] = generated.nodes.as_slice() {
        let (undefined, findings) = findings_of(case, &generated.inputs, observed);
        result.undefined = undefined;
        if !findings.is_empty() {
            result.reproducer = Some(Reproducer {
                model: generated.model.clone(),
                inputs: generated.inputs.clone(),
                example: generated.describe(),
                culprit_node: None,
                graph: None,
            });
        }
        result.findings = findings;
        return Ok(result);
    }
    attribute_graph(workers, generated, campaign, observed, result)
}

/// A graph diverged: re-run each node alone, fed the reference's values, on every runtime; the
/// first node that diverges alone names the finding. When none does, crashes, hangs, failures,
/// shape and NaN-pattern changes stay graph-level findings (op type `graph`: fusion or
/// whole-graph handling); a purely numeric divergence is accumulated rounding, not a finding.
fn attribute_graph(
    workers: &mut [Worker],
    generated: &GeneratedCase,
    campaign: &Campaign,
    whole: Observed,
    mut result: CaseResult,
) -> Result<CaseResult, EngineError> {
    let reference = crate::registry::build(crate::compare::REFERENCE)?;
    let values = crate::pernode::guarded_baseline_values(reference.as_ref(), &generated.model, &generated.inputs);
    if let Some(values) = &values {
        let constants = crate::pernode::constant_values(&generated.model);
        for (index, (node, case)) in generated.model.graph().node.iter().zip(&generated.nodes).enumerate() {
            let Some((single, feeds)) = crate::pernode::single_node_case(&generated.model, &constants, node, values)
            else {
                continue;
            };
            let observed = observe(workers, &single, &feeds, &campaign.tolerances, campaign.timeout())?;
            if observed.skipped || observed.by_symptom.is_empty() {
                continue;
            }
            let (undefined, findings) = findings_of(case, &feeds, observed);
            result.undefined = undefined;
            if !findings.is_empty() {
                let name = crate::pernode::node_name(node, index);
                result.reproducer = Some(Reproducer {
                    model: single,
                    inputs: feeds,
                    example: format!("{} (node {name} of {})", case.describe(), generated.describe()),
                    culprit_node: Some(name),
                    graph: Some((generated.model.clone(), generated.inputs.clone())),
                });
            }
            result.findings = findings;
            return Ok(result);
        }
    }
    let mut by_symptom = whole.by_symptom;
    let numeric_only = by_symptom.keys().all(|s| *s == Symptom::Numeric);
    by_symptom.remove(&Symptom::Numeric);
    result.unattributed = numeric_only;
    result.findings = signatures(by_symptom, "graph", "", "-", &whole.details);
    if !result.findings.is_empty() {
        result.reproducer = Some(Reproducer {
            model: generated.model.clone(),
            inputs: generated.inputs.clone(),
            example: generated.describe(),
            culprit_node: None,
            graph: None,
        });
    }
    Ok(result)
}

/// The symptom of a runtime whose outputs ran but diverge.
pub(crate) fn output_symptom(judgement: &crate::compare::Judgement, runtime: &str) -> Symptom {
    let metrics: Vec<_> = judgement
        .outputs
        .iter()
        .filter_map(|o| o.metrics.get(runtime))
        .collect();
    if metrics.iter().any(|m| !m.same_shape) {
        Symptom::Shape
    } else if metrics.iter().any(|m| !m.nan_inf_agree) {
        Symptom::NanPattern
    } else {
        Symptom::Numeric
    }
}

/// The runtime's error, or its worst metrics per output.
fn describe_run(run: &Run, judgement: &crate::compare::Judgement) -> String {
    match &run.outputs {
        Err(e) => e.to_string(),
        Ok(_) => judgement
            .outputs
            .iter()
            .filter_map(|o| o.metrics.get(&run.name).map(|m| (o, m)))
            .map(|(o, m)| {
                format!(
                    "{}: max abs {:.3e}, max rel {:.3e}, {} mismatches",
                    o.name, m.max_abs, m.max_rel, m.mismatches
                )
            })
            .collect::<Vec<_>>()
            .join("; "),
    }
}

/// Cases per worker exchange in campaigns: amortises the pipe wake-ups (`sysnoise bench fuzz`,
/// 2 jobs, this machine: overhead 22% one case at a time, 15-16% at 8, 13% at 16), while a
/// hang is still noticed within 16 timeouts.
pub const DEFAULT_BATCH: usize = 16;

/// How a campaign is run (not part of what it is).
pub struct RunOptions {
    /// The `sysnoise` executable that serves as worker (`sysnoise worker`).
    pub worker_exe: PathBuf,
    /// Parallel case evaluations, each with its own worker processes.
    pub jobs: usize,
    /// Cases sent to a worker in one exchange (1: one at a time). A hang inside a batch is
    /// noticed after the batch's whole budget (`batch` × the timeout), then pinned on its case.
    pub batch: usize,
    pub time_limit: Option<Duration>,
    /// Campaign directory (findings, index, resume state). `None`: keep nothing on disk.
    pub out: Option<PathBuf>,
    pub progress: bool,
    /// Set (by Ctrl-C) to stop after the cases in flight; everything done so far is kept.
    pub stop: Arc<AtomicBool>,
}

/// The result of a campaign.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    pub name: String,
    pub seed: u64,
    pub regime: String,
    pub runtimes: Vec<String>,
    pub cases_run: u64,
    pub cases_skipped: u64,
    /// Cases on spec-undefined behaviour (cases/undefined.yaml), not judged.
    pub cases_undefined: u64,
    /// Multi-op cases whose numeric divergence no single node shows (accumulated rounding).
    pub cases_unattributed: u64,
    /// Distinct findings, by signature.
    pub findings: Vec<FindingRecord>,
    /// Stopped by Ctrl-C or the time limit before all cases ran.
    pub stopped_early: bool,
    pub elapsed_seconds: f64,
    pub cases_per_second: f64,
    /// Time the runtimes themselves spent (prepare + run, summed over workers).
    pub runtime_seconds: f64,
}

impl Summary {
    /// Human summary without timings (stable, so tests snapshot it).
    pub fn render(&self) -> String {
        let mut out = format!(
            "campaign {}: seed {}, regime {}, runtimes {}\n{} cases run, {} skipped (fewer than two runtimes could run them), {} on spec-undefined behaviour\n",
            self.name,
            self.seed,
            self.regime,
            self.runtimes.join(","),
            self.cases_run,
            self.cases_skipped,
            self.cases_undefined
        );
        if self.cases_unattributed > 0 {
            out.push_str(&format!(
                "{} graphs diverged only by accumulated rounding (no node diverges alone)\n",
                self.cases_unattributed
            ));
        }
        if self.findings.is_empty() {
            out.push_str("no findings\n");
        }
        for f in &self.findings {
            out.push_str(&format!(
                "finding {}  ×{}  first at case {}\n",
                f.signature, f.count, f.first_case
            ));
        }
        out
    }
}

/// Runs the campaign: cases `[next, cases)` where `next` comes from a saved state in `out`.
pub fn run(campaign: &Campaign, options: &RunOptions) -> Result<Summary, EngineError> {
    let specs = catalog();
    let mut pairs = campaign.pairs(&specs)?;
    let runtimes: Vec<_> = campaign
        .runtimes
        .iter()
        .map(|n| crate::registry::build(n))
        .collect::<Result<_, _>>()?;
    if campaign.supported_only && runtimes.len() >= 2 {
        let matrices: Vec<_> = runtimes
            .iter()
            .map(|rt| {
                crate::support::cached(
                    &options.worker_exe,
                    rt.as_ref(),
                    &specs,
                    false,
                    Duration::from_millis(campaign.timeout_ms),
                )
            })
            .collect::<Result<_, _>>()?;
        // A graph runs only where every node does: multi-op cases use what all runtimes run
        // (when anything is), single ops what at least two do.
        let supporters = |(spec, dtype): &(&OpSpec, DType)| {
            matrices
                .iter()
                .filter(|m| m.supports(spec.op_type, dtype.name()))
                .count()
        };
        if campaign.nodes > 1 && pairs.iter().any(|p| supporters(p) == matrices.len()) {
            pairs.retain(|p| supporters(p) == matrices.len());
        }
        pairs.retain(|p| supporters(p) >= 2);
        if pairs.is_empty() {
            return Err(EngineError::Usage(format!(
                "campaign '{}': no selected op × dtype runs on two of {} (see `sysnoise support`)",
                campaign.name,
                campaign.runtimes.join(", ")
            )));
        }
    }
    let store = options.out.as_deref().map(Store::open).transpose()?;
    let fingerprint = campaign.fingerprint();
    let mut state = match &store {
        Some(s) => s.load_state(&fingerprint)?,
        None => None,
    }
    .unwrap_or(State {
        fingerprint,
        runtimes: campaign.runtimes.clone(),
        next_case: 0,
        cases_run: 0,
        cases_skipped: 0,
        cases_undefined: 0,
        cases_unattributed: 0,
        findings: Vec::new(),
    });
    let mut index_of: HashMap<Signature, usize> = state
        .findings
        .iter()
        .enumerate()
        .map(|(i, f)| (f.signature.clone(), i))
        .collect();

    let start = Instant::now();
    let deadline = options.time_limit.map(|t| start + t);
    let next = Arc::new(AtomicU64::new(state.next_case));
    let bar = progress_bar(options.progress, campaign.cases.saturating_sub(state.next_case));
    let (send, receive) = channel::<Result<CaseResult, EngineError>>();
    let mut first_error = None;
    let runtime_nanos = AtomicU64::new(0);
    std::thread::scope(|scope| {
        for _ in 0..options.jobs.max(1) {
            let send = send.clone();
            let next = Arc::clone(&next);
            let pairs = &pairs;
            let stop = &options.stop;
            let runtime_nanos = &runtime_nanos;
            scope.spawn(move || {
                let mut workers: Vec<Worker> = campaign
                    .runtimes
                    .iter()
                    .map(|r| Worker::new(&options.worker_exe, r))
                    .collect();
                loop {
                    if stop.load(Ordering::SeqCst) || deadline.is_some_and(|d| Instant::now() >= d) {
                        break;
                    }
                    let first = next.fetch_add(options.batch as u64, Ordering::SeqCst);
                    if first >= campaign.cases {
                        break;
                    }
                    let last = (first + options.batch as u64).min(campaign.cases);
                    let results = run_batch(&mut workers, campaign, pairs, first..last);
                    let failed = results.iter().any(Result::is_err);
                    if results.into_iter().any(|r| send.send(r).is_err()) || failed {
                        break;
                    }
                }
                let busy: Duration = workers.iter().map(|w| w.runtime_time).sum();
                runtime_nanos.fetch_add(busy.as_nanos() as u64, Ordering::SeqCst);
            });
        }
        drop(send);
        // Results arrive out of order with several jobs; apply them in case order so the
        // campaign (and its resume point) is the same whatever the parallelism.
        let mut pending: BTreeMap<u64, CaseResult> = BTreeMap::new();
        let mut last_save = Instant::now();
        for message in receive {
            match message {
                Err(e) => {
                    options.stop.store(true, Ordering::SeqCst);
                    first_error.get_or_insert(e);
                }
                Ok(result) => {
                    pending.insert(result.index, result);
                    while let Some(result) = pending.remove(&state.next_case) {
                        if let Err(e) = apply(&mut state, &mut index_of, store.as_ref(), result) {
                            options.stop.store(true, Ordering::SeqCst);
                            first_error.get_or_insert(e);
                        }
                        bar.inc(1);
                        bar.set_message(format!("{} findings", state.findings.len()));
                    }
                    if last_save.elapsed() > Duration::from_secs(5) {
                        if let Some(s) = &store {
                            let _ = s.save_state(&state);
                        }
                        last_save = Instant::now();
                    }
                }
            }
        }
    });
    bar.finish_and_clear();
    if let Some(s) = &store {
        s.save_state(&state)?;
    }
    if let Some(e) = first_error {
        return Err(e);
    }
    let elapsed = start.elapsed().as_secs_f64();
    let mut findings = state.findings.clone();
    findings.sort_by(|a, b| a.signature.cmp(&b.signature));
    Ok(Summary {
        name: campaign.name.clone(),
        seed: campaign.seed,
        regime: campaign.regime.name().to_string(),
        runtimes: campaign.runtimes.clone(),
        cases_run: state.cases_run,
        cases_skipped: state.cases_skipped,
        cases_undefined: state.cases_undefined,
        cases_unattributed: state.cases_unattributed,
        findings,
        stopped_early: state.next_case < campaign.cases,
        elapsed_seconds: elapsed,
        cases_per_second: if elapsed > 0.0 {
            state.cases_run as f64 / elapsed
        } else {
            0.0
        },
        runtime_seconds: runtime_nanos.load(Ordering::SeqCst) as f64 / 1e9,
    })
}

/// Cases `indices`, generated, observed in one exchange per worker, then judged one by one.
fn run_batch(
    workers: &mut [Worker],
    campaign: &Campaign,
    pairs: &[(&OpSpec, DType)],
    indices: std::ops::Range<u64>,
) -> Vec<Result<CaseResult, EngineError>> {
    let generated: Vec<GeneratedCase> = match indices.map(|i| generate(campaign, pairs, i)).collect() {
        Ok(g) => g,
        Err(e) => return vec![Err(e)],
    };
    let cases: Vec<(&Model, &NamedTensors)> = generated.iter().map(|g| (&g.model, &g.inputs)).collect();
    let observed = match observe_batch(workers, &cases, &campaign.tolerances, campaign.timeout()) {
        Ok(o) => o,
        Err(e) => return vec![Err(e)],
    };
    generated
        .iter()
        .zip(observed)
        .map(|(g, o)| run_case(workers, g, campaign, o))
        .collect()
}

/// Folds one case's result into the state, writing the reproducer of a new finding.
fn apply(
    state: &mut State,
    index_of: &mut HashMap<Signature, usize>,
    store: Option<&Store>,
    result: CaseResult,
) -> Result<(), EngineError> {
    state.next_case = result.index + 1;
    state.cases_run += 1;
    if result.skipped {
        state.cases_skipped += 1;
    }
    if result.undefined {
        state.cases_undefined += 1;
    }
    if result.unattributed {
        state.cases_unattributed += 1;
    }
    for (signature, details) in result.findings {
        if let Some(&i) = index_of.get(&signature) {
            state.findings[i].count += 1;
            continue;
        }
        let reproducer = result.reproducer.as_ref().expect("kept for findings");
        let record = FindingRecord {
            dir: format!("findings/{}", signature.id()),
            signature: signature.clone(),
            count: 1,
            first_case: result.index,
            example: reproducer.example.clone(),
            details,
            culprit_node: reproducer.culprit_node.clone(),
        };
        if let Some(store) = store {
            let graph = reproducer.graph.as_ref().map(|(m, i)| (m, i));
            store.write_finding(&record, &reproducer.model, &reproducer.inputs, graph)?;
        }
        index_of.insert(signature, state.findings.len());
        state.findings.push(record);
    }
    Ok(())
}

fn progress_bar(show: bool, cases: u64) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(cases);
    bar.set_style(
        ProgressStyle::with_template("{spinner} fuzz {bar:30} {pos}/{len} cases {per_sec} {msg} eta {eta}")
            .expect("valid template"),
    );
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cases_replay_from_seed_and_index() {
        let campaign = Campaign {
            ops: vec!["Add".into(), "Relu".into()],
            ..Campaign::default()
        };
        let specs = catalog();
        let pairs = campaign.pairs(&specs).unwrap();
        let a = generate(&campaign, &pairs, 17).unwrap();
        let b = generate(&campaign, &pairs, 17).unwrap();
        let c = generate(&campaign, &pairs, 18).unwrap();
        assert_eq!(a.model, b.model);
        assert_eq!(a.inputs, b.inputs);
        assert!(a.model != c.model || a.inputs != c.inputs);
    }

    #[test]
    fn unknown_ops_and_dtypes_are_named() {
        let specs = catalog();
        let bad_op = Campaign {
            ops: vec!["Frobnicate".into()],
            ..Campaign::default()
        };
        assert!(
            bad_op
                .pairs(&specs)
                .unwrap_err()
                .to_string()
                .contains("no op or family 'Frobnicate'")
        );
        let bad_dtype = Campaign {
            dtypes: vec!["float32".into()],
            ..Campaign::default()
        };
        assert!(
            bad_dtype
                .pairs(&specs)
                .unwrap_err()
                .to_string()
                .contains("unknown dtype 'float32'")
        );
    }
}
