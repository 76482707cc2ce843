//! ORT's execution providers (CPU, CUDA, TensorRT) and the options that are SysNoise knobs
//! (device, TensorRT precision, TF32), registered strictly: a provider that cannot be
//! registered makes the runtime unavailable, never a silent fall-back to the CPU. (Within a
//! session, ORT still places the nodes a GPU provider has no kernel for, and some shape
//! computations, on its CPU provider — as it does in deployment.)

use std::path::PathBuf;

use ort::session::builder::SessionBuilder;
use sysnoise_boundary::RuntimeError;

/// How to get the GPU runtimes, shown whenever one is unavailable.
pub const GPU_INSTALL_HINT: &str = "on a machine with an NVIDIA GPU and driver: `export $(scripts/setup_gpu.sh)` \
(onnxruntime-gpu, CUDA 13 and cuDNN 9 from PyPI; sets ORT_DYLIB_PATH and LD_LIBRARY_PATH; for ort-trt* first point \
SYSNOISE_TENSORRT_LIB_DIR at a TensorRT 10 install, which no package registry carries), then build with \
`--features cuda,tensorrt`";

/// Where ONNX Runtime executes the graph.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum Provider {
    /// The CPU execution provider (ORT's default).
    #[default]
    Cpu,
    /// The CUDA execution provider (cargo feature `cuda`).
    Cuda(CudaOptions),
    /// The TensorRT execution provider, with CUDA for the nodes TensorRT declines (cargo
    /// feature `tensorrt`).
    TensorRt(TensorRtOptions),
}

/// CUDA execution provider options.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct CudaOptions {
    pub device_id: i32,
    /// Let cuBLAS/cuDNN use TF32 tensor cores for f32 GEMMs and convolutions (ORT's default is
    /// on; sysnoise's `ort-cuda` turns it off so f32 means f32).
    pub tf32: bool,
}

/// The precisions TensorRT may choose kernels from (besides f32).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum TrtPrecision {
    #[default]
    Fp32,
    /// `trt_fp16_enable`: TensorRT may run layers in f16.
    Fp16,
    /// `trt_int8_enable`: explicit Q/DQ nodes of the model are honoured; for a model without
    /// them, `calibration_table` gives every tensor's dynamic range (a native TensorRT table,
    /// first line `TRT-...`, or ORT's flatbuffers table).
    Int8 { calibration_table: Option<PathBuf> },
}

/// TensorRT execution provider options.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct TensorRtOptions {
    pub device_id: i32,
    pub precision: TrtPrecision,
    /// Let TensorRT pick TF32 kernels for f32 layers (TensorRT's default). ORT has no per-session
    /// switch for it: off needs `NVIDIA_TF32_OVERRIDE=0` for the whole process (checked, see `tf32.rs`).
    pub tf32: bool,
}

impl Provider {
    /// True for the providers that need a GPU.
    pub fn is_gpu(&self) -> bool {
        !matches!(self, Provider::Cpu)
    }

