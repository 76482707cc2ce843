//! Reference kernels: dtype conversion between numeric and bool tensors (Cast, CastLike) and bit reinterpretation (BitCast).

use ndarray::ArrayD;
use sysnoise_boundary::DType;
use sysnoise_boundary::tensor::onnx_type_name;

use super::Registry;
use crate::context::OpContext;
use crate::error::OpError;
use crate::value::{Data, Value, float8_round, is_real, round_to};

pub fn register(r: &mut Registry) {
    r.add("Cast", cast);
    r.add("CastLike", |c, i| {
        let target = c.input(i, 1)?.dtype;
        if !computable(target) {
            return Err(OpError::unsupported(format!("CastLike to {target} is not implemented")));
        }
        Ok(vec![convert(c.input(i, 0)?, target, saturates(c))])
    });
    r.add("BitCast", bitcast);
}

/// BitCast (opset 26): the same bytes read as `to`, a type of the same width.
fn bitcast(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    let code = ctx.int("to", 0);
    let target = i32::try_from(code)
        .ok()
        .and_then(|c| DType::from_onnx_code(c).ok())
        .filter(|d| !DType::PASS_THROUGH.contains(d) && !DType::PASS_THROUGH.contains(&x.dtype))
        .ok_or_else(|| OpError::unsupported(format!("BitCast from {} to type {code}", x.dtype)))?;
    if target.size() != x.dtype.size() {
        return Err(OpError::invalid(format!(
            "BitCast from {} ({} bytes) to {target} ({} bytes): widths differ",
            x.dtype,
            x.dtype.size(),
            target.size()
        )));
    }
    let tensor = x.to_tensor();
    let bytes = tensor.to_le_bytes();
    let cast = sysnoise_boundary::Tensor::from_le_bytes(target, tensor.shape(), &bytes)
        .map_err(|e| OpError::invalid(format!("BitCast: {e}")))?;
    Ok(vec![Value::from_tensor(&cast)?])
}

fn cast(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let code = ctx.int("to", 0);
    let target = i32::try_from(code)
        .ok()
        .and_then(|c| DType::from_onnx_code(c).ok())
        .filter(|&d| computable(d))
        .ok_or_else(|| {
            let name = i32::try_from(code).map_or_else(|_| code.to_string(), onnx_type_name);
            OpError::unsupported(format!(
                "Cast to {name} (string, float8 E8M0 and sub-byte types are not implemented)"
            ))
        })?;
    Ok(vec![convert(ctx.input(inputs, 0)?, target, saturates(ctx))])
}

/// The types Cast converts to: numbers, bool and the float8 formats with a sign.
fn computable(dtype: DType) -> bool {
    !DType::PASS_THROUGH.contains(&dtype) || (is_real(dtype) && dtype.float8().is_some())
}

/// Cast's `saturate` attribute (opset 19; float8 targets only), default 1.
fn saturates(ctx: &OpContext) -> bool {
    ctx.int("saturate", 1) != 0
}

/// Converts a value to `to` with the ONNX Cast rules.
fn convert(x: &Value, to: DType, saturate: bool) -> Value {
    if let Some(format) = to.float8() {
        // Every source exactly in f64 first (integers of float8 range are), then one rounding.
        return Value::float(to, x.to_f64().mapv(|v| float8_round(format, v, saturate)));
    }
    match &x.data {
        Data::F(a) => from_float(a, to),
        Data::I(a) => from_int(x.dtype, a, to),
        Data::B(a) => Value::from_f64(to, a.mapv(|b| if b { 1.0 } else { 0.0 })),
    }
}

/// Float to float rounds to the target precision; to an integer truncates toward zero (out of
/// range is undefined: saturated to i64, then wrapped); to bool is `!= 0` (NaN is true).
fn from_float(a: &ArrayD<f64>, to: DType) -> Value {
    if to == DType::U64 {
        Value::int(to, a.mapv(float_to_u64_bits))
    } else {
        Value::from_f64(to, a.clone())
    }
}

/// A float truncated to u64 and held as its bit pattern (values of 2^63 and more do not fit an i64).
fn float_to_u64_bits(v: f64) -> i64 {
    const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;
    match v {
        _ if !v.is_finite() => 0,
        _ if v >= TWO_POW_63 => v as u64 as i64,
        _ => v as i64,
    }
}

/// Integer to integer keeps the low bits (two's complement) without passing through f64.
fn from_int(from: DType, a: &ArrayD<i64>, to: DType) -> Value {
    if to == DType::Bool {
        Value::boolean(a.mapv(|v| v != 0))
    } else if to.is_float() {
        Value::float(to, a.mapv(|v| int_to_float(from, v, to)))
    } else {
        Value::int(to, a.clone())
    }
}

/// An integer rounded once, to nearest-even, into the float dtype `to`.
fn int_to_float(from: DType, v: i64, to: DType) -> f64 {
    // Below 2^53 the integer is exact in f64: one rounding to `to` is all there is.
    if from != DType::U64 && v.unsigned_abs() < 1 << 53 {
        return round_to(to, v as f64);
    }
    let wide = if from == DType::U64 {
        i128::from(v as u64)
    } else {
        i128::from(v)
    };
    if to == DType::F64 {
        wide as f64
    } else {
        round_to(to, round_to_odd(wide))
    }
}

/// `v` as f64 rounded to odd: exact when it fits, else truncated with the last mantissa bit
/// set, so that a second rounding to a narrower float equals a single rounding of `v`.
fn round_to_odd(v: i128) -> f64 {
    let nearest = v as f64;
    let back = nearest as i128;
    if back == v {
        return nearest;
    }
    let truncated = if back.abs() > v.abs() {
        f64::from_bits(nearest.to_bits() - 1)
    } else {
        nearest
    };
    f64::from_bits(truncated.to_bits() | 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::IxDyn;

    fn ints(dtype: DType, v: Vec<i64>) -> Value {
        let n = v.len();
        Value::int(dtype, ArrayD::from_shape_vec(IxDyn(&[n]), v).unwrap())
    }

    #[test]
    fn int_to_int_wraps_without_f64() {
        let big = ints(DType::I64, vec![(1 << 60) + 1, -1, 200]);
        assert_eq!(
            convert(&big, DType::U64, true).to_i64_vec(),
            vec![(1 << 60) + 1, -1, 200]
        );
        assert_eq!(convert(&big, DType::I8, true).to_i64_vec(), vec![1, -1, -56]);
        assert_eq!(convert(&big, DType::U16, true).to_i64_vec(), vec![1, 65535, 200]);
    }

    #[test]
    fn float_to_int_truncates() {
        let f = Value::float(
            DType::F64,
            ArrayD::from_shape_vec(IxDyn(&[3]), vec![-2.7, 2.7, 1e19]).unwrap(),
        );
        assert_eq!(convert(&f, DType::I32, true).to_i64_vec()[..2], [-2, 2]);
        assert_eq!(
            convert(&f, DType::U64, true).to_i64_vec()[2] as u64,
            10_000_000_000_000_000_000
        );
    }

    #[test]
    fn int_to_f32_rounds_once() {
        // 2^60 + 2^36 + 1 is just above the midpoint of two f32 neighbours: rounds up, not to even.
        let v = (1i64 << 60) + (1 << 36) + 1;
        assert_eq!(int_to_float(DType::I64, v, DType::F32), f64::from(v as f32));
        assert_eq!(int_to_float(DType::U64, -1, DType::F32), 18_446_744_073_709_551_616.0);
    }
}
