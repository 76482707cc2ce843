//! `sysnoise reduce`: graphs with one planted real divergence (ORT's Resize align_corners with a
//! fractional output length) in a deep chain, a side branch and behind Reshape/Concat reduce to
//! that node; bundles reproduce on their own (repro.py, the Rust check) and are deterministic.

use crate::common;

use std::path::{Path, PathBuf};

use crate::common::{stdout, sysnoise};
use sysnoise::fuzz::signature::Symptom;
use sysnoise::reduce::planted::{Placement, planted};
use sysnoise::reduce::{Outcome, ReduceOptions, Reduced, bundle, reduce};
use sysnoise::tolerance::ToleranceModel;

fn options() -> ReduceOptions {
    ReduceOptions {
        runtimes: vec!["ort".into(), "reference".into()],
        tolerances: ToleranceModel::default(),
        timeout: std::time::Duration::from_secs(20),
        worker_exe: PathBuf::from(env!("CARGO_BIN_EXE_sysnoise")),
        max_evaluations: 5_000,
    }
}

fn reduced(placement: Placement) -> Box<Reduced> {
    let (model, inputs) = planted(placement, 30, 1);
    match reduce(&model, &inputs, &options()).unwrap() {
        Outcome::Reduced(r) => r,
        Outcome::Clean => panic!("{}: the planted ORT divergence did not show", placement.name()),
    }
}

/// report.md without the machine line (CPU names differ between machines).
fn portable(report_md: &str) -> String {
    report_md
        .lines()
        .filter(|l| !l.starts_with("- machine:"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn a_planted_divergence_reduces_to_its_node_wherever_it_sits() {
    for placement in Placement::ALL {
        let r = reduced(placement);
        assert_eq!(r.target.op_type, "Resize", "{}", placement.name());
        assert_eq!(r.target.runtimes, vec!["ort".to_string()], "{}", placement.name());
        assert_eq!(r.target.symptom, Symptom::Numeric);
        assert_eq!(r.after.nodes, 1, "{}: {:?}", placement.name(), r.steps);
        assert_eq!(r.model.graph().node[0].op_type, "Resize");
        assert!(r.before.nodes >= 10, "{}", placement.name());
        assert!(
            r.after.input_elements <= r.before.input_elements,
            "{}: the reduced inputs grew",
            placement.name()
        );
        let dir = tempfile::tempdir().unwrap();
        let bundle_dir = dir.path().join(placement.name());
        bundle::write(
            &bundle_dir,
            &r,
            &ToleranceModel::default(),
            &options().runtimes,
            "planted.onnx",
        )
        .unwrap();
        let md = std::fs::read_to_string(bundle_dir.join("report.md")).unwrap();
        snapshot!(format!("reduce_{}", placement.name()), portable(&md));
        // The bundle reproduces on its own, in process: the Rust check fails while ORT diverges.
        let failure = bundle::check(&bundle_dir).unwrap_err();
        assert!(failure.contains("ort diverging"), "{failure}");
    }
}

#[test]
fn repro_py_exits_1_while_the_bug_is_present() {
    let r = reduced(Placement::DeepChain);
    let dir = tempfile::tempdir().unwrap();
    bundle::write(
        dir.path(),
        &r,
        &ToleranceModel::default(),
        &options().runtimes,
        "planted.onnx",
    )
    .unwrap();
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("report.json")).unwrap()).unwrap();
    let output = report["outputs"][0]["name"].as_str().unwrap().to_string();
    let expected = format!("expected/{}.npy", report["outputs"][0]["file"].as_str().unwrap());
    for file in ["model.onnx", "inputs.npz", &expected, "actual/ort", "repro_test.rs"] {
        assert!(dir.path().join(file).exists(), "bundle lacks {file}");
    }
    let run = std::process::Command::new(common::venv_python())
        .arg(dir.path().join("repro.py"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&run.stdout);
    assert_eq!(
        run.status.code(),
        Some(1),
        "{text}{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(
        text.contains(&format!("ort: output {output} differs from the reference")),
        "{text}"
    );
}

#[test]
fn reductions_are_deterministic() {
    let read_all = |dir: &Path| -> Vec<(String, Vec<u8>)> {
        let mut files: Vec<(String, Vec<u8>)> = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for entry in std::fs::read_dir(&d).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else {
                    let name = path.strip_prefix(dir).unwrap().display().to_string();
                    files.push((name, std::fs::read(&path).unwrap()));
                }
            }
        }
        files.sort();
        files
    };
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    for dir in &dirs {
        let r = reduced(Placement::SideBranch);
        bundle::write(
            &dir.path().join("bundle"),
            &r,
            &ToleranceModel::default(),
            &options().runtimes,
            "planted.onnx",
        )
        .unwrap();
    }
    let a = read_all(&dirs[0].path().join("bundle"));
    let b = read_all(&dirs[1].path().join("bundle"));
    let names = |files: &[(String, Vec<u8>)]| files.iter().map(|f| f.0.clone()).collect::<Vec<_>>();
    assert!(a.len() >= 9, "{:?}", names(&a));
    assert_eq!(names(&a), names(&b));
    for ((name, x), (_, y)) in a.iter().zip(&b) {
        assert!(x == y, "two reductions of the same input wrote different {name}");
    }
}

#[test]
fn a_clean_model_has_nothing_to_reduce() {
    let out = tempfile::tempdir().unwrap();
    let bundle = out.path().join("bundle");
    let run = sysnoise(&[
        "reduce",
        "builtin:cnn",
        "--runtimes",
        "ort,reference",
        "--out",
        bundle.to_str().unwrap(),
    ]);
    assert_eq!(run.status.code(), Some(0), "{}", stdout(&run));
    assert!(stdout(&run).contains("nothing to reduce"), "{}", stdout(&run));
    assert!(!bundle.exists(), "no bundle for a clean model");
}

#[test]
fn the_cli_reduces_a_model_file_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let (model, inputs) = planted(Placement::BehindReshapeConcat, 12, 3);
    std::fs::write(dir.path().join("model.onnx"), model.to_bytes()).unwrap();
    std::fs::create_dir(dir.path().join("inputs")).unwrap();
    sysnoise::inputs::write_pb_dir(&dir.path().join("inputs"), &inputs).unwrap();
    let out = dir.path().join("repro");
    let run = sysnoise(&[
        "reduce",
        dir.path().to_str().unwrap(),
        "--runtimes",
        "ort,reference",
        "--out",
        out.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(run.status.code(), Some(1), "{}", common::stderr(&run));
    let report: serde_json::Value = serde_json::from_str(&stdout(&run)).unwrap();
    assert_eq!(report["op_type"], "Resize");
    assert_eq!(report["nodes_after"], 1);
    assert!(out.join("repro.py").exists());
}
