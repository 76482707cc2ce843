//! Slice: starts / ends / axes / steps as attributes (opset < 10) or inputs, ONNX's clamping,
//! negative steps (LibTorch's slice takes positive steps only: an index_select then).

use tch::{Kind, Tensor};

use super::Registry;
use crate::context::{Ctx, axes};
use crate::error::OpError;
use crate::value::Value;

pub fn register(r: &mut Registry) {
    r.add("Slice", slice);
}

/// The start and end of one sliced axis of length `dim`, clamped as the spec says.
fn clamp_range(start: i64, end: i64, step: i64, dim: i64) -> (i64, i64) {
    let resolve = |v: i64| if v < 0 { v.saturating_add(dim) } else { v };
    let (start, end) = (resolve(start), resolve(end));
    if step > 0 {
        (start.clamp(0, dim), end.clamp(0, dim))
    } else {
        (start.clamp(0, (dim - 1).max(0)), end.clamp(-1, dim - 1))
    }
}

fn slice(ctx: &Ctx, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    let (starts, ends, raw_axes, steps) = if ctx.opset < 10 {
        let need = |n: &str| {
            ctx.ints(n)
                .ok_or_else(|| OpError::invalid(format!("Slice-1 needs {n}")))
        };
        (need("starts")?, need("ends")?, ctx.ints("axes"), None)
    } else {
        let list = |i: usize| ctx.optional_input(inputs, i).map(Value::to_i64s).transpose();
        (
            ctx.input(inputs, 1)?.to_i64s()?,
            ctx.input(inputs, 2)?.to_i64s()?,
            list(3)?,
            list(4)?,
        )
    };
    let n = starts.len();
    let raw_axes = raw_axes.unwrap_or_else(|| (0..n as i64).collect());
    let steps = steps.unwrap_or_else(|| vec![1; n]);
    if ends.len() != n || raw_axes.len() != n || steps.len() != n {
        return Err(OpError::invalid("Slice starts, ends, axes and steps differ in length"));
    }
    let dims = axes(&raw_axes, x.rank())?;
    let shape = x.shape();
    let mut t = x.t.shallow_clone();
    for i in 0..n {
        let (d, step) = (dims[i], steps[i]);
        let len = shape[d as usize];
        let (start, end) = clamp_range(starts[i], ends[i], step, len);
        t = match step {
            0 => return Err(OpError::invalid("Slice step 0")),
            s if s > 0 => t.f_slice(d, start, end.max(start), s)?,
            s => {
                let index: Vec<i64> = (0..)
                    .map(|k| start + k * s)
                    .take_while(|&j| j > end && j < len)
                    .collect();
                let index = Tensor::f_from_slice(&index)?
                    .f_to_kind(Kind::Int64)?
                    .f_to_device(t.device())?;
                t.f_index_select(d, &index)?
            }
        };
    }
    Ok(vec![ctx.env.like(t, x)?])
}
