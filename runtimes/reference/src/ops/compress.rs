//! Reference kernels: selection and reordering along an axis (Compress, ReverseSequence).

use ndarray::{ArrayD, Axis, IxDyn};

use super::Registry;
use crate::context::OpContext;
use crate::error::OpError;
use crate::value::{Data, Value};

pub fn register(r: &mut Registry) {
    r.add("Compress", compress);
    r.add("ReverseSequence", reverse_sequence);
}

/// `a` with the slices `keep` along `axis`, in order.
fn select<T: Clone>(a: &ArrayD<T>, axis: usize, keep: &[usize]) -> ArrayD<T> {
    a.select(Axis(axis), keep)
}

/// Compress: the slices along `axis` (the flattened input without one) whose `condition` entry
/// is true; a condition shorter than the axis keeps none of the rest.
fn compress(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    let condition: Vec<bool> = ctx.input(inputs, 1)?.to_bool().iter().copied().collect();
    let (value, axis) = match ctx.attr("axis") {
        Some(_) => (x.clone(), ctx.axis(ctx.int("axis", 0), x.shape().len())?),
        None => {
            let n = x.len();
            let flat = x.map_array(
                |a| a.to_shape(IxDyn(&[n])).expect("same length").into_owned(),
                |a| a.to_shape(IxDyn(&[n])).expect("same length").into_owned(),
                |a| a.to_shape(IxDyn(&[n])).expect("same length").into_owned(),
            );
            (flat, 0)
        }
    };
    let length = value.shape()[axis];
    if condition.len() > length {
        return Err(OpError::invalid(format!(
            "Compress condition of {} entries for an axis of {length}",
            condition.len()
        )));
    }
    let keep: Vec<usize> = condition
        .iter()
        .enumerate()
        .filter(|(_, c)| **c)
        .map(|(i, _)| i)
        .collect();
    Ok(vec![value.map_array(
        |a| select(a, axis, &keep),
        |a| select(a, axis, &keep),
        |a| select(a, axis, &keep),
    )])
}

/// ReverseSequence: for every batch entry `b`, the first `sequence_lens[b]` steps along
/// `time_axis` reversed, the rest as they are.
fn reverse_sequence(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    let lens = ctx.input(inputs, 1)?.to_i64_vec();
    let rank = x.shape().len();
    let batch_axis = ctx.axis(ctx.int("batch_axis", 1), rank)?;
    let time_axis = ctx.axis(ctx.int("time_axis", 0), rank)?;
    if batch_axis == time_axis || lens.len() != x.shape()[batch_axis] {
        return Err(OpError::invalid(format!(
            "ReverseSequence of {:?} with {} lengths, batch axis {batch_axis}, time axis {time_axis}",
            x.shape(),
            lens.len()
        )));
    }
    let steps = x.shape()[time_axis];
    let source = |index: &IxDyn| -> IxDyn {
        let mut at = index.clone();
        let len = (lens[index[batch_axis]].max(0) as usize).min(steps);
        let t = index[time_axis];
        if t < len {
            at[time_axis] = len - 1 - t;
        }
        at
    };
    let data = match &x.data {
        Data::F(a) => Data::F(ArrayD::from_shape_fn(a.raw_dim(), |i| a[source(&i)])),
        Data::I(a) => Data::I(ArrayD::from_shape_fn(a.raw_dim(), |i| a[source(&i)])),
        Data::B(a) => Data::B(ArrayD::from_shape_fn(a.raw_dim(), |i| a[source(&i)])),
    };
    Ok(vec![Value { dtype: x.dtype, data }])
}
