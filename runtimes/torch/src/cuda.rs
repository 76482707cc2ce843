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

/// Loads `libtorch_cuda.so` once per process: by name first, so that it comes from the same
/// place as `libtorch_cpu.so` did (`LD_LIBRARY_PATH`, then the binary's run path — a binary
/// taken to another machine finds that machine's LibTorch), then from the build's LibTorch.
/// The error is the dynamic loader's message (typically a CUDA library that is not installed).
pub fn load_backend() -> Result<(), String> {
    static LOADED: OnceLock<Result<(), String>> = OnceLock::new();
    LOADED
        .get_or_init(|| {
            let by_name = open("libtorch_cuda.so");
            if by_name.is_ok() {
                return by_name;
            }
            let path = format!("{LIBTORCH_LIB}/libtorch_cuda.so");
            open(&path).map_err(|e| format!("{e} ({})", by_name.unwrap_err()))
        })
        .clone()
}

fn open(library: &str) -> Result<(), String> {
    let c_library = CString::new(library).map_err(|e| e.to_string())?;
    // SAFETY: dlopen with a valid NUL-terminated name; the handle is kept for the process's
    // lifetime (never closed), and dlerror's message is copied at once.
    let handle = unsafe { dlopen(c_library.as_ptr(), RTLD_NOW | RTLD_GLOBAL) };
    if !handle.is_null() {
        return Ok(());
    }
    let message = unsafe {
        let e = dlerror();
        if e.is_null() {
            "unknown dynamic loader error".to_string()
        } else {
            CStr::from_ptr(e).to_string_lossy().into_owned()
        }
    };
    Err(format!("cannot load {library}: {message}"))
}
