//! Fuzz campaigns: crash/hang/panic containment with the test-only chaos runtimes, resume,
//! Ctrl-C, no findings from tolerance noise, and the CLI.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use crate::common::{stderr, sysnoise};
use sysnoise::fuzz::signature::Symptom;
use sysnoise::fuzz::{Campaign, RunOptions, Summary, run};

fn options(out: Option<PathBuf>) -> RunOptions {
    RunOptions {
        worker_exe: PathBuf::from(env!("CARGO_BIN_EXE_sysnoise")),
        jobs: 1,
        batch: sysnoise::fuzz::DEFAULT_BATCH,
        time_limit: None,
        out,
        progress: false,
        stop: Arc::new(AtomicBool::new(false)),
    }
}

fn campaign(runtimes: &[&str], ops: &[&str], cases: u64, seed: u64) -> Campaign {
    Campaign {
        name: "test".into(),
        runtimes: runtimes.iter().map(|s| s.to_string()).collect(),
        ops: ops.iter().map(|s| s.to_string()).collect(),
        dtypes: vec!["f32".into()],
        cases,
        seed,
        timeout_ms: 2_000,
        ..Campaign::default()
    }
}

fn symptoms(summary: &Summary) -> Vec<(String, String, Symptom)> {
    summary
        .findings
        .iter()
        .map(|f| {
            (
                f.signature.op_type.clone(),
                f.signature.runtimes.join("+"),
                f.signature.symptom,
            )
        })
        .collect()
}

#[test]
fn a_runtime_that_aborts_is_a_crash_finding_and_the_campaign_goes_on() {
    let summary = run(
        &campaign(&["reference", "chaos-abort"], &["Abs", "Neg"], 30, 5),
        &options(None),
    )
    .unwrap();
    assert_eq!(summary.cases_run, 30, "every case ran despite the crashes");
    assert_eq!(
        symptoms(&summary),
        [("Abs".to_string(), "chaos-abort".to_string(), Symptom::Crash)]
    );
    let abs = &summary.findings[0];
    assert!(abs.count > 1, "the worker is restarted after each crash: {abs:?}");
    assert!(abs.details["chaos-abort"].contains("SIGABRT"), "{:?}", abs.details);
}

#[test]
fn a_runtime_that_hangs_is_a_hang_finding() {
    let mut c = campaign(&["reference", "chaos-hang"], &["Abs", "Neg"], 6, 5);
    // Long enough that a loaded CI machine does not time the reference out too.
    c.timeout_ms = 1_500;
    let summary = run(&c, &options(None)).unwrap();
    assert_eq!(summary.cases_run, 6);
    assert_eq!(
        symptoms(&summary),
        [("Abs".to_string(), "chaos-hang".to_string(), Symptom::Hang)]
    );
}

#[test]
fn a_runtime_that_panics_is_an_error_finding() {
    let summary = run(
        &campaign(&["reference", "chaos-panic"], &["Abs", "Neg"], 20, 5),
        &options(None),
    )
    .unwrap();
    assert_eq!(
        symptoms(&summary),
        [("Abs".to_string(), "chaos-panic".to_string(), Symptom::ErrorVsSuccess)]
    );
    assert!(summary.findings[0].details["chaos-panic"].contains("deliberate panic"));
}

#[test]
fn tolerance_noise_is_not_a_finding() {
    // f32 ORT against the f64 reference on ops whose results round differently: no finding.
    let ops = [
        "Add", "Sub", "Mul", "Div", "Exp", "Tanh", "Sigmoid", "Sqrt", "Erf", "Softplus",
    ];
    let summary = run(&campaign(&["ort", "reference"], &ops, 400, 11), &options(None)).unwrap();
    assert_eq!(summary.cases_run, 400);
    assert!(summary.findings.is_empty(), "{}", summary.render());
}

