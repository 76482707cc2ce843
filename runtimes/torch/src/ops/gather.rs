//! Gather and GatherElements (negative indices count from the end of the axis).

use sysnoise_boundary::DType;
use tch::{Kind, Tensor};

use super::Registry;
use crate::context::{Ctx, axis};
use crate::error::OpError;
use crate::value::Value;

pub fn register(r: &mut Registry) {
    r.add("Gather", gather);
    r.add("GatherElements", gather_elements);
}

/// Indices as i64 with negative ones resolved against an axis of length `len`.
fn resolved(indices: &Value, len: i64) -> Result<Tensor, OpError> {
    if !matches!(indices.dtype, DType::I32 | DType::I64) {
        return Err(OpError::invalid(format!("indices of {}", indices.dtype)));
    }
    let i = indices.t.f_to_kind(Kind::Int64)?;
    Ok(i.f_add_scalar(len)?.f_where_self(&i.f_lt(0)?, &i)?)
}

/// Output shape data.shape[..axis] + indices.shape + data.shape[axis + 1..].
fn gather(ctx: &Ctx, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let (data, indices) = (ctx.input(inputs, 0)?, ctx.input(inputs, 1)?);
    let a = axis(ctx.int("axis", 0), data.rank())?;
    let shape = data.shape();
    let index = resolved(indices, shape[a as usize])?;
    let picked = data.t.f_index_select(a, &index.f_reshape([-1])?)?;
    let mut out = shape[..a as usize].to_vec();
    out.extend(indices.shape());
    out.extend(&shape[a as usize + 1..]);
    Ok(vec![ctx.env.like(picked.f_reshape(&out)?, data)?])
}

fn gather_elements(ctx: &Ctx, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let (data, indices) = (ctx.input(inputs, 0)?, ctx.input(inputs, 1)?);
    let a = axis(ctx.int("axis", 0), data.rank())?;
    if indices.rank() != data.rank() {
        return Err(OpError::invalid("GatherElements indices and data differ in rank"));
    }
    let index = resolved(indices, data.shape()[a as usize])?;
    Ok(vec![ctx.env.like(data.t.f_gather(a, &index, false)?, data)?])
}
