//! NumPy `.npy` / `.npz` files to and from boundary tensors (npyz does the format).

use std::io::{Read, Seek};
use std::path::Path;

use half::f16;
use npyz::{NpyFile, Order, TypeChar, WriterBuilder};
use sysnoise_boundary::{DType, Tensor};

use crate::error::EngineError;

/// The dtype of a `.npy` type string (`<f4`, `|b1`, `<i8`, ...).
fn dtype_of(type_char: TypeChar, size: u64) -> Option<DType> {
    Some(match (type_char, size) {
        (TypeChar::Float, 2) => DType::F16,
        (TypeChar::Float, 4) => DType::F32,
        (TypeChar::Float, 8) => DType::F64,
        (TypeChar::Int, 1) => DType::I8,
        (TypeChar::Int, 2) => DType::I16,
        (TypeChar::Int, 4) => DType::I32,
        (TypeChar::Int, 8) => DType::I64,
        (TypeChar::Uint, 1) => DType::U8,
        (TypeChar::Uint, 2) => DType::U16,
        (TypeChar::Uint, 4) => DType::U32,
        (TypeChar::Uint, 8) => DType::U64,
        (TypeChar::Bool, 1) => DType::Bool,
        _ => return None,
    })
}

fn collect<T: npyz::Deserialize, R: Read>(file: NpyFile<R>, shape: &[usize]) -> std::io::Result<ndarray::ArrayD<T>> {
    let values = file.into_vec::<T>()?;
    ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(shape), values)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))
}

/// Decodes one `.npy` stream. `what` names it in errors.
pub fn read_npy<R: Read>(reader: R, what: &str) -> Result<Tensor, EngineError> {
    let file = NpyFile::new(reader).map_err(|e| EngineError::Input(format!("{what}: not a .npy array ({e})")))?;
    read_npy_file(file, what)
}

/// Reads every array of an `.npz` archive, in archive order.
pub fn read_npz(path: &Path) -> Result<Vec<(String, Tensor)>, EngineError> {
    let mut archive = npyz::npz::NpzArchive::open(path)
        .map_err(|e| EngineError::Input(format!("{}: not a .npz archive ({e})", path.display())))?;
    read_archive(&mut archive, path)
}

fn read_archive<R: Read + Seek>(
    archive: &mut npyz::npz::NpzArchive<R>,
    path: &Path,
) -> Result<Vec<(String, Tensor)>, EngineError> {
    let names: Vec<String> = archive.array_names().map(str::to_string).collect();
    names
        .into_iter()
        .map(|name| {
            let what = format!("{}[{name}]", path.display());
            let file = archive
                .by_name(&name)
                .map_err(|e| EngineError::Input(format!("{what}: {e}")))?
                .ok_or_else(|| EngineError::Input(format!("{what}: missing")))?;
            let tensor = read_npy_file(file, &what)?;
            Ok((name, tensor))
        })
        .collect()
}

fn read_npy_file<R: Read>(file: NpyFile<R>, what: &str) -> Result<Tensor, EngineError> {
    let npyz::DType::Plain(type_str) = file.dtype() else {
        return Err(EngineError::Input(format!(
            "{what}: structured arrays are not supported"
        )));
    };
    let dtype = dtype_of(type_str.type_char(), type_str.size_field())
        .ok_or_else(|| EngineError::Input(format!("{what}: unsupported .npy dtype '{type_str}'")))?;
    if file.order() == Order::Fortran {
        return Err(EngineError::Input(format!(
            "{what}: Fortran-ordered arrays are not supported"
        )));
    }
    let shape: Vec<usize> = file.shape().iter().map(|&d| d as usize).collect();
    let io = |e: std::io::Error| EngineError::Input(format!("{what}: {e}"));
    Ok(match dtype {
        DType::F16 => Tensor::F16(collect::<f16, _>(file, &shape).map_err(io)?),
        DType::F32 => Tensor::F32(collect(file, &shape).map_err(io)?),
        DType::F64 => Tensor::F64(collect(file, &shape).map_err(io)?),
        DType::I8 => Tensor::I8(collect(file, &shape).map_err(io)?),
        DType::I16 => Tensor::I16(collect(file, &shape).map_err(io)?),
        DType::I32 => Tensor::I32(collect(file, &shape).map_err(io)?),
        DType::I64 => Tensor::I64(collect(file, &shape).map_err(io)?),
        DType::U8 => Tensor::U8(collect(file, &shape).map_err(io)?),
        DType::U16 => Tensor::U16(collect(file, &shape).map_err(io)?),
        DType::U32 => Tensor::U32(collect(file, &shape).map_err(io)?),
        DType::U64 => Tensor::U64(collect(file, &shape).map_err(io)?),
        DType::Bool => Tensor::Bool(collect(file, &shape).map_err(io)?),
        other => unreachable!("no .npy type maps to {other}"),
    })
}

fn write_typed<T: npyz::AutoSerialize + Clone>(a: &ndarray::ArrayD<T>) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    let shape: Vec<u64> = a.shape().iter().map(|&d| d as u64).collect();
    let mut writer = npyz::WriteOptions::new()
        .default_dtype()
        .shape(&shape)
        .writer(&mut out)
        .begin_nd()?;
    writer.extend(a.iter().cloned())?;
    writer.finish()?;
    Ok(out)
}

/// Encodes a tensor as `.npy` bytes. bfloat16 and the float8 types, which numpy lacks, are
/// written as float32; strings are refused.
pub fn to_npy_bytes(tensor: &Tensor) -> Result<Vec<u8>, EngineError> {
    let result = match tensor {
        Tensor::String(_) => return Err(EngineError::Input("string tensors cannot be written as .npy".into())),
        Tensor::F8E4M3FN(_) | Tensor::F8E4M3FNUZ(_) | Tensor::F8E5M2(_) | Tensor::F8E5M2FNUZ(_) | Tensor::F8E8M0(_) => {
            return to_npy_bytes(&tensor.cast(DType::F32));
        }
        Tensor::F16(a) => write_typed(a),
        Tensor::F32(a) => write_typed(a),
        Tensor::F64(a) => write_typed(a),
        Tensor::BF16(_) => return to_npy_bytes(&tensor.cast(DType::F32)),
        Tensor::I8(a) => write_typed(a),
        Tensor::I16(a) => write_typed(a),
        Tensor::I32(a) => write_typed(a),
        Tensor::I64(a) => write_typed(a),
        Tensor::U8(a) => write_typed(a),
        Tensor::U16(a) => write_typed(a),
        Tensor::U32(a) => write_typed(a),
        Tensor::U64(a) => write_typed(a),
        Tensor::Bool(a) => write_typed(a),
    };
    Ok(result.expect("writing to memory cannot fail"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npy_round_trips_every_numpy_dtype() {
        let values = ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(&[2, 2]), vec![0.0, 1.0, 2.5, 7.0]).unwrap();
        for dtype in DType::ALL {
            let t = Tensor::from_f64(dtype, &values);
            let back = read_npy(to_npy_bytes(&t).unwrap().as_slice(), "t").unwrap();
            let want = if dtype == DType::BF16 { t.cast(DType::F32) } else { t };
            assert_eq!(back, want, "{dtype}");
        }
    }

    #[test]
    fn garbage_is_a_named_error() {
        let err = read_npy(&b"not numpy"[..], "x.npy").unwrap_err().to_string();
        assert!(err.starts_with("x.npy: not a .npy array"), "{err}");
    }
}
