//! Reference kernels: strided sub-ranges along axes (Slice), with the spec's clamping and negative steps.

use ndarray::{ArrayD, Axis};

use super::Registry;
use crate::context::OpContext;
use crate::error::OpError;
use crate::value::Value;

pub fn register(r: &mut Registry) {
    r.add("Slice", slice);
}

/// The per-axis lists of a Slice node: starts, ends, axes (if given) and steps (if given).
struct SliceArgs {
    starts: Vec<i64>,
    ends: Vec<i64>,
    axes: Option<Vec<i64>>,
    steps: Option<Vec<i64>>,
}

/// Slice's arguments: attributes in opset 1, inputs from opset 10.
fn slice_args(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<SliceArgs, OpError> {
    if ctx.opset < 10 {
        let required = |name| {
            ctx.ints(name)
                .ok_or_else(|| OpError::invalid(format!("Slice needs {name}")))
        };
        return Ok(SliceArgs {
            starts: required("starts")?,
            ends: required("ends")?,
            axes: ctx.ints("axes"),
            steps: None,
        });
    }
    Ok(SliceArgs {
        starts: ctx.input(inputs, 1)?.to_i64_vec(),
        ends: ctx.input(inputs, 2)?.to_i64_vec(),
        axes: ctx.optional_input(inputs, 3).map(Value::to_i64_vec),
        steps: ctx.optional_input(inputs, 4).map(Value::to_i64_vec),
    })
}

/// The indices a slice picks along an axis of length `dim`, after the spec's clamping:
/// negative `start`/`end` count from the end, then they are clamped to `[0, dim]` for positive
/// steps and to `[0, dim - 1]` / `[-1, dim - 1]` for negative ones.
fn slice_indices(dim: usize, start: i64, end: i64, step: i64) -> Vec<usize> {
    let d = dim as i64;
    if d == 0 {
        return Vec::new();
    }
    let wrap = |i: i64| if i < 0 { i.saturating_add(d) } else { i };
    let (start, end) = (wrap(start), wrap(end));
    if step > 0 {
        let (start, end) = (start.clamp(0, d), end.clamp(0, d));
        (start..end).step_by(step as usize).map(|i| i as usize).collect()
    } else {
        let (start, end) = (start.clamp(0, d - 1), end.clamp(-1, d - 1));
        std::iter::successors(Some(start), |&i| Some(i + step))
            .take_while(|&i| i > end)
            .map(|i| i as usize)
            .collect()
    }
}

/// Picks `indices` along each listed axis in turn.
fn picked<T: Clone>(a: &ArrayD<T>, picks: &[(usize, Vec<usize>)]) -> ArrayD<T> {
    picks
        .iter()
        .fold(a.clone(), |acc, (axis, indices)| acc.select(Axis(*axis), indices))
}

/// Resolves the arguments against `shape` into (axis, indices) pairs.
fn resolve(ctx: &OpContext, args: SliceArgs, shape: &[usize]) -> Result<Vec<(usize, Vec<usize>)>, OpError> {
    let n = args.starts.len();
    let axes = args.axes.unwrap_or_else(|| (0..n as i64).collect());
    let steps = args.steps.unwrap_or_else(|| vec![1; n]);
    if args.ends.len() != n || axes.len() != n || steps.len() != n {
        return Err(OpError::invalid("Slice: starts, ends, axes and steps differ in length"));
    }
    let mut picks: Vec<(usize, Vec<usize>)> = Vec::with_capacity(n);
    for i in 0..n {
        let axis = ctx.axis(axes[i], shape.len())?;
        if steps[i] == 0 {
            return Err(OpError::invalid("Slice: step 0"));
        }
        if picks.iter().any(|(a, _)| *a == axis) {
            return Err(OpError::invalid(format!("Slice: axis {axis} repeated")));
        }
        picks.push((axis, slice_indices(shape[axis], args.starts[i], args.ends[i], steps[i])));
    }
    Ok(picks)
}

fn slice(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    let picks = resolve(ctx, slice_args(ctx, inputs)?, x.shape())?;
    Ok(vec![x.map_array(
        |a| picked(a, &picks),
        |a| picked(a, &picks),
        |a| picked(a, &picks),
    )])
}

#[cfg(test)]
mod tests {
    use super::slice_indices;

    #[test]
    fn positive_steps_clamp_to_the_axis() {
        assert_eq!(slice_indices(5, 1, 3, 1), vec![1, 2]);
        assert_eq!(slice_indices(5, -3, i64::MAX, 1), vec![2, 3, 4]);
        assert_eq!(slice_indices(5, -100, 100, 2), vec![0, 2, 4]);
        assert_eq!(slice_indices(5, 10, 20, 1), Vec::<usize>::new());
        assert_eq!(slice_indices(5, 3, 1, 1), Vec::<usize>::new());
    }

    #[test]
    fn negative_steps_walk_backwards() {
        assert_eq!(slice_indices(5, -1, i64::MIN, -1), vec![4, 3, 2, 1, 0]);
        assert_eq!(slice_indices(5, 100, -100, -2), vec![4, 2, 0]);
        assert_eq!(slice_indices(5, 3, 1, -1), vec![3, 2]);
        assert_eq!(slice_indices(5, 20, -1, -1), Vec::<usize>::new());
        assert_eq!(slice_indices(5, 1, 3, -1), Vec::<usize>::new());
        assert_eq!(slice_indices(0, 0, -1, -1), Vec::<usize>::new());
    }
}
