//! TF32 as a process-wide setting: ORT can keep TensorRT off TF32 only through the environment
//! variable `NVIDIA_TF32_OVERRIDE=0` (onnxruntime#26029), read by CUDA's libraries for the whole
//! process. The adapter never changes the environment (other threads may be reading it): it
//! checks that the variable says what a runtime needs. The `sysnoise` binary sets it to `0` as
//! its first step unless the user set it, so f32 means f32 by default; the TF32 runtimes need
//! `NVIDIA_TF32_OVERRIDE=1`.

use sysnoise_boundary::RuntimeError;

use crate::provider::Provider;

/// The variable CUDA, cuBLAS, cuDNN and TensorRT read; `0` turns TF32 off process-wide.
pub const OVERRIDE: &str = "NVIDIA_TF32_OVERRIDE";

/// Whether the process's TF32 setting (`override_value`, the variable's value if set) lets
/// `provider` run as its name says.
pub(crate) fn check(runtime: &str, provider: &Provider, override_value: Option<&str>) -> Result<(), RuntimeError> {
    let forced_off = override_value.is_some_and(|v| v.trim() == "0");
    let unavailable = |reason: String, install: &str| RuntimeError::Unavailable {
        runtime: runtime.to_string(),
        reason,
        install: install.to_string(),
    };
    match provider.tf32() {
        Some(true) if forced_off => Err(unavailable(
            format!("TF32 is off for this whole process ({OVERRIDE}=0, sysnoise's default)"),
            "run sysnoise with NVIDIA_TF32_OVERRIDE=1 for the TF32 runtimes (ort-cuda-tf32, ort-trt-tf32), \
             in an invocation of their own",
        )),
        // The CUDA provider has a per-session switch (`use_tf32`); only TensorRT needs the variable.
        Some(false) if matches!(provider, Provider::TensorRt(_)) && !forced_off => Err(unavailable(
            format!(
                "TensorRT can only be kept off TF32 process-wide, and {OVERRIDE} is {}",
                override_value.map_or_else(|| "not set".to_string(), |v| format!("'{v}'"))
            ),
            "run with NVIDIA_TF32_OVERRIDE=0 (the sysnoise binary sets it unless it is already set), or use ort-trt-tf32",
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::{CudaOptions, TensorRtOptions};

    #[test]
    fn the_override_decides_which_tf32_policies_can_run() {
        let cuda = |tf32| Provider::Cuda(CudaOptions { device_id: 0, tf32 });
        let trt = |tf32| {
            Provider::TensorRt(TensorRtOptions {
                tf32,
                ..Default::default()
            })
        };
        // sysnoise's default: TF32 off.
        for provider in [Provider::Cpu, cuda(false), trt(false)] {
            check("r", &provider, Some("0")).unwrap();
        }
        for provider in [cuda(true), trt(true)] {
            let err = check("r", &provider, Some("0")).unwrap_err().to_string();
            assert!(err.contains("NVIDIA_TF32_OVERRIDE=1"), "{err}");
        }
        // TF32 allowed (variable unset or not 0): everything but TensorRT without TF32.
        for value in [None, Some("1")] {
            for provider in [Provider::Cpu, cuda(false), cuda(true), trt(true)] {
                check("r", &provider, value).unwrap();
            }
            let err = check("ort-trt", &trt(false), value).unwrap_err().to_string();
            assert!(
                err.contains("process-wide") && err.contains("NVIDIA_TF32_OVERRIDE=0"),
                "{err}"
            );
        }
    }
}
