//! Support probing: which op × dtype × attribute class each runtime runs, measured once per
//! runtime version and catalog, cached, and used so campaigns only ask runtimes for what they
//! can run. The matrix is itself a report (`sysnoise support`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use sysnoise_boundary::{Model, NamedTensors, Runtime};

use crate::catalog::OpSpec;
use crate::error::EngineError;
use crate::guard::guarded;
use crate::values::{self, Regime};
use crate::worker::{WorkOutcome, Worker};

/// Generated cases tried per op × dtype.
const PROBES_PER_PAIR: usize = 6;
/// The default per-case limit of a probe (`sysnoise support`).
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// How much of an op × dtype a runtime runs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Support {
    /// Probe cases it ran (correctly or not).
    pub ran: usize,
    /// Probe cases it declined.
    pub declined: usize,
    /// Attribute classes it declined.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub declined_classes: Vec<String>,
}

impl Support {
    pub fn any(&self) -> bool {
        self.ran > 0
    }

    pub fn full(&self) -> bool {
        self.declined == 0 && self.ran > 0
    }
}

/// One runtime's support matrix: op → dtype → support.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SupportMatrix {
    pub runtime: String,
    pub version: String,
    pub catalog: String,
    pub ops: BTreeMap<String, BTreeMap<String, Support>>,
}

impl SupportMatrix {
    pub fn supports(&self, op: &str, dtype: &str) -> bool {
        self.ops.get(op).and_then(|d| d.get(dtype)).is_some_and(Support::any)
    }
}

/// A fingerprint of the catalog (op types and dtypes), so a changed catalog re-probes.
pub fn catalog_fingerprint(specs: &[OpSpec]) -> String {
    let text: String = specs.iter().map(|s| format!("{}:{:?};", s.op_type, s.dtypes)).collect();
    let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{hash:016x}")
}

/// What one probe case showed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Probe {
    Ran,
    Declined,
    /// Crashed or hung: supported (and worth fuzzing); the pair's other probes are skipped.
    Misbehaved,
}

/// Probes a runtime on a few generated cases of every op × dtype of the catalog. `try_case`
/// runs one case.
pub fn probe(
    runtime: &str,
    version: String,
    specs: &[OpSpec],
    try_case: &mut dyn FnMut(&Model, &NamedTensors) -> Probe,
) -> SupportMatrix {
    let mut runner = TestRunner::new_with_rng(Config::default(), TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]));
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut ops: BTreeMap<String, BTreeMap<String, Support>> = BTreeMap::new();
    for spec in specs {
        for &dtype in spec.dtypes {
            let mut support = Support::default();
            for _ in 0..PROBES_PER_PAIR {
                let Ok(tree) = (spec.strategy)(dtype).new_tree(&mut runner) else {
                    continue;
                };
                let case = tree.current();
                let (inputs, weights) = values::for_case(&case, &mut rng, Regime::Typical);
                match try_case(&case.model(&weights), &inputs) {
                    Probe::Declined => {
                        support.declined += 1;
                        let class = case.attribute_class();
                        if !support.declined_classes.contains(&class) {
                            support.declined_classes.push(class);
                        }
                    }
                    Probe::Ran => support.ran += 1,
                    Probe::Misbehaved => {
                        support.ran += 1;
                        break;
                    }
                }
            }
            ops.entry(spec.op_type.to_string())
                .or_default()
                .insert(dtype.to_string(), support);
        }
    }
    SupportMatrix {
        runtime: runtime.to_string(),
        version,
        catalog: catalog_fingerprint(specs),
        ops,
    }
}

/// Probes in this process (a runtime that aborts takes the process down: prefer
/// [`probe_in_worker`] for untrusted runtimes).
pub fn probe_in_process(runtime: &dyn Runtime, specs: &[OpSpec]) -> SupportMatrix {
    probe(
        runtime.name(),
        runtime.version(),
        specs,
        &mut |model, inputs| match guarded(runtime.name(), || runtime.prepare(model)?.run(inputs)) {
            Err(e) if e.is_unsupported() => Probe::Declined,
            _ => Probe::Ran,
        },
    )
}

/// Probes in a worker process (`exe worker`), waiting at most `timeout` per case: a crash or
/// hang counts as "runs" (supported, and worth fuzzing).
pub fn probe_in_worker(exe: &Path, runtime: &dyn Runtime, specs: &[OpSpec], timeout: Duration) -> SupportMatrix {
    let mut worker = Worker::new(exe, runtime.name());
    probe(
        runtime.name(),
        runtime.version(),
        specs,
        &mut |model, inputs| match worker.run(model, inputs, timeout) {
            WorkOutcome::Done(Err(e)) if e.is_unsupported() => Probe::Declined,
            WorkOutcome::Done(_) => Probe::Ran,
            WorkOutcome::Crashed(_) | WorkOutcome::TimedOut => Probe::Misbehaved,
        },
    )
}

fn cache_path(runtime: &dyn Runtime, specs: &[OpSpec]) -> PathBuf {
    let version: String = runtime
        .version()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '.' { c } else { '_' })
        .collect();
    crate::conformance::cache_root().join("support").join(format!(
        "{}-{version}-{}.json",
        runtime.name(),
        catalog_fingerprint(specs)
    ))
}

/// The cached matrix of `runtime` for this catalog, probing it (in worker processes of
/// `exe`, at most `timeout` per case) and caching it when missing.
pub fn cached(
    exe: &Path,
    runtime: &dyn Runtime,
    specs: &[OpSpec],
    refresh: bool,
    timeout: Duration,
) -> Result<SupportMatrix, EngineError> {
    let path = cache_path(runtime, specs);
    if !refresh
        && let Ok(text) = std::fs::read_to_string(&path)
        && let Ok(matrix) = serde_json::from_str::<SupportMatrix>(&text)
    {
        return Ok(matrix);
    }
    let matrix = probe_in_worker(exe, runtime, specs, timeout);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| EngineError::io(dir, e))?;
        crate::atomic::write(&path, &serde_json::to_vec_pretty(&matrix).expect("serialisable"))?;
    }
    Ok(matrix)
}

/// The human table: one row per op, one column per runtime listing the dtypes it runs
/// (`*` when some attribute classes are declined).
pub fn render(matrices: &[SupportMatrix]) -> String {
    let mut table = comfy_table::Table::new();
    table.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
    let mut header = vec!["op".to_string()];
    header.extend(matrices.iter().map(|m| m.runtime.clone()));
    table.set_header(header);
    let ops: std::collections::BTreeSet<&String> = matrices.iter().flat_map(|m| m.ops.keys()).collect();
    for op in ops {
        let mut row = vec![op.clone()];
        for m in matrices {
            let cell: Vec<String> = m
                .ops
                .get(op)
                .map(|dtypes| {
                    dtypes
                        .iter()
                        .filter(|(_, s)| s.any())
                        .map(|(d, s)| if s.full() { d.clone() } else { format!("{d}*") })
                        .collect()
                })
                .unwrap_or_default();
            row.push(if cell.is_empty() { "—".into() } else { cell.join(" ") });
        }
        table.add_row(row);
    }
    format!("{table}\n(* = some attribute classes declined; — = not run)\n")
}
