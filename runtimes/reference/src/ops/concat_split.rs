//! Reference kernels: joining tensors along an axis and cutting them apart (Concat, Split).

use ndarray::{ArrayD, Axis, Slice};

use super::Registry;
use crate::context::OpContext;
use crate::error::OpError;
use crate::value::{Data, Value};

pub fn register(r: &mut Registry) {
    r.add("Concat", concat);
    r.add("Split", split);
}

/// Concatenates same-kind arrays along `axis`.
fn joined<T: Clone>(arrays: &[ArrayD<T>], axis: usize) -> Result<ArrayD<T>, OpError> {
    let views: Vec<_> = arrays.iter().map(|a| a.view()).collect();
    ndarray::concatenate(Axis(axis), &views).map_err(|e| OpError::invalid(format!("Concat: {e}")))
}

fn concat(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let values: Vec<&Value> = inputs.iter().flatten().collect();
    let first = *values.first().ok_or_else(|| OpError::invalid("Concat needs inputs"))?;
    let axis = ctx.axis(ctx.int("axis", 0), first.shape().len())?;
    if values.iter().any(|v| v.dtype != first.dtype) {
        return Err(OpError::invalid("Concat inputs differ in dtype"));
    }
    let data = match &first.data {
        Data::F(_) => Data::F(joined(&values.iter().map(|v| v.to_f64()).collect::<Vec<_>>(), axis)?),
        Data::I(_) => Data::I(joined(&values.iter().map(|v| v.to_i64()).collect::<Vec<_>>(), axis)?),
        Data::B(_) => Data::B(joined(&values.iter().map(|v| v.to_bool()).collect::<Vec<_>>(), axis)?),
    };
    Ok(vec![Value {
        dtype: first.dtype,
        data,
    }])
}

/// Chunks of `ceil(dim / n)` with a smaller (possibly empty) last one, as `num_outputs` asks.
fn even_sizes(dim: usize, n: usize) -> Result<Vec<usize>, OpError> {
    if n == 0 {
        return Err(OpError::invalid("Split into zero outputs"));
    }
    let chunk = dim.div_ceil(n);
    Ok((0..n).map(|i| chunk.min(dim.saturating_sub(i * chunk))).collect())
}

/// The explicit `split` sizes: an attribute before opset 13, the optional input 1 from then.
fn explicit_sizes(ctx: &OpContext, inputs: &[Option<Value>]) -> Option<Vec<i64>> {
    if ctx.opset < 13 {
        ctx.ints("split")
    } else {
        ctx.optional_input(inputs, 1).map(Value::to_i64_vec)
    }
}

/// The length of each output along the split axis.
fn split_sizes(ctx: &OpContext, inputs: &[Option<Value>], dim: usize) -> Result<Vec<usize>, OpError> {
    let Some(sizes) = explicit_sizes(ctx, inputs) else {
        let n = ctx.attr("num_outputs").map_or(ctx.node.output.len() as i64, |a| a.i);
        return even_sizes(dim, usize::try_from(n).unwrap_or(0));
    };
    let sizes: Vec<usize> = sizes
        .into_iter()
        .map(|s| usize::try_from(s).map_err(|_| OpError::invalid(format!("Split: negative size {s}"))))
        .collect::<Result<_, _>>()?;
    if sizes.iter().sum::<usize>() != dim {
        return Err(OpError::invalid(format!("Split sizes {sizes:?} do not sum to {dim}")));
    }
    Ok(sizes)
}

/// The `part` of `a` along `axis`, owned.
fn cut<T: Clone>(a: &ArrayD<T>, axis: usize, part: Slice) -> ArrayD<T> {
    a.slice_axis(Axis(axis), part).to_owned()
}

fn split(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    let axis = ctx.axis(ctx.int("axis", 0), x.shape().len())?;
    let sizes = split_sizes(ctx, inputs, x.shape()[axis])?;
    let mut start = 0;
    let mut outputs = Vec::with_capacity(sizes.len());
    for size in sizes {
        let part = Slice::from(start..start + size);
        outputs.push(x.map_array(|a| cut(a, axis, part), |a| cut(a, axis, part), |a| cut(a, axis, part)));
        start += size;
    }
    Ok(outputs)
}
