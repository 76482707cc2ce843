//! Tolerances: per dtype defaults, per op × dtype overrides, per output overrides (YAML and CLI).

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sysnoise_boundary::DType;

use crate::error::EngineError;

/// When two values count as equal, and how many unequal elements an output may have.
///
/// An element matches when both are NaN, or `|a - r| <= abs + rel·|r|`, or (when `ulp` is set)
/// they are at most `ulp` units in the last place apart in the compared dtype. An output
/// matches when the fraction of mismatching elements is at most `outliers`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tolerance {
    pub abs: f64,
    pub rel: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ulp: Option<u64>,
    #[serde(default)]
    pub outliers: f64,
}

impl Tolerance {
    const fn new(abs: f64, rel: f64) -> Tolerance {
        Tolerance {
            abs,
            rel,
            ulp: None,
            outliers: 0.0,
        }
    }

    /// Precision-aware defaults: about 10 ulp of relative slack for f16/bf16 (where 1e-5
    /// would fail every run), ONNX Runtime's own 1e-3 scale for f32, exact for integers.
    pub fn default_for(dtype: DType) -> Tolerance {
        match dtype {
            DType::F64 => Tolerance::new(1e-9, 1e-7),
            DType::F32 => Tolerance::new(1e-4, 1e-3),
            DType::F16 => Tolerance::new(1e-2, 1e-2),
            DType::BF16 => Tolerance::new(5e-2, 5e-2),
            _ => Tolerance::new(0.0, 0.0),
        }
    }

    fn apply(mut self, patch: &TolerancePatch) -> Tolerance {
        self.abs = patch.abs.unwrap_or(self.abs);
        self.rel = patch.rel.unwrap_or(self.rel);
        self.ulp = patch.ulp.or(self.ulp);
        self.outliers = patch.outliers.unwrap_or(self.outliers);
        self
    }
}

impl std::fmt::Display for Tolerance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "abs {:e} rel {:e}", self.abs, self.rel)?;
        if let Some(ulp) = self.ulp {
            write!(f, " ulp {ulp}")?;
        }
        if self.outliers > 0.0 {
            write!(f, " outliers {}", self.outliers)?;
        }
        Ok(())
    }
}

/// Ops whose spec fixes an internal precision below the output dtype: their default tolerance
/// is that precision's. LayerNormalization and GroupNormalization compute "stage one" (mean and
/// variance) in `stash_type`, float32 by default, even for double inputs.
fn builtin_op_tolerance(op_type: &str, dtype: DType) -> Option<Tolerance> {
    const STASH_TYPE_OPS: &[&str] = &["LayerNormalization", "GroupNormalization"];
    (STASH_TYPE_OPS.contains(&op_type) && dtype == DType::F64).then(|| Tolerance::default_for(DType::F32))
}

/// Some fields of a [`Tolerance`], overriding the rest.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TolerancePatch {
    pub abs: Option<f64>,
    pub rel: Option<f64>,
    pub ulp: Option<u64>,
    pub outliers: Option<f64>,
}

/// The whole tolerance model. As YAML:
/// ```yaml
/// defaults: { f32: { abs: 1.0e-4, rel: 1.0e-3 } }   # per dtype
/// ops: { Softmax: { f16: { rel: 2.0e-2 } } }        # per op type and dtype
/// outputs: { logits: { abs: 1.0e-3, outliers: 0.001 } }  # per output name (wins)
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToleranceModel {
    #[serde(default)]
    pub defaults: BTreeMap<String, TolerancePatch>,
    #[serde(default)]
    pub ops: BTreeMap<String, BTreeMap<String, TolerancePatch>>,
    #[serde(default)]
    pub outputs: BTreeMap<String, TolerancePatch>,
}

impl ToleranceModel {
    /// Reads a YAML tolerance file; errors name the file and the bad key.
    pub fn load(path: &Path) -> Result<ToleranceModel, EngineError> {
        let text = std::fs::read_to_string(path).map_err(|e| EngineError::io(path, e))?;
        let model: ToleranceModel = serde_yaml_ng::from_str(&text)
            .map_err(|e| EngineError::Input(format!("{}: bad tolerance file: {e}", path.display())))?;
        for key in model.defaults.keys().chain(model.ops.values().flat_map(|m| m.keys())) {
            if DType::from_name(key).is_none() {
                return Err(EngineError::Input(format!(
                    "{}: unknown dtype '{key}' (use f32, f16, bf16, f64, i64, ...)",
                    path.display()
                )));
            }
        }
        Ok(model)
    }

