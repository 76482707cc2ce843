//! Model inputs: loaded from .npz / .npy / TensorProto .pb directories / Polygraphy JSON, or generated from a seed.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use sysnoise_boundary::{DType, IoSpec, Model, NamedTensors, Tensor, tensor_from_pb};

use crate::error::EngineError;
use crate::npy;
use crate::values::{self, Regime};

/// Loads inputs named by `--inputs` values: one `.npz`, one Polygraphy `.json`, one directory
/// of TensorProto `.pb` files, or `.npy` files as `NAME=FILE.npy` (a bare `FILE.npy` for a
/// single-input model). The result is checked against the model's inputs.
pub fn load(model: &Model, specs: &[String]) -> Result<NamedTensors, EngineError> {
    let declared = model.inputs();
    let mut loaded: NamedTensors = Vec::new();
    for spec in specs {
        if let Some((name, file)) = spec.split_once('=') {
            let path = Path::new(file);
            loaded.push((
                name.to_string(),
                npy::read_npy(open(path)?, &path.display().to_string())?,
            ));
            continue;
        }
        let path = PathBuf::from(spec);
        let extension = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        if path.is_dir() {
            loaded.extend(read_pb_dir(&path, &declared)?);
        } else if extension == "npz" {
            loaded.extend(npy::read_npz(&path)?);
        } else if extension == "json" {
            loaded.extend(read_polygraphy_json(&path)?);
        } else if extension == "npy" {
            let [only] = declared.as_slice() else {
                return Err(EngineError::Usage(format!(
                    "{spec}: a bare .npy needs a single-input model; name it as INPUT={spec} (inputs: {})",
                    names(&declared)
                )));
            };
            loaded.push((only.name.clone(), npy::read_npy(open(&path)?, spec)?));
        } else if !path.exists() {
            return Err(EngineError::Input(format!("{spec}: no such file or directory")));
        } else {
            return Err(EngineError::Usage(format!(
                "{spec}: unknown input format (expected .npz, .json from Polygraphy, NAME=FILE.npy or a directory of .pb)"
            )));
        }
    }
    check(&declared, loaded)
}

fn open(path: &Path) -> Result<std::fs::File, EngineError> {
    std::fs::File::open(path).map_err(|e| EngineError::io(path, e))
}

fn names(declared: &[IoSpec]) -> String {
    declared.iter().map(|d| d.name.as_str()).collect::<Vec<_>>().join(", ")
}

/// Orders the loaded tensors as the model's inputs and checks names, dtypes and fixed dims.
fn check(declared: &[IoSpec], loaded: NamedTensors) -> Result<NamedTensors, EngineError> {
    let mut by_name: HashMap<String, Tensor> = HashMap::new();
    for (name, tensor) in loaded {
        if !declared.iter().any(|d| d.name == name) {
            return Err(EngineError::Input(format!(
                "input '{name}' is not an input of the model (inputs: {})",
                names(declared)
            )));
        }
        by_name.insert(name, tensor);
    }
    declared
        .iter()
        .map(|spec| {
            let tensor = by_name
                .remove(&spec.name)
                .ok_or_else(|| EngineError::Input(format!("no value given for model input '{}'", spec.name)))?;
            let tensor = match spec.dtype {
                Some(DType::BF16) if tensor.dtype().is_float() => tensor.cast(DType::BF16),
                Some(want) if want != tensor.dtype() => {
                    return Err(EngineError::Input(format!(
                        "input '{}' is {} but the model declares {want}",
                        spec.name,
                        tensor.dtype()
                    )));
                }
                _ => tensor,
            };
            if let Some(dims) = &spec.shape {
                let fits = dims.len() == tensor.shape().len()
                    && dims
                        .iter()
                        .zip(tensor.shape())
                        .all(|(want, &got)| want.is_none_or(|w| w == got));
                if !fits {
                    return Err(EngineError::Input(format!(
                        "input '{}' has shape {:?} but the model declares {}",
                        spec.name,
                        tensor.shape(),
                        format_dims(dims)
                    )));
                }
            }
            Ok((spec.name.clone(), tensor))
        })
        .collect()
}

