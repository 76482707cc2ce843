//! ConvInteger and MatMulInteger: LibTorch's f64 convolution / matrix product of the
//! zero-point-shifted 8-bit operands, then int32. Exact, not an approximation: every product
//! of two shifted 8-bit values and every partial sum is an integer far below 2^53.

use sysnoise_boundary::DType;
use tch::{Kind, Tensor};

use super::Registry;
use super::conv::{ConvGeometry, Window, convolve, spatial_axes, torch_pad_list};
use crate::context::Ctx;
use crate::error::OpError;
use crate::value::Value;

pub fn register(r: &mut Registry) {
    r.add("ConvInteger", conv_integer);
    r.add("MatMulInteger", matmul_integer);
}

/// The operand, checked to be 8-bit as ONNX requires (wider ones could lose exactness).
fn eight_bit<'v>(op: &str, ctx: &Ctx, inputs: &'v [Option<Value>], i: usize) -> Result<&'v Value, OpError> {
    let v = ctx.input(inputs, i)?;
    match v.dtype {
        DType::U8 | DType::I8 => Ok(v),
        other => Err(OpError::invalid(format!(
            "{op} input {i} of {other}: ONNX takes int8 or uint8"
        ))),
    }
}

/// `v - zero_point` in f64. A zero point of one element applies to all of `v`; a 1-D one runs
/// along `axis` of `v`; any other shape broadcasts as it is. The zero point has `v`'s dtype.
fn shifted(op: &str, v: &Value, zero_point: Option<&Value>, axis: Option<usize>) -> Result<Tensor, OpError> {
    let t = v.t.f_to_kind(Kind::Double)?;
    let Some(zp) = zero_point else { return Ok(t) };
    if zp.dtype != v.dtype {
        return Err(OpError::invalid(format!(
            "{op}: a {} zero point for a {} operand",
            zp.dtype, v.dtype
        )));
    }
    let z = zp.t.f_to_kind(Kind::Double)?;
    let count: i64 = zp.shape().iter().product();
    let z = match (zp.rank(), axis) {
        _ if count == 1 => z.f_reshape([0i64; 0])?,
        (1, Some(axis)) if axis < v.rank() && v.shape()[axis] == count => {
            let mut shape = vec![1i64; v.rank()];
            shape[axis] = count;
            z.f_reshape(shape)?
        }
        (1, _) => {
            return Err(OpError::invalid(format!(
                "{op}: a zero point of {count} values for an operand of shape {:?}",
                v.shape()
            )));
        }
        _ => z,
    };
    Ok(t.f_sub(&z)?)
}

/// f64 integers to an int32 value.
fn int32(ctx: &Ctx, t: Tensor) -> Result<Value, OpError> {
    ctx.env.value(t.f_round()?.f_to_kind(Kind::Int)?, DType::I32)
}

/// `(A - a_zero_point) x (B - b_zero_point)` with numpy batching; a 1-D a_zero_point is per
/// row of A, a 1-D b_zero_point per column of B.
fn matmul_integer(ctx: &Ctx, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let a = eight_bit("MatMulInteger", ctx, inputs, 0)?;
    let b = eight_bit("MatMulInteger", ctx, inputs, 1)?;
    // Per row of A ([.., M, K]) and per column of B ([.., K, N]); 1-D operands take scalars only.
    let row_axis = (a.rank() >= 2).then(|| a.rank() - 2);
    let column_axis = (b.rank() >= 2).then(|| b.rank() - 1);
    let a = shifted("MatMulInteger", a, ctx.optional_input(inputs, 2), row_axis)?;
    let b = shifted("MatMulInteger", b, ctx.optional_input(inputs, 3), column_axis)?;
    Ok(vec![int32(ctx, a.f_matmul(&b)?)?])
}

/// Conv of `(x - x_zero_point)` with `(w - w_zero_point)` (a 1-D w_zero_point per output
/// channel); padding is zero after the shift, i.e. the zero point before it.
fn conv_integer(ctx: &Ctx, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let x = eight_bit("ConvInteger", ctx, inputs, 0)?;
    let w = eight_bit("ConvInteger", ctx, inputs, 1)?;
    let n = spatial_axes("ConvInteger", x, w)?;
    let ConvGeometry {
        strides,
        dilations,
        begin,
        end,
    } = ConvGeometry::of(ctx, x, w, n)?;
    let x = shifted("ConvInteger", x, ctx.optional_input(inputs, 2), None)?;
    let w = shifted("ConvInteger", w, ctx.optional_input(inputs, 3), Some(0))?;
    let x = x.f_constant_pad_nd(torch_pad_list(&begin, &end))?;
    let window = Window {
        strides: &strides,
        padding: &vec![0; n],
        dilations: &dilations,
        group: ctx.int("group", 1),
    };
    let y = convolve(&x, &w, None, &window, false)?;
    Ok(vec![int32(ctx, y)?])
}
