//! The operator catalog generates valid graphs: every op × dtype builds models that the
//! reference and ONNX Runtime both accept and run (a runtime may decline a dtype it lacks).

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, TestRng, TestRunner};
use rand::SeedableRng;
use sysnoise::catalog::catalog;
use sysnoise::registry;
use sysnoise::values::{self, Regime};
use sysnoise_boundary::RuntimeError;

#[test]
fn generated_cases_are_valid_on_the_reference_and_ort() {
    let reference = registry::build("reference").unwrap();
    let ort = registry::build("ort").unwrap_or_else(|e| panic!("{e}"));
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::deterministic_rng(proptest::test_runner::RngAlgorithm::ChaCha),
    );
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let mut problems = Vec::new();
    let specs = catalog();
    assert!(specs.len() >= 30, "catalog has {} ops", specs.len());
    for spec in &specs {
        for &dtype in spec.dtypes {
            for _ in 0..8 {
                let case = (spec.strategy)(dtype).new_tree(&mut runner).unwrap().current();
                let (inputs, weights) = values::for_case(&case, &mut rng, Regime::Typical);
                let model = case.model(&weights);
                for rt in [&reference, &ort] {
                    match rt.prepare(&model).and_then(|mut s| s.run(&inputs)) {
                        Ok(_) => {}
                        Err(RuntimeError::Unsupported { .. }) if rt.name() == "ort" => {}
                        Err(e) => problems.push(format!("{}: {} {e}", case.describe(), rt.name())),
                    }
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} invalid cases:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
