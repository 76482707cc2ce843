//! Conversions between boundary tensors and tract tensors, and tract errors to `RuntimeError`.

use sysnoise_boundary::{DType, RuntimeError, Tensor};
use tract_onnx::prelude::{DatumType, Tensor as TractTensor};

/// The tract-onnx version this adapter is built against (pinned in the workspace).
pub const TRACT_VERSION: &str = "0.23.9";

/// tract's datum type for a dtype; bf16 has none.
pub fn datum_type(runtime: &str, dtype: DType) -> Result<DatumType, RuntimeError> {
    Ok(match dtype {
        DType::F32 => DatumType::F32,
        DType::F64 => DatumType::F64,
        DType::F16 => DatumType::F16,
        DType::I8 => DatumType::I8,
        DType::I16 => DatumType::I16,
        DType::I32 => DatumType::I32,
        DType::I64 => DatumType::I64,
        DType::U8 => DatumType::U8,
        DType::U16 => DatumType::U16,
        DType::U32 => DatumType::U32,
        DType::U64 => DatumType::U64,
        DType::Bool => DatumType::Bool,
        DType::String => DatumType::String,
        DType::BF16 => return Err(RuntimeError::unsupported(runtime, "tract has no bfloat16 tensors")),
        other => {
            return Err(RuntimeError::unsupported(
                runtime,
                format!("tract has no {other} tensors"),
            ));
        }
    })
}

fn dtype_of(runtime: &str, dt: DatumType) -> Result<DType, RuntimeError> {
    DType::ALL
        .into_iter()
        .chain(DType::PASS_THROUGH)
        .find(|&d| datum_type(runtime, d).ok() == Some(dt))
        .ok_or_else(|| RuntimeError::unsupported(runtime, format!("{dt:?} outputs")))
}

pub fn to_tract(runtime: &str, tensor: &Tensor) -> Result<TractTensor, RuntimeError> {
    if let Tensor::String(strings) = tensor {
        return Ok(TractTensor::from(strings.clone()));
    }
    let dt = datum_type(runtime, tensor.dtype())?;
    // SAFETY: the bytes are exactly shape × size_of(dt) little-endian elements of `dt`, which
    // from_raw_dt checks before copying.
    unsafe { TractTensor::from_raw_dt(dt, tensor.shape(), &tensor.to_le_bytes()) }.map_err(|e| classify(runtime, &e))
}

pub fn from_tract(runtime: &str, tensor: &TractTensor) -> Result<Tensor, RuntimeError> {
    if tensor.datum_type() == DatumType::TDim {
        // Shape-valued outputs (Shape, Size) are symbolic dims inside tract; ONNX says int64.
        let ints = tensor.cast_to_dt(DatumType::I64).map_err(|e| classify(runtime, &e))?;
        return from_tract(runtime, &ints);
    }
    let dtype = dtype_of(runtime, tensor.datum_type())?;
    if dtype == DType::String {
        let view = tensor
            .to_plain_array_view::<String>()
            .map_err(|e| classify(runtime, &e))?;
        return Ok(Tensor::String(view.to_owned().into_dyn()));
    }
    Tensor::from_le_bytes(dtype, tensor.shape(), tensor.as_bytes())
        .map_err(|e| RuntimeError::failed(runtime, e.to_string()))
}

/// Maps a tract error chain to a `RuntimeError`: unimplemented ops/types/attributes are
/// `Unsupported`, the rest `Failed`; a node named in the chain is kept.
pub fn classify(runtime: &str, error: &tract_onnx::prelude::TractError) -> RuntimeError {
    let message = format!("{error:#}");
    let lower = message.to_lowercase();
    let unsupported = [
        "unimplemented",
        "not implemented",
        "unsupported",
        "not supported",
        "unknown datumtype",
        "unknown enumeration value",
        // Kernels missing for a dtype ("Sigmoid does not support F64", "Bool is not a number").
        "does not support",
        "is not a number",
        // Parameters tract needs as constants (the `tract-const` mode feeds them so).
        "must be constant",
        "must be a const",
        "are not const",
        "input is variable",
        "expect constant",
        "expect all inputs to be constants",
    ]
    .iter()
    .any(|needle| lower.contains(needle));
    let node = node_in_message(&message);
    RuntimeError::from_message(runtime, message, unsupported, node)
}

/// tract names nodes as `node #12 "name"` or `Building node name (Op)`.
fn node_in_message(message: &str) -> Option<String> {
    if let Some(i) = message.find("node #") {
        let rest = &message[i..];
        let start = rest.find('"')? + 1;
        let end = rest[start..].find('"')? + start;
        return Some(rest[start..end].to_string());
    }
    let i = message.find("Building node ")?;
    let rest = &message[i + "Building node ".len()..];
    rest.split(" (").next().map(str::to_string).filter(|n| !n.is_empty())
}

#[cfg(test)]
mod tests {
    use super::node_in_message;

    #[test]
    fn node_names_are_found_in_tract_messages() {
        assert_eq!(
            node_in_message("Failed analyse for node #3 \"conv_1\" Conv").as_deref(),
            Some("conv_1")
        );
        assert_eq!(
            node_in_message("Building node pad0 (Pad): bad").as_deref(),
            Some("pad0")
        );
        assert_eq!(node_in_message("plain"), None);
    }
}
