//! Shape ops: Reshape (allowzero), Flatten, Squeeze, Unsqueeze (axes as attribute or input by
//! opset), Shape (start / end), Size, Identity.

use sysnoise_boundary::DType;
use tch::{Kind, Tensor};

use super::Registry;
use crate::context::{Ctx, axes};
use crate::error::OpError;
use crate::value::Value;

pub fn register(r: &mut Registry) {
    r.add("Reshape", reshape);
    r.add("Flatten", flatten);
    r.add("Squeeze", squeeze);
    r.add("Unsqueeze", unsqueeze);
    r.add("Shape", shape);
    r.add("Size", size);
    r.add("Identity", |c, i| Ok(vec![c.input(i, 0)?.clone()]));
}

fn reshape(ctx: &Ctx, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    let requested = if ctx.opset < 5 {
        ctx.ints("shape")
            .ok_or_else(|| OpError::invalid("Reshape-1 needs a shape attribute"))?
    } else {
        ctx.input(inputs, 1)?.to_i64s()?
    };
    let allow_zero = ctx.int("allowzero", 0) != 0;
    let shape = x.shape();
    let mut target = Vec::with_capacity(requested.len());
    for (i, &d) in requested.iter().enumerate() {
        target.push(match d {
            0 if !allow_zero => *shape
                .get(i)
                .ok_or_else(|| OpError::invalid(format!("Reshape copies dimension {i} of {shape:?}")))?,
            d if d < -1 => return Err(OpError::invalid(format!("Reshape to {requested:?}"))),
            d => d,
        });
    }
    Ok(vec![ctx.env.like(x.t.f_reshape(&target)?, x)?])
}

fn flatten(ctx: &Ctx, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    let shape = x.shape();
    let rank = shape.len() as i64;
    let raw = ctx.int("axis", 1);
    let a = if raw < 0 { raw + rank } else { raw };
    if a < 0 || a > rank {
        return Err(OpError::invalid(format!("Flatten axis {raw} for rank {rank}")));
    }
    let outer: i64 = shape[..a as usize].iter().product();
    let inner: i64 = shape[a as usize..].iter().product();
    Ok(vec![ctx.env.like(x.t.f_reshape([outer, inner])?, x)?])
}

/// The `axes` of Squeeze / Unsqueeze: an attribute before opset 13, an optional input from it.
fn axes_list(ctx: &Ctx, inputs: &[Option<Value>]) -> Result<Option<Vec<i64>>, OpError> {
    if ctx.opset < 13 {
        Ok(ctx.ints("axes"))
    } else {
        ctx.optional_input(inputs, 1).map(Value::to_i64s).transpose()
    }
}

fn squeeze(ctx: &Ctx, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    let shape = x.shape();
    let dims = match axes_list(ctx, inputs)? {
        Some(a) => {
            let dims = axes(&a, shape.len())?;
            if let Some(&d) = dims.iter().find(|&&d| shape[d as usize] != 1) {
                return Err(OpError::invalid(format!("Squeeze axis {d} of {shape:?} is not 1")));
            }
            dims
        }
        None => (0..shape.len() as i64).filter(|&d| shape[d as usize] == 1).collect(),
    };
    Ok(vec![ctx.env.like(x.t.f_squeeze_dims(&dims)?, x)?])
}

fn unsqueeze(ctx: &Ctx, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    let a = axes_list(ctx, inputs)?.ok_or_else(|| OpError::invalid("Unsqueeze needs axes"))?;
    let mut dims = axes(&a, x.rank() + a.len())?;
    dims.sort_unstable();
    let mut t = x.t.shallow_clone();
    for d in dims {
        t = t.f_unsqueeze(d)?;
    }
    Ok(vec![ctx.env.like(t, x)?])
}

/// A 1-D i64 tensor on the session's device.
pub(super) fn i64_tensor(ctx: &Ctx, values: &[i64]) -> Result<Value, OpError> {
    let t = Tensor::f_from_slice(values)?.f_to_device(ctx.env.device)?;
    ctx.env.value(t, DType::I64)
}

fn shape(ctx: &Ctx, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let shape = ctx.input(inputs, 0)?.shape();
    let rank = shape.len() as i64;
    let clamp = |v: i64| (if v < 0 { v + rank } else { v }).clamp(0, rank) as usize;
    let start = clamp(ctx.int("start", 0));
    let end = ctx.attr("end").map_or(rank as usize, |a| clamp(a.i));
    let dims = if start < end { &shape[start..end] } else { &[][..] };
    Ok(vec![i64_tensor(ctx, dims)?])
}

fn size(ctx: &Ctx, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let n: i64 = ctx.input(inputs, 0)?.shape().iter().product();
    let t = Tensor::f_from_slice(&[n])?
        .f_reshape([0i64; 0])?
        .f_to_device(ctx.env.device)?;
    Ok(vec![ctx.env.value(t.f_to_kind(Kind::Int64)?, DType::I64)?])
}
