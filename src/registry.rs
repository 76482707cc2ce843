//! The one place that names concrete runtimes: their names, descriptions and constructors.

use sysnoise_boundary::{Runtime, RuntimeError};
use sysnoise_chaos::{ChaosRuntime, Misbehaviour};
use sysnoise_ort::{OptLevel, OrtOptions, OrtRuntime};
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
        name: "tract-const",
        description: "tract with every input but the first made a constant (tract's own harness)",
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

/// Builds the runtime called `name`. Unavailable runtimes fail with how to install them.
pub fn build(name: &str) -> Result<Box<dyn Runtime>, EngineError> {
    let ort = |opt_level, intra_threads| -> Result<Box<dyn Runtime>, EngineError> {
        let runtime = OrtRuntime::new(
            name,
            OrtOptions {
                opt_level,
                intra_threads,
            },
        )
        .map_err(EngineError::Runtime)?;
        Ok(Box::new(runtime))
    };
    match name {
        "reference" => Ok(Box::new(Reference)),
        "ort" => ort(OptLevel::All, 1),
        "ort-O0" => ort(OptLevel::Disabled, 1),
        "ort-O1" => ort(OptLevel::Basic, 1),
        "ort-O2" => ort(OptLevel::Extended, 1),
        "ort-mt" => ort(OptLevel::All, 4),
        "tract" => Ok(Box::new(TractRuntime::new(name, TractMode::Optimized))),
        "tract-const" => Ok(Box::new(TractRuntime::new(name, TractMode::ConstantParameters))),
        "chaos-abort" => Ok(Box::new(ChaosRuntime::new(name, Misbehaviour::Abort, CHAOS_TRIGGER))),
        "chaos-hang" => Ok(Box::new(ChaosRuntime::new(name, Misbehaviour::Hang, CHAOS_TRIGGER))),
        "chaos-panic" => Ok(Box::new(ChaosRuntime::new(name, Misbehaviour::Panic, CHAOS_TRIGGER))),
        _ => Err(unknown(name)),
    }
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
}
