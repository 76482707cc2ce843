//! The one place that names concrete runtimes: their names, descriptions and constructors.

use sysnoise_boundary::{Runtime, RuntimeError};
use sysnoise_chaos::{ChaosRuntime, Misbehaviour};
use sysnoise_ort::{CudaOptions, OptLevel, OrtOptions, OrtRuntime, Provider, TensorRtOptions, TrtPrecision};
use sysnoise_reference::Reference;
use sysnoise_tract::{TractMode, TractRuntime};

use crate::error::EngineError;

/// A runtime sysnoise can build by name.
#[derive(Clone, Copy, Debug)]
pub struct RuntimeInfo {
    pub name: &'static str,
    pub description: &'static str,
    /// Part of the default selection (`--runtimes` omitted).
    pub default: bool,
    /// Only for sysnoise's own crash-safety tests; hidden from `sysnoise runtimes`.
    pub test_only: bool,
}

/// The runtimes that run on ONNX Runtime's CPU kernels (MLAS), whose int8 arithmetic depends on
/// the CPU's instructions (`sysnoise_ort::u8s8_accumulation`).
pub fn runs_ort_cpu_kernels(name: &str) -> bool {
    matches!(name, "ort" | "ort-O0" | "ort-O1" | "ort-O2" | "ort-mt")
}

/// Every runtime name `--runtimes` accepts, defaults first.
pub const RUNTIMES: &[RuntimeInfo] = &[
    RuntimeInfo {
        name: "ort",
        description: "ONNX Runtime, CPU, all graph optimisations, 1 thread",
        default: true,
        test_only: false,
    },
    RuntimeInfo {
        name: "tract",
        description: "tract-onnx, optimised plan",
        default: true,
        test_only: false,
    },
    RuntimeInfo {
        name: "reference",
        description: "sysnoise's f64 interpreter (the oracle)",
        default: true,
        test_only: false,
    },
    RuntimeInfo {
        name: "emulated-ort-avx2",
        description: "ORT's CPU int8 on AVX2 / AVX-512BW without VNNI (pairs saturate), emulated",
        default: false,
        test_only: false,
    },
    RuntimeInfo {
        name: "emulated-ort-vnni",
        description: "ORT's CPU int8 with VNNI / AMX / on aarch64 (exact int32), emulated",
        default: false,
        test_only: false,
    },
    RuntimeInfo {
        name: "ort-O0",
        description: "ONNX Runtime with graph optimisations disabled",
        default: false,
        test_only: false,
    },
    RuntimeInfo {
        name: "ort-O1",
        description: "ONNX Runtime, basic optimisations only",
        default: false,
        test_only: false,
    },
    RuntimeInfo {
        name: "ort-O2",
        description: "ONNX Runtime, extended optimisations",
        default: false,
        test_only: false,
    },
    RuntimeInfo {
        name: "ort-mt",
        description: "ONNX Runtime, all optimisations, 4 intra-op threads",
        default: false,
        test_only: false,
    },
    RuntimeInfo {
        name: "ort-cuda",
        description: "ONNX Runtime, CUDA execution provider, device 0, TF32 off [feature cuda]",
        default: false,
        test_only: false,
    },
    RuntimeInfo {
        name: "ort-cuda-tf32",
        description: "ONNX Runtime, CUDA execution provider, TF32 allowed (ORT's default; needs NVIDIA_TF32_OVERRIDE=1) [feature cuda]",
        default: false,
        test_only: false,
    },
    RuntimeInfo {
        name: "ort-trt",
        description: "ONNX Runtime, TensorRT execution provider (CUDA for the rest), FP32, TF32 off [feature tensorrt]",
        default: false,
        test_only: false,
    },
    RuntimeInfo {
        name: "ort-trt-tf32",
        description: "ONNX Runtime, TensorRT execution provider, FP32 with TF32 allowed (TensorRT's default; needs NVIDIA_TF32_OVERRIDE=1) [feature tensorrt]",
        default: false,
        test_only: false,
    },
    RuntimeInfo {
        name: "ort-trt-fp16",
        description: "ONNX Runtime, TensorRT execution provider, FP16 kernels allowed [feature tensorrt]",
        default: false,
        test_only: false,
    },
    RuntimeInfo {
        name: "ort-trt-int8",
        description: "ONNX Runtime, TensorRT, INT8 kernels allowed: the model's Q/DQ nodes, or dynamic ranges from \
                      $SYSNOISE_TRT_INT8_CALIBRATION_TABLE [feature tensorrt]",
        default: false,
        test_only: false,
    },
    RuntimeInfo {
        name: "tract-const",
        description: "tract with every input but the first made a constant (tract's own harness)",
        default: false,
        test_only: false,
    },
    RuntimeInfo {
        name: "torch",
        description: "LibTorch 2.11 (tch) eager ops, CPU, the model's dtypes (f32), 1 thread [feature torch]",
        default: false,
        test_only: false,
    },
    RuntimeInfo {
        name: "torch-f16",
        description: "LibTorch, CPU, every float tensor in float16 (I/O cast at the edges) [feature torch]",
        default: false,
        test_only: false,
    },
    RuntimeInfo {
        name: "torch-bf16",
        description: "LibTorch, CPU, every float tensor in bfloat16 (I/O cast at the edges) [feature torch]",
        default: false,
        test_only: false,
    },
    RuntimeInfo {
        name: "torch-cuda",
        description: "LibTorch, CUDA device 0, the model's dtypes (f32; cuDNN and cuBLAS without TF32) [feature torch]",
        default: false,
        test_only: false,
    },
    RuntimeInfo {
        name: "torch-cuda-f16",
        description: "LibTorch, CUDA device 0, every float tensor in float16 [feature torch]",
        default: false,
        test_only: false,
    },
    RuntimeInfo {
        name: "torch-cuda-bf16",
        description: "LibTorch, CUDA device 0, every float tensor in bfloat16 [feature torch]",
        default: false,
        test_only: false,
    },
    RuntimeInfo {
        name: "chaos-abort",
        description: "test only: the reference, but aborts the process on models with Abs",
        default: false,
        test_only: true,
    },
    RuntimeInfo {
        name: "chaos-hang",
        description: "test only: the reference, but hangs on models with Abs",
        default: false,
        test_only: true,
    },
    RuntimeInfo {
        name: "chaos-panic",
        description: "test only: the reference, but panics on models with Abs",
        default: false,
        test_only: true,
    },
];

