//! Constant, ConstantOfShape, Range and EyeLike.

use sysnoise_boundary::onnx::attribute_type;
use sysnoise_boundary::{DType, Tensor as BoundaryTensor};
use tch::{Scalar, Tensor};

use super::Registry;
use crate::context::{Ctx, same_dtype};
use crate::error::OpError;
use crate::value::Value;

pub fn register(r: &mut Registry) {
    r.add_checked("Constant", constant, check_constant);
    r.add("ConstantOfShape", constant_of_shape);
    r.add("Range", range);
    r.add("EyeLike", eye_like);
}

/// EyeLike: ones on the `k`-th diagonal of a 2-D input's shape, in `dtype` (the input's by
/// default).
fn eye_like(ctx: &Ctx, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    let shape = x.shape();
    let &[rows, cols] = shape.as_slice() else {
        return Err(OpError::invalid(format!(
            "EyeLike needs a 2-D input, got {:?}",
            x.shape()
        )));
    };
    let dtype = match ctx.attr("dtype") {
        Some(a) => DType::from_onnx_code(a.i as i32).map_err(|e| OpError::unsupported(e.to_string()))?,
        None => x.dtype,
    };
    let options = (tch::Kind::Int64, ctx.env.device);
    let col = Tensor::f_arange(cols, options)?.f_unsqueeze(0)?;
    let row = Tensor::f_arange(rows, options)?.f_unsqueeze(1)?;
    let diagonal = col.f_sub(&row)?.f_eq(ctx.int("k", 0))?;
    Ok(vec![ctx.env.value(diagonal, dtype)?])
}

/// The value of a Constant node as a boundary tensor.
fn constant_value(ctx: &Ctx) -> Result<BoundaryTensor, OpError> {
    use ndarray::{ArrayD, IxDyn};
    let vector = |n: usize| IxDyn(&[n]);
    let attr = ctx
        .node
        .attribute
        .first()
        .ok_or_else(|| OpError::invalid("Constant needs a value attribute"))?;
    Ok(match (attr.name.as_str(), attr.r#type) {
        ("value", _) => ctx.tensor("value")?.ok_or_else(|| OpError::invalid("Constant value"))?,
        ("value_float", _) => BoundaryTensor::F32(ArrayD::from_elem(IxDyn(&[]), attr.f)),
        ("value_floats", _) => {
            BoundaryTensor::F32(ArrayD::from_shape_vec(vector(attr.floats.len()), attr.floats.clone()).expect("1-D"))
        }
        ("value_int", _) => BoundaryTensor::I64(ArrayD::from_elem(IxDyn(&[]), attr.i)),
        ("value_ints", _) => {
            BoundaryTensor::I64(ArrayD::from_shape_vec(vector(attr.ints.len()), attr.ints.clone()).expect("1-D"))
        }
        (name, t)
            if t == attribute_type::SPARSE_TENSOR || name.starts_with("value_string") || name == "sparse_value" =>
        {
            return Err(OpError::unsupported(format!("Constant {name}")));
        }
        (name, _) => return Err(OpError::invalid(format!("Constant attribute {name}"))),
    })
}

fn check_constant(ctx: &Ctx) -> Result<(), OpError> {
    let value = constant_value(ctx)?;
    crate::value::kind_of(value.dtype())?;
    Ok(())
}

fn constant(ctx: &Ctx, _: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    Ok(vec![ctx.env.import(&constant_value(ctx)?)?])
}

/// A tensor of the given shape filled with the one-element `value` (f32 0 by default).
fn constant_of_shape(ctx: &Ctx, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let shape = ctx.input(inputs, 0)?.to_i64s()?;
    if shape.iter().any(|&d| d < 0) {
        return Err(OpError::invalid(format!("ConstantOfShape {shape:?}")));
    }
    let value = match ctx.tensor("value")? {
        Some(v) if v.len() == 1 => v,
        Some(v) => {
            return Err(OpError::invalid(format!(
                "ConstantOfShape value of shape {:?}",
                v.shape()
            )));
        }
        None => BoundaryTensor::zeros(DType::F32, &[1]),
    };
    let v = ctx.env.import(&value)?;
    let t = v.t.f_reshape([0i64; 0])?.f_expand(&shape, false)?.f_contiguous()?;
    Ok(vec![ctx.env.like(t, &v)?])
}

/// start, start + delta, ... while before limit: LibTorch's arange (its length
/// ceil((limit - start) / delta) and its values start + i * delta, computed in double).
fn range(ctx: &Ctx, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let (start, limit, delta) = (ctx.input(inputs, 0)?, ctx.input(inputs, 1)?, ctx.input(inputs, 2)?);
    same_dtype("Range", start, limit)?;
    same_dtype("Range", start, delta)?;
    let scalar = |v: &Value| -> Result<Scalar, OpError> {
        if v.t.numel() != 1 {
            return Err(OpError::invalid(format!("Range operand of shape {:?}", v.shape())));
        }
        Ok(if v.is_float() {
            Scalar::float(v.to_f64s()?[0])
        } else {
            Scalar::int(v.to_i64s()?[0])
        })
    };
    let (s, l, d) = (scalar(start)?, scalar(limit)?, scalar(delta)?);
    let options = ctx.env.options(start.dtype)?;
    let t = if start.is_float() {
        let (a, b, c) = (start.to_f64s()?[0], limit.to_f64s()?[0], delta.to_f64s()?[0]);
        if c == 0.0 || ((b - a) / c).ceil() <= 0.0 {
            Tensor::f_empty([0], options)?
        } else {
            Tensor::f_arange_start_step(s, l, d, options)?
        }
    } else {
        let (a, b, c) = (start.to_i64s()?[0], limit.to_i64s()?[0], delta.to_i64s()?[0]);
        if c == 0 || (b - a).signum() != c.signum() {
            Tensor::f_empty([0], options)?
        } else {
            Tensor::f_arange_start_step(s, l, d, options)?
        }
    };
    Ok(vec![ctx.env.value(t, start.dtype)?])
}
