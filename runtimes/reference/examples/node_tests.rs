//! Developer tool: runs the ONNX backend node tests on the reference interpreter alone.
//!
//! `cargo run -p sysnoise-reference --example node_tests -- [SUBSTRING...]`
//! (cases from `$SYSNOISE_NODE_TESTS`, else the cache that `scripts/setup.sh` fills). The full
//! harness, with xfail lists and every runtime, is `sysnoise conformance`.

use std::path::{Path, PathBuf};

use sysnoise_boundary::{Model, Runtime, Tensor, tensor_from_pb};
use sysnoise_reference::Reference;

fn cases_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("SYSNOISE_NODE_TESTS") {
        return dir.into();
    }
    let home = std::env::var("HOME").expect("HOME");
    Path::new(&home).join(".cache/sysnoise/onnx-node-tests/onnx-1.23.2")
}

fn close(actual: &Tensor, expected: &Tensor) -> Result<(), String> {
    if actual.dtype() != expected.dtype() || actual.shape() != expected.shape() {
        return Err(format!(
            "got {} {:?}, expected {} {:?}",
            actual.dtype(),
            actual.shape(),
            expected.dtype(),
            expected.shape()
        ));
    }
    let (a, e) = (actual.to_f64_vec(), expected.to_f64_vec());
    let (rtol, atol) = if expected.dtype().is_float() {
        (1e-3, 1e-7)
    } else {
        (0.0, 0.0)
    };
    for (i, (x, y)) in a.iter().zip(&e).enumerate() {
        let ok = (x.is_nan() && y.is_nan()) || x == y || (x - y).abs() <= atol + rtol * y.abs();
        if !ok {
            return Err(format!("element {i}: got {x}, expected {y}"));
        }
    }
    Ok(())
}

fn run_case(dir: &Path) -> Result<Option<()>, String> {
    let model = Model::load(&dir.join("model.onnx")).map_err(|e| e.to_string())?;
    let mut session = match Reference.prepare(&model) {
        Ok(s) => s,
        Err(e) if e.is_unsupported() => return Ok(None),
        Err(e) => return Err(e.to_string()),
    };
    let inputs: Vec<String> = model.inputs().iter().map(|i| i.name.clone()).collect();
    let mut data_sets: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| e.to_string())?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    data_sets.sort();
    for ds in data_sets {
        let read = |prefix: &str, n: usize| -> Result<Vec<Tensor>, String> {
            (0..n)
                .map(|i| {
                    let bytes = std::fs::read(ds.join(format!("{prefix}_{i}.pb"))).map_err(|e| e.to_string())?;
                    tensor_from_pb(&bytes).map(|(_, t)| t).map_err(|e| e.to_string())
                })
                .collect()
        };
        let feeds: Vec<(String, Tensor)> = inputs.iter().cloned().zip(read("input", inputs.len())?).collect();
        let expected = read("output", model.outputs().len())?;
        let outputs = match session.run(&feeds) {
            Ok(o) => o,
            Err(e) if e.is_unsupported() => return Ok(None),
            Err(e) => return Err(e.to_string()),
        };
        for ((name, got), want) in outputs.iter().zip(&expected) {
            close(got, want).map_err(|m| format!("output '{name}': {m}"))?;
        }
    }
    Ok(Some(()))
}

fn main() {
    let filters: Vec<String> = std::env::args().skip(1).collect();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(cases_dir())
        .expect("node tests not found: run scripts/setup.sh")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("model.onnx").exists())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str()))
        })
        .collect();
    dirs.sort();
    let (mut pass, mut fail, mut unsupported) = (0, 0, 0);
    for dir in &dirs {
        let name = dir.file_name().unwrap().to_string_lossy();
        match run_case(dir) {
            Ok(Some(())) => pass += 1,
            Ok(None) => unsupported += 1,
            Err(e) => {
                fail += 1;
                println!("FAIL {name}: {e}");
            }
        }
    }
    println!("{pass} passed, {fail} failed, {unsupported} unsupported");
}