    /// What `version()` adds to ORT's version: the provider, nothing for the CPU.
    pub fn label(&self) -> &'static str {
        match self {
            Provider::Cpu => "",
            Provider::Cuda(_) => ", CUDA execution provider",
            Provider::TensorRt(_) => ", TensorRT execution provider",
        }
    }

    /// Whether TF32 may be used by this provider (`None` on the CPU).
    pub fn tf32(&self) -> Option<bool> {
        match self {
            Provider::Cpu => None,
            Provider::Cuda(options) => Some(options.tf32),
            Provider::TensorRt(options) => Some(options.tf32),
        }
    }

    /// Fails early, with a clear reason, when this build or the loaded ONNX Runtime library
    /// cannot have the provider: a missing cargo feature, or a library without the provider's
    /// plug-in beside it (the CPU wheel `onnxruntime` instead of `onnxruntime-gpu`).
    pub(crate) fn check_library(&self, runtime: &str, library: &std::path::Path) -> Result<(), RuntimeError> {
        let (feature_built, feature, plugins): (bool, &str, &[&str]) = match self {
            Provider::Cpu => return Ok(()),
            Provider::Cuda(_) => (cfg!(feature = "cuda"), "cuda", &["cuda"]),
            Provider::TensorRt(_) => (cfg!(feature = "tensorrt"), "tensorrt", &["tensorrt", "cuda"]),
        };
        if !feature_built {
            return Err(missing_feature(runtime, feature));
        }
        let dir = library.parent().unwrap_or(std::path::Path::new("."));
        for plugin in plugins {
            let file = format!("libonnxruntime_providers_{plugin}.so");
            if !dir.join(&file).exists() {
                return Err(unavailable(
                    runtime,
                    format!(
                        "the ONNX Runtime library {} has no {file} beside it (it is the CPU build; the GPU \
                         providers come with the onnxruntime-gpu wheel)",
                        library.display()
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Adds the provider to `builder`; registration failures are errors (`error_on_failure`).
    pub(crate) fn register(&self, runtime: &str, builder: SessionBuilder) -> Result<SessionBuilder, RuntimeError> {
        match self {
            Provider::Cpu => Ok(builder),
            Provider::Cuda(options) => register_cuda(runtime, builder, options),
            Provider::TensorRt(options) => register_tensorrt(runtime, builder, options),
        }
    }
}

/// The runtime cannot run on this machine or build; `reason` says why.
pub(crate) fn unavailable(runtime: &str, reason: impl Into<String>) -> RuntimeError {
    RuntimeError::Unavailable {
        runtime: runtime.to_string(),
        reason: reason.into(),
        install: GPU_INSTALL_HINT.to_string(),
    }
}

/// The runtime needs a cargo feature this build lacks.
fn missing_feature(runtime: &str, feature: &str) -> RuntimeError {
    unavailable(
        runtime,
        format!("this sysnoise was built without the `{feature}` cargo feature"),
    )
}

#[cfg(feature = "cuda")]
fn cuda_dispatch(device_id: i32, tf32: bool) -> ort::ep::ExecutionProviderDispatch {
    ort::ep::CUDA::default()
        .with_device_id(device_id)
        .with_tf32(tf32)
        .build()
        .error_on_failure()
}

#[cfg(feature = "cuda")]
fn register_cuda(
    runtime: &str,
    builder: SessionBuilder,
    options: &CudaOptions,
) -> Result<SessionBuilder, RuntimeError> {
    builder
        .with_execution_providers([cuda_dispatch(options.device_id, options.tf32)])
        .map_err(|e| {
            unavailable(
                runtime,
                format!("the CUDA execution provider cannot be registered: {e}"),
            )
        })
}

#[cfg(not(feature = "cuda"))]
fn register_cuda(runtime: &str, _: SessionBuilder, _: &CudaOptions) -> Result<SessionBuilder, RuntimeError> {
    Err(missing_feature(runtime, "cuda"))
}

#[cfg(feature = "tensorrt")]
fn register_tensorrt(
    runtime: &str,
    builder: SessionBuilder,
    options: &TensorRtOptions,
) -> Result<SessionBuilder, RuntimeError> {
    let mut tensorrt = ort::ep::TensorRT::default().with_device_id(options.device_id);
    match &options.precision {
        TrtPrecision::Fp32 => {}
        TrtPrecision::Fp16 => tensorrt = tensorrt.with_fp16(true),
        TrtPrecision::Int8 { calibration_table } => {
            tensorrt = tensorrt.with_int8(true);
            if let Some(table) = calibration_table {
                let native = is_native_calibration_table(table).map_err(|e| RuntimeError::Unavailable {
                    runtime: runtime.to_string(),
                    reason: format!("INT8 calibration table {}: {e}", table.display()),
                    install: "point SYSNOISE_TRT_INT8_CALIBRATION_TABLE at a readable TensorRT (TRT-...) or ORT \
                              calibration table, or unset it to use the model's Q/DQ nodes only"
                        .to_string(),
                })?;
                tensorrt = tensorrt
                    .with_int8_calibration_table_name(table.display())
                    .with_int8_use_native_calibration_table(native);
            }
        }
    }
    // Nodes TensorRT declines run on CUDA (same TF32 policy), as ORT recommends.
    let providers = [
        tensorrt.build().error_on_failure(),
        cuda_dispatch(options.device_id, options.tf32),
    ];
    builder.with_execution_providers(providers).map_err(|e| {
        unavailable(
            runtime,
            format!("the TensorRT execution provider cannot be registered: {e}"),
        )
    })
}

#[cfg(not(feature = "tensorrt"))]
fn register_tensorrt(runtime: &str, _: SessionBuilder, _: &TensorRtOptions) -> Result<SessionBuilder, RuntimeError> {
    Err(missing_feature(runtime, "tensorrt"))
}

/// True for a calibration table TensorRT wrote itself (first line `TRT-<version>-<calibrator>`),
/// false for ORT's flatbuffers table (`trt_int8_use_native_calibration_table` tells ORT which).
pub fn is_native_calibration_table(path: &std::path::Path) -> std::io::Result<bool> {
    use std::io::Read;
    let mut head = Vec::with_capacity(4);
    std::fs::File::open(path)?.take(4).read_to_end(&mut head)?;
    Ok(head == b"TRT-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_cpu_needs_no_gpu_and_has_no_tf32_switch() {
        assert!(!Provider::Cpu.is_gpu());
        assert_eq!(Provider::Cpu.tf32(), None);
        let cuda = Provider::Cuda(CudaOptions {
            device_id: 0,
            tf32: true,
        });
        assert!(cuda.is_gpu());
        assert_eq!(cuda.tf32(), Some(true));
        let trt = Provider::TensorRt(TensorRtOptions::default());
        assert_eq!(trt.tf32(), Some(false));
    }

    #[test]
    fn calibration_tables_are_told_apart_by_their_first_bytes() {
        let dir = std::env::temp_dir().join(format!("sysnoise-calibration-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let native = dir.join("native.cache");
        std::fs::write(&native, "TRT-100161-EntropyCalibration2\ninput: 3c010a14\n").unwrap();
        let flatbuffers = dir.join("calibration.flatbuffers");
        std::fs::write(&flatbuffers, [0x0c, 0, 0, 0, 8, 0]).unwrap();
        assert!(is_native_calibration_table(&native).unwrap());
        assert!(!is_native_calibration_table(&flatbuffers).unwrap());
        assert!(is_native_calibration_table(&dir.join("absent")).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
