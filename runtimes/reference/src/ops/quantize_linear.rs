//! Reference kernels: linear quantisation (QuantizeLinear, DequantizeLinear per tensor, per axis
//! and blocked; DynamicQuantizeLinear).

use ndarray::{ArrayD, Dimension, IxDyn};
use sysnoise_boundary::DType;

use super::Registry;
use crate::context::OpContext;
use crate::error::OpError;
use crate::value::{Value, float8_round, is_real, round_to};

pub fn register(r: &mut Registry) {
    r.add("QuantizeLinear", quantize_linear);
    r.add("DequantizeLinear", dequantize_linear);
    r.add("DynamicQuantizeLinear", dynamic_quantize_linear);
}

/// The integer range of a quantised dtype, `None` for types this kernel does not quantise to
/// (int4/uint4 and float8 have no `Value` representation here).
fn integer_range(dtype: DType) -> Option<(i64, i64)> {
    Some(match dtype {
        DType::U8 => (0, 255),
        DType::I8 => (-128, 127),
        DType::U16 => (0, 65_535),
        DType::I16 => (-32_768, 32_767),
        DType::I32 => (i64::from(i32::MIN), i64::from(i32::MAX)),
        _ => return None,
    })
}

/// How a scale (and zero point) tensor maps onto the quantised tensor: per tensor, per slice
/// along `axis`, or per block of `block` elements along `axis`.
struct Layout {
    axis: usize,
    /// 0: one parameter per slice along `axis` (or one overall when the scale is a scalar).
    block: usize,
    per_tensor: bool,
}

impl Layout {
    fn of(ctx: &OpContext, x_shape: &[usize], scale_shape: &[usize]) -> Result<Layout, OpError> {
        let rank = x_shape.len();
        let per_tensor = scale_shape.iter().product::<usize>() == 1 && scale_shape.len() <= 1;
        if per_tensor {
            return Ok(Layout {
                axis: 0,
                block: 0,
                per_tensor,
            });
        }
        let axis = ctx.axis(ctx.int("axis", 1), rank)?;
        let block = usize::try_from(ctx.int("block_size", 0))
            .map_err(|_| OpError::invalid("block_size must not be negative"))?;
        if block == 0 {
            if scale_shape != [x_shape[axis]] {
                return Err(OpError::invalid(format!(
                    "per-axis scale of shape {scale_shape:?} for axis {axis} of {x_shape:?}"
                )));
            }
        } else {
            let mut want = x_shape.to_vec();
            want[axis] = x_shape[axis].div_ceil(block);
            if scale_shape != want.as_slice() {
                return Err(OpError::invalid(format!(
                    "blocked scale of shape {scale_shape:?} for block_size {block} on axis {axis} of {x_shape:?} (expected {want:?})"
                )));
            }
        }
        Ok(Layout {
            axis,
            block,
            per_tensor,
        })
    }

    /// The parameter (scale or zero point) that applies to element `index` of x.
    fn parameter(&self, index: &[usize], params: &ArrayD<f64>) -> f64 {
        if self.per_tensor {
            return params.iter().next().copied().unwrap_or(0.0);
        }
        if self.block == 0 {
            return params[&[index[self.axis]][..]];
        }
        let mut at = index.to_vec();
        at[self.axis] /= self.block;
        params[IxDyn(&at)]
    }
}

/// `x` rounded to the nearest integer, ties to even, as `f64::round_ties_even` (up to the sign
/// of a zero result) without its libm call: adding and subtracting 1.5·2^52 leaves the
/// integer the hardware's round-to-nearest-even picks, for |x| < 2^51.
fn round_half_even(x: f64) -> f64 {
    const SHIFT: f64 = 6_755_399_441_055_744.0;
    if x.abs() < 2_251_799_813_685_248.0 {
        (x + SHIFT) - SHIFT
    } else {
        x.round_ties_even()
    }
}

/// The zero point as f64 values (zeros of the scale's shape when omitted).
fn zero_points(zero_point: Option<&Value>, scale: &ArrayD<f64>) -> ArrayD<f64> {
    match zero_point {
        Some(z) => z.to_f64(),
        None => ArrayD::zeros(scale.raw_dim()),
    }
}

