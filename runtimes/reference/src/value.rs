//! `Value`: the reference interpreter's tensor, held in f64 / i64 / bool whatever the ONNX dtype.

use half::{bf16, f16};
use ndarray::{ArrayD, IxDyn};
use sysnoise_boundary::{DType, Float8Format, Tensor};

use crate::error::OpError;

/// The storage of a [`Value`]. Floats of every width are held as f64 and are *not* rounded
/// between ops (that is the point of an oracle); integers as i64 wrapped to their dtype's
/// range (u64 values above i64::MAX are not representable); bools as bool.
#[derive(Clone, Debug, PartialEq)]
pub enum Data {
    F(ArrayD<f64>),
    I(ArrayD<i64>),
    B(ArrayD<bool>),
}

/// A tensor in the reference interpreter: its ONNX dtype and its data.
#[derive(Clone, Debug, PartialEq)]
pub struct Value {
    pub dtype: DType,
    pub data: Data,
}

impl Value {
    /// A float value of `dtype` (values kept in f64).
    pub fn float(dtype: DType, a: ArrayD<f64>) -> Value {
        debug_assert!(is_real(dtype));
        Value {
            dtype,
            data: Data::F(a),
        }
    }

    /// This value with its floats rounded to its dtype's precision (integers and bools as they are).
    pub fn rounded_to_dtype(self) -> Value {
        match self.data {
            Data::F(a) if self.dtype != DType::F64 => {
                let dtype = self.dtype;
                Value::float(dtype, a.mapv(|v| round_to(dtype, v)))
            }
            _ => self,
        }
    }

    /// An integer value of `dtype`; values are wrapped to the dtype's range.
    pub fn int(dtype: DType, a: ArrayD<i64>) -> Value {
        let a = if dtype == DType::I64 || dtype == DType::U64 {
            a
        } else {
            a.mapv(|v| wrap_int(dtype, v))
        };
        Value {
            dtype,
            data: Data::I(a),
        }
    }

    pub fn boolean(a: ArrayD<bool>) -> Value {
        Value {
            dtype: DType::Bool,
            data: Data::B(a),
        }
    }

    /// A value of `dtype` from f64 numbers, converted as ONNX Cast does (round to the target
    /// float precision; truncate toward zero and wrap for integers; `!= 0` for bool).
    pub fn from_f64(dtype: DType, a: ArrayD<f64>) -> Value {
        if dtype.is_float() {
            Value::float(dtype, a.mapv(|v| round_to(dtype, v)))
        } else if dtype == DType::Bool {
            Value::boolean(a.mapv(|v| v != 0.0))
        } else {
            Value::int(dtype, a.mapv(|v| if v.is_finite() { v.trunc() as i64 } else { 0 }))
        }
    }

    /// A 1-D i64 value.
    pub fn i64s(values: Vec<i64>) -> Value {
        let n = values.len();
        Value::int(DType::I64, ArrayD::from_shape_vec(IxDyn(&[n]), values).expect("1-D"))
    }

    pub fn shape(&self) -> &[usize] {
        match &self.data {
            Data::F(a) => a.shape(),
            Data::I(a) => a.shape(),
            Data::B(a) => a.shape(),
        }
    }

