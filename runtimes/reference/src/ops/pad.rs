//! Reference kernels: padding and cropping tensor borders (Pad: constant, reflect, edge and wrap modes; CenterCropPad).

use ndarray::{ArrayD, IxDyn};
use sysnoise_boundary::DType;

use super::Registry;
use crate::context::OpContext;
use crate::error::OpError;
use crate::value::Value;

pub fn register(r: &mut Registry) {
    r.add("Pad", pad);
    r.add("CenterCropPad", center_crop_pad);
}

/// CenterCropPad (opset 18): each of `axes` (default all) cropped or zero-padded to `shape`,
/// centred (an odd difference puts the extra element at the end).
fn center_crop_pad(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    let shape = ctx.input(inputs, 1)?.to_i64_vec();
    let rank = x.shape().len();
    let axes: Vec<usize> = match ctx.ints("axes") {
        Some(a) => a.iter().map(|&a| ctx.axis(a, rank)).collect::<Result<_, _>>()?,
        None => (0..rank).collect(),
    };
    if axes.len() != shape.len() {
        return Err(OpError::invalid(format!(
            "CenterCropPad: shape {shape:?} for axes {axes:?}"
        )));
    }
    let mut maps = Vec::new();
    for (&axis, &target) in axes.iter().zip(&shape) {
        let target =
            usize::try_from(target).map_err(|_| OpError::invalid(format!("CenterCropPad: shape {shape:?}")))?;
        let dim = x.shape()[axis];
        if target == dim {
            continue;
        }
        // Output position o reads input o + crop − pad (crop or pad is 0).
        let (crop, pad) = if target < dim {
            ((dim - target) / 2, 0)
        } else {
            (0, (target - dim) / 2)
        };
        let map = (0..target)
            .map(|o| (o + crop).checked_sub(pad).filter(|&i| i < dim))
            .collect();
        maps.push((axis, map));
    }
    Ok(vec![x.map_array(
        |a| padded(a, &maps, &0.0),
        |a| padded(a, &maps, &0),
        |a| padded(a, &maps, &false),
    )])
}

/// How Pad fills the positions outside the data.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    Constant,
    Reflect,
    Edge,
    Wrap,
}

impl Mode {
    fn of(ctx: &OpContext) -> Result<Mode, OpError> {
        match ctx.string("mode", "constant").as_str() {
            "constant" => Ok(Mode::Constant),
            "reflect" => Ok(Mode::Reflect),
            "edge" => Ok(Mode::Edge),
            "wrap" => Ok(Mode::Wrap),
            other => Err(OpError::invalid(format!("Pad: unknown mode '{other}'"))),
        }
    }

    /// The data index that output position `s` (relative to the data start) copies, or
    /// `None` for the constant fill. `dim` is at least 1.
    fn source(self, s: i64, dim: i64) -> Option<usize> {
        if (0..dim).contains(&s) {
            return Some(s as usize);
        }
        let i = match self {
            Mode::Constant => return None,
            Mode::Edge => s.clamp(0, dim - 1),
            Mode::Wrap => s.rem_euclid(dim),
            Mode::Reflect if dim == 1 => 0,
            Mode::Reflect => {
                let period = 2 * (dim - 1);
                let m = s.rem_euclid(period);
                if m < dim { m } else { period - m }
            }
        };
        Some(i as usize)
    }
}

/// For one axis: the source index (or fill) of each output position.
fn axis_map(dim: usize, before: i64, after: i64, mode: Mode) -> Result<Vec<Option<usize>>, OpError> {
    let d = dim as i64;
    let len = d + before + after;
    if len < 0 {
        return Err(OpError::invalid(format!(
            "Pad: pads {before},{after} crop more than {dim}"
        )));
    }
    if d == 0 && len > 0 && mode != Mode::Constant {
        return Err(OpError::invalid(format!("Pad: {mode:?} padding of an empty axis")));
    }
    Ok((0..len).map(|o| mode.source(o - before, d)).collect())
}

/// `a` padded along each mapped axis, in one pass over the output in row-major order: each
/// output row (the last axis) is either all fill or a copy of one input row through the last
/// axis's map, so reads and writes stay contiguous.
fn padded<T: Clone>(a: &ArrayD<T>, maps: &[(usize, Vec<Option<usize>>)], fill: &T) -> ArrayD<T> {
    if a.ndim() == 0 || maps.is_empty() {
        return a.clone();
    }
    let mut axis_maps: Vec<Vec<Option<usize>>> = a.shape().iter().map(|&d| (0..d).map(Some).collect()).collect();
    for (axis, map) in maps {
        axis_maps[*axis] = map.clone();
    }
    let out_shape: Vec<usize> = axis_maps.iter().map(Vec::len).collect();
    let a = a.as_standard_layout();
    let src = a.as_slice().expect("standard layout");
    let last = a.ndim() - 1;
    let mut in_strides = vec![1usize; a.ndim()];
    for k in (0..last).rev() {
        in_strides[k] = in_strides[k + 1] * a.shape()[k + 1];
    }
    let mut out = Vec::with_capacity(out_shape.iter().product());
    for outer in ndarray::indices(IxDyn(&out_shape[..last])) {
        let base = (0..last).try_fold(0usize, |acc, k| axis_maps[k][outer[k]].map(|i| acc + i * in_strides[k]));
        match base {
            None => out.extend(std::iter::repeat_n(fill.clone(), out_shape[last])),
            Some(b) => out.extend(axis_maps[last].iter().map(|s| match s {
                Some(i) => src[b + i].clone(),
                None => fill.clone(),
            })),
        }
    }
    ArrayD::from_shape_vec(IxDyn(&out_shape), out).expect("one value per output position")
}

