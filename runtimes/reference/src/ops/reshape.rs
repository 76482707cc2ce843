//! Reference kernels: shape-only ops that keep the data order (Reshape, Flatten, Squeeze, Unsqueeze, Shape, Size, Identity).

use ndarray::{ArrayD, IxDyn};
use sysnoise_boundary::DType;

use super::Registry;
use crate::context::OpContext;
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

/// The elements of `a`, in row-major order, laid out in `shape` (same element count).
fn reshaped<T: Clone>(a: &ArrayD<T>, shape: &[usize]) -> ArrayD<T> {
    ArrayD::from_shape_vec(IxDyn(shape), a.iter().cloned().collect()).expect("element count checked")
}

/// `x` with its data reinterpreted in `shape`, whatever its dtype.
pub(super) fn reshape_value(x: &Value, shape: &[usize]) -> Result<Value, OpError> {
    let count: usize = shape.iter().product();
    if count != x.len() {
        return Err(OpError::invalid(format!(
            "cannot reshape {:?} ({} elements) to {shape:?}",
            x.shape(),
            x.len()
        )));
    }
    Ok(x.map_array(|a| reshaped(a, shape), |a| reshaped(a, shape), |a| reshaped(a, shape)))
}

/// The output shape of Reshape: `0` copies the input dim (unless `allow_zero`), `-1` is inferred.
fn reshape_target(input: &[usize], requested: &[i64], allow_zero: bool) -> Result<Vec<usize>, OpError> {
    let mut out = Vec::with_capacity(requested.len());
    let mut inferred = None;
    for (i, &d) in requested.iter().enumerate() {
        match d {
            -1 if inferred.is_some() => return Err(OpError::invalid("Reshape: more than one -1")),
            -1 => {
                inferred = Some(i);
                out.push(1);
            }
            0 if !allow_zero => out.push(
                *input
                    .get(i)
                    .ok_or_else(|| OpError::invalid(format!("Reshape: 0 at {i} beyond input rank")))?,
            ),
            d if d < 0 => return Err(OpError::invalid(format!("Reshape: invalid dim {d}"))),
            d => out.push(d as usize),
        }
    }
    if let Some(i) = inferred {
        let total: usize = input.iter().product();
        let known: usize = out.iter().product();
        if known == 0 || !total.is_multiple_of(known) {
            return Err(OpError::invalid(format!(
                "Reshape: cannot infer -1 from {input:?} to {requested:?}"
            )));
        }
        out[i] = total / known;
    }
    Ok(out)
}

fn reshape(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    let requested = if ctx.opset < 5 {
        ctx.ints("shape").unwrap_or_default()
    } else {
        ctx.input(inputs, 1)?.to_i64_vec()
    };
    let target = reshape_target(x.shape(), &requested, ctx.int("allowzero", 0) != 0)?;
    Ok(vec![reshape_value(x, &target)?])
}

fn flatten(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    let rank = x.shape().len() as i64;
    let axis = ctx.int("axis", 1);
    let axis = if axis < 0 { axis + rank } else { axis };
    if !(0..=rank).contains(&axis) {
        return Err(OpError::invalid(format!(
            "Flatten: axis {axis} out of range for rank {rank}"
        )));
    }
    let (outer, inner) = x.shape().split_at(axis as usize);
    let shape = [outer.iter().product(), inner.iter().product()];
    Ok(vec![reshape_value(x, &shape)?])
}

/// The `axes` of Squeeze/Unsqueeze: an attribute before opset 13, the optional input 1 from then.
fn axes_list(ctx: &OpContext, inputs: &[Option<Value>]) -> Option<Vec<i64>> {
    if ctx.opset < 13 {
        ctx.ints("axes")
    } else {
        ctx.optional_input(inputs, 1).map(Value::to_i64_vec)
    }
}

/// Normalises possibly negative axes against `rank`, rejecting duplicates.
fn normalise_axes(ctx: &OpContext, axes: &[i64], rank: usize) -> Result<Vec<usize>, OpError> {
    let mut out = Vec::with_capacity(axes.len());
    for &a in axes {
        let a = ctx.axis(a, rank)?;
        if out.contains(&a) {
            return Err(OpError::invalid(format!("axis {a} repeated")));
        }
        out.push(a);
    }
    Ok(out)
}

fn squeeze(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    let shape = x.shape();
    let axes = match axes_list(ctx, inputs) {
        Some(axes) => normalise_axes(ctx, &axes, shape.len())?,
        None => (0..shape.len()).filter(|&i| shape[i] == 1).collect(),
    };
    if let Some(&a) = axes.iter().find(|&&a| shape[a] != 1) {
        return Err(OpError::invalid(format!("Squeeze: dim {a} of {shape:?} is not 1")));
    }
    let target: Vec<usize> = (0..shape.len())
        .filter(|i| !axes.contains(i))
        .map(|i| shape[i])
        .collect();
    Ok(vec![reshape_value(x, &target)?])
}

fn unsqueeze(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    let axes = axes_list(ctx, inputs).ok_or_else(|| OpError::invalid("Unsqueeze needs axes"))?;
    let rank = x.shape().len() + axes.len();
    let axes = normalise_axes(ctx, &axes, rank)?;
    let mut dims = x.shape().iter();
    let target: Vec<usize> = (0..rank)
        .map(|i| {
            if axes.contains(&i) {
                1
            } else {
                *dims.next().expect("rank counted")
            }
        })
        .collect();
    Ok(vec![reshape_value(x, &target)?])
}

/// Clamps a possibly negative `start`/`end` of Shape into `0..=rank`.
fn clamp_dim_index(i: i64, rank: usize) -> usize {
    let r = rank as i64;
    (if i < 0 { i + r } else { i }).clamp(0, r) as usize
}

fn shape(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let dims = ctx.input(inputs, 0)?.shape();
    let start = clamp_dim_index(ctx.int("start", 0), dims.len());
    let end = clamp_dim_index(ctx.int("end", dims.len() as i64), dims.len());
    let picked = &dims[start..end.max(start)];
    Ok(vec![Value::i64s(picked.iter().map(|&d| d as i64).collect())])
}

fn size(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let n = ctx.input(inputs, 0)?.len() as i64;
    Ok(vec![Value::int(DType::I64, ArrayD::from_elem(IxDyn(&[]), n))])
}

#[cfg(test)]
mod tests {
    use super::reshape_target;

    #[test]
    fn reshape_zero_copies_and_minus_one_infers() {
        assert_eq!(reshape_target(&[2, 3, 4], &[0, -1], false).unwrap(), vec![2, 12]);
        assert_eq!(reshape_target(&[2, 3, 4], &[-1, 0, 2], false).unwrap(), vec![4, 3, 2]);
        assert!(reshape_target(&[2, 3, 4], &[-1, -1], false).is_err());
        assert!(reshape_target(&[2, 3, 4], &[5, -1], false).is_err());
    }

    #[test]
    fn reshape_allowzero_keeps_zero() {
        assert_eq!(reshape_target(&[0, 3, 4], &[3, 4, 0], true).unwrap(), vec![3, 4, 0]);
        assert_eq!(reshape_target(&[0, 3, 4], &[3, 4, 0], false).unwrap(), vec![3, 4, 4]);
        assert_eq!(reshape_target(&[2, 3], &[0, 3], true).unwrap(), vec![0, 3]);
    }
}
