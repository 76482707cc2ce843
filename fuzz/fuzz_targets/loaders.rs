//! cargo-fuzz target: every parser sysnoise points at user files must return an error, never
//! panic: ONNX models, TensorProto files, .npy arrays, YAML campaigns and tolerance files.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sysnoise::fuzz::Campaign;
use sysnoise::tolerance::ToleranceModel;
use sysnoise_boundary::{Model, tensor_from_pb};

fuzz_target!(|bytes: &[u8]| {
    if let Ok(model) = Model::from_bytes(bytes) {
        let _ = model.inputs();
        let _ = model.outputs();
        let _ = model.initializers();
        let _ = model.with_intermediates_as_outputs().to_bytes();
    }
    let _ = tensor_from_pb(bytes);
    let _ = sysnoise::npy::read_npy(bytes, "fuzz");
    let _ = serde_yaml_ng::from_slice::<Campaign>(bytes);
    let _ = serde_yaml_ng::from_slice::<ToleranceModel>(bytes);
});