fn format_dims(dims: &[Option<usize>]) -> String {
    let parts: Vec<String> = dims
        .iter()
        .map(|d| d.map_or("?".to_string(), |n| n.to_string()))
        .collect();
    format!("[{}]", parts.join(", "))
}

/// `input_<i>.pb` files (ONNX test layout), matched by the tensor's name or else by index.
fn read_pb_dir(dir: &Path, declared: &[IoSpec]) -> Result<NamedTensors, EngineError> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| EngineError::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "pb"))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| !n.starts_with("output"))
        })
        .collect();
    files.sort_by_key(|p| pb_index(p));
    if files.is_empty() {
        return Err(EngineError::Input(format!("{}: no input_<i>.pb files", dir.display())));
    }
    files
        .iter()
        .enumerate()
        .map(|(i, file)| {
            let bytes = std::fs::read(file).map_err(|e| EngineError::io(file, e))?;
            let (name, tensor) =
                tensor_from_pb(&bytes).map_err(|e| EngineError::Input(format!("{}: {e}", file.display())))?;
            let name = if name.is_empty() || !declared.iter().any(|d| d.name == name) {
                declared.get(i).map(|d| d.name.clone()).unwrap_or(name)
            } else {
                name
            };
            Ok((name, tensor))
        })
        .collect()
}

/// Writes `inputs` into an existing `dir` as `input_<i>.pb` TensorProto files, the layout
/// [`load`] reads back (a directory argument of `--inputs`).
pub fn write_pb_dir(dir: &Path, inputs: &NamedTensors) -> Result<(), EngineError> {
    for (i, (name, tensor)) in inputs.iter().enumerate() {
        let path = dir.join(format!("input_{i}.pb"));
        std::fs::write(&path, prost::Message::encode_to_vec(&tensor.to_proto(name)))
            .map_err(|e| EngineError::io(&path, e))?;
    }
    Ok(())
}

/// Sort key: the number in `input_12.pb`, so 12 comes after 2.
fn pb_index(path: &Path) -> (usize, String) {
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("").to_string();
    let number = stem
        .rsplit('_')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(usize::MAX);
    (number, stem)
}

/// Polygraphy's `--save-inputs` JSON: a list of feed dicts (the first is used), each value
/// `{"array": base64(.npy bytes), "polygraphy_class": "ndarray"}`.
fn read_polygraphy_json(path: &Path) -> Result<NamedTensors, EngineError> {
    let bad = |m: &str| EngineError::Input(format!("{}: {m}", path.display()));
    let text = std::fs::read_to_string(path).map_err(|e| EngineError::io(path, e))?;
    let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| bad(&format!("invalid JSON ({e})")))?;
    let feed = match &json {
        serde_json::Value::Array(items) => items.first().ok_or_else(|| bad("empty list of inputs"))?,
        other => other,
    };
    let feed = feed
        .as_object()
        .ok_or_else(|| bad("expected an object of named arrays"))?;
    feed.iter()
        .map(|(name, value)| {
            let encoded = value
                .get("array")
                .and_then(|a| a.as_str())
                .ok_or_else(|| bad(&format!("'{name}' is not a Polygraphy ndarray ({{\"array\": base64}})")))?;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .map_err(|e| bad(&format!("'{name}': bad base64 ({e})")))?;
            Ok((
                name.clone(),
                npy::read_npy(bytes.as_slice(), &format!("{}[{name}]", path.display()))?,
            ))
        })
        .collect()
}