    pub fn len(&self) -> usize {
        self.shape().iter().product()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The values as f64 (ints converted, bools 0/1).
    pub fn to_f64(&self) -> ArrayD<f64> {
        match &self.data {
            Data::F(a) => a.clone(),
            Data::I(a) => a.mapv(|v| {
                if self.dtype == DType::U64 {
                    v as u64 as f64
                } else {
                    v as f64
                }
            }),
            Data::B(a) => a.mapv(|v| if v { 1.0 } else { 0.0 }),
        }
    }

    /// Borrow the f64 array of a float value.
    pub fn as_float(&self) -> Result<&ArrayD<f64>, OpError> {
        match &self.data {
            Data::F(a) => Ok(a),
            _ => Err(OpError::unsupported(format!(
                "expected a float tensor, got {}",
                self.dtype
            ))),
        }
    }

    /// The values as i64 (floats truncated, bools 0/1).
    pub fn to_i64(&self) -> ArrayD<i64> {
        match &self.data {
            Data::F(a) => a.mapv(|v| v as i64),
            Data::I(a) => a.clone(),
            Data::B(a) => a.mapv(i64::from),
        }
    }

    /// The values as a flat i64 list (for shape/axes/pads/indices inputs).
    pub fn to_i64_vec(&self) -> Vec<i64> {
        self.to_i64().iter().copied().collect()
    }

    pub fn to_bool(&self) -> ArrayD<bool> {
        match &self.data {
            Data::F(a) => a.mapv(|v| v != 0.0),
            Data::I(a) => a.mapv(|v| v != 0),
            Data::B(a) => a.clone(),
        }
    }

    /// Applies a shape-only transformation (reshape, transpose, slice, ...) to whatever data.
    pub fn map_array(
        &self,
        f: impl Fn(&ArrayD<f64>) -> ArrayD<f64>,
        g: impl Fn(&ArrayD<i64>) -> ArrayD<i64>,
        h: impl Fn(&ArrayD<bool>) -> ArrayD<bool>,
    ) -> Value {
        let data = match &self.data {
            Data::F(a) => Data::F(f(a)),
            Data::I(a) => Data::I(g(a)),
            Data::B(a) => Data::B(h(a)),
        };
        Value {
            dtype: self.dtype,
            data,
        }
    }

    /// The value of a boundary tensor; float8 and string tensors are not computed on.
    pub fn from_tensor(t: &Tensor) -> Result<Value, OpError> {
        let dtype = t.dtype();
        Ok(match t {
            Tensor::F32(_) | Tensor::F64(_) | Tensor::F16(_) | Tensor::BF16(_) => Value::float(dtype, t.to_f64_array()),
            Tensor::Bool(a) => Value::boolean(a.clone()),
            Tensor::I64(a) => Value::int(dtype, a.clone()),
            Tensor::U64(a) => Value::int(dtype, a.mapv(|v| v as i64)),
            Tensor::I8(a) => Value::int(dtype, a.mapv(i64::from)),
            Tensor::I16(a) => Value::int(dtype, a.mapv(i64::from)),
            Tensor::I32(a) => Value::int(dtype, a.mapv(i64::from)),
            Tensor::U8(a) => Value::int(dtype, a.mapv(i64::from)),
            Tensor::U16(a) => Value::int(dtype, a.mapv(i64::from)),
            Tensor::U32(a) => Value::int(dtype, a.mapv(i64::from)),
            Tensor::F8E4M3FN(_) | Tensor::F8E4M3FNUZ(_) | Tensor::F8E5M2(_) | Tensor::F8E5M2FNUZ(_) => {
                Value::float(dtype, t.to_f64_array())
            }
            Tensor::F8E8M0(_) | Tensor::String(_) => {
                return Err(OpError::unsupported(format!(
                    "the reference does not compute on {dtype} tensors"
                )));
            }
        })
    }

    /// Converts to a boundary tensor of this value's dtype (floats rounded once, here).
    pub fn to_tensor(&self) -> Tensor {
        match &self.data {
            Data::F(a) => Tensor::from_f64(self.dtype, a),
            Data::B(a) => Tensor::Bool(a.clone()),
            Data::I(a) => match self.dtype {
                DType::I64 => Tensor::I64(a.clone()),
                DType::U64 => Tensor::U64(a.mapv(|v| v as u64)),
                DType::I32 => Tensor::I32(a.mapv(|v| v as i32)),
                DType::I16 => Tensor::I16(a.mapv(|v| v as i16)),
                DType::I8 => Tensor::I8(a.mapv(|v| v as i8)),
                DType::U32 => Tensor::U32(a.mapv(|v| v as u32)),
                DType::U16 => Tensor::U16(a.mapv(|v| v as u16)),
                DType::U8 => Tensor::U8(a.mapv(|v| v as u8)),
                other => unreachable!("integer data with dtype {other}"),
            },
        }
    }
}

/// Rounds an f64 to the nearest value representable in the float `dtype` (identity for f64;
/// the float8 types saturate, as Cast does by default).
pub fn round_to(dtype: DType, v: f64) -> f64 {
    match dtype {
        DType::F32 => v as f32 as f64,
        DType::F16 => f16::from_f64(v).to_f64(),
        DType::BF16 => bf16::from_f64(v).to_f64(),
        _ => match dtype.float8() {
            Some(format) if dtype != DType::F8E8M0 => float8_round(format, v, true),
            _ => v,
        },
    }
}

/// The float types the reference computes on: f16, bf16, f32, f64 and the four float8 formats
/// with a sign (E8M0, a scale format, is carried only).
pub fn is_real(dtype: DType) -> bool {
    dtype.is_float() || (dtype.float8().is_some() && dtype != DType::F8E8M0)
}

/// `v` rounded to the nearest value of a float8 `format` (ties to the even code). With
/// `saturate`, values beyond the largest finite one (infinities included) clamp to it; without,
/// a value that rounds past it becomes ±inf (E5M2) or NaN (the formats without infinities),
/// as ONNX Cast's `saturate = 0` specifies.
pub fn float8_round(format: Float8Format, v: f64, saturate: bool) -> f64 {
    if v.is_nan() {
        return f64::NAN;
    }
    let finite: Vec<(u8, f64)> = (0..=0x7Fu8)
        .map(|code| (code, format.decode(code)))
        .filter(|(_, value)| value.is_finite())
        .collect();
    let (max_code, max) = finite
        .iter()
        .copied()
        .fold((0, 0.0), |best, c| if c.1 > best.1 { c } else { best });
    if saturate {
        return format.decode(format.encode(v.clamp(-max, max)));
    }
    let below = finite.iter().map(|c| c.1).filter(|&x| x < max).fold(0.0, f64::max);
    let midpoint = max + (max - below) / 2.0;
    let overflows = v.abs() > midpoint || (v.abs() == midpoint && max_code & 1 == 1);
    if overflows {
        return if format == Float8Format::E5M2 {
            f64::INFINITY.copysign(v)
        } else {
            f64::NAN
        };
    }
    format.decode(format.encode(v))
}

/// Wraps an i64 to the range of an integer dtype (two's complement), as a C cast would.
pub fn wrap_int(dtype: DType, v: i64) -> i64 {
    match dtype {
        DType::I8 => v as i8 as i64,
        DType::I16 => v as i16 as i64,
        DType::I32 => v as i32 as i64,
        DType::U8 => v as u8 as i64,
        DType::U16 => v as u16 as i64,
        DType::U32 => v as u32 as i64,
        _ => v,
    }
}

#[cfg(test)]
mod float8_tests {
    use super::*;

    #[test]
    fn float8_rounding_saturates_or_overflows_as_cast_says() {
        let e4m3 = Float8Format::E4M3FN;
        assert_eq!(float8_round(e4m3, 500.0, true), 448.0);
        assert_eq!(float8_round(e4m3, f64::INFINITY, true), 448.0);
        assert!(float8_round(e4m3, 500.0, false).is_nan());
        // 464 is halfway between 448 (an even code) and the first code past it: ties to 448.
        assert_eq!(float8_round(e4m3, 464.0, false), 448.0);
        assert!(float8_round(e4m3, 465.0, false).is_nan());
        assert_eq!(float8_round(Float8Format::E5M2, -1e6, false), f64::NEG_INFINITY);
        assert_eq!(float8_round(Float8Format::E5M2, -1e6, true), -57344.0);
        assert_eq!(float8_round(e4m3, 0.3, true), 0.3125);
        assert_eq!(round_to(DType::F8E5M2, 3.3), 3.5);
    }
}
