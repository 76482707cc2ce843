//! Inference-noise rewrites on the built-in CNN, run on the real runtimes: every rewritten model
//! stays valid, runtimes still agree with the reference on it, and the rewrite changes the
//! model's outputs (the noise it stands for).

use sysnoise::noise::rewrite::{Rewrite, apply};
use sysnoise_boundary::{DType, NamedTensors};

fn run(runtime: &str, model: &sysnoise_boundary::Model, inputs: &NamedTensors) -> Vec<f64> {
    let rt = sysnoise::registry::build(runtime).unwrap_or_else(|e| panic!("{e}"));
    let outputs = rt
        .prepare(model)
        .and_then(|mut s| s.run(inputs))
        .unwrap_or_else(|e| panic!("{runtime}: {e}"));
    outputs[0].1.to_f64_vec()
}

/// The value of the output of the first `op_type` node (all intermediates exposed).
fn node_output(runtime: &str, model: &sysnoise_boundary::Model, inputs: &NamedTensors, op_type: &str) -> Vec<f64> {
    let name = model
        .graph()
        .node
        .iter()
        .find(|n| n.op_type == op_type)
        .map(|n| n.output[0].clone())
        .unwrap();
    let rt = sysnoise::registry::build(runtime).unwrap_or_else(|e| panic!("{e}"));
    let values = rt
        .prepare_with_intermediates(model)
        .and_then(|mut s| s.run(inputs))
        .unwrap_or_else(|e| panic!("{runtime}: {e}"));
    values.into_iter().find(|(n, _)| *n == name).unwrap().1.to_f64_vec()
}

fn max_abs(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max)
}

fn image() -> NamedTensors {
    let model = sysnoise::demo::small_cnn();
    sysnoise::inputs::generate(&model, 3, &Default::default()).unwrap()
}

#[test]
fn structural_rewrites_change_outputs_and_runtimes_still_agree() {
    let model = sysnoise::demo::small_cnn();
    let inputs = image();
    // The rewritten node's own output changes (the CNN's GlobalAveragePool then averages a
    // 2x half-pixel upsampling back to the same mean, so the Resize swap is measured there).
    for (rewrite, op) in [(Rewrite::CeilModeFlip, "MaxPool"), (Rewrite::ResizeModeSwap, "Resize")] {
        let (rewritten, report) = apply(&model, rewrite).unwrap();
        assert!(report.changes > 0, "{rewrite:?}");
        let before = node_output("reference", &model, &inputs, op);
        let after = node_output("reference", &rewritten, &inputs, op);
        assert!(
            before.len() != after.len() || max_abs(&before, &after) > 1e-6,
            "{rewrite:?} changed nothing"
        );
        let reference = run("reference", &rewritten, &inputs);
        for runtime in ["ort", "tract"] {
            let got = run(runtime, &rewritten, &inputs);
            assert!(max_abs(&got, &reference) < 1e-4, "{runtime} on {rewrite:?}");
        }
    }
}

#[test]
fn fp16_keeps_the_model_close_with_or_without_float_io() {
    let model = sysnoise::demo::small_cnn();
    let inputs = image();
    let original = run("reference", &model, &inputs);
    let (keep_io, report) = apply(&model, Rewrite::Fp16 { keep_io_float: true }).unwrap();
    assert!(report.changes >= 5, "{report:?}");
    // ORT computes in f16: close to the float model, but not equal. (tract refuses f16 Gemm:
    // "Output mismatch after rewiring expansion", a divergence the fuzzer also finds.)
    let ort = run("ort", &keep_io, &inputs);
    let error = max_abs(&ort, &original);
    assert!(error > 0.0 && error < 2e-2, "ort fp16 vs fp32: {error}");
    let (half_io, _) = apply(&model, Rewrite::Fp16 { keep_io_float: false }).unwrap();
    assert_eq!(half_io.inputs()[0].dtype, Some(DType::F16));
    let half_inputs: NamedTensors = inputs.iter().map(|(n, t)| (n.clone(), t.cast(DType::F16))).collect();
    let reference = run("reference", &half_io, &half_inputs);
    assert!(max_abs(&reference, &original) < 2e-2);
}
