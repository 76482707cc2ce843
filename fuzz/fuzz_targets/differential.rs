//! cargo-fuzz target: the fuzzer's bytes seed the op catalog's strategies; a divergence
//! between ONNX Runtime, tract and the reference is a crash (libFuzzer keeps the input).
#![no_main]

use libfuzzer_sys::fuzz_target;
use proptest::strategy::{Strategy, ValueTree};
use sysnoise::strategy;
use sysnoise::values::Regime;

fuzz_target!(|bytes: &[u8]| {
    // The bytes seed every random decision of the catalog's strategies (op, attributes,
    // shapes, values); libFuzzer keeps the inputs whose cases reach new code.
    let mut runner = strategy::runner_from_bytes(bytes);
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
