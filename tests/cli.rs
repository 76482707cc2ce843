//! The `sysnoise` binary as a user meets it: exit codes, one-line errors, JSON, help.

use crate::common::{reverse_rnn_model, stderr, stdout, sysnoise};

fn write_model(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("reverse_rnn.onnx");
    std::fs::write(&path, reverse_rnn_model().to_bytes()).unwrap();
    path
}

/// Exit code 2 with a single-line `error: ...` on stderr containing `needle`, and no panic.
fn assert_usage_error(args: &[&str], needle: &str) {
    let out = sysnoise(args);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    assert!(err.contains(needle), "{args:?}: {err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn builtin_model_agrees_with_exit_0() {
    let out = sysnoise(&["compare", "builtin:cnn"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("verdict: agree: 3 runtimes match reference"), "{text}");
    assert!(text.contains("seed 0"));
}

/// One runtime's outputs agree with nothing: `inconclusive`, exit 3, in text and JSON; without
/// the reference the vote says it had no oracle.
#[test]
fn a_single_runtime_is_inconclusive_and_a_vote_without_the_oracle_says_so() {
    let out = sysnoise(&["compare", "builtin:cnn", "-r", "ort"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("verdict: INCONCLUSIVE: only ort produced outputs"),
        "{text}"
    );
    let out = sysnoise(&["compare", "builtin:cnn", "-r", "ort", "--json"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["verdict"], "inconclusive");
    let note = json["vote_note"].as_str().unwrap();
    assert!(note.contains("only ort produced outputs"), "{note}");
    let out = sysnoise(&["compare", "builtin:cnn", "-r", "ort,tract", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["verdict"], "agree");
    let note = json["vote_note"].as_str().unwrap();
    assert!(note.contains("majority vote of ort, tract"), "{note}");
}

/// `bench models` measures each runtime on a model in a process of its own and says how each
/// run went; figures are printed, never asserted.
#[test]
fn bench_models_measures_each_runtime_in_its_own_process() {
    let model = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/fmnist_cnn.onnx");
    let out = sysnoise(&[
        "bench",
        "models",
        "-r",
        "ort,reference",
        "--model",
        model.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = json["models"].as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["model"], "fmnist_cnn.onnx");
    let measured: Vec<(&str, &str)> = rows[0]["measurements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["runtime"].as_str().unwrap(), m["status"].as_str().unwrap()))
        .collect();
    assert_eq!(measured, [("ort", "ran"), ("reference", "ran")]);
    assert!(json["machine"]["cpu"].is_string(), "{}", json["machine"]);
}

/// The precision probe: f32 runtimes agree on it; in bf16 (LibTorch) its 512-term dot products
/// are far outside the f32 tolerance, and the JSON says by how much.
#[test]
fn builtin_matmul_agrees_in_f32_and_bf16_diverges() {
    let out = sysnoise(&["compare", "builtin:matmul"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    if cfg!(feature = "torch") {
        let out = sysnoise(&[
            "compare",
            "builtin:matmul",
            "-r",
            "torch,torch-bf16,reference",
            "--json",
        ]);
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
        assert_eq!(report["diverging_runtimes"], serde_json::json!(["torch-bf16"]));
        let metrics = &report["outputs"][0]["metrics"];
        // Absolute errors: some of the 512-term sums cancel to nearly 0, where relative ones explode.
        let abs = |name: &str| metrics[name]["max_abs"].as_f64().unwrap();
        assert!(abs("torch") < 1e-5, "torch (f32) max abs {}", abs("torch"));
        assert!(abs("torch-bf16") > 1e-3, "torch-bf16 max abs {}", abs("torch-bf16"));
    }
}

/// `runtimes --json` names the machine's CPU and ISA and lists every runtime with its state;
/// each is checked in its own process, and one without its library or device says why and how
/// to get it.
#[test]
fn runtimes_json_says_which_runtime_works_here_and_why_not() {
    let out = sysnoise(&["runtimes", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let listing: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let cpu = sysnoise_boundary::Cpu::here();
    assert_eq!(listing["machine"]["cpu"], cpu.model.as_str());
    assert_eq!(listing["machine"]["isa"], serde_json::json!(cpu.present()));
    assert_eq!(listing["machine"]["isa_missing"], serde_json::json!(cpu.absent()));
    let int8 = sysnoise_ort::u8s8_accumulation(cpu).describe();
    assert_eq!(listing["machine"]["ort_int8"], int8);
    let rows = listing["runtimes"].as_array().unwrap();
    for name in ["emulated-ort-avx2", "emulated-ort-vnni"] {
        assert!(rows.iter().any(|r| r["name"] == name), "{name} missing");
    }
    let state = |name: &str| {
        rows.iter()
            .find(|r| r["name"] == name)
            .unwrap_or_else(|| panic!("{name} missing"))["availability"]
            .clone()
    };
    for name in ["ort", "tract", "reference"] {
        assert_eq!(state(name)["state"], "available", "{name}: {}", state(name));
    }
    assert!(rows.iter().all(|r| !r["name"].as_str().unwrap().starts_with("chaos")));
    if !std::path::Path::new("/dev/nvidiactl").exists() {
        for name in ["ort-cuda", "ort-trt", "torch-cuda"] {
            let s = state(name);
            assert_eq!(s["state"], "unavailable", "{name}: {s}");
            assert!(
                s["install"].as_str().unwrap().contains("setup_gpu.sh")
                    || s["install"].as_str().unwrap().contains("--features torch"),
                "{name}: {s}"
            );
        }
    }
}

#[test]
fn divergence_exits_1_and_json_names_the_culprit() {
    let dir = tempfile::tempdir().unwrap();
    let model = write_model(dir.path());
    let out = sysnoise(&[
        "compare",
        model.to_str().unwrap(),
        "--per-node",
        "--json",
        "--seed",
        "3",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["verdict"], "diverge");
    assert_eq!(json["diverging_runtimes"], serde_json::json!(["tract"]));
    assert_eq!(json["culprit"]["node"], "rnn_reverse");
    assert_eq!(json["culprit"]["op_type"], "RNN");
    assert_eq!(json["culprit"]["runtimes"], serde_json::json!(["tract"]));
    assert_eq!(json["seed"], 3);
    // Excluding tract leaves agreeing runtimes.
    let out = sysnoise(&["compare", model.to_str().unwrap(), "--runtimes", "-tract"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
}

#[test]
fn inputs_from_npy_and_pb_directories_are_checked_against_the_model() {
    let dir = tempfile::tempdir().unwrap();
    let model = write_model(dir.path());
    let model = model.to_str().unwrap();
    let x = sysnoise_boundary::Tensor::zeros(sysnoise_boundary::DType::F32, &[4, 1, 3]);
    let npy = dir.path().join("x.npy");
    std::fs::write(&npy, sysnoise::npy::to_npy_bytes(&x).unwrap()).unwrap();
    let out = sysnoise(&[
        "compare",
        model,
        "--runtimes",
        "ort,reference",
        "--inputs",
        &format!("x={}", npy.display()),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let pb_dir = dir.path().join("data");
    std::fs::create_dir(&pb_dir).unwrap();
    std::fs::write(
        pb_dir.join("input_0.pb"),
        prost::Message::encode_to_vec(&x.to_proto("x")),
    )
    .unwrap();
    let out = sysnoise(&[
        "compare",
        model,
        "--runtimes",
        "ort,reference",
        "--inputs",
        pb_dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    let wrong = dir.path().join("wrong.npy");
    let zeros = sysnoise_boundary::Tensor::zeros(sysnoise_boundary::DType::F32, &[2, 3]);
    std::fs::write(&wrong, sysnoise::npy::to_npy_bytes(&zeros).unwrap()).unwrap();
    assert_usage_error(
        &["compare", model, "--inputs", &format!("x={}", wrong.display())],
        "input 'x' has shape [2, 3] but the model declares [4, 1, 3]",
    );
    assert_usage_error(
        &["compare", model, "--inputs", &format!("y={}", npy.display())],
        "input 'y' is not an input of the model (inputs: x)",
    );
}

#[test]
fn bad_models_and_options_exit_2_with_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let model = write_model(dir.path());
    let bytes = std::fs::read(&model).unwrap();
    let truncated = dir.path().join("truncated.onnx");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    assert_usage_error(
        &["compare", truncated.to_str().unwrap()],
        "truncated.onnx: not a valid ONNX model",
    );
    assert_usage_error(
        &["compare", "/nonexistent/model.onnx"],
        "cannot read /nonexistent/model.onnx",
    );
    assert_usage_error(
        &["compare", "builtin:cnn", "--runtimes", "onnxruntime"],
        "unknown runtime 'onnxruntime'",
    );
    assert_usage_error(&["compare", "builtin:nope"], "unknown built-in model 'nope'");
    assert_usage_error(&["compare", "builtin:cnn", "--tol", "speed:3"], "unknown key 'speed'");
    for args in [
        vec!["compare", truncated.to_str().unwrap()],
        vec!["compare", "builtin:cnn", "-r", "bogus"],
    ] {
        let err = stderr(&sysnoise(&args));
        assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    }
}

#[test]
fn a_missing_onnx_runtime_fails_loudly_with_install_instructions() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sysnoise"))
        .args(["compare", "builtin:cnn"])
        .env("ORT_DYLIB_PATH", "/nonexistent/libonnxruntime.so")
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("ort is not available") && err.contains("scripts/setup.sh"),
        "{err}"
    );
}

#[test]
fn help_teaches_the_commands() {
    let text = stdout(&sysnoise(&["compare", "--help"]));
    for needle in ["--runtimes", "--per-node", "--json", "--tol", "builtin:cnn", "Examples"] {
        assert!(text.contains(needle), "missing {needle} in help:\n{text}");
    }
}

/// The project's Python (made by scripts/setup.sh), to write inputs with numpy itself.
fn project_python() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python")
}

#[test]
fn inputs_written_by_numpy_savez_and_polygraphy_json_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let model = write_model(dir.path());
    let script = r#"
import base64, io, json, sys
import numpy as np
x = (np.arange(12, dtype=np.float32).reshape(4, 1, 3) / 10.0)
np.savez(sys.argv[1], x=x)
buf = io.BytesIO(); np.save(buf, x, allow_pickle=False)
json.dump([{"x": {"array": base64.b64encode(buf.getvalue()).decode(), "polygraphy_class": "ndarray"}}], open(sys.argv[2], "w"))
"#;
    let npz = dir.path().join("inputs.npz");
    let json = dir.path().join("inputs.json");
    let status = std::process::Command::new(project_python())
        .args(["-c", script, npz.to_str().unwrap(), json.to_str().unwrap()])
        .status()
        .expect("the project's Python (run scripts/setup.sh)");
    assert!(status.success());
    let mut reports = Vec::new();
    for file in [&npz, &json] {
        let out = sysnoise(&[
            "compare",
            model.to_str().unwrap(),
            "-r",
            "ort,reference",
            "--json",
            "--inputs",
            file.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report["verdict"], "agree");
        reports.push(report["outputs"][0]["metrics"]["ort"]["max_abs"].clone());
    }
    assert_eq!(reports[0], reports[1], "the same values through both formats");
}