/// Generates one value per model input from `seed`. Symbolic dims take `dims[name]` when
/// given, else 1.
pub fn generate(model: &Model, seed: u64, shapes: &HashMap<String, Vec<usize>>) -> Result<NamedTensors, EngineError> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    model
        .inputs()
        .iter()
        .map(|spec| {
            if spec.non_tensor {
                return Err(EngineError::Input(format!(
                    "input '{}' is not a tensor (sequence/map/optional)",
                    spec.name
                )));
            }
            let dtype = spec
                .dtype
                .ok_or_else(|| EngineError::Input(format!("input '{}' has no supported tensor dtype", spec.name)))?;
            let shape = match (shapes.get(&spec.name), &spec.shape) {
                (Some(shape), _) => shape.clone(),
                (None, Some(dims)) => dims.iter().map(|d| d.unwrap_or(1)).collect(),
                (None, None) => {
                    return Err(EngineError::Usage(format!(
                        "input '{}' has no declared shape: give one with --shape {}:1x3x224x224",
                        spec.name, spec.name
                    )));
                }
            };
            Ok((
                spec.name.clone(),
                values::tensor(&mut rng, dtype, &shape, Regime::Typical),
            ))
        })
        .collect()
}

/// The inputs [`generate`] gave defaulted symbolic dims (no `--shape` for them), each as
/// `name as 1x3x1x1` with the shape it was fed.
pub fn symbolic_defaults(model: &Model, shapes: &HashMap<String, Vec<usize>>, feeds: &NamedTensors) -> Vec<String> {
    model
        .inputs()
        .iter()
        .filter(|spec| !shapes.contains_key(&spec.name))
        .filter(|spec| spec.shape.as_ref().is_some_and(|dims| dims.iter().any(Option::is_none)))
        .filter_map(|spec| {
            let (_, tensor) = feeds.iter().find(|(n, _)| *n == spec.name)?;
            let dims: Vec<String> = tensor.shape().iter().map(usize::to_string).collect();
            Some(format!("{} as {}", spec.name, dims.join("x")))
        })
        .collect()
}

/// Parses `--shape NAME:1x3x224x224`.
pub fn parse_shape(spec: &str) -> Result<(String, Vec<usize>), EngineError> {
    let bad = || EngineError::Usage(format!("--shape '{spec}': expected NAME:DxDxD, e.g. input:1x3x224x224"));
    let (name, dims) = spec.rsplit_once(':').ok_or_else(bad)?;
    let dims = dims
        .split('x')
        .map(|d| d.trim().parse::<usize>().map_err(|_| bad()))
        .collect::<Result<_, _>>()?;
    Ok((name.to_string(), dims))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sysnoise_boundary::GraphBuilder;

    fn model() -> Model {
        let mut g = GraphBuilder::new("m", 17);
        g.input("x", DType::F32, &[2, 3]);
        g.node("Relu", "y", &["x"], vec![]);
        g.output("y", DType::F32);
        g.build()
    }

    #[test]
    fn generation_is_deterministic_per_seed() {
        let a = generate(&model(), 7, &HashMap::new()).unwrap();
        let b = generate(&model(), 7, &HashMap::new()).unwrap();
        let c = generate(&model(), 8, &HashMap::new()).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a[0].1.shape(), [2, 3]);
    }

    #[test]
    fn mismatches_are_named() {
        let ok = Tensor::zeros(DType::F32, &[2, 3]);
        let wrong_shape = check(
            &model().inputs(),
            vec![("x".into(), Tensor::zeros(DType::F32, &[3, 2]))],
        );
        assert!(
            wrong_shape
                .unwrap_err()
                .to_string()
                .contains("input 'x' has shape [3, 2] but the model declares [2, 3]")
        );
        let wrong_name = check(&model().inputs(), vec![("z".into(), ok.clone())]);
        assert!(
            wrong_name
                .unwrap_err()
                .to_string()
                .contains("'z' is not an input of the model (inputs: x)")
        );
        let wrong_type = check(&model().inputs(), vec![("x".into(), ok.cast(DType::F64))]);
        assert!(
            wrong_type
                .unwrap_err()
                .to_string()
                .contains("is f64 but the model declares f32")
        );
        assert!(
            check(&model().inputs(), vec![])
                .unwrap_err()
                .to_string()
                .contains("no value given for model input 'x'")
        );
    }

    #[test]
    fn shapes_parse() {
        assert_eq!(
            parse_shape("data:1x3x8x8").unwrap(),
            ("data".to_string(), vec![1, 3, 8, 8])
        );
        assert!(parse_shape("data").is_err());
    }
}
