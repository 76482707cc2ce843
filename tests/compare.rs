//! `compare` on real runtimes: a known real divergence is flagged with the right runtime and
//! node; a clean multi-layer CNN is not flagged; reports are snapshotted (rounded).

use std::collections::HashMap;

use crate::common::{default_runtimes, reverse_rnn_model};
use sysnoise::compare::{CompareOptions, Verdict, compare};
use sysnoise::report::{Precision, render};
use sysnoise::tolerance::ToleranceModel;
use sysnoise::{demo, inputs};

fn options<'a>(tolerances: &'a ToleranceModel, per_node: bool, label: &str, seed: u64) -> CompareOptions<'a> {
    CompareOptions {
        tolerances,
        per_node,
        model_label: label.to_string(),
        inputs_label: format!("generated, seed {seed}"),
        seed: Some(seed),
    }
}

/// The report without its machine line (CPU names differ between machines); the line itself
/// is checked against this machine's CPU.
fn without_machine(text: &str) -> String {
    let cpu = sysnoise_boundary::Cpu::here();
    let line = text
        .lines()
        .find(|l| l.starts_with("machine "))
        .expect("a machine line");
    assert!(line.contains(&cpu.model) && line.contains("ORT int8:"), "{line}");
    text.lines()
        .filter(|l| !l.starts_with("machine "))
        .map(|l| format!("{l}\n"))
        .collect()
}

#[test]
fn a_real_tract_divergence_is_flagged_with_runtime_and_node() {
    let model = reverse_rnn_model();
    let feeds = inputs::generate(&model, 1, &HashMap::new()).unwrap();
    let tol = ToleranceModel::default();
    let report = compare(
        &default_runtimes(),
        &model,
        &feeds,
        &options(&tol, true, "reverse_rnn", 1),
    )
    .unwrap();
    assert!(report.diverges());
    assert_eq!(report.diverging_runtimes, ["tract"]);
    assert_eq!(report.baseline, "reference");
    let verdicts: Vec<(&str, Verdict)> = report.runtimes.iter().map(|r| (r.name.as_str(), r.verdict)).collect();
    assert_eq!(
        verdicts,
        [
            ("ort", Verdict::Agree),
            ("tract", Verdict::Diverge),
            ("reference", Verdict::Agree)
        ]
    );
    let culprit = report.culprit.as_ref().expect("per-node names a culprit");
    assert_eq!(
        (culprit.node.as_str(), culprit.op_type.as_str()),
        ("rnn_reverse", "RNN")
    );
    assert_eq!(culprit.runtimes, ["tract"]);
    assert_eq!(culprit.attributes["direction"], "\"reverse\"");

    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["verdict"], "diverge");
    assert_eq!(json["diverging_runtimes"], serde_json::json!(["tract"]));
    assert_eq!(json["culprit"]["node"], "rnn_reverse");
    assert_eq!(json["culprit"]["op_type"], "RNN");
    assert!(json["outputs"][0]["metrics"]["tract"]["max_abs"].as_f64().unwrap() > 0.01);
    let cpu = sysnoise_boundary::Cpu::here();
    assert_eq!(json["machine"]["cpu"], cpu.model.as_str());
    assert_eq!(json["machine"]["isa"], serde_json::json!(cpu.present()));
    assert!(json.get("isa_notes").is_none(), "no int8 op, no CPU dependence");
    snapshot!(
        "compare_reverse_rnn",
        without_machine(&render(&report, Precision::Decades))
    );
}

#[test]
fn a_clean_multi_layer_cnn_is_not_flagged() {
    let model = demo::small_cnn();
    let tol = ToleranceModel::default();
    let runtimes = default_runtimes();
    for seed in 0..5 {
        let feeds = inputs::generate(&model, seed, &HashMap::new()).unwrap();
        let report = compare(&runtimes, &model, &feeds, &options(&tol, true, "builtin:cnn", seed)).unwrap();
        assert!(
            !report.diverges(),
            "seed {seed}: {}",
            render(&report, Precision::Normal)
        );
        assert!(report.culprit.is_none());
        for (name, m) in &report.outputs[0].metrics {
            assert!(m.max_abs < 1e-5 && m.top1_agreement == Some(1.0), "{name}: {m:?}");
        }
        if seed == 0 {
            snapshot!(
                "compare_builtin_cnn",
                without_machine(&render(&report, Precision::Decades))
            );
        }
    }
}