/// The op that makes the test-only chaos runtimes misbehave.
const CHAOS_TRIGGER: &str = "Abs";

/// The environment variable `ort-trt-int8` reads its calibration table's path from.
pub const TRT_INT8_CALIBRATION_TABLE: &str = "SYSNOISE_TRT_INT8_CALIBRATION_TABLE";

/// Builds the runtime called `name`. Unavailable runtimes fail with how to install them.
pub fn build(name: &str) -> Result<Box<dyn Runtime>, EngineError> {
    let ort = |opt_level, intra_threads, provider| -> Result<Box<dyn Runtime>, EngineError> {
        let runtime = OrtRuntime::new(
            name,
            OrtOptions {
                opt_level,
                intra_threads,
                provider,
            },
        )
        .map_err(EngineError::Runtime)?;
        Ok(Box::new(runtime))
    };
    let cuda = |tf32| Provider::Cuda(CudaOptions { device_id: 0, tf32 });
    let tensorrt = |precision, tf32| {
        Provider::TensorRt(TensorRtOptions {
            device_id: 0,
            precision,
            tf32,
        })
    };
    match name {
        "reference" => Ok(Box::new(Reference)),
        "emulated-ort-avx2" | "emulated-ort-vnni" => {
            let (_, accumulation) = crate::noise::ort_int8::RUNTIMES
                .iter()
                .find(|(n, _)| *n == name)
                .expect("listed");
            Ok(Box::new(crate::noise::ort_int8::EmulatedOrtInt8::new(
                name,
                *accumulation,
            )))
        }
        "ort" => ort(OptLevel::All, 1, Provider::Cpu),
        "ort-O0" => ort(OptLevel::Disabled, 1, Provider::Cpu),
        "ort-O1" => ort(OptLevel::Basic, 1, Provider::Cpu),
        "ort-O2" => ort(OptLevel::Extended, 1, Provider::Cpu),
        "ort-mt" => ort(OptLevel::All, 4, Provider::Cpu),
        "ort-cuda" => ort(OptLevel::All, 1, cuda(false)),
        "ort-cuda-tf32" => ort(OptLevel::All, 1, cuda(true)),
        "ort-trt" => ort(OptLevel::All, 1, tensorrt(TrtPrecision::Fp32, false)),
        "ort-trt-tf32" => ort(OptLevel::All, 1, tensorrt(TrtPrecision::Fp32, true)),
        "ort-trt-fp16" => ort(OptLevel::All, 1, tensorrt(TrtPrecision::Fp16, false)),
        "ort-trt-int8" => {
            let calibration_table = std::env::var_os(TRT_INT8_CALIBRATION_TABLE).map(std::path::PathBuf::from);
            ort(
                OptLevel::All,
                1,
                tensorrt(TrtPrecision::Int8 { calibration_table }, false),
            )
        }
        "tract" => Ok(Box::new(TractRuntime::new(name, TractMode::Optimized))),
        "tract-const" => Ok(Box::new(TractRuntime::new(name, TractMode::ConstantParameters))),
        "torch" | "torch-f16" | "torch-bf16" | "torch-cuda" | "torch-cuda-f16" | "torch-cuda-bf16" => torch(name),
        "chaos-abort" => Ok(Box::new(ChaosRuntime::new(name, Misbehaviour::Abort, CHAOS_TRIGGER))),
        "chaos-hang" => Ok(Box::new(ChaosRuntime::new(name, Misbehaviour::Hang, CHAOS_TRIGGER))),
        "chaos-panic" => Ok(Box::new(ChaosRuntime::new(name, Misbehaviour::Panic, CHAOS_TRIGGER))),
        _ => Err(unknown(name)),
    }
}