/// QuantizeLinear: `y = saturate(round(x / y_scale) + y_zero_point)`, rounding half to even,
/// the division in x's float type as the spec computes it. The output type is the zero point's,
/// else `output_dtype` (opset 21), else uint8.
fn quantize_linear(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let x_value = ctx.input(inputs, 0)?;
    let x = x_value.as_float()?;
    let scale_value = ctx.input(inputs, 1)?;
    // The scale is a tensor of its float type: an f64 value the reference kept unrounded (a
    // scale computed in the graph) is that type's value first.
    let scale = scale_value.to_f64().mapv(|v| round_to(scale_value.dtype, v));
    let zero_point = ctx.optional_input(inputs, 2);
    let dtype = match (zero_point, ctx.int("output_dtype", 0)) {
        (Some(z), _) => z.dtype,
        (None, 0) => DType::U8,
        (None, code) => i32::try_from(code)
            .ok()
            .and_then(|c| DType::from_onnx_code(c).ok())
            .ok_or_else(|| OpError::invalid(format!("output_dtype {code}")))?,
    };
    if let Some(format) = dtype.float8().filter(|_| is_real(dtype)) {
        // Float8 quantisation: `x / y_scale + y_zero_point` rounded to the format (ties to the
        // even code), saturating unless `saturate` is 0.
        let saturate = ctx.int("saturate", 1) != 0;
        let layout = Layout::of(ctx, x.shape(), scale.shape())?;
        let zeros = zero_points(zero_point, &scale);
        let precision = x_value.dtype;
        let y = ArrayD::from_shape_fn(x.raw_dim(), |index| {
            let index = index.slice();
            let q = round_to(
                precision,
                round_to(precision, x[index]) / layout.parameter(index, &scale),
            );
            float8_round(format, q + layout.parameter(index, &zeros), saturate)
        });
        return Ok(vec![Value::float(dtype, y)]);
    }
    let (low, high) = integer_range(dtype).ok_or_else(|| {
        OpError::unsupported(format!(
            "QuantizeLinear to {dtype} (int4, uint4 and float8 are not implemented)"
        ))
    })?;
    let layout = Layout::of(ctx, x.shape(), scale.shape())?;
    let zeros = zero_points(zero_point, &scale);
    let precision = x_value.dtype;
    let quantise = |v: f64, s: f64, z: f64| {
        let v = round_to(precision, v);
        let q = round_half_even(round_to(precision, v / s)) + z;
        // NaN saturates to 0 as a C cast would; the spec leaves it undefined.
        (q.clamp(low as f64, high as f64) as i64).clamp(low, high)
    };
    let y = if layout.per_tensor {
        let (s, z) = (layout.parameter(&[], &scale), layout.parameter(&[], &zeros));
        x.mapv(|v| quantise(v, s, z))
    } else {
        ArrayD::from_shape_fn(x.raw_dim(), |index| {
            let index = index.slice();
            quantise(
                x[index],
                layout.parameter(index, &scale),
                layout.parameter(index, &zeros),
            )
        })
    };
    Ok(vec![Value::int(dtype, y)])
}

/// DequantizeLinear: `y = (x − x_zero_point) · x_scale` in the scale's float type (kept in f64
/// like every reference value).
fn dequantize_linear(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let x_value = ctx.input(inputs, 0)?;
    if integer_range(x_value.dtype).is_none() && !(is_real(x_value.dtype) && x_value.dtype.float8().is_some()) {
        return Err(OpError::unsupported(format!(
            "DequantizeLinear of {} (int4, uint4 and float8 are not implemented)",
            x_value.dtype
        )));
    }
    let x = x_value.to_f64();
    let scale_value = ctx.input(inputs, 1)?;
    let scale = scale_value.to_f64();
    let zeros = zero_points(ctx.optional_input(inputs, 2), &scale);
    let layout = Layout::of(ctx, x.shape(), scale.shape())?;
    let y = if layout.per_tensor {
        let (s, z) = (layout.parameter(&[], &scale), layout.parameter(&[], &zeros));
        x.mapv(|v| (v - z) * s)
    } else {
        ArrayD::from_shape_fn(x.raw_dim(), |index| {
            let index = index.slice();
            (x[index] - layout.parameter(index, &zeros)) * layout.parameter(index, &scale)
        })
    };
    Ok(vec![Value::float(scale_value.dtype, y)])
}

