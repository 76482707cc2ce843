//! `Value` (a tch tensor with its ONNX dtype), the execution environment (device, float
//! precision) and conversion from and to the boundary's `Tensor`.

use sysnoise_boundary::{DType, Tensor};
use tch::{Device, Kind};

use crate::error::OpError;

/// The precision floats are computed in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Precision {
    /// Every tensor in its own ONNX dtype (an f32 model in f32).
    Native,
    /// Every float tensor (f32, f64, f16, bf16) computed in float16; graph inputs and outputs
    /// keep their declared dtypes (cast at the edges).
    F16,
    /// Every float tensor computed in bfloat16, cast at the edges likewise.
    BF16,
}

/// Where and in which precision a graph runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Env {
    pub device: Device,
    pub precision: Precision,
}

/// A tensor in the session: the tch tensor and the ONNX dtype it stands for. The tensor's
/// kind is always `env.kind(dtype)` (the compute kind for floats under a reduced precision).
#[derive(Debug)]
pub struct Value {
    pub t: tch::Tensor,
    pub dtype: DType,
}

impl Clone for Value {
    fn clone(&self) -> Value {
        Value {
            t: self.t.shallow_clone(),
            dtype: self.dtype,
        }
    }
}

/// LibTorch's 8-bit float kind of an ONNX float8 dtype (E8M0 has none).
pub fn float8_kind(dtype: DType) -> Option<Kind> {
    match dtype {
        DType::F8E4M3FN => Some(Kind::Float8e4m3fn),
        DType::F8E4M3FNUZ => Some(Kind::Float8e4m3fnuz),
        DType::F8E5M2 => Some(Kind::Float8e5m2),
        DType::F8E5M2FNUZ => Some(Kind::Float8e5m2fnuz),
        _ => None,
    }
}

/// The kind tensors of `dtype` are stored in at the graph's edges (bytes in, bytes out): the
/// dtype's own kind, LibTorch's float8 kinds included (u16 / u32 are widened in Rust instead).
pub fn storage_kind(dtype: DType) -> Result<Kind, OpError> {
    float8_kind(dtype).map_or_else(|| kind_of(dtype), Ok)
}

/// The mask that wraps a widened unsigned value back into its dtype's range (ONNX unsigned
/// arithmetic is modular: `3 - 5` is 65534 in u16).
fn unsigned_mask(dtype: DType) -> Option<i64> {
    match dtype {
        DType::U16 => Some(0xFFFF),
        DType::U32 => Some(0xFFFF_FFFF),
        _ => None,
    }
}

/// The tch kind `dtype` is computed in, holding every value of `dtype` exactly, if LibTorch
/// (as tch exposes it) has one. Float8 values are held in f32 (LibTorch computes nothing in
/// float8); every result of a float8 dtype is rounded onto its grid by LibTorch's conversion.
pub fn kind_of(dtype: DType) -> Result<Kind, OpError> {
    if float8_kind(dtype).is_some() {
        return Ok(Kind::Float);
    }
    Ok(match dtype {
        DType::F32 => Kind::Float,
        DType::F64 => Kind::Double,
        DType::F16 => Kind::Half,
        DType::BF16 => Kind::BFloat16,
        DType::I8 => Kind::Int8,
        DType::I16 => Kind::Int16,
        DType::I32 => Kind::Int,
        DType::I64 => Kind::Int64,
        DType::U8 => Kind::Uint8,
        DType::Bool => Kind::Bool,
        // tch has no unsigned kinds but u8: u16 and u32 are held in the next wider signed kind
        // (results wrapped back into range by `Env::value`); u64 has none wider.
        DType::U16 => Kind::Int,
        DType::U32 => Kind::Int64,
        DType::U64 => {
            return Err(OpError::unsupported(format!(
                "tch has no {dtype} tensors (nor a wider kind to hold them)"
            )));
        }
        other => return Err(OpError::unsupported(format!("{other} tensors are not computed on"))),
    })
}

/// The ONNX dtype a tch kind holds.
pub fn dtype_of(kind: Kind) -> Result<DType, OpError> {
    Ok(match kind {
        Kind::Float => DType::F32,
        Kind::Double => DType::F64,
        Kind::Half => DType::F16,
        Kind::BFloat16 => DType::BF16,
        Kind::Int8 => DType::I8,
        Kind::Int16 => DType::I16,
        Kind::Int => DType::I32,
        Kind::Int64 => DType::I64,
        Kind::Uint8 => DType::U8,
        Kind::Bool => DType::Bool,
        other => return Err(OpError::unsupported(format!("LibTorch produced a {other:?} tensor"))),
    })
}

impl Env {
    /// The kind tensors of `dtype` are computed in.
    pub fn kind(&self, dtype: DType) -> Result<Kind, OpError> {
        match (dtype.is_float(), self.precision) {
            (true, Precision::F16) => Ok(Kind::Half),
            (true, Precision::BF16) => Ok(Kind::BFloat16),
            _ => kind_of(dtype),
        }
    }

