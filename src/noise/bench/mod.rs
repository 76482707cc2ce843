//! `sysnoise bench sysnoise`: every noise option of every family against the training system,
//! on every task; the task Δ per option, per family (mean and max over its options) and stacked,
//! next to the operator-level divergence each configuration causes.

pub mod batch;
pub mod detect;
pub mod link;
pub mod ocr;
pub mod output;
pub mod plots;
pub mod task;
pub mod text;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

use ndarray::{Array2, Axis};
use serde::Serialize;
use sysnoise_boundary::{Model, Runtime, RuntimeError};

use crate::error::EngineError;
use crate::noise::decode::PixelDifference;
use crate::noise::rewrite::{self, Rewrite};
use crate::noise::system::{Family, Knob, Precision, SystemConfig};
use crate::noise::{quantise, quantise_dynamic};
use crate::registry;
pub use batch::Batch;
use link::Divergence;
use task::{Scores, Task};

/// How the benchmark runs.
pub struct BenchOptions {
    /// The noise options to try (each against the training system).
    pub knobs: Vec<Knob>,
    /// Inference threads, each with its own session.
    pub jobs: usize,
    /// Evaluation items whose per-layer values are compared for the divergence link (0: none).
    pub link_items: usize,
    pub progress: bool,
    /// Set by Ctrl-C: the configuration in flight finishes, the rest are left out.
    pub stop: Arc<AtomicBool>,
}

/// The outcome of one configuration on one task.
#[derive(Clone, Debug, Serialize)]
pub struct ConfigResult {
    /// `training`, a knob label (`resize:opencv-area`) or `stacked:<families>` (the worst option
    /// of each family named, in taxonomy order; `config` says which options).
    pub label: String,
    pub family: Option<Family>,
    pub config: SystemConfig,
    /// Why the configuration was not measured (the knob does not apply, the runtime failed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    /// The task's Δ against the training system: quality drop in points for labelled tasks
    /// (accuracy, 1 − CER), top-1 flip rate in % for label-free ones.
    pub delta: f64,
    /// Share of items whose prediction differs from the training system's.
    pub flip_rate: f64,
    /// Mean drop of the probability the training system gave its own prediction.
    pub confidence_drop: f64,
    /// The task's quality metric (accuracy, 1 − CER, ...) when it has labels.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quality: Option<f64>,
    /// Further task metrics by name (e.g. `mAP@0.5`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extra: Vec<(String, f64)>,
    /// Mean absolute difference of the model input from the training system's (input units).
    pub input_mean_abs_diff: f64,
    /// For decoder and colour options: the decoded pixels (0–255, before resizing) against the
    /// training system's, over every item.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decoded_pixels: Option<PixelDifference>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub divergence: Option<Divergence>,
    /// Set when the result depends on the CPU's instruction set (int8 kernels chosen by CPU
    /// features), saying how.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub isa_note: Option<String>,
    /// Wall time of this configuration (pre-processing + inference), not part of snapshots.
    #[serde(skip)]
    pub seconds: f64,
}

/// Δ over the options of one family.
#[derive(Clone, Debug, Serialize)]
pub struct FamilySummary {
    pub family: Family,
    pub options: usize,
    pub mean_delta: f64,
    pub max_delta: f64,
    pub worst_option: String,
}

/// One step of the cumulative stacking (the paper's Fig. 3): the worst option of each family
/// added to everything before it.
#[derive(Clone, Debug, Serialize)]
pub struct StackStep {
    pub added: String,
    pub delta: f64,
    pub flip_rate: f64,
}