/// The LibTorch runtimes (cargo feature `torch`).
#[cfg(feature = "torch")]
fn torch(name: &str) -> Result<Box<dyn Runtime>, EngineError> {
    use sysnoise_torch::{Precision, TorchDevice, TorchOptions, TorchRuntime};
    let (device, precision) = match name {
        "torch-f16" => (TorchDevice::Cpu, Precision::F16),
        "torch-bf16" => (TorchDevice::Cpu, Precision::BF16),
        "torch-cuda" => (TorchDevice::Cuda, Precision::Native),
        "torch-cuda-f16" => (TorchDevice::Cuda, Precision::F16),
        "torch-cuda-bf16" => (TorchDevice::Cuda, Precision::BF16),
        _ => (TorchDevice::Cpu, Precision::Native),
    };
    let runtime = TorchRuntime::new(name, TorchOptions { device, precision }).map_err(EngineError::Runtime)?;
    Ok(Box::new(runtime))
}

/// Without the `torch` feature the LibTorch runtimes exist by name only, and say how to get them.
#[cfg(not(feature = "torch"))]
fn torch(name: &str) -> Result<Box<dyn Runtime>, EngineError> {
    Err(EngineError::Runtime(RuntimeError::Unavailable {
        runtime: name.to_string(),
        reason: "this sysnoise was built without the `torch` cargo feature".to_string(),
        install: "scripts/setup_libtorch.sh (installs LibTorch 2.11.0 from PyPI and prints LIBTORCH=...), then \
                  LIBTORCH=<printed dir> LIBTORCH_CXX11_ABI=1 cargo build --features torch"
            .to_string(),
    }))
}

fn unknown(name: &str) -> EngineError {
    let known: Vec<&str> = RUNTIMES.iter().map(|r| r.name).collect();
    EngineError::Usage(format!("unknown runtime '{name}' (known: {})", known.join(", ")))
}

/// Resolves a `--runtimes` value: `a,b` selects exactly these; `-a,-b` all defaults but these;
/// `None` the defaults.
pub fn select(spec: Option<&str>) -> Result<Vec<String>, EngineError> {
    let defaults = || {
        RUNTIMES
            .iter()
            .filter(|r| r.default)
            .map(|r| r.name.to_string())
            .collect::<Vec<_>>()
    };
    let Some(spec) = spec.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(defaults());
    };
    let items: Vec<&str> = spec.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
    for item in &items {
        let name = item.trim_start_matches('-');
        if !RUNTIMES.iter().any(|r| r.name == name) {
            return Err(unknown(name));
        }
    }
    let excluded: Vec<&str> = items.iter().filter_map(|i| i.strip_prefix('-')).collect();
    let included: Vec<&str> = items.iter().copied().filter(|i| !i.starts_with('-')).collect();
    if !excluded.is_empty() && !included.is_empty() {
        return Err(EngineError::Usage(format!(
            "--runtimes '{spec}' mixes selections and exclusions: use either 'a,b' or '-a,-b'"
        )));
    }
    let mut chosen: Vec<String> = if included.is_empty() {
        defaults()
            .into_iter()
            .filter(|n| !excluded.contains(&n.as_str()))
            .collect()
    } else {
        included.iter().map(|s| s.to_string()).collect()
    };
    chosen.dedup();
    if chosen.is_empty() {
        return Err(EngineError::Usage(format!("--runtimes '{spec}' selects no runtime")));
    }
    Ok(chosen)
}

