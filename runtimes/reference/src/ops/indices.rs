//! Reference kernels: index tensors (NonZero, OneHot, Trilu).

use ndarray::{ArrayD, Dimension, IxDyn};
use sysnoise_boundary::DType;

use super::Registry;
use crate::context::OpContext;
use crate::error::OpError;
use crate::value::{Data, Value};

pub fn register(r: &mut Registry) {
    r.add("NonZero", non_zero);
    r.add("OneHot", one_hot);
    r.add("Trilu", trilu);
}

/// NonZero: the indices `[rank, count]` of the non-zero elements in row-major order.
fn non_zero(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    let rank = x.shape().len();
    let flags = x.to_bool();
    let hits: Vec<Vec<usize>> = flags
        .indexed_iter()
        .filter(|(_, v)| **v)
        .map(|(i, _)| i.slice().to_vec())
        .collect();
    let mut out = ArrayD::<i64>::zeros(IxDyn(&[rank, hits.len()]));
    for (j, index) in hits.iter().enumerate() {
        for (d, &i) in index.iter().enumerate() {
            out[[d, j]] = i as i64;
        }
    }
    Ok(vec![Value::int(DType::I64, out)])
}

/// OneHot: `values[1]` where an index along the new `axis` equals `indices`, else `values[0]`;
/// negative indices count from `depth`, out-of-range ones give a row of `values[0]`.
fn one_hot(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let indices = ctx.input(inputs, 0)?.to_f64();
    let depth = ctx.input(inputs, 1)?.to_f64().iter().next().copied().unwrap_or(0.0);
    let values = ctx.input(inputs, 2)?;
    if values.len() != 2 {
        return Err(OpError::invalid(format!(
            "OneHot values of {} elements, not 2",
            values.len()
        )));
    }
    let depth = depth.trunc();
    if depth < 1.0 {
        return Err(OpError::invalid(format!("OneHot depth {depth}")));
    }
    let depth_n = depth as usize;
    let rank = indices.ndim() + 1;
    let axis = ctx.axis(ctx.int("axis", -1), rank)?;
    let mut shape = indices.shape().to_vec();
    shape.insert(axis, depth_n);
    let (off, on) = {
        let v = values.to_f64();
        let mut it = v.iter().copied();
        (it.next().unwrap_or(0.0), it.next().unwrap_or(1.0))
    };
    let out = ArrayD::from_shape_fn(IxDyn(&shape), |index| {
        let mut at = index.slice().to_vec();
        let position = at.remove(axis) as f64;
        let mut wanted = indices[IxDyn(&at)].trunc();
        if wanted < 0.0 {
            wanted += depth;
        }
        if wanted == position { on } else { off }
    });
    Ok(vec![match &values.data {
        Data::F(_) => Value::float(values.dtype, out),
        Data::B(_) => Value::boolean(out.mapv(|v| v != 0.0)),
        Data::I(_) => Value::int(values.dtype, out.mapv(|v| v as i64)),
    }])
}

/// Trilu: the upper (`upper = 1`) or lower triangle of the last two axes, from diagonal `k`;
/// the rest zero.
fn trilu(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    let rank = x.shape().len();
    if rank < 2 {
        return Err(OpError::invalid(format!("Trilu of rank {rank}")));
    }
    let k = ctx
        .optional_input(inputs, 1)
        .map_or(0, |v| v.to_i64_vec().first().copied().unwrap_or(0));
    let upper = ctx.int("upper", 1) != 0;
    let keep = |index: &IxDyn| {
        let (i, j) = (index[rank - 2] as i64, index[rank - 1] as i64);
        if upper { j - i >= k } else { j - i <= k }
    };
    let data = match &x.data {
        Data::F(a) => Data::F(ArrayD::from_shape_fn(
            a.raw_dim(),
            |i| if keep(&i) { a[&i] } else { 0.0 },
        )),
        Data::I(a) => Data::I(ArrayD::from_shape_fn(a.raw_dim(), |i| if keep(&i) { a[&i] } else { 0 })),
        Data::B(a) => Data::B(ArrayD::from_shape_fn(a.raw_dim(), |i| keep(&i) && a[&i])),
    };
    Ok(vec![Value { dtype: x.dtype, data }])
}