/// The first element of a (non-empty) array.
fn first<T>(a: ArrayD<T>) -> T {
    a.into_iter().next().expect("non-empty fill")
}

/// Pad's arguments: (pads over `axes` as [begins..., ends...], axes, fill value).
struct PadArgs {
    pads: Vec<i64>,
    axes: Vec<usize>,
    fill: Value,
}

/// A scalar of `dtype` holding `v`.
fn scalar(dtype: DType, v: f64) -> Value {
    Value::from_f64(dtype, ArrayD::from_elem(IxDyn(&[]), v))
}

/// Pad's arguments: attributes before opset 11 (`paddings` in opset 1), inputs from then.
fn pad_args(ctx: &OpContext, inputs: &[Option<Value>], x: &Value) -> Result<PadArgs, OpError> {
    let rank = x.shape().len();
    if ctx.opset < 11 {
        let name = if ctx.opset < 2 { "paddings" } else { "pads" };
        return Ok(PadArgs {
            pads: ctx
                .ints(name)
                .ok_or_else(|| OpError::invalid(format!("Pad needs {name}")))?,
            axes: (0..rank).collect(),
            fill: scalar(x.dtype, ctx.float("value", 0.0)),
        });
    }
    let axes = match ctx.optional_input(inputs, 3) {
        Some(a) => a
            .to_i64_vec()
            .into_iter()
            .map(|a| ctx.axis(a, rank))
            .collect::<Result<_, _>>()?,
        None => (0..rank).collect(),
    };
    let fill = match ctx.optional_input(inputs, 2) {
        Some(v) if !v.is_empty() => v.clone(),
        _ => scalar(x.dtype, 0.0),
    };
    Ok(PadArgs {
        pads: ctx.input(inputs, 1)?.to_i64_vec(),
        axes,
        fill,
    })
}

fn pad(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    let mode = Mode::of(ctx)?;
    let args = pad_args(ctx, inputs, x)?;
    let n = args.axes.len();
    if args.pads.len() != 2 * n {
        return Err(OpError::invalid(format!("Pad: {} pads for {n} axes", args.pads.len())));
    }
    let mut maps = Vec::with_capacity(n);
    for (i, &axis) in args.axes.iter().enumerate() {
        let (before, after) = (args.pads[i], args.pads[i + n]);
        if before != 0 || after != 0 {
            maps.push((axis, axis_map(x.shape()[axis], before, after, mode)?));
        }
    }
    let (ff, fi, fb) = (
        first(args.fill.to_f64()),
        first(args.fill.to_i64()),
        first(args.fill.to_bool()),
    );
    Ok(vec![x.map_array(
        |a| padded(a, &maps, &ff),
        |a| padded(a, &maps, &fi),
        |a| padded(a, &maps, &fb),
    )])
}

#[cfg(test)]
mod tests {
    use super::{Mode, axis_map};

    fn sources(dim: usize, before: i64, after: i64, mode: Mode) -> Vec<Option<usize>> {
        axis_map(dim, before, after, mode).unwrap()
    }

    #[test]
    fn reflect_mirrors_without_repeating_the_edge() {
        let want = [2, 1, 0, 1, 2, 3, 2, 1].map(Some).to_vec();
        assert_eq!(sources(4, 2, 2, Mode::Reflect), want);
        // Pads longer than the axis keep bouncing, as numpy.pad does.
        assert_eq!(sources(3, 5, 0, Mode::Reflect)[..5], [1, 0, 1, 2, 1].map(Some));
        assert_eq!(sources(1, 2, 1, Mode::Reflect), vec![Some(0); 4]);
    }

    #[test]
    fn edge_wrap_and_constant() {
        assert_eq!(sources(3, 2, 1, Mode::Edge), [0, 0, 0, 1, 2, 2].map(Some).to_vec());
        assert_eq!(sources(3, 2, 1, Mode::Wrap), [1, 2, 0, 1, 2, 0].map(Some).to_vec());
        assert_eq!(sources(2, 1, 1, Mode::Constant), vec![None, Some(0), Some(1), None]);
    }

    #[test]
    fn negative_pads_crop() {
        assert_eq!(sources(4, -1, -2, Mode::Constant), vec![Some(1)]);
        assert!(axis_map(2, -2, -1, Mode::Constant).is_err());
    }
}
