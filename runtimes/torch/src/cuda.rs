//! LibTorch's CUDA backend, loaded on demand: binaries link only `libtorch_cpu.so` (rustc links
//! with `--as-needed`), so they start on machines without CUDA; `torch-cuda` loads
//! `libtorch_cuda.so` (which registers the CUDA kernels) before asking for a device.

use std::ffi::{CStr, CString, c_char, c_int, c_void};
use std::sync::OnceLock;

unsafe extern "C" {
    fn dlopen(filename: *const c_char, flags: c_int) -> *mut c_void;
    fn dlerror() -> *mut c_char;
}

const RTLD_NOW: c_int = 0x2;
const RTLD_GLOBAL: c_int = 0x100;

/// The LibTorch library directory this crate was built against.
pub const LIBTORCH_LIB: &str = env!("SYSNOISE_LIBTORCH_LIB");

/// Loads `libtorch_cuda.so` once per process; the error is the dynamic loader's message
/// (typically a CUDA library that is not installed).
pub fn load_backend() -> Result<(), String> {
    static LOADED: OnceLock<Result<(), String>> = OnceLock::new();
    LOADED
        .get_or_init(|| {
            let path = format!("{LIBTORCH_LIB}/libtorch_cuda.so");
            let c_path = CString::new(path.clone()).map_err(|e| e.to_string())?;
            // SAFETY: dlopen with a valid NUL-terminated path; the handle is kept for the
            // process's lifetime (never closed), and dlerror's message is copied at once.
            let handle = unsafe { dlopen(c_path.as_ptr(), RTLD_NOW | RTLD_GLOBAL) };
            if handle.is_null() {
                let message = unsafe {
                    let e = dlerror();
                    if e.is_null() {
                        "unknown dynamic loader error".to_string()
                    } else {
                        CStr::from_ptr(e).to_string_lossy().into_owned()
                    }
                };
                return Err(format!("cannot load {path}: {message}"));
            }
            Ok(())
        })
        .clone()
}