    /// The tolerance for an output of `dtype` produced by an `op_type` node.
    pub fn resolve(&self, output: Option<&str>, op_type: Option<&str>, dtype: DType) -> Tolerance {
        let mut tol = op_type
            .and_then(|op| builtin_op_tolerance(op, dtype))
            .unwrap_or_else(|| Tolerance::default_for(dtype));
        if let Some(patch) = self.defaults.get(dtype.name()) {
            tol = tol.apply(patch);
        }
        if let Some(patch) = op_type
            .and_then(|op| self.ops.get(op))
            .and_then(|m| m.get(dtype.name()))
        {
            tol = tol.apply(patch);
        }
        if let Some(patch) = output.and_then(|o| self.outputs.get(o)) {
            tol = tol.apply(patch);
        }
        tol
    }

    /// Applies a `--tol [OUTPUT=]abs:1e-3,rel:1e-2,ulp:4,outliers:0.001` option: with an output
    /// name it overrides that output, without one every dtype's default.
    pub fn apply_cli(&mut self, spec: &str) -> Result<(), EngineError> {
        let (target, fields) = match spec.split_once('=') {
            Some((output, fields)) => (Some(output.to_string()), fields),
            None => (None, spec),
        };
        let patch = parse_patch(fields).map_err(|m| EngineError::Usage(format!("--tol '{spec}': {m}")))?;
        match target {
            Some(output) => {
                let merged = merge(self.outputs.get(&output).copied().unwrap_or_default(), patch);
                self.outputs.insert(output, merged);
            }
            None => {
                for dtype in DType::ALL {
                    let current = self.defaults.get(dtype.name()).copied().unwrap_or_default();
                    self.defaults.insert(dtype.name().to_string(), merge(current, patch));
                }
            }
        }
        Ok(())
    }
}

fn merge(base: TolerancePatch, over: TolerancePatch) -> TolerancePatch {
    TolerancePatch {
        abs: over.abs.or(base.abs),
        rel: over.rel.or(base.rel),
        ulp: over.ulp.or(base.ulp),
        outliers: over.outliers.or(base.outliers),
    }
}

fn parse_patch(fields: &str) -> Result<TolerancePatch, String> {
    let mut patch = TolerancePatch::default();
    for field in fields.split(',').map(str::trim).filter(|f| !f.is_empty()) {
        let (key, value) = field
            .split_once(':')
            .ok_or_else(|| format!("'{field}' is not KEY:VALUE"))?;
        let number = || value.parse::<f64>().map_err(|_| format!("'{value}' is not a number"));
        match key {
            "abs" => patch.abs = Some(number()?),
            "rel" => patch.rel = Some(number()?),
            "outliers" => patch.outliers = Some(number()?),
            "ulp" => patch.ulp = Some(value.parse().map_err(|_| format!("'{value}' is not a whole number"))?),
            _ => return Err(format!("unknown key '{key}' (abs, rel, ulp, outliers)")),
        }
    }
    Ok(patch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence_is_output_over_op_over_dtype_default() {
        let yaml = "defaults: {f32: {abs: 0.5}}\nops: {Softmax: {f32: {rel: 0.25}}}\noutputs: {y: {outliers: 0.1}}\n";
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tol.yaml");
        std::fs::write(&path, yaml).unwrap();
        let model = ToleranceModel::load(&path).unwrap();
        let tol = model.resolve(Some("y"), Some("Softmax"), DType::F32);
        assert_eq!(
            tol,
            Tolerance {
                abs: 0.5,
                rel: 0.25,
                ulp: None,
                outliers: 0.1
            }
        );
        assert_eq!(
            model.resolve(Some("z"), Some("Relu"), DType::F16),
            Tolerance::default_for(DType::F16)
        );
    }

    #[test]
    fn stash_type_ops_get_their_internal_precision() {
        let model = ToleranceModel::default();
        assert_eq!(
            model.resolve(None, Some("GroupNormalization"), DType::F64),
            Tolerance::default_for(DType::F32)
        );
        assert_eq!(
            model.resolve(None, Some("Relu"), DType::F64),
            Tolerance::default_for(DType::F64)
        );
    }

    #[test]
    fn cli_overrides_and_errors() {
        let mut model = ToleranceModel::default();
        model.apply_cli("abs:1e-2").unwrap();
        model.apply_cli("logits=rel:0.5,ulp:3").unwrap();
        assert_eq!(model.resolve(None, None, DType::F32).abs, 1e-2);
        let t = model.resolve(Some("logits"), None, DType::F32);
        assert_eq!((t.abs, t.rel, t.ulp), (1e-2, 0.5, Some(3)));
        assert!(
            model
                .apply_cli("abs=oops")
                .unwrap_err()
                .to_string()
                .contains("not KEY:VALUE")
        );
        assert!(
            model
                .apply_cli("speed:3")
                .unwrap_err()
                .to_string()
                .contains("unknown key 'speed'")
        );
    }

    #[test]
    fn unknown_dtype_in_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tol.yaml");
        std::fs::write(&path, "defaults: {float32: {abs: 1}}\n").unwrap();
        assert!(
            ToleranceModel::load(&path)
                .unwrap_err()
                .to_string()
                .contains("unknown dtype 'float32'")
        );
    }
}
