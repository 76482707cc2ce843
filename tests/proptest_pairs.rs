//! The proptest front end as a user writes it: a runtime pair checked in a few lines, and
//! shrinking of a failing case to a minimal one.

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestError, TestRng, TestRunner};
use sysnoise::registry;
use sysnoise::strategy::{self, TestCase};
use sysnoise::values::Regime;
use sysnoise_boundary::DType;

proptest! {
    // A fixed seed keeps CI deterministic; drop `rng_seed` to explore new cases locally.
    #![proptest_config(ProptestConfig {
        cases: 64,
        rng_seed: proptest::test_runner::RngSeed::Fixed(2026),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn ort_matches_the_reference_on_dense_layers(
        case in strategy::case(&["Gemm", "MatMul", "Add", "Relu", "Sigmoid"], &[DType::F32], Regime::Typical)
    ) {
        let ort = registry::build("ort").unwrap();
        let reference = registry::build("reference").unwrap();
        strategy::check_agree(&*ort, &*reference, &case, &Default::default()).map_err(TestCaseError::fail)?;
    }
}

#[test]
fn a_failing_case_shrinks_to_a_minimal_one() {
    // The test-only chaos runtime panics on every Abs: the property fails on the first Abs
    // case, and proptest shrinks it to the smallest Abs case (rank 0 or all dims 1).
    let chaos = registry::build("chaos-panic").unwrap();
    let reference = registry::build("reference").unwrap();
    let config = Config {
        cases: 64,
        max_shrink_iters: 20_000,
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner = TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha));
    let result = runner.run(
        &strategy::case(&["Abs", "Neg"], &[DType::F32], Regime::Typical),
        |case: TestCase| {
            strategy::check_agree(&*chaos, &*reference, &case, &Default::default()).map_err(TestCaseError::fail)
        },
    );
    match result {
        Err(TestError::Fail(reason, minimal)) => {
            assert!(reason.message().contains("deliberate panic"), "{reason}");
            assert_eq!(minimal.case.op_type, "Abs");
            let shape = &minimal.case.inputs[0].shape;
            assert!(shape.iter().all(|&d| d == 1), "shrunk to {shape:?}");
            assert!(
                minimal.inputs[0]
                    .1
                    .to_f64_vec()
                    .iter()
                    .all(|&v| v == 0.0 || v.abs() < 1.0)
            );
        }
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[test]
fn fuzzer_bytes_of_any_length_make_a_case() {
    // A short input must not exhaust the runner (the cargo-fuzz target hung on this).
    use proptest::strategy::{Strategy, ValueTree};
    for bytes in [
        &b""[..],
        &[0u8; 3][..],
        &[0xffu8; 40][..],
        &(0..=255u8).collect::<Vec<_>>()[..],
    ] {
        let mut runner = sysnoise::strategy::runner_from_bytes(bytes);
        let case = sysnoise::strategy::case(&[], &[], sysnoise::values::Regime::Edge)
            .new_tree(&mut runner)
            .unwrap()
            .current();
        assert_eq!(case.model.graph().node.len(), 1, "{case:?}");
    }
}
