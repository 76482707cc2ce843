//! Conversions between boundary tensors and ORT values, and ORT errors to `RuntimeError`.

use ort::memory::Allocator;
use ort::value::{DynTensor, DynTensorValueType, DynValue, TensorElementType, ValueType};
use sysnoise_boundary::error::text_between;
use sysnoise_boundary::{DType, RuntimeError, Tensor};

fn element_type(dtype: DType) -> TensorElementType {
    match dtype {
        DType::F32 => TensorElementType::Float32,
        DType::F64 => TensorElementType::Float64,
        DType::F16 => TensorElementType::Float16,
        DType::BF16 => TensorElementType::Bfloat16,
        DType::I8 => TensorElementType::Int8,
        DType::I16 => TensorElementType::Int16,
        DType::I32 => TensorElementType::Int32,
        DType::I64 => TensorElementType::Int64,
        DType::U8 => TensorElementType::Uint8,
        DType::U16 => TensorElementType::Uint16,
        DType::U32 => TensorElementType::Uint32,
        DType::U64 => TensorElementType::Uint64,
        DType::Bool => TensorElementType::Bool,
        DType::F8E4M3FN => TensorElementType::Float8E4M3FN,
        DType::F8E4M3FNUZ => TensorElementType::Float8E4M3FNUZ,
        DType::F8E5M2 => TensorElementType::Float8E5M2,
        DType::F8E5M2FNUZ => TensorElementType::Float8E5M2FNUZ,
        DType::F8E8M0 => TensorElementType::Float8E8M0,
        DType::String => TensorElementType::String,
    }
}

fn dtype_of(ty: TensorElementType) -> Option<DType> {
    DType::ALL
        .into_iter()
        .chain(DType::PASS_THROUGH)
        .find(|&d| element_type(d) == ty)
}

/// Copies a boundary tensor into a new ORT tensor.
pub fn to_ort(tensor: &Tensor) -> Result<DynTensor, ort::Error> {
    if let Tensor::String(strings) = tensor {
        let shape: Vec<i64> = strings.shape().iter().map(|&d| d as i64).collect();
        let values: Vec<String> = strings.iter().cloned().collect();
        return Ok(ort::value::Tensor::from_string_array((shape, values.as_slice()))?.upcast());
    }
    let shape: Vec<i64> = tensor.shape().iter().map(|&d| d as i64).collect();
    let mut value = DynTensor::new(&Allocator::default(), element_type(tensor.dtype()), shape)?;
    let bytes = tensor.to_le_bytes();
    if !bytes.is_empty() {
        let dst = value.data_ptr_mut().cast::<u8>();
        // SAFETY: ORT allocated a CPU buffer of exactly shape × element size bytes for this
        // dtype, which is `bytes.len()`; the regions do not overlap.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), dst, bytes.len()) };
    }
    Ok(value)
}

/// Copies an ORT output value into a boundary tensor.
pub fn from_ort(runtime: &str, value: DynValue) -> Result<Tensor, RuntimeError> {
    let (ty, shape) = match value.dtype() {
        ValueType::Tensor { ty, shape, .. } => (*ty, shape.iter().map(|&d| d as usize).collect::<Vec<_>>()),
        other => {
            return Err(RuntimeError::unsupported(
                runtime,
                format!("non-tensor output ({other})"),
            ));
        }
    };
    let dtype = dtype_of(ty).ok_or_else(|| RuntimeError::unsupported(runtime, format!("{ty:?} outputs")))?;
    let tensor = value
        .downcast::<DynTensorValueType>()
        .map_err(|e| classify(runtime, &e))?;
    if dtype == DType::String {
        let (_, strings) = tensor.try_extract_strings().map_err(|e| classify(runtime, &e))?;
        let array = ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(&shape), strings)
            .map_err(|e| RuntimeError::failed(runtime, e.to_string()))?;
        return Ok(Tensor::String(array));
    }
    let len = shape.iter().product::<usize>() * dtype.size();
    let bytes = if len == 0 {
        &[][..]
    } else {
        // SAFETY: a CPU tensor of `shape` and `dtype` holds `len` contiguous bytes.
        unsafe { std::slice::from_raw_parts(tensor.data_ptr().cast::<u8>(), len) }
    };
    Tensor::from_le_bytes(dtype, &shape, bytes).map_err(|e| RuntimeError::failed(runtime, e.to_string()))
}

/// Maps an ORT error to a `RuntimeError`: missing kernels and unsupported types or opsets
/// are `Unsupported`, the rest `Failed`; the node named in the message is kept.
pub fn classify<R>(runtime: &str, error: &ort::Error<R>) -> RuntimeError {
    let message = error.message().to_string();
    let unsupported = matches!(error.code(), ort::ErrorCode::NotImplemented)
        || [
            "Could not find an implementation",
            "No Op registered for",
            "Type Error: Type '",
            // Kernel limitations ORT states itself ("... (layout == 1) are not supported",
            // "does not support double yet", "Dilation not supported for AutoPadType::SAME").
            "are not supported",
            "does not support",
            "not supported for",
            "is not a registered function/op",
            "Unsupported model IR version",
            "opset",
        ]
        .iter()
        .any(|needle| message.contains(needle));
    let node = node_in_message(&message);
    RuntimeError::from_message(runtime, message, unsupported, node)
}

/// ORT names nodes as `node with name 'X'`, `Name:'X'`, `In Node, ("X"`, `Node (X)` or `Node:X` in its messages.
fn node_in_message(message: &str) -> Option<String> {
    let quoted = |start: &str, end: char| text_between(message, start, end);
    quoted("node with name '", '\'')
        .or_else(|| quoted("Name:'", '\''))
        .or_else(|| quoted("In Node, (\"", '"'))
        .or_else(|| quoted("Node (", ')'))
        .or_else(|| quoted("Node:", ' '))
        .filter(|n| !n.is_empty())
}

#[cfg(test)]
mod tests {
    use super::node_in_message;

    #[test]
    fn node_names_are_found_in_ort_messages() {
        assert_eq!(
            node_in_message("Could not find an implementation for Foo(1) node with name 'n1'").as_deref(),
            Some("n1")
        );
        assert_eq!(
            node_in_message("Non-zero status code returned while running Conv node. Name:'c' Status").as_deref(),
            Some("c")
        );
        assert_eq!(
            node_in_message("[ShapeInferenceError] Node (conv_0) has input size 1").as_deref(),
            Some("conv_0")
        );
    }
}
