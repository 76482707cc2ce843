//! TF32 as a process-wide setting: ORT can keep TensorRT off TF32 only through
//! `NVIDIA_TF32_OVERRIDE=0`, which then also binds cuBLAS/cuDNN for every GPU runtime in the
//! process. Runtimes claim their TF32 policy here; combinations the variable would silently
//! change are refused with the reason.

use std::sync::Mutex;

use sysnoise_boundary::RuntimeError;

use crate::provider::Provider;

const OVERRIDE: &str = "NVIDIA_TF32_OVERRIDE";

#[derive(Default)]
struct Claims {
    /// Runtimes of this process that rely on TF32 being allowed.
    tf32_users: Vec<String>,
    /// The runtime that set `NVIDIA_TF32_OVERRIDE=0`, if sysnoise set it.
    forced_off_by: Option<String>,
}

static CLAIMS: Mutex<Claims> = Mutex::new(Claims {
    tf32_users: Vec::new(),
    forced_off_by: None,
});

fn conflict(runtime: &str, reason: String) -> RuntimeError {
    RuntimeError::Unavailable {
        runtime: runtime.to_string(),
        reason,
        install: format!(
            "run the TF32 runtimes (ort-cuda-tf32, ort-trt-tf32) and the TF32-off TensorRT runtimes (ort-trt, \
             ort-trt-fp16, ort-trt-int8) in separate sysnoise invocations, without {OVERRIDE}=0 for the former"
        ),
    }
}

/// Checks the TF32 policy `provider` needs against the runtimes already in this process and,
/// for TensorRT without TF32, sets `NVIDIA_TF32_OVERRIDE=0` (before any TensorRT engine is
/// built). Fails when another runtime of this process needs the opposite. A runtime that
/// relies on TF32 calls [`confirm`] once it is known to work.
pub(crate) fn claim(runtime: &str, provider: &Provider) -> Result<(), RuntimeError> {
    let Some(tf32) = provider.tf32() else {
        return Ok(());
    };
    let mut claims = CLAIMS.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let forced_off = std::env::var(OVERRIDE).is_ok_and(|v| v.trim() == "0");
    if tf32 {
        if forced_off {
            let by = claims
                .forced_off_by
                .as_ref()
                .map_or_else(|| "in the environment".to_string(), |r| format!("set for {r}"));
            return Err(conflict(
                runtime,
                format!("TF32 is forced off in this process ({OVERRIDE}=0, {by})"),
            ));
        }
        return Ok(());
    }
    // The CUDA provider has a per-session switch (`use_tf32`); only TensorRT needs the variable.
    if !matches!(provider, Provider::TensorRt(_)) || forced_off {
        return Ok(());
    }
    if let Some(user) = claims.tf32_users.first() {
        return Err(conflict(
            runtime,
            format!(
                "TensorRT without TF32 needs {OVERRIDE}=0 for the whole process, which would take TF32 away from {user}"
            ),
        ));
    }
    // SAFETY: sysnoise builds its runtimes on the main thread before any session runs, and
    // nothing in sysnoise reads the environment concurrently at that point; the lock above
    // serialises the runtimes that set it. TensorRT reads the variable when it builds engines.
    unsafe { std::env::set_var(OVERRIDE, "0") };
    claims.forced_off_by = Some(runtime.to_string());
    Ok(())
}

/// Undoes [`claim`] for a runtime whose provider turned out not to work: no TensorRT engine was
/// built, so a `NVIDIA_TF32_OVERRIDE=0` it set has been read by nobody and is removed.
pub(crate) fn release(runtime: &str) {
    let mut claims = CLAIMS.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if claims.forced_off_by.as_deref() == Some(runtime) {
        claims.forced_off_by = None;
        // SAFETY: as in `claim`: set and removed on the main thread while runtimes are built.
        unsafe { std::env::remove_var(OVERRIDE) };
    }
}

/// Records that `runtime` (available) relies on TF32, so that no later runtime forces it off.
pub(crate) fn confirm(runtime: &str, provider: &Provider) {
    if provider.tf32() == Some(true) {
        let mut claims = CLAIMS.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        claims.tf32_users.push(runtime.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::{CudaOptions, TensorRtOptions};

    fn reset() {
        *CLAIMS.lock().unwrap() = Claims::default();
        // SAFETY: the only test of this crate that touches this variable; std's env lock
        // serialises it with the other tests' `std::env::var` reads.
        unsafe { std::env::remove_var(OVERRIDE) };
    }

    // One test, so that no other test of this crate sees the variable change half-way.
    #[test]
    fn tf32_policies_that_the_process_wide_variable_would_break_are_refused() {
        let cuda = |tf32| Provider::Cuda(CudaOptions { device_id: 0, tf32 });
        let trt = |tf32| {
            Provider::TensorRt(TensorRtOptions {
                tf32,
                ..Default::default()
            })
        };
        reset();
        claim("ort", &Provider::Cpu).unwrap();
        claim("ort-cuda", &cuda(false)).unwrap();
        assert!(std::env::var(OVERRIDE).is_err(), "CUDA has a per-session switch");
        claim("ort-cuda-tf32", &cuda(true)).unwrap();
        claim("ort-trt", &trt(false)).expect("ort-cuda-tf32 is not confirmed (its provider did not work)");
        reset();
        claim("ort-cuda-tf32", &cuda(true)).unwrap();
        confirm("ort-cuda-tf32", &cuda(true));
        let err = claim("ort-trt", &trt(false)).unwrap_err().to_string();
        assert!(err.contains("take TF32 away from ort-cuda-tf32"), "{err}");
        assert!(std::env::var(OVERRIDE).is_err());

        reset();
        claim("ort-trt", &trt(false)).unwrap();
        assert_eq!(std::env::var(OVERRIDE).as_deref(), Ok("0"));
        claim("ort-trt-fp16", &trt(false)).unwrap();
        let err = claim("ort-trt-tf32", &trt(true)).unwrap_err().to_string();
        assert!(err.contains("NVIDIA_TF32_OVERRIDE=0, set for ort-trt"), "{err}");
        let err = claim("ort-cuda-tf32", &cuda(true)).unwrap_err().to_string();
        assert!(err.contains("separate sysnoise invocations"), "{err}");
        release("ort-trt-fp16");
        assert_eq!(
            std::env::var(OVERRIDE).as_deref(),
            Ok("0"),
            "set by ort-trt, not ort-trt-fp16"
        );
        release("ort-trt");
        assert!(std::env::var(OVERRIDE).is_err());
        claim("ort-trt-tf32", &trt(true)).unwrap();
        reset();
    }
}
