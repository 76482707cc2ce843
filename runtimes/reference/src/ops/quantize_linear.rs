//! Reference kernels: linear quantisation (DynamicQuantizeLinear).

use ndarray::ArrayD;
use sysnoise_boundary::DType;

use super::Registry;
use crate::context::OpContext;
use crate::error::OpError;
use crate::value::Value;

pub fn register(r: &mut Registry) {
    r.add("DynamicQuantizeLinear", dynamic_quantize_linear);
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
}
