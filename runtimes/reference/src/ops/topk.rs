//! Reference kernels: selection by value (TopK).

use ndarray::{ArrayD, Axis, IxDyn};
use sysnoise_boundary::DType;

use super::Registry;
use crate::context::OpContext;
use crate::error::OpError;
use crate::value::{Data, Value};

pub fn register(r: &mut Registry) {
    r.add("TopK", topk);
}

/// TopK: the `k` largest (or smallest) values along `axis` and their indices; equal values keep
/// the lower index first (the spec's tie rule). NaN counts as larger than every number.
fn topk(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    let k = if ctx.opset >= 10 {
        ctx.input(inputs, 1)?.to_i64_vec().first().copied().unwrap_or(0)
    } else {
        ctx.int("k", 0)
    };
    let rank = x.shape().len();
    let axis = ctx.axis(ctx.int("axis", -1), rank)?;
    let n = x.shape()[axis];
    let k = usize::try_from(k)
        .ok()
        .filter(|k| *k <= n)
        .ok_or_else(|| OpError::invalid(format!("TopK k = {k} for an axis of {n}")))?;
    let largest = ctx.int("largest", 1) != 0;
    let values = x.to_f64();
    let mut out_shape = x.shape().to_vec();
    out_shape[axis] = k;
    let mut picked = ArrayD::<f64>::zeros(IxDyn(&out_shape));
    let mut indices = ArrayD::<i64>::zeros(IxDyn(&out_shape));
    for ((lane, mut v_out), mut i_out) in values
        .lanes(Axis(axis))
        .into_iter()
        .zip(picked.lanes_mut(Axis(axis)))
        .zip(indices.lanes_mut(Axis(axis)))
    {
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&a, &b| {
            let (va, vb) = (lane[a], lane[b]);
            let by_value = if largest { vb.total_cmp(&va) } else { va.total_cmp(&vb) };
            by_value.then(a.cmp(&b))
        });
        for (j, &index) in order.iter().take(k).enumerate() {
            v_out[j] = lane[index];
            i_out[j] = index as i64;
        }
    }
    let picked = match &x.data {
        Data::F(_) => Value::float(x.dtype, picked),
        _ => Value::int(x.dtype, picked.mapv(|v| v as i64)),
    };
    Ok(vec![picked, Value::int(DType::I64, indices)])
}
