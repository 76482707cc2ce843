//! cargo-fuzz target: the fuzzer's bytes drive the op catalog's strategies; a divergence
//! between ONNX Runtime, tract and the reference is a crash (libFuzzer keeps the input).
#![no_main]

use libfuzzer_sys::fuzz_target;
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use sysnoise::strategy;
use sysnoise::values::Regime;

fuzz_target!(|bytes: &[u8]| {
    // PassThrough hands the bytes to every random decision of the strategies, so
    // libFuzzer's coverage-guided mutations steer op, attributes, shapes and values.
    let rng = TestRng::from_seed(RngAlgorithm::PassThrough, bytes);
    let mut runner = TestRunner::new_with_rng(Config::default(), rng);
    let Ok(tree) = strategy::case(&[], &[], Regime::Edge).new_tree(&mut runner) else { return };
    let case = tree.current();
    let runtimes: Vec<_> = ["ort", "tract", "reference"]
        .iter()
        .map(|n| sysnoise::registry::build(n).unwrap_or_else(|e| panic!("{e}")))
        .collect();
    for other in &runtimes[..2] {
        if let Err(divergence) = strategy::check_agree(&**other, &*runtimes[2], &case, &Default::default()) {
            panic!("divergence: {divergence}\n{case:?}");
        }
    }
});
