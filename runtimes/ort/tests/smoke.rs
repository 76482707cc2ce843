//! Smoke tests of the ORT adapter against the real ONNX Runtime library (installed by scripts/setup.sh).

use sysnoise_boundary::{Runtime, testkit};
use sysnoise_ort::{OptLevel, OrtOptions, OrtRuntime};

fn runtime(opt_level: OptLevel) -> OrtRuntime {
    OrtRuntime::new(
        "ort",
        OrtOptions {
            opt_level,
            intra_threads: 1,
        },
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn one_node_graph_runs_at_every_optimisation_level() {
    for level in [OptLevel::Disabled, OptLevel::Basic, OptLevel::Extended, OptLevel::All] {
        testkit::check_one_node_graph(&runtime(level));
    }
    let version = runtime(OptLevel::All).version();
    assert!(version.starts_with("onnxruntime 1."), "{version}");
}

#[test]
fn every_dtype_round_trips_through_identity() {
    testkit::check_dtype_round_trips(&runtime(OptLevel::All), &[]);
}

#[test]
fn intermediates_are_returned() {
    testkit::check_intermediates(&runtime(OptLevel::All));
}

#[test]
fn unknown_ops_are_unsupported() {
    testkit::check_unknown_op_is_unsupported(&runtime(OptLevel::All));
}