/// DynamicQuantizeLinear (opset 11): uint8 asymmetric quantisation whose range is the input's own
/// `[min(0, min x), max(0, max x)]`: `scale = (max − min) / 255`, `zero_point = saturate(round(0 −
/// min / scale))` and `y = saturate(round(x / scale) + zero_point)`, rounding half to even, all
/// in float32 as the spec's definition. An all-zero (or empty) input has no range: scale 1 and
/// zero point 0, as ONNX Runtime does, instead of the spec's division by zero.
fn dynamic_quantize_linear(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?.as_float()?;
    if x.iter().any(|v| v.is_nan()) {
        return Err(OpError::invalid(
            "DynamicQuantizeLinear of an input holding NaN (its range is undefined)",
        ));
    }
    // The spec (and ONNX Runtime) compute in float32: the divisions below are f32 divisions of
    // the f32-rounded values, whose ties (x / scale = k + 0.5) round to even.
    let low = x.iter().copied().fold(0.0_f64, f64::min) as f32;
    let high = x.iter().copied().fold(0.0_f64, f64::max) as f32;
    let scale = if high > low { (high - low) / 255.0 } else { 1.0 };
    let saturate = |v: f32| v.round_ties_even().clamp(0.0, 255.0);
    let zero_point = saturate(-low / scale);
    let y = x.mapv(|v| saturate((v as f32 / scale).round_ties_even() + zero_point) as i64);
    let scale = f64::from(scale);
    Ok(vec![
        Value::int(DType::U8, y),
        Value::float(DType::F32, ArrayD::from_elem(vec![], scale)),
        Value::int(DType::U8, ArrayD::from_elem(vec![], zero_point as i64)),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use sysnoise_boundary::onnx::NodeProto;

    fn run(values: Vec<f64>) -> (Vec<i64>, f64, i64) {
        let node = NodeProto {
            op_type: "DynamicQuantizeLinear".into(),
            ..Default::default()
        };
        let ctx = OpContext::new(&node, 11);
        let n = values.len();
        let x = Value::float(DType::F32, ArrayD::from_shape_vec(vec![n], values).unwrap());
        let out = dynamic_quantize_linear(&ctx, &[Some(x)]).unwrap();
        (out[0].to_i64_vec(), out[1].to_f64()[[]], out[2].to_i64_vec()[0])
    }

    #[test]
    fn the_onnx_example_quantises_exactly() {
        // The operator's documented example: x = [0, 2, -3, -2.5, 1.34, 0.5].
        let (y, scale, zero_point) = run(vec![0.0, 2.0, -3.0, -2.5, 1.34, 0.5]);
        assert_eq!(scale, f64::from(5.0_f32 / 255.0));
        assert_eq!(zero_point, 153);
        assert_eq!(y, vec![153, 255, 0, 26, 221, 179]);
    }

    #[test]
    fn the_range_always_includes_zero_and_a_zero_input_has_scale_one() {
        let (y, _, zero_point) = run(vec![1.0, 2.0, 4.0]);
        assert_eq!(zero_point, 0);
        // 2 / f32(4 / 255) is 127.49999 in f32 (numpy agrees), not 127.5.
        assert_eq!(y, vec![64, 127, 255]);
        assert_eq!(run(vec![0.0, 0.0]), (vec![0, 0], 1.0, 0));
    }

    #[test]
    fn the_shift_rounds_like_round_ties_even() {
        for x in [
            0.5,
            1.5,
            2.5,
            -0.5,
            -1.5,
            -2.5,
            2.4999999,
            127.5,
            -128.5,
            1e15 + 0.5,
            3e16,
            f64::NAN,
            -7.0,
        ] {
            let (a, b) = (round_half_even(x), x.round_ties_even());
            assert!(a == b || (a.is_nan() && b.is_nan()), "{x}: {a} vs {b}");
        }
    }
}