#[test]
fn noise_beyond_tolerance_is_flagged_and_tolerance_overrides_silence_it() {
    // The same clean CNN with a tolerance far below f32 noise: ORT and tract now "diverge"
    // from the f64 reference; an explicit per-output override restores agreement.
    let model = demo::small_cnn();
    let feeds = inputs::generate(&model, 0, &HashMap::new()).unwrap();
    let mut strict = ToleranceModel::default();
    strict.apply_cli("abs:0,rel:0").unwrap();
    let report = compare(&default_runtimes(), &model, &feeds, &options(&strict, false, "cnn", 0)).unwrap();
    assert!(report.diverges(), "f32 runtimes cannot be bit-exact with an f64 oracle");
    strict.apply_cli("probs=abs:1e-4,rel:1e-3").unwrap();
    let report = compare(&default_runtimes(), &model, &feeds, &options(&strict, false, "cnn", 0)).unwrap();
    assert!(!report.diverges());
}

#[test]
fn without_the_reference_the_majority_decides() {
    let model = reverse_rnn_model();
    let feeds = inputs::generate(&model, 1, &HashMap::new()).unwrap();
    let runtimes: Vec<_> = ["ort", "ort-O0", "tract"]
        .iter()
        .map(|n| sysnoise::registry::build(n).unwrap())
        .collect();
    let tol = ToleranceModel::default();
    let report = compare(&runtimes, &model, &feeds, &options(&tol, true, "reverse_rnn", 1)).unwrap();
    assert_eq!(report.baseline, "ort");
    assert_eq!(report.diverging_runtimes, ["tract"]);
    assert_eq!(report.culprit.as_ref().unwrap().node, "rnn_reverse");
}

/// The `com.microsoft` ops ORT's optimizer writes (Gelu, FastGelu, BiasGelu, QuickGelu,
/// FusedMatMul, SkipLayerNormalization): the reference computes them from ORT's documentation and
/// agrees with ORT's kernels, so ORT-optimised models have an oracle too.
#[test]
fn the_reference_checks_onnx_runtimes_contrib_ops() {
    use sysnoise_boundary::onnx::OperatorSetIdProto;
    use sysnoise_boundary::{DType, GraphBuilder, attr};
    let mut g = GraphBuilder::new("contrib", 17);
    g.input("x", DType::F32, &[1, 4, 8]);
    g.input("skip", DType::F32, &[1, 4, 8]);
    g.input("w", DType::F32, &[8, 8]);
    g.input("bias", DType::F32, &[8]);
    g.input("gamma", DType::F32, &[8]);
    g.input("beta", DType::F32, &[8]);
    g.node("Gelu", "gelu", &["x"], vec![]);
    g.node("FastGelu", "fast", &["gelu", "bias"], vec![]);
    g.node("BiasGelu", "biased", &["fast", "bias"], vec![]);
    g.node("QuickGelu", "quick", &["biased"], vec![attr::float("alpha", 1.5)]);
    g.node(
        "FusedMatMul",
        "fused",
        &["quick", "w"],
        vec![attr::int("transB", 1), attr::float("alpha", 0.5)],
    );
    g.node_with_outputs(
        "SkipLayerNormalization",
        "sln",
        &["fused", "skip", "gamma", "beta", "bias"],
        &["y"],
        vec![attr::float("epsilon", 1e-5)],
    );
    g.output("y", DType::F32);
    let mut proto = g.build().proto().clone();
    for node in &mut proto.graph.as_mut().unwrap().node {
        node.domain = "com.microsoft".into();
    }
    proto.opset_import.push(OperatorSetIdProto {
        domain: "com.microsoft".into(),
        version: 1,
    });
    let model = sysnoise_boundary::Model::from_proto(proto);
    let feeds = inputs::generate(&model, 5, &HashMap::new()).unwrap();
    let runtimes: Vec<_> = ["ort", "reference"]
        .iter()
        .map(|n| sysnoise::registry::build(n).unwrap())
        .collect();
    let tol = ToleranceModel::default();
    let report = compare(&runtimes, &model, &feeds, &options(&tol, false, "contrib", 5)).unwrap();
    let verdicts: Vec<(&str, Verdict)> = report.runtimes.iter().map(|r| (r.name.as_str(), r.verdict)).collect();
    assert_eq!(
        verdicts,
        [("ort", Verdict::Agree), ("reference", Verdict::Agree)],
        "{}",
        render(&report, Precision::Normal)
    );
    assert_eq!(report.baseline, "reference");
}
