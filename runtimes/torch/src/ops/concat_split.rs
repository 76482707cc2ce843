//! Concat and Split (sizes as attribute or input by opset; equal parts, or `num_outputs` parts
//! with a smaller last one from opset 18).

use tch::Tensor;

use super::Registry;
use crate::context::{Ctx, axis, same_dtype};
use crate::error::OpError;
use crate::value::Value;

pub fn register(r: &mut Registry) {
    r.add("Concat", concat);
    r.add("Split", split);
}

fn concat(ctx: &Ctx, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let first = ctx.input(inputs, 0)?;
    let raw = ctx
        .attr("axis")
        .map(|a| a.i)
        .ok_or_else(|| OpError::invalid("Concat needs axis"))?;
    let a = axis(raw, first.rank())?;
    let mut parts: Vec<Tensor> = Vec::with_capacity(inputs.len());
    for i in 0..inputs.len() {
        let v = ctx.input(inputs, i)?;
        same_dtype("Concat", first, v)?;
        parts.push(v.t.shallow_clone());
    }
    Ok(vec![ctx.env.like(Tensor::f_cat(&parts, a)?, first)?])
}

fn split(ctx: &Ctx, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    let a = axis(ctx.int("axis", 0), x.rank())?;
    let dim = x.shape()[a as usize];
    let outputs = ctx.node.output.len() as i64;
    let given = if ctx.opset < 13 {
        ctx.ints("split")
    } else {
        ctx.optional_input(inputs, 1).map(Value::to_i64s).transpose()?
    };
    let sizes = match given {
        Some(sizes) => sizes,
        None => {
            let n = if ctx.opset >= 18 {
                ctx.int("num_outputs", outputs)
            } else {
                outputs
            };
            if n < 1 {
                return Err(OpError::invalid(format!("Split into {n} parts")));
            }
            if dim % n == 0 {
                vec![dim / n; n as usize]
            } else if ctx.opset >= 18 {
                let part = (dim + n - 1) / n;
                let mut sizes = vec![part; n as usize];
                sizes[n as usize - 1] = dim - part * (n - 1);
                sizes
            } else {
                return Err(OpError::invalid(format!("{dim} does not split into {n} equal parts")));
            }
        }
    };
    if sizes.iter().any(|&s| s < 0) || sizes.iter().sum::<i64>() != dim || sizes.len() as i64 != outputs {
        return Err(OpError::invalid(format!(
            "Split sizes {sizes:?} for axis length {dim} and {outputs} outputs"
        )));
    }
    x.t.f_split_with_sizes(&sizes, a)?
        .into_iter()
        .map(|t| ctx.env.like(t, x))
        .collect()
}