/// Spearman rank correlation between a divergence measure and the task Δ over the measured
/// configurations.
#[derive(Clone, Debug, Serialize)]
pub struct LinkSummary {
    pub configurations: usize,
    pub spearman_mean_layer_error: Option<f64>,
    pub spearman_output_error: Option<f64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct TaskResult {
    pub task: String,
    pub items: usize,
    /// What `delta` means for this task.
    pub metric: String,
    /// The labelled quality metric's name (`accuracy`), `None` for label-free tasks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quality_metric: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub training_quality: Option<f64>,
    pub configs: Vec<ConfigResult>,
    pub families: Vec<FamilySummary>,
    pub stacked: Vec<StackStep>,
    pub link: LinkSummary,
    /// Ctrl-C stopped the run before every configuration was measured.
    pub interrupted: bool,
}

/// The model a configuration deploys: rewrites, then precision.
fn deployed_model(task: &dyn Task, config: &SystemConfig) -> Result<Model, String> {
    let mut model = task.model().clone();
    for rewrite in &config.rewrites {
        let (rewritten, what) = rewrite::apply(&model, *rewrite).map_err(|e| e.to_string())?;
        if what.changes == 0 {
            return Err(match rewrite {
                Rewrite::CeilModeFlip => "the model has no pooling with ceil_mode to flip".into(),
                Rewrite::ResizeModeSwap => "the model has no Resize to swap".into(),
                Rewrite::Fp16 { .. } => "nothing to convert to FP16".into(),
            });
        }
        model = rewritten;
    }
    match config.precision {
        Precision::Fp32 => {}
        Precision::Fp16 { keep_io_float } => {
            model = rewrite::apply(&model, Rewrite::Fp16 { keep_io_float })
                .map_err(|e| e.to_string())?
                .0;
        }
        Precision::Int8(granularity) => {
            let calibration = task.calibration(&config.preprocess).map_err(|e| e.to_string())?;
            let samples: Vec<_> = (0..calibration.items())
                .map(|i| calibration.rows(&model, i..i + 1))
                .collect();
            let calibrator = registry::build("ort").map_err(|e| e.to_string())?;
            model = quantise::quantise_static(&model, &samples, calibrator.as_ref(), granularity)
                .map_err(|e| e.to_string())?
                .0;
        }
        Precision::Int8Dynamic => {
            let (quantised, what) = quantise_dynamic::quantise_dynamic(&model).map_err(|e| e.to_string())?;
            if what.changes == 0 {
                return Err(
                    "no MatMul with a constant 2-D weight: dynamic quantisation (MatMul only here) does not apply"
                        .into(),
                );
            }
            model = quantised;
        }
    }
    Ok(model)
}

const BATCH: usize = 16;

/// Logits of the rows starting at an index.
type LogitsChunk = (usize, Array2<f64>);

/// Every output of one batch of `rows` items, each flattened per item and laid side by side
/// in graph order: `[rows, Σ elements per item]`.
fn rows_of(outputs: &sysnoise_boundary::NamedTensors, rows: usize) -> Result<Array2<f64>, EngineError> {
    let parts: Vec<Array2<f64>> = outputs
        .iter()
        .map(|(name, tensor)| {
            let values = tensor.to_f64_array();
            let per_row = values.len() / rows;
            values
                .into_shape_with_order((rows, per_row))
                .map_err(|e| EngineError::Input(format!("output {name}: {e}")))
        })
        .collect::<Result<_, _>>()?;
    let views: Vec<_> = parts.iter().map(|p| p.view()).collect();
    ndarray::concatenate(Axis(1), &views).map_err(|e| EngineError::Input(format!("outputs: {e}")))
}

/// The outputs of `model` on `inputs` as `[N, Σ elements per item]` (logits `[N, classes]` for a
/// classifier; several outputs side by side in graph order), `jobs` threads each with its own
/// session.
pub fn infer(runtime: &dyn Runtime, model: &Model, inputs: &Batch, jobs: usize) -> Result<Array2<f64>, EngineError> {
    let items = inputs.items();
    let next = AtomicUsize::new(0);
    let chunks: Vec<Result<Vec<LogitsChunk>, EngineError>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..jobs.max(1).min(items.div_ceil(BATCH).max(1)))
            .map(|_| {
                scope.spawn(|| -> Result<Vec<LogitsChunk>, EngineError> {
                    let mut session = runtime.prepare(model).map_err(EngineError::Runtime)?;
                    let mut done = Vec::new();
                    loop {
                        let start = next.fetch_add(BATCH, Ordering::SeqCst);
                        if start >= items {
                            return Ok(done);
                        }
                        let end = (start + BATCH).min(items);
                        let named = inputs.rows(model, start..end);
                        let outputs = session.run(&named).map_err(EngineError::Runtime)?;
                        if outputs.is_empty() {
                            return Err(EngineError::Input("the model has no output".into()));
                        }
                        done.push((start, rows_of(&outputs, end - start)?));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| {
                w.join()
                    .unwrap_or_else(|_| Err(EngineError::Input(format!("{} panicked", runtime.name()))))
            })
            .collect()
    });
    let mut parts = Vec::new();
    for chunk in chunks {
        parts.extend(chunk?);
    }
    parts.sort_by_key(|(start, _)| *start);
    let views: Vec<_> = parts.iter().map(|(_, a)| a.view()).collect();
    ndarray::concatenate(Axis(0), &views).map_err(|e| EngineError::Input(format!("logits: {e}")))
}

/// Runs the benchmark on one task.
pub fn run_task(task: &dyn Task, options: &BenchOptions) -> Result<TaskResult, EngineError> {
    let training = SystemConfig::training();
    let quality = task.quality_metric();
    let applicable: Vec<&Knob> = options
        .knobs
        .iter()
        .filter(|k| task.has_pipeline() || !k.family().is_preprocessing())
        .filter(|k| task.has_postprocess() || k.family() != Family::PostProcess)
        .collect();
    let bar = progress_bar(options.progress, applicable.len() as u64 + 1, task.name());

    let started = Instant::now();
    let training_inputs = task.inputs(&training.preprocess)?;
    let runtime = registry::build(&training.runtime)?;
    let training_model = task.model().clone();
    let training_logits = infer(runtime.as_ref(), &training_model, &training_inputs, options.jobs)?;
    let training_scores = task.score(&training_logits, &training_logits, &training.postprocess);
    let link_items = options.link_items.min(task.item_count());
    let training_values = if link_items > 0 {
        Some(link::LayerValues::record(
            runtime.as_ref(),
            &training_model,
            &training_inputs,
            link_items,
        )?)
    } else {
        None
    };
    let mut configs = vec![ConfigResult {
        label: "training".into(),
        family: None,
        config: training.clone(),
        skipped: None,
        delta: 0.0,
        flip_rate: 0.0,
        confidence_drop: 0.0,
        quality: training_scores.quality,
        extra: training_scores.extra.clone(),
        input_mean_abs_diff: 0.0,
        decoded_pixels: None,
        divergence: None,
        isa_note: None,
        seconds: started.elapsed().as_secs_f64(),
    }];
    bar.inc(1);

    let machine = crate::machine::Machine::here();
    let evaluate = |label: String, family: Option<Family>, config: SystemConfig| -> ConfigResult {
        let started = Instant::now();
        let mut result = ConfigResult {
            label,
            family,
            config: config.clone(),
            skipped: None,
            delta: 0.0,
            flip_rate: 0.0,
            confidence_drop: 0.0,
            quality: None,
            extra: Vec::new(),
            input_mean_abs_diff: 0.0,
            decoded_pixels: None,
            divergence: None,
            isa_note: None,
            seconds: 0.0,
        };
        let measured = (|| -> Result<(), String> {
            let model = deployed_model(task, &config)?;
            result.isa_note = crate::machine::isa_dependence(&model, &config.runtime, &machine);
            let own_inputs;
            let inputs = if config.preprocess == training.preprocess {
                &training_inputs
            } else {
                own_inputs = task.inputs(&config.preprocess).map_err(|e| e.to_string())?;
                &own_inputs
            };
            let runtime = registry::build(&config.runtime).map_err(|e| match e {
                // The short form (it is a table cell): `sysnoise runtimes` gives the reason and
                // how to install.
                EngineError::Runtime(RuntimeError::Unavailable { runtime, .. }) => {
                    format!("{runtime} is not available here (`sysnoise runtimes` says why)")
                }
                other => other.to_string(),
            })?;
            let same_inference = config.preprocess == training.preprocess
                && config.rewrites == training.rewrites
                && config.precision == training.precision
                && config.runtime == training.runtime;
            let logits = if same_inference {
                // Only post-processing differs: the training system's outputs, re-scored.
                training_logits.clone()
            } else {
                infer(runtime.as_ref(), &model, inputs, options.jobs).map_err(|e| e.to_string())?
            };
            let scores: Scores = task.score(&training_logits, &logits, &config.postprocess);
            result.flip_rate = scores.flip_rate;
            result.confidence_drop = scores.confidence_drop;
            result.quality = scores.quality;
            result.extra = scores.extra;
            result.delta = match (training_scores.quality, scores.quality) {
                (Some(base), Some(now)) => (base - now) * 100.0,
                _ => scores.flip_rate * 100.0,
            };
            if matches!(family, Some(Family::Decoder | Family::Colour)) {
                result.decoded_pixels = task.decoded_difference(&training.preprocess, &config.preprocess);
            }
            result.input_mean_abs_diff = inputs.mean_abs_diff(&training_inputs);
            // Per-layer values expose every node output, which keeps ORT (and its emulation)
            // from fusing Q/DQ into integer kernels: for the ISA rows the link would measure
            // float arithmetic, not the kernels the row is about, so it is not recorded.
            let observable = family != Some(Family::Isa);
            if let Some(baseline) = training_values.as_ref().filter(|_| observable) {
                result.divergence = Some(if same_inference {
                    // The training system's own layers: nothing to run again.
                    baseline.divergence(&training_model, baseline)
                } else {
                    link::LayerValues::record(runtime.as_ref(), &model, inputs, link_items)
                        .map(|values| baseline.divergence(&training_model, &values))
                        .map_err(|e| e.to_string())?
                });
            }
            Ok(())
        })();
        if let Err(reason) = measured {
            result.skipped = Some(reason);
        }
        result.seconds = started.elapsed().as_secs_f64();
        result
    };

    let mut interrupted = false;
    for knob in applicable {
        if options.stop.load(Ordering::SeqCst) {
            interrupted = true;
            break;
        }
        bar.set_message(knob.label());
        configs.push(evaluate(knob.label(), Some(knob.family()), training.with(knob)));
        bar.inc(1);
    }

    let families = summarise_families(&configs);
    let mut stacked = Vec::new();
    let mut config = training.clone();
    let mut labels: Vec<String> = Vec::new();
    for family in &families {
        if options.stop.load(Ordering::SeqCst) {
            interrupted = true;
            break;
        }
        // A family whose every option leaves Δ at or below zero adds no noise to the stack.
        // The ISA family runs on emulations: a property of the deployment CPU, not an option
        // to stack on top of ORT (its runtime would replace the runtime family's).
        if family.max_delta <= 0.0 || family.family == Family::Isa {
            continue;
        }
        let Some(worst) = configs.iter().find(|c| c.label == family.worst_option).cloned() else {
            continue;
        };
        let knob = knob_of(&options.knobs, &worst.label);
        let candidate = config.with(knob);
        let mut candidate_labels = labels.clone();
        candidate_labels.push(worst.label.clone());
        bar.set_message(format!("stacked +{}", worst.label));
        let result = if candidate_labels.len() == 1 {
            worst
        } else {
            let families: Vec<&str> = candidate_labels
                .iter()
                .map(|l| l.split(':').next().unwrap_or(l))
                .collect();
            evaluate(format!("stacked:{}", families.join("+")), None, candidate.clone())
        };
        let measured = result.skipped.is_none();
        if candidate_labels.len() > 1 {
            configs.push(result.clone());
        }
        // An option that cannot run on top of the others (e.g. INT8 QDQ on a runtime without
        // Q/DQ kernels) is left out of the stack; the skipped row says why.
        if measured {
            stacked.push(StackStep {
                added: family.worst_option.clone(),
                delta: result.delta,
                flip_rate: result.flip_rate,
            });
            config = candidate;
            labels = candidate_labels;
        }
    }
    bar.finish_and_clear();
    let link = link::summarise(&configs);
    Ok(TaskResult {
        task: task.name().into(),
        items: task.item_count(),
        metric: match quality {
            Some(name) => format!("{name} drop (points)"),
            None => "top-1 flips vs training system (%)".into(),
        },
        quality_metric: quality.map(str::to_string),
        training_quality: training_scores.quality,
        configs,
        families,
        stacked,
        link,
        interrupted,
    })
}

fn knob_of<'a>(knobs: &'a [Knob], label: &str) -> &'a Knob {
    knobs
        .iter()
        .find(|k| k.label() == label)
        .expect("family summaries name measured knobs")
}

