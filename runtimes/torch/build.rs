//! Build script: an rpath to LibTorch's libraries for this crate's tests, and the library directory and torch version for the adapter and for dependents.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    // Set by torch-sys (links = "tch") when the `libtorch` feature pulls it in.
    let Some(lib) = std::env::var_os("DEP_TCH_LIBTORCH_LIB") else {
        return;
    };
    let lib = std::path::PathBuf::from(lib);
    // Tests and examples of this crate find libtorch_cpu.so without LD_LIBRARY_PATH.
    println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib.display());
    // For the adapter: where libtorch_cuda.so is (loaded on demand by `torch-cuda`).
    println!("cargo:rustc-env=SYSNOISE_LIBTORCH_LIB={}", lib.display());
    // For the sysnoise package's build script (DEP_SYSNOISE_TORCH_LIBTORCH_LIB): its binaries'
    // rpath. `rustc-link-arg` above applies to this package's own targets only.
    println!("cargo:libtorch_lib={}", lib.display());
    // The exact version of the wheel the libraries come from (torch/version.py), for reports.
    let version_py = lib.parent().map(|torch| torch.join("version.py"));
    let version = version_py
        .as_ref()
        .and_then(|p| std::fs::read_to_string(p).ok())
        .and_then(|text| {
            text.lines().find_map(|l| {
                l.strip_prefix("__version__ = ")
                    .map(|v| v.trim_matches(['\'', '"']).to_string())
            })
        })
        .unwrap_or_else(|| "unknown".to_string());
    if let Some(p) = version_py {
        println!("cargo:rerun-if-changed={}", p.display());
    }
    println!("cargo:rustc-env=SYSNOISE_LIBTORCH_VERSION={version}");
}
