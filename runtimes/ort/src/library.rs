//! Finding the ONNX Runtime shared library (from the PyPI wheel) and creating the process-wide environment.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use sysnoise_boundary::RuntimeError;

/// How to get the library, shown whenever it cannot be found or loaded.
pub const INSTALL_HINT: &str = "run `scripts/setup.sh` (installs the pinned PyPI wheel onnxruntime==1.32.0 into the \
project's .venv), or point ORT_DYLIB_PATH at an existing libonnxruntime.so (ONNX Runtime >= 1.31)";

/// The loaded library: its path and version, and the environment every session shares.
pub struct Loaded {
    pub path: PathBuf,
    pub version: String,
    pub environment: ort::environment::Environment,
}

/// Loads ONNX Runtime once per process; every later call returns the same result.
pub fn load(runtime_name: &str) -> Result<&'static Loaded, RuntimeError> {
    static LOADED: OnceLock<Result<Loaded, String>> = OnceLock::new();
    LOADED
        .get_or_init(try_load)
        .as_ref()
        .map_err(|reason| RuntimeError::Unavailable {
            runtime: runtime_name.to_string(),
            reason: reason.clone(),
            install: INSTALL_HINT.to_string(),
        })
}

fn try_load() -> Result<Loaded, String> {
    let path = find_library().ok_or_else(|| {
        "libonnxruntime.so not found (looked at ORT_DYLIB_PATH, the project's .venv and $VIRTUAL_ENV)".to_string()
    })?;
    let builder = ort::init_from(&path).map_err(|e| format!("cannot load {}: {e}", path.display()))?;
    // ORT prints kernel errors in colour on stderr by default; sysnoise reports them itself.
    let quiet: ort::logging::LoggerFunction = Arc::new(|_, _, _, _, _| {});
    let environment = builder
        .with_name("sysnoise")
        .with_logger(quiet)
        .build()
        .map_err(|e| format!("cannot create an ONNX Runtime environment from {}: {e}", path.display()))?;
    let version = version_from_file_name(&path).unwrap_or_else(|| "unknown".to_string());
    Ok(Loaded {
        path,
        version,
        environment,
    })
}

/// `libonnxruntime.so.1.32.0` → `1.32.0`.
fn version_from_file_name(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_str()?;
    let version = name.split_once(".so.")?.1;
    Some(version.to_string())
}

/// The path of the loaded library, if loaded.
pub fn loaded_path() -> Option<&'static Path> {
    load("ort").ok().map(|l| l.path.as_path())
}

/// Where the library is, in order: `ORT_DYLIB_PATH`, the project's `.venv` (made by
/// `scripts/setup.sh`), the active `$VIRTUAL_ENV`.
pub fn find_library() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("ORT_DYLIB_PATH") {
        return Some(PathBuf::from(path));
    }
    let project_venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv");
    let mut venvs = vec![project_venv];
    if let Some(v) = std::env::var_os("VIRTUAL_ENV") {
        venvs.push(PathBuf::from(v));
    }
    venvs.iter().find_map(|venv| library_in_venv(venv))
}

fn library_in_venv(venv: &Path) -> Option<PathBuf> {
    let lib = venv.join("lib");
    let mut pythons: Vec<PathBuf> = std::fs::read_dir(&lib)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    pythons.sort();
    pythons.into_iter().rev().find_map(|python| {
        let capi = python.join("site-packages/onnxruntime/capi");
        let mut libs: Vec<PathBuf> = std::fs::read_dir(&capi)
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("libonnxruntime.so"))
            })
            .collect();
        libs.sort();
        libs.pop().map(|p| p.canonicalize().unwrap_or(p))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_comes_from_the_versioned_file_name() {
        assert_eq!(
            version_from_file_name(Path::new("/x/libonnxruntime.so.1.32.0")).as_deref(),
            Some("1.32.0")
        );
        assert_eq!(version_from_file_name(Path::new("/x/libonnxruntime.so")), None);
    }
}