/// Mean and max Δ per family over its measured options, families in taxonomy order.
fn summarise_families(configs: &[ConfigResult]) -> Vec<FamilySummary> {
    let mut by_family: BTreeMap<Family, Vec<&ConfigResult>> = BTreeMap::new();
    for c in configs.iter().filter(|c| c.skipped.is_none()) {
        if let Some(family) = c.family {
            by_family.entry(family).or_default().push(c);
        }
    }
    by_family
        .into_iter()
        .map(|(family, options)| {
            // The first option with the largest Δ (`rev` because `max_by` keeps the last).
            let worst = options
                .iter()
                .rev()
                .max_by(|a, b| a.delta.total_cmp(&b.delta))
                .expect("a family has at least one option");
            FamilySummary {
                family,
                options: options.len(),
                mean_delta: options.iter().map(|c| c.delta).sum::<f64>() / options.len() as f64,
                max_delta: worst.delta,
                worst_option: worst.label.clone(),
            }
        })
        .collect()
}

fn progress_bar(show: bool, len: u64, task: &str) -> indicatif::ProgressBar {
    if !show {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len);
    bar.set_style(
        indicatif::ProgressStyle::with_template(&format!(
            "{task} {{bar:30}} {{pos}}/{{len}} configurations  {{elapsed}} (eta {{eta}})  {{msg}}"
        ))
        .expect("valid template"),
    );
    bar
}
