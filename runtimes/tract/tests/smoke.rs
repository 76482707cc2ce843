//! Smoke tests of the tract adapter: the shared adapter checks, in both modes.

use sysnoise_boundary::{DType, testkit};
use sysnoise_tract::{TractMode, TractRuntime};

fn both_modes() -> [TractRuntime; 2] {
    [
        TractRuntime::new("tract", TractMode::Optimized),
        TractRuntime::new("tract-const", TractMode::ConstantParameters),
    ]
}

#[test]
fn one_node_graph_runs_in_both_modes() {
    for rt in both_modes() {
        testkit::check_one_node_graph(&rt);
    }
}

#[test]
fn every_supported_dtype_round_trips_and_bf16_is_unsupported() {
    for rt in both_modes() {
        testkit::check_dtype_round_trips(&rt, &[DType::BF16]);
    }
}

#[test]
fn intermediates_are_returned_and_unknown_ops_are_unsupported() {
    let rt = TractRuntime::new("tract", TractMode::Optimized);
    testkit::check_intermediates(&rt);
    testkit::check_unknown_op_is_unsupported(&rt);
}
