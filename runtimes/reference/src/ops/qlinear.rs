//! Reference kernels: quantised operators in QOperator form (QLinearConv, QLinearMatMul): the
//! integer ConvInteger / MatMulInteger accumulation, then requantisation.

use ndarray::{ArrayD, Axis};

use super::Registry;
use crate::context::OpContext;
use crate::error::OpError;
use crate::value::Value;

pub fn register(r: &mut Registry) {
    r.add("QLinearConv", qlinear_conv);
    r.add("QLinearMatMul", qlinear_matmul);
}

fn saturating_range(dtype: sysnoise_boundary::DType) -> Result<(f64, f64), OpError> {
    use sysnoise_boundary::DType;
    match dtype {
        DType::U8 => Ok((0.0, 255.0)),
        DType::I8 => Ok((-128.0, 127.0)),
        other => Err(OpError::unsupported(format!("a quantised output of {other}"))),
    }
}

/// `y = saturate(round(acc · (a_scale · b_scale / y_scale)) + y_zero_point)`, the multiplier in
/// float32 as the spec's definition computes it, rounding half to even; `b_scale` either one
/// value or one per index of `axis` of `acc` (output channels, or columns).
fn requantise(
    acc: &ArrayD<f64>,
    a_scale: &Value,
    b_scale: &Value,
    y_scale: &Value,
    y_zero_point: Option<&Value>,
    axis: usize,
) -> Result<Value, OpError> {
    let scalar = |v: &Value| v.to_f64().iter().next().copied().unwrap_or(1.0) as f32;
    let (a_scale, y_scale) = (scalar(a_scale), scalar(y_scale));
    let b_scales: Vec<f32> = b_scale.to_f64().iter().map(|v| *v as f32).collect();
    let dtype = y_zero_point.map_or(sysnoise_boundary::DType::U8, |z| z.dtype);
    let zero = y_zero_point.map_or(0.0, |z| z.to_f64().iter().next().copied().unwrap_or(0.0));
    let (low, high) = saturating_range(dtype)?;
    if b_scales.len() > 1 && acc.shape().get(axis) != Some(&b_scales.len()) {
        return Err(OpError::invalid(format!(
            "{} weight scales for {:?} along axis {axis}",
            b_scales.len(),
            acc.shape()
        )));
    }
    let mut y = acc.clone();
    for (index, mut lane) in y.axis_iter_mut(Axis(axis)).enumerate() {
        let b = b_scales[if b_scales.len() > 1 { index } else { 0 }];
        let multiplier = f64::from(a_scale * b / y_scale);
        lane.mapv_inplace(|v| ((v * multiplier).round_ties_even() + zero).clamp(low, high));
    }
    Ok(Value::int(dtype, y.mapv(|v| v as i64)))
}

/// The ConvInteger / MatMulInteger operands `(a, b, a_zero_point, b_zero_point)` of a QLinear
/// node's inputs `(a, a_scale, a_zero_point, b, b_scale, b_zero_point, ...)`.
fn integer_operands(inputs: &[Option<Value>]) -> [Option<Value>; 4] {
    [0, 3, 2, 5].map(|i| inputs.get(i).cloned().flatten())
}

/// QLinearConv(x, x_scale, x_zero_point, w, w_scale, w_zero_point, y_scale, y_zero_point, B).
fn qlinear_conv(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let mut acc = super::conv::conv_integer(ctx, &integer_operands(inputs))?
        .remove(0)
        .to_f64();
    if let Some(bias) = ctx.optional_input(inputs, 8) {
        let bias = bias.to_f64();
        for (mut channel, b) in acc.axis_iter_mut(Axis(1)).zip(bias.iter()) {
            channel.mapv_inplace(|v| v + b);
        }
    }
    let y = requantise(
        &acc,
        ctx.input(inputs, 1)?,
        ctx.input(inputs, 4)?,
        ctx.input(inputs, 6)?,
        ctx.optional_input(inputs, 7),
        1,
    )?;
    Ok(vec![y])
}

/// QLinearMatMul(a, a_scale, a_zero_point, b, b_scale, b_zero_point, y_scale, y_zero_point).
fn qlinear_matmul(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let acc = super::matmul::matmul_integer(ctx, &integer_operands(inputs))?
        .remove(0)
        .to_f64();
    let last = acc.ndim().saturating_sub(1);
    let y = requantise(
        &acc,
        ctx.input(inputs, 1)?,
        ctx.input(inputs, 4)?,
        ctx.input(inputs, 6)?,
        ctx.optional_input(inputs, 7),
        last,
    )?;
    Ok(vec![y])
}
