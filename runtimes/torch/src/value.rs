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

/// The tch kind holding `dtype` exactly, if LibTorch (as tch exposes it) has one.
pub fn kind_of(dtype: DType) -> Result<Kind, OpError> {
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
        DType::U16 | DType::U32 | DType::U64 => {
            return Err(OpError::unsupported(format!("tch has no {dtype} tensors")));
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
        let t = if t.f_kind()? == kind { t } else { t.f_to_kind(kind)? };
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
        let exact = kind_of(dtype)?;
        let shape: Vec<i64> = tensor.shape().iter().map(|&d| d as i64).collect();
        let t = tch::Tensor::f_from_data_size(&tensor.to_le_bytes(), &shape, exact)?;
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
        let kind = kind_of(dtype)?;
        let t = value.t.f_to_device(Device::Cpu)?;
        let t = if t.f_kind()? == kind { t } else { t.f_to_kind(kind)? };
        let shape: Vec<usize> = t.size().iter().map(|&d| d as usize).collect();
        let numel: usize = shape.iter().product();
        let mut bytes = vec![0u8; numel * kind.elt_size_in_bytes()];
        if numel > 0 {
            t.f_copy_data_u8(&mut bytes, numel)?;
        }
        Tensor::from_le_bytes(dtype, &shape, &bytes).map_err(|e| OpError::invalid(e.to_string()))
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
        let t = self
            .t
            .f_to_device(Device::Cpu)?
            .f_to_kind(Kind::Int64)?
            .f_contiguous()?;
        let n = t.numel();
        let mut out = vec![0i64; n];
        if n > 0 {
            t.f_copy_data(&mut out, n)?;
        }
        Ok(out)
    }

    /// The elements as f64, in row-major order (scales, scalar parameters).
    pub fn to_f64s(&self) -> Result<Vec<f64>, OpError> {
        let t = self
            .t
            .f_to_device(Device::Cpu)?
            .f_to_kind(Kind::Double)?
            .f_contiguous()?;
        let n = t.numel();
        let mut out = vec![0f64; n];
        if n > 0 {
            t.f_copy_data(&mut out, n)?;
        }
        Ok(out)
    }
}
