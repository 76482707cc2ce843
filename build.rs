//! Build script: with the `torch` feature, an rpath to LibTorch's libraries in sysnoise's binaries and tests.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    // Set by sysnoise-torch's build script (links = "sysnoise_torch") when the `torch` feature is
    // on; `rustc-link-arg` of a dependency does not reach this package's binaries.
    if let Some(lib) = std::env::var_os("DEP_SYSNOISE_TORCH_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib.to_string_lossy());
    }
}