#[test]
fn a_campaign_resumes_where_it_stopped_and_writes_reproducers() {
    let dir = tempfile::tempdir().unwrap();
    let ops = ["Abs", "Neg", "Relu"];
    let whole = run(&campaign(&["reference", "chaos-abort"], &ops, 40, 9), &options(None)).unwrap();
    let first = run(
        &campaign(&["reference", "chaos-abort"], &ops, 15, 9),
        &options(Some(dir.path().into())),
    )
    .unwrap();
    assert_eq!(first.cases_run, 15);
    let resumed = run(
        &campaign(&["reference", "chaos-abort"], &ops, 40, 9),
        &options(Some(dir.path().into())),
    )
    .unwrap();
    assert_eq!(resumed.cases_run, 40);
    assert_eq!(
        resumed.findings, whole.findings,
        "resuming gives the same campaign as one run"
    );
    let finding = dir.path().join(&resumed.findings[0].dir);
    for file in ["model.onnx", "finding.json", "inputs/input_0.pb"] {
        assert!(finding.join(file).is_file(), "{file} missing in {}", finding.display());
    }
    // The reproducer replays with `compare` (the reference alone agrees with itself).
    let out = sysnoise(&[
        "compare",
        finding.join("model.onnx").to_str().unwrap(),
        "--inputs",
        finding.join("inputs").to_str().unwrap(),
        "-r",
        "reference,ort",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // A different campaign in the same directory is refused.
    let other = run(
        &campaign(&["reference", "chaos-abort"], &ops, 40, 10),
        &options(Some(dir.path().into())),
    );
    assert!(other.unwrap_err().to_string().contains("holds a different campaign"));
}

#[test]
fn a_stop_request_ends_the_campaign_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let opts = options(Some(dir.path().into()));
    opts.stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let summary = run(&campaign(&["reference", "ort"], &["Relu"], 100, 1), &opts).unwrap();
    assert!(summary.stopped_early);
    assert!(summary.cases_run < 100);
    assert!(dir.path().join("state.json").is_file(), "the state is saved on stop");
}

#[test]
fn the_cli_prints_json_and_exits_1_on_findings() {
    let out = sysnoise(&[
        "fuzz",
        "--runtimes",
        "reference,chaos-panic",
        "--ops",
        "Abs",
        "--dtypes",
        "f32",
        "--cases",
        "5",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["cases_run"], 5);
    assert_eq!(json["findings"][0]["signature"]["symptom"], "error-vs-success");
    assert!(stderr(&out).contains("seed 0"), "the seed is printed");
    let out = sysnoise(&["fuzz", "--ops", "Frobnicate", "--cases", "1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no op or family 'Frobnicate'"));
}

#[test]
fn support_probing_measures_what_each_runtime_runs() {
    let specs = sysnoise::catalog::catalog();
    let reference = sysnoise::registry::build("reference").unwrap();
    let tract = sysnoise::registry::build("tract").unwrap();
    let matrix = sysnoise::support::probe_in_process(&*reference, &specs);
    for spec in &specs {
        for dtype in spec.dtypes {
            assert!(
                matrix.supports(spec.op_type, dtype.name()),
                "the reference runs {} {dtype}",
                spec.op_type
            );
        }
    }
    let tract_matrix = sysnoise::support::probe_in_process(&*tract, &specs);
    assert!(tract_matrix.supports("Conv", "f32"));
    assert!(!tract_matrix.supports("Erf", "f64"), "tract has no f64 Erf kernel");
    let out = sysnoise(&["support", "--runtimes", "reference,tract", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json[1]["runtime"], "tract");
    assert!(json[1]["ops"]["Erf"]["f64"]["declined"].as_u64().unwrap() > 0);
}

#[test]
fn the_finite_regime_searches_values_until_reference_outputs_are_finite() {
    let reference = sysnoise::registry::build("reference").unwrap();
    let non_finite = |regime| {
        let mut c = campaign(&["reference", "ort"], &["Log", "Reciprocal", "Pow"], 100, 3);
        c.regime = regime;
        (0..100)
            .filter(|&i| {
                let case = sysnoise::fuzz::replay(&c, i).unwrap();
                let outputs = reference
                    .prepare(&case.model)
                    .and_then(|mut s| s.run(&case.inputs))
                    .unwrap();
                outputs
                    .iter()
                    .any(|(_, t)| t.to_f64_vec().iter().any(|v| !v.is_finite()))
            })
            .count()
    };
    let typical = non_finite(sysnoise::values::Regime::Typical);
    assert!(
        typical > 10,
        "Log/Reciprocal/Pow of typical values are often NaN/Inf ({typical} of 100)"
    );
    assert_eq!(non_finite(sysnoise::values::Regime::Finite), 0);
}

#[test]
fn generated_multi_op_graphs_are_valid_and_connected() {
    use rand::SeedableRng;
    let campaign = Campaign {
        dtypes: vec!["f32".into()],
        ..Campaign::default()
    };
    let specs = sysnoise::catalog::catalog();
    let pairs = campaign.pairs(&specs).unwrap();
    let reference = sysnoise::registry::build("reference").unwrap();
    let ort = sysnoise::registry::build("ort").unwrap();
    for seed in 0..4 {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let graph = sysnoise::fuzz::graph::generate_graph(&pairs, 20, &mut rng, sysnoise::values::Regime::Typical);
        let nodes = &graph.model.graph().node;
        assert!(nodes.len() >= 15, "seed {seed}: only {} nodes", nodes.len());
        let produced: std::collections::HashSet<&String> = nodes.iter().flat_map(|n| &n.output).collect();
        let edges = nodes
            .iter()
            .flat_map(|n| &n.input)
            .filter(|i| produced.contains(i))
            .count();
        assert!(
            edges * 2 >= nodes.len(),
            "seed {seed}: only {edges} edges between {} nodes",
            nodes.len()
        );
        assert_eq!(graph.cases.len(), nodes.len(), "one catalog case per node");
        reference
            .prepare(&graph.model)
            .and_then(|mut s| s.run(&graph.inputs))
            .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        match ort.prepare(&graph.model).and_then(|mut s| s.run(&graph.inputs)) {
            Ok(_) => {}
            Err(e) if e.is_unsupported() => {}
            Err(e) => panic!("seed {seed}: ORT rejects a generated graph: {e}"),
        }
    }
}

#[test]
fn finite_graphs_keep_every_intermediate_finite() {
    use rand::SeedableRng;
    let campaign = Campaign {
        dtypes: vec!["f32".into()],
        ..Campaign::default()
    };
    let specs = sysnoise::catalog::catalog();
    let pairs = campaign.pairs(&specs).unwrap();
    let reference = sysnoise::registry::build("reference").unwrap();
    for seed in 0..3 {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let graph = sysnoise::fuzz::graph::generate_graph(&pairs, 30, &mut rng, sysnoise::values::Regime::Finite);
        let values = sysnoise::pernode::baseline_values(reference.as_ref(), &graph.model, &graph.inputs).unwrap();
        for (name, value) in &values {
            if value.dtype().is_float() {
                assert!(
                    value.to_f64_vec().iter().all(|v| v.is_finite()),
                    "seed {seed}: {name} is not finite"
                );
            }
        }
    }
}

#[test]
fn a_graph_divergence_is_attributed_to_the_node_that_diverges_alone() {
    // chaos-panic panics on any model with an Abs node: in a graph, the whole-graph run fails,
    // and attribution must name the Abs node (not the graph), with that node alone as the
    // reproducer and the whole graph kept beside it.
    let dir = tempfile::tempdir().unwrap();
    let mut graphs = campaign(
        &["reference", "chaos-panic"],
        &["Abs", "Relu", "Add", "Mul", "Neg"],
        12,
        3,
    );
    graphs.nodes = 8;
    let summary = run(&graphs, &options(Some(dir.path().to_path_buf()))).unwrap();
    assert_eq!(
        symptoms(&summary),
        vec![("Abs".into(), "chaos-panic".into(), Symptom::ErrorVsSuccess)]
    );
    let finding = &summary.findings[0];
    assert!(finding.culprit_node.is_some(), "{finding:?}");
    assert!(finding.example.contains("of graph of"), "{}", finding.example);
    let found = dir.path().join(&finding.dir);
    let single = sysnoise_boundary::Model::from_bytes(&std::fs::read(found.join("model.onnx")).unwrap()).unwrap();
    assert_eq!(single.graph().node.len(), 1);
    assert_eq!(single.graph().node[0].op_type, "Abs");
    let whole = sysnoise_boundary::Model::from_bytes(&std::fs::read(found.join("graph/model.onnx")).unwrap()).unwrap();
    assert!(whole.graph().node.len() > 1);
}
