//! Smoke tests of the ORT adapter against the real ONNX Runtime library (installed by scripts/setup.sh).

use sysnoise_boundary::{Runtime, testkit};
use sysnoise_ort::{OptLevel, OrtOptions, OrtRuntime};

fn runtime(opt_level: OptLevel) -> OrtRuntime {
    OrtRuntime::new(
        "ort",
        OrtOptions {
            opt_level,
            intra_threads: 1,
            ..OrtOptions::default()
        },
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn one_node_graph_runs_at_every_optimisation_level() {
    for level in [OptLevel::Disabled, OptLevel::Basic, OptLevel::Extended, OptLevel::All] {
        testkit::check_one_node_graph(&runtime(level));
    }
    let version = runtime(OptLevel::All).version();
    assert!(version.starts_with("onnxruntime 1."), "{version}");
}

#[test]
fn every_dtype_round_trips_through_identity() {
    testkit::check_dtype_round_trips(&runtime(OptLevel::All), &[]);
}

#[test]
fn intermediates_are_returned() {
    testkit::check_intermediates(&runtime(OptLevel::All));
}

#[test]
fn unknown_ops_are_unsupported() {
    testkit::check_unknown_op_is_unsupported(&runtime(OptLevel::All));
}

/// The GPU providers either really run (on a machine with an NVIDIA GPU) or are unavailable with
/// the reason and how to install them; never an error of another kind, and never a silent
/// fall-back to the CPU (which would pass the one-node check on a machine without a GPU).
#[test]
fn gpu_providers_run_or_say_why_not() {
    use sysnoise_boundary::RuntimeError;
    use sysnoise_ort::{CudaOptions, Provider, TensorRtOptions};
    let has_gpu = std::path::Path::new("/dev/nvidiactl").exists();
    let cpu_wheel = sysnoise_ort::loaded_path()
        .and_then(|p| p.parent())
        .is_some_and(|dir| !dir.join("libonnxruntime_providers_cuda.so").exists());
    let providers = [
        (
            "ort-cuda",
            Provider::Cuda(CudaOptions::default()),
            cfg!(feature = "cuda"),
        ),
        (
            "ort-trt-tf32",
            Provider::TensorRt(TensorRtOptions {
                tf32: true,
                ..Default::default()
            }),
            cfg!(feature = "tensorrt"),
        ),
    ];
    for (name, provider, built_with_feature) in providers {
        let options = OrtOptions {
            provider,
            ..OrtOptions::default()
        };
        match OrtRuntime::new(name, options) {
            Ok(runtime) => {
                assert!(has_gpu, "{name} claims to work on a machine without an NVIDIA GPU");
                testkit::check_one_node_graph(&runtime);
            }
            Err(RuntimeError::Unavailable { reason, install, .. }) => {
                assert!(install.contains("scripts/setup_gpu.sh"), "{install}");
                if !built_with_feature {
                    assert!(reason.contains("cargo feature"), "{name}: {reason}");
                } else if cpu_wheel {
                    assert!(reason.contains("it is the CPU build"), "{name}: {reason}");
                } else {
                    assert!(reason.contains("execution provider"), "{name}: {reason}");
                }
            }
            Err(other) => panic!("{name}: expected unavailable, got {other}"),
        }
    }
}
