//! Helpers shared by the integration tests: the CLI binary, models with known behaviour, snapshots.
#![allow(dead_code)]

use std::process::{Command, Output};

use ndarray::{ArrayD, IxDyn};
use sysnoise::registry;
use sysnoise_boundary::{DType, GraphBuilder, Model, Runtime, Tensor, attr};

/// Runs the `sysnoise` binary with `args`.
pub fn sysnoise(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sysnoise"))
        .args(args)
        .output()
        .expect("run sysnoise")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The default runtimes, built (fails loudly when ORT is not installed).
pub fn default_runtimes() -> Vec<Box<dyn Runtime>> {
    registry::select(None)
        .unwrap()
        .iter()
        .map(|n| registry::build(n).unwrap_or_else(|e| panic!("{e}")))
        .collect()
}

fn constant(shape: &[usize], seed: u32) -> Tensor {
    let count: usize = shape.iter().product();
    // A fixed, irregular pattern in [-0.5, 0.5): deterministic without a RNG.
    let values: Vec<f32> = (0..count)
        .map(|i| (((i as u32 * 7919 + seed * 104_729) % 1000) as f32 / 1000.0) - 0.5)
        .collect();
    Tensor::F32(ArrayD::from_shape_vec(IxDyn(shape), values).unwrap())
}

/// A real ORT-vs-tract divergence found by `sysnoise conformance` (tract fails
/// test_simple_rnn_reverse): a reverse-direction RNN between ordinary layers. ORT and the
/// reference agree; tract's reverse recurrence is wrong.
pub fn reverse_rnn_model() -> Model {
    let mut g = GraphBuilder::new("reverse_rnn", 17);
    g.input("x", DType::F32, &[4, 1, 3]);
    let scale = g.constant("scale", &constant(&[3], 1));
    let w = g.constant("rnn.W", &constant(&[1, 5, 3], 2));
    let r = g.constant("rnn.R", &constant(&[1, 5, 5], 3));
    let b = g.constant("rnn.B", &constant(&[1, 10], 4));
    let scaled = g.node("Mul", "scale_input", &["x", &scale], vec![]);
    g.node_with_outputs(
        "RNN",
        "rnn_reverse",
        &[&scaled, &w, &r, &b],
        &["rnn_y", "rnn_h"],
        vec![attr::int("hidden_size", 5), attr::string("direction", "reverse")],
    );
    let act = g.node("Relu", "relu", &["rnn_h"], vec![]);
    g.node("Flatten", "head", &[&act], vec![attr::int("axis", 1)]);
    g.output("head", DType::F32);
    g.build()
}

/// Snapshot settings: snapshots live in the project's top-level `snapshots/`.
#[macro_export]
macro_rules! snapshot {
    ($name:expr, $value:expr) => {{
        let mut settings = insta::Settings::clone_current();
        settings.set_snapshot_path(concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots"));
        settings.set_prepend_module_to_snapshot(false);
        settings.bind(|| insta::assert_snapshot!($name, $value));
    }};
}

/// The project venv's Python, with the pinned packages (numpy, onnxruntime, tract, Pillow,
/// OpenCV) that repro scripts and golden tests need.
pub fn venv_python() -> std::path::PathBuf {
    let python = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/setup.sh (it installs the pinned Python packages)",
        python.display()
    );
    python
}

/// Runs `scripts/goldens/<script> IMAGE.npy OUT` with the venv's Python, `image` (height ×
/// width × channels) written to `dir/image.npy`.
pub fn run_golden_script(script: &str, image: &ndarray::Array3<u8>, dir: &std::path::Path, out: &std::path::Path) {
    let input = dir.join("image.npy");
    let tensor = Tensor::U8(image.clone().into_dyn());
    std::fs::write(&input, sysnoise::npy::to_npy_bytes(&tensor).unwrap()).unwrap();
    let run = Command::new(venv_python())
        .arg(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("scripts/goldens")
                .join(script),
        )
        .arg(&input)
        .arg(out)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&run.stderr)
    );
}

/// The configuration labelled `label` of a benchmark task's result (panics naming it when absent).
pub fn config<'a>(
    result: &'a sysnoise::noise::bench::TaskResult,
    label: &str,
) -> &'a sysnoise::noise::bench::ConfigResult {
    result
        .configs
        .iter()
        .find(|c| c.label == label)
        .unwrap_or_else(|| panic!("no {label}"))
}

/// `bench sysnoise` options trying every default option of `families`, on 2 inference threads,
/// comparing `link_items` items layer by layer, quietly.
pub fn bench_options(
    families: &[sysnoise::noise::system::Family],
    link_items: usize,
) -> sysnoise::noise::bench::BenchOptions {
    sysnoise::noise::bench::BenchOptions {
        knobs: sysnoise::noise::system::default_knobs()
            .into_iter()
            .filter(|k| families.contains(&k.family()))
            .collect(),
        jobs: 2,
        link_items,
        progress: false,
        stop: std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false)),
    }
}
