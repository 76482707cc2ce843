//! The ONNX node tests on every runtime, against the strict xfail lists in cases/xfail/.

use std::path::PathBuf;

use sysnoise::conformance::{self, ConformanceOptions};
use sysnoise::registry;

#[test]
fn node_tests_pass_on_every_runtime_up_to_the_listed_expected_failures() {
    let mut names = vec!["ort", "tract", "tract-const", "reference"];
    if cfg!(feature = "torch") {
        names.push("torch");
    }
    let runtimes: Vec<_> = names
        .iter()
        .map(|n| registry::build(n).unwrap_or_else(|e| panic!("{e}")))
        .collect();
    let options = ConformanceOptions {
        cases: conformance::default_cases_dir(),
        xfail_dir: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/cases/xfail")),
        filter: None,
        progress: false,
    };
    let result = conformance::run(&runtimes, &options).unwrap_or_else(|e| panic!("{e}"));
    assert!(result.ok(), "{}", conformance::render(&result, false));
    // Floors measured on 2026-11-28 (ONNX 1.23.2, ORT 1.32.0, tract 0.23.9): a drop is a regression.
    let passed = |name: &str| result.runtimes.iter().find(|r| r.name == name).unwrap().passed;
    assert!(result.runnable >= 1773, "runnable {}", result.runnable);
    assert!(passed("ort") >= 1659, "ort {}", passed("ort"));
    assert!(passed("tract") >= 1050, "tract {}", passed("tract"));
    assert!(passed("tract-const") >= 1262, "tract-const {}", passed("tract-const"));
    assert!(passed("reference") >= 1653, "reference {}", passed("reference"));
    if cfg!(feature = "torch") {
        // LibTorch 2.11.0 through tch 0.24.0 (1158 on 2026-11-29).
        assert!(passed("torch") >= 1158, "torch {}", passed("torch"));
        // The adapter's target: at least 90% of the cases whose ops it registers pass (cases it
        // declines for an op it has no kernel for, or another domain, are not its ops).
        let torch = result.runtimes.iter().find(|r| r.name == "torch").unwrap();
        let unregistered = torch
            .unsupported_cases
            .values()
            .filter(|reason| reason.contains("no LibTorch kernel for") || reason.contains("op domain"))
            .count();
        let share = torch.passed as f64 / (torch.runnable - unregistered) as f64;
        assert!(share >= 0.90, "torch passes {:.1}% of its ops' cases", 100.0 * share);
    }
}

#[test]
fn an_expected_failure_that_passes_fails_the_run() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("reference.txt"),
        "test_relu  # pretend Relu is broken\n",
    )
    .unwrap();
    let options = ConformanceOptions {
        cases: conformance::default_cases_dir(),
        xfail_dir: dir.path().to_path_buf(),
        filter: Some("^test_relu$".into()),
        progress: false,
    };
    let result = conformance::run(&[registry::build("reference").unwrap()], &options).unwrap();
    assert_eq!(result.runtimes[0].unexpected_passes, ["test_relu"]);
    assert!(!result.ok());
}
