//! The real-model suite (cases/real_models.yaml): `sysnoise compare --per-node` on every third-party model as a user runs it, verdicts checked for honesty and snapshotted.
//!
//! The models and their inputs are fetched and made by `scripts/setup.sh`
//! (scripts/models/prepare_models.py) into `<cache>/real-models`; a missing one fails with that
//! instruction. Each compare runs in its own `sysnoise` process, as a user's would.

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde::Deserialize;
use serde_json::Value;
use sysnoise_boundary::Model;
use sysnoise_boundary::model::subgraphs;
use sysnoise_boundary::onnx::GraphProto;

use crate::common::sysnoise;

#[derive(Deserialize)]
struct Entry {
    name: String,
    covers: Vec<String>,
}

fn manifest() -> Vec<Entry> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/cases/real_models.yaml");
    let text = std::fs::read_to_string(path).expect("cases/real_models.yaml");
    serde_yaml_ng::from_str(&text).expect("the manifest parses")
}

fn model_dir(name: &str) -> PathBuf {
    sysnoise::conformance::cache_root().join("real-models").join(name)
}

/// True when every node of `graph` and of its subgraphs is in the ai.onnx domain.
fn all_ai_onnx(graph: &GraphProto) -> bool {
    graph
        .node
        .iter()
        .all(|node| (node.domain.is_empty() || node.domain == "ai.onnx") && subgraphs(node).all(all_ai_onnx))
}

/// One runtime's cell: its verdict, and for a failure the node its error names.
fn cell(runtime: &Value) -> String {
    let verdict = runtime["verdict"].as_str().unwrap_or("?");
    match runtime["node"].as_str() {
        Some(node) if verdict != "agree" => format!("{verdict} at {node}"),
        _ => verdict.to_string(),
    }
}

#[test]
fn the_suite_covers_what_real_users_bring() {
    let entries = manifest();
    assert!(entries.len() >= 12, "{} models", entries.len());
    let covered: BTreeSet<&str> = entries
        .iter()
        .flat_map(|e| e.covers.iter().map(String::as_str))
        .collect();
    for needed in [
        "cnn",
        "classifier",
        "detector",
        "symbolic-dims",
        "transformer",
        "rnn",
        "if",
        "loop",
        "int8-dynamic",
        "int8-qdq",
    ] {
        assert!(covered.contains(needed), "no model of the suite covers {needed}");
    }
}

#[test]
fn every_real_model_gets_an_honest_verdict() {
    // Whether rounding sensitivity widened a tolerance depends on how far this CPU's kernels
    // land from the reference (ORT's int8 arithmetic differs with VNNI): printed, not
    // snapshotted.
    let mut rows = vec!["model | verdict | ort | tract | torch | reference | culprit".to_string()];
    for entry in manifest() {
        let dir = model_dir(&entry.name);
        let (model_path, inputs) = (dir.join("model.onnx"), dir.join("inputs.npz"));
        assert!(
            model_path.exists() && inputs.exists(),
            "{}: {} missing: run scripts/setup.sh (it fetches the real-model suite)",
            entry.name,
            dir.display()
        );
        let out = sysnoise(&[
            "compare",
            model_path.to_str().unwrap(),
            "--inputs",
            inputs.to_str().unwrap(),
            "-r",
            "ort,tract,torch,reference",
            "--per-node",
            "--json",
        ]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let report: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{}: no JSON report ({e}); stderr: {stderr}", entry.name));
        let verdict = report["verdict"].as_str().unwrap().to_string();
        let code = out.status.code();
        let expected_code = match verdict.as_str() {
            "agree" => 0,
            "diverge" => 1,
            "inconclusive" => 3,
            other => panic!("{}: verdict {other}", entry.name),
        };
        assert_eq!(
            code,
            Some(expected_code),
            "{}: exit code of '{verdict}'; stderr: {stderr}",
            entry.name
        );
        let runtimes = report["runtimes"].as_array().unwrap();
        let ran = runtimes.iter().filter(|r| r["status"] == "ran").count();
        // Never a vacuous agreement.
        if verdict == "agree" {
            assert!(ran >= 2, "{}: agree with {ran} runtime(s) run", entry.name);
        }
        // The oracle runs every model that stays in the ai.onnx domain.
        let model = Model::load(&model_path).unwrap();
        let reference = runtimes.iter().find(|r| r["name"] == "reference").unwrap();
        if all_ai_onnx(model.graph()) {
            assert_eq!(
                reference["status"], "ran",
                "{}: the reference did not run: {}",
                entry.name, reference["message"]
            );
        }
        // Every divergence names a culprit: a node found per node, or the node a failing
        // runtime's error names.
        let culprit = report["culprit"]["node"].as_str().map(str::to_string);
        if verdict == "diverge" {
            for name in report["diverging_runtimes"].as_array().unwrap() {
                let runtime = runtimes.iter().find(|r| r["name"] == *name).unwrap();
                assert!(
                    culprit.is_some() || runtime["node"].is_string(),
                    "{}: {name} diverges without a culprit: {}",
                    entry.name,
                    report["per_node_note"]
                );
            }
        }
        let cells: Vec<String> = ["ort", "tract", "torch", "reference"]
            .iter()
            .map(|name| runtimes.iter().find(|r| r["name"] == *name).map_or("—".into(), cell))
            .collect();
        if let Some(note) = report["rounding_note"].as_str() {
            eprintln!("{}: {note}", entry.name);
        }
        rows.push(format!(
            "{} | {verdict} | {} | {}",
            entry.name,
            cells.join(" | "),
            culprit.as_deref().unwrap_or("—")
        ));
    }
    snapshot!("real_model_suite", rows.join("\n"));
}