    /// Tensor options for a new tensor standing for `dtype`.
    pub fn options(&self, dtype: DType) -> Result<(Kind, Device), OpError> {
        Ok((self.kind(dtype)?, self.device))
    }

    /// A value of `dtype` from a tensor computed by LibTorch, cast to the compute kind of
    /// `dtype` when its kind differs (an integer op LibTorch promoted, a Cast).
    pub fn value(&self, t: tch::Tensor, dtype: DType) -> Result<Value, OpError> {
        let kind = self.kind(dtype)?;
        let t = match float8_kind(dtype) {
            Some(float8) if t.f_kind()? != float8 => t.f_to_kind(float8)?.f_to_kind(kind)?,
            _ if t.f_kind()? == kind => t,
            _ => t.f_to_kind(kind)?,
        };
        let t = match unsigned_mask(dtype) {
            Some(mask) => t.f_bitwise_and(mask)?,
            None => t,
        };
        Ok(Value { t, dtype })
    }

    /// A value of the same dtype as `like` (float results of float inputs, same-type ops).
    pub fn like(&self, t: tch::Tensor, like: &Value) -> Result<Value, OpError> {
        self.value(t, like.dtype)
    }

    /// A value whose dtype is that of the tensor's kind (bool and integer results).
    pub fn native(&self, t: tch::Tensor) -> Result<Value, OpError> {
        let dtype = dtype_of(t.f_kind()?)?;
        Ok(Value { t, dtype })
    }

    /// A boundary tensor moved into the session (on the device, floats in the compute kind).
    pub fn import(&self, tensor: &Tensor) -> Result<Value, OpError> {
        let dtype = tensor.dtype();
        let exact = storage_kind(dtype)?;
        let shape: Vec<i64> = tensor.shape().iter().map(|&d| d as i64).collect();
        let bytes = match tensor {
            Tensor::U16(a) => Tensor::I32(a.mapv(i32::from)).to_le_bytes(),
            Tensor::U32(a) => Tensor::I64(a.mapv(i64::from)).to_le_bytes(),
            _ => tensor.to_le_bytes(),
        };
        let t = tch::Tensor::f_from_data_size(&bytes, &shape, exact)?;
        let t = if self.device == Device::Cpu {
            t
        } else {
            t.f_to_device(self.device)?
        };
        self.value(t, dtype)
    }

    /// A value moved out of the session as a boundary tensor of `dtype` (a declared graph
    /// output type; the value's own dtype when `None`).
    pub fn export(&self, value: &Value, dtype: Option<DType>) -> Result<Tensor, OpError> {
        let dtype = dtype.unwrap_or(value.dtype);
        let kind = storage_kind(dtype)?;
        let t = value.t.f_to_device(Device::Cpu)?;
        let t = if t.f_kind()? == kind { t } else { t.f_to_kind(kind)? };
        let shape: Vec<usize> = t.size().iter().map(|&d| d as usize).collect();
        let numel: usize = shape.iter().product();
        let mut bytes = vec![0u8; numel * kind.elt_size_in_bytes()];
        if numel > 0 {
            t.f_copy_data_u8(&mut bytes, numel)?;
        }
        let wide_dtype = match dtype {
            DType::U16 => DType::I32,
            DType::U32 => DType::I64,
            other => other,
        };
        let tensor = Tensor::from_le_bytes(wide_dtype, &shape, &bytes).map_err(|e| OpError::invalid(e.to_string()))?;
        // Values are in range (`Env::value` wraps them), so narrowing keeps them.
        Ok(match tensor {
            Tensor::I32(a) if dtype == DType::U16 => Tensor::U16(a.mapv(|v| v as u16)),
            Tensor::I64(a) if dtype == DType::U32 => Tensor::U32(a.mapv(|v| v as u32)),
            other => other,
        })
    }
}

impl Value {
    pub fn shape(&self) -> Vec<i64> {
        self.t.size()
    }

    pub fn rank(&self) -> usize {
        self.t.dim()
    }

    pub fn is_float(&self) -> bool {
        self.dtype.is_float()
    }

    /// The elements as i64, in row-major order (shapes, axes, pads, indices).
    pub fn to_i64s(&self) -> Result<Vec<i64>, OpError> {
        self.elements()
    }

    /// The elements as f64, in row-major order (scales, scalar parameters).
    pub fn to_f64s(&self) -> Result<Vec<f64>, OpError> {
        self.elements()
    }

    /// The elements converted to `T`, in row-major order, on the CPU.
    fn elements<T: tch::kind::Element>(&self) -> Result<Vec<T>, OpError> {
        let t = self.t.f_to_device(Device::Cpu)?.f_to_kind(T::KIND)?.f_contiguous()?;
        let n = t.numel();
        let mut out = vec![T::ZERO; n];
        if n > 0 {
            t.f_copy_data(&mut out, n)?;
        }
        Ok(out)
    }
}