/// True when the error says the runtime cannot be used on this machine at all.
pub fn is_unavailable(error: &RuntimeError) -> bool {
    matches!(error, RuntimeError::Unavailable { .. })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The ORT CPU runtimes are exactly the registered `ort*` runtimes that are not GPU ones.
    #[test]
    fn ort_cpu_runtimes_are_the_registered_non_gpu_ort_runtimes() {
        let cpu: Vec<&str> = RUNTIMES
            .iter()
            .map(|r| r.name)
            .filter(|n| n.starts_with("ort") && !n.starts_with("ort-cuda") && !n.starts_with("ort-trt"))
            .collect();
        let flagged: Vec<&str> = RUNTIMES
            .iter()
            .map(|r| r.name)
            .filter(|n| runs_ort_cpu_kernels(n))
            .collect();
        assert_eq!(flagged, cpu);
    }

    #[test]
    fn selection_syntax() {
        assert_eq!(select(None).unwrap(), ["ort", "tract", "reference"]);
        assert_eq!(select(Some("-tract")).unwrap(), ["ort", "reference"]);
        assert_eq!(select(Some("ort,ort-O0")).unwrap(), ["ort", "ort-O0"]);
        assert!(select(Some("ort,-tract")).is_err());
        let err = select(Some("onnxruntime")).unwrap_err().to_string();
        assert!(
            err.contains("unknown runtime 'onnxruntime'") && err.contains("tract-const"),
            "{err}"
        );
    }

    /// Without a GPU (CI), every GPU runtime is unavailable and says why and how to get it; built
    /// without the features, the reason names the missing feature.
    #[test]
    fn gpu_runtimes_are_unavailable_with_the_reason_on_machines_without_a_gpu() {
        if std::path::Path::new("/dev/nvidiactl").exists() {
            return; // a GPU machine: scripts/gpu_check.sh checks the GPU runtimes there
        }
        let gpu = [
            "ort-cuda",
            "ort-cuda-tf32",
            "ort-trt",
            "ort-trt-tf32",
            "ort-trt-fp16",
            "ort-trt-int8",
        ];
        let registered: Vec<&str> = RUNTIMES
            .iter()
            .map(|r| r.name)
            .filter(|n| n.starts_with("ort-cuda") || n.starts_with("ort-trt"))
            .collect();
        assert_eq!(registered, gpu, "a GPU runtime added or renamed: update this test");
        for name in gpu {
            assert!(RUNTIMES.iter().any(|r| r.name == name && !r.default), "{name}");
            let Err(EngineError::Runtime(e)) = build(name) else {
                panic!("{name} must be unavailable on a machine without a GPU");
            };
            assert!(is_unavailable(&e), "{e}");
            let text = e.to_string();
            assert!(text.contains("scripts/setup_gpu.sh"), "{text}");
            let (feature, built_with) = if name.starts_with("ort-trt") {
                ("tensorrt", cfg!(feature = "tensorrt"))
            } else {
                ("cuda", cfg!(feature = "cuda"))
            };
            if !built_with {
                assert!(
                    text.contains(&format!("without the `{feature}` cargo feature")),
                    "{text}"
                );
            }
        }
    }

    #[cfg(not(feature = "torch"))]
    #[test]
    fn torch_runtimes_without_the_feature_say_how_to_get_them() {
        assert_eq!(select(Some("torch,torch-f16")).unwrap(), ["torch", "torch-f16"]);
        let torch = [
            "torch",
            "torch-f16",
            "torch-bf16",
            "torch-cuda",
            "torch-cuda-f16",
            "torch-cuda-bf16",
        ];
        let registered: Vec<&str> = RUNTIMES
            .iter()
            .map(|r| r.name)
            .filter(|n| n.starts_with("torch"))
            .collect();
        assert_eq!(registered, torch, "a torch runtime added or renamed: update this test");
        for name in torch {
            let Err(EngineError::Runtime(e)) = build(name) else {
                panic!("{name} must be unavailable without the torch feature");
            };
            assert!(is_unavailable(&e), "{e}");
            let text = e.to_string();
            assert!(
                text.contains("scripts/setup_libtorch.sh") && text.contains("--features torch"),
                "{text}"
            );
        }
    }
}
