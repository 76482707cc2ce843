//! The `sysnoise` command line: `compare`, `conformance`, `runtimes`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};
use sysnoise::compare::{CompareOptions, compare};
use sysnoise::conformance::{self, ConformanceOptions};
use sysnoise::report::{Precision, render};
use sysnoise::tolerance::ToleranceModel;
use sysnoise::{EngineError, demo, inputs, registry};
use sysnoise_boundary::{Model, Runtime};

/// Differential testing of deep-learning inference runtimes.
///
/// sysnoise runs the same ONNX model on several runtimes (ONNX Runtime, tract, and an f64
/// reference interpreter that serves as the oracle), measures how far each output is from the
/// reference, and tells you which runtime diverges and at which node.
///
/// Exit codes: 0 = all runtimes agree, 1 = a divergence was found, 2 = error (bad model or
/// input, runtime not installed, bad option).
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
    /// List the runtimes sysnoise knows and whether each is usable here.
    Runtimes,
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
    /// Print error metrics as decade buckets (≤1e-6) instead of two digits.
    #[arg(long)]
    decades: bool,
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

fn run_compare(args: CompareArgs) -> anyhow::Result<ExitCode> {
    let (model, model_label) = load_model(&args.model)?;
    let mut tolerances = match &args.tol_file {
        Some(path) => ToleranceModel::load(path)?,
        None => ToleranceModel::default(),
    };
    for spec in &args.tolerances {
        tolerances.apply_cli(spec)?;
    }
    let runtimes = build_runtimes(args.runtimes.as_deref())?;
    let (feeds, inputs_label, seed) = if args.inputs.is_empty() {
        let shapes: HashMap<String, Vec<usize>> = args
            .shapes
            .iter()
            .map(|s| inputs::parse_shape(s))
            .collect::<Result<_, _>>()?;
        (
            inputs::generate(&model, args.seed, &shapes)?,
            format!("generated, seed {}", args.seed),
            Some(args.seed),
        )
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

fn list_runtimes() -> ExitCode {
    for info in registry::RUNTIMES {
        let state = match registry::build(info.name) {
            Ok(rt) => format!("ok ({})", rt.version()),
            Err(e) => format!("UNAVAILABLE: {e}"),
        };
        let default = if info.default { "default" } else { "" };
        println!("{:<12} {:<8} {:<72} {state}", info.name, default, info.description);
    }
    ExitCode::SUCCESS
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Compare(args) => run_compare(args),
        Command::Conformance(args) => run_conformance(args),
        Command::Runtimes => Ok(list_runtimes()),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}
