//! Reference kernels: normalisations (BatchNormalization inference, Instance/Layer/Group/Lp/RMS
//! normalisation, MeanVarianceNormalization, LRN).

use ndarray::{ArrayD, Axis, IxDyn, Zip};
use sysnoise_boundary::DType;

use super::Registry;
use crate::broadcast::zip3;
use crate::context::OpContext;
use crate::error::OpError;
use crate::value::Value;

pub fn register(r: &mut Registry) {
    r.add("BatchNormalization", batch_norm);
    r.add("InstanceNormalization", instance_norm);
    r.add("LayerNormalization", layer_norm);
    r.add("GroupNormalization", group_norm);
    r.add("LpNormalization", lp_norm);
    r.add("LRN", lrn);
    r.add("RMSNormalization", rms_norm);
    r.add("MeanVarianceNormalization", mean_variance_norm);
}

/// RMSNormalization (opset 23): `x / sqrt(mean(x²) + epsilon) · scale`, the mean over the axes
/// from `axis` to the last.
fn rms_norm(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    let xa = x.as_float()?;
    let axis = ctx.axis(ctx.int("axis", -1), xa.ndim())?;
    let eps = ctx.float("epsilon", 1e-5);
    let inner: usize = xa.shape()[axis..].iter().product();
    let flat: Vec<f64> = xa.iter().copied().collect();
    let mut out = Vec::with_capacity(flat.len());
    for row in flat.chunks(inner.max(1)) {
        let mean_square = row.iter().map(|v| v * v).sum::<f64>() / inner.max(1) as f64;
        let inv = 1.0 / (mean_square + eps).sqrt();
        out.extend(row.iter().map(|v| v * inv));
    }
    let normalized = ArrayD::from_shape_vec(xa.raw_dim(), out).expect("same shape");
    let scale = ctx.input(inputs, 1)?.to_f64();
    let y = affine(&normalized, &scale, &ArrayD::zeros(IxDyn(&[])))?;
    Ok(vec![Value::float(x.dtype, y)])
}

/// MeanVarianceNormalization: `(x − mean) / (sqrt(var) + 1e-9)` over `axes` (default N, H, W),
/// as the op's function body defines it.
fn mean_variance_norm(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    let xa = x.as_float()?;
    let axes: Vec<usize> = ctx
        .ints("axes")
        .unwrap_or_else(|| vec![0, 2, 3])
        .into_iter()
        .map(|a| ctx.axis(a, xa.ndim()))
        .collect::<Result<_, _>>()?;
    let mut mean = xa.clone();
    let mut square = xa.mapv(|v| v * v);
    for &axis in axes.iter().rev() {
        mean = mean.mean_axis(Axis(axis)).expect("non-empty").insert_axis(Axis(axis));
        square = square.mean_axis(Axis(axis)).expect("non-empty").insert_axis(Axis(axis));
    }
    let std = zip3(&square, &mean, &ArrayD::<f64>::zeros(IxDyn(&[])), |s, m, _| {
        (s - m * m).max(0.0).sqrt()
    })?;
    let y = zip3(xa, &mean, &std, |v, m, s| (v - m) / (s + 1e-9))?;
    Ok(vec![Value::float(x.dtype, y)])
}

/// LRN across channels of `[N, C, D1, ...]`: `y = x / (bias + alpha / size · Σ x²)^beta`, the sum
/// over channels `c − ⌊(size − 1) / 2⌋ ..= c + ⌈(size − 1) / 2⌉` that exist.
fn lrn(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let x_value = ctx.input(inputs, 0)?;
    let x = x_value.as_float()?;
    if x.ndim() < 3 {
        return Err(OpError::invalid(format!(
            "LRN of rank {} (needs [N, C, D1, ...])",
            x.ndim()
        )));
    }
    let size = ctx.int("size", 0);
    if size < 1 {
        return Err(OpError::invalid(format!("LRN size {size}")));
    }
    let (alpha, beta, bias) = (
        ctx.float("alpha", 1e-4),
        ctx.float("beta", 0.75),
        ctx.float("bias", 1.0),
    );
    let channels = x.shape()[1] as i64;
    let (before, after) = ((size - 1) / 2, (size - 1 + 1) / 2);
    let y = ArrayD::from_shape_fn(x.raw_dim(), |index| {
        let c = index[1] as i64;
        let mut at = index.clone();
        let mut sum = 0.0;
        for k in (c - before).max(0)..=(c + after).min(channels - 1) {
            at[1] = k as usize;
            sum += x[&at] * x[&at];
        }
        x[&index] / (bias + alpha / size as f64 * sum).powf(beta)
    });
    Ok(vec![Value::float(x_value.dtype, y)])
}

/// Reshapes a per-channel parameter (shape `[C]`, or `[C, D1, ...]` for the old `spatial=0`)
/// so that it broadcasts against an `[N, C, D1, ...]` input of rank `rank`.
fn per_channel(p: &ArrayD<f64>, rank: usize) -> ArrayD<f64> {
    if p.ndim() > rank {
        return p.clone(); // not valid ONNX; the broadcast that follows reports it
    }
    let mut shape = vec![1usize; rank];
    if p.ndim() == 1 && rank >= 2 {
        shape[1] = p.len();
    } else {
        let start = rank.saturating_sub(p.ndim());
        shape[start..].copy_from_slice(p.shape());
    }
    p.to_shape(IxDyn(&shape)).expect("same length").into_owned()
}

/// BatchNormalization in inference mode: `(x - mean) / sqrt(var + epsilon) * scale + B`.
fn batch_norm(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let outputs = ctx.node.output.iter().filter(|o| !o.is_empty()).count();
    if ctx.int("training_mode", 0) != 0 || outputs > 1 {
        return Err(OpError::unsupported("BatchNormalization in training mode"));
    }
    let x = ctx.input(inputs, 0)?;
    let xa = x.as_float()?;
    let param = |i| -> Result<ArrayD<f64>, OpError> { Ok(per_channel(&ctx.input(inputs, i)?.to_f64(), xa.ndim())) };
    let (scale, bias, mean, var) = (param(1)?, param(2)?, param(3)?, param(4)?);
    let eps = ctx.float("epsilon", 1e-5);
    let shape = xa.raw_dim();
    let view = |p: &ArrayD<f64>| {
        p.broadcast(shape.clone())
            .map(|v| v.to_owned())
            .ok_or_else(|| OpError::invalid(format!("BatchNormalization parameter of shape {:?}", p.shape())))
    };
    let (scale, bias, mean, var) = (view(&scale)?, view(&bias)?, view(&mean)?, view(&var)?);
    let mut y = xa.clone();
    Zip::from(&mut y)
        .and(&scale)
        .and(&bias)
        .and(&mean)
        .and(&var)
        .for_each(|v, &s, &b, &m, &var| *v = (*v - m) / (var + eps).sqrt() * s + b);
    Ok(vec![Value::float(x.dtype, y)])
}

/// The statistics of a standardisation: per-row means and reciprocal standard deviations.
pub(super) struct Stats {
    pub(super) mean: Vec<f64>,
    pub(super) inv_std: Vec<f64>,
}

/// Standardises `x` over its trailing axes from `axis` on: each row of the `[outer, inner]`
/// view becomes `(x - mean) / sqrt(var + eps)` with the population variance.
pub(super) fn standardize(x: &ArrayD<f64>, axis: usize, eps: f64) -> (ArrayD<f64>, Stats) {
    let outer: usize = x.shape()[..axis].iter().product();
    let inner: usize = x.shape()[axis..].iter().product();
    let flat: Vec<f64> = x.iter().copied().collect();
    let mut stats = Stats {
        mean: Vec::new(),
        inv_std: Vec::new(),
    };
    let mut out = Vec::with_capacity(flat.len());
    for r in 0..outer {
        let row = &flat[r * inner..(r + 1) * inner];
        let mean = row.iter().sum::<f64>() / inner as f64;
        let var = row.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / inner as f64;
        let inv_std = 1.0 / (var + eps).sqrt();
        out.extend(row.iter().map(|v| (v - mean) * inv_std));
        stats.mean.push(mean);
        stats.inv_std.push(inv_std);
    }
    let y = ArrayD::from_shape_vec(x.raw_dim(), out).expect("same shape");
    (y, stats)
}

/// `normalized * scale + bias`, the parameters broadcasting numpy-style against `normalized`.
fn affine(normalized: &ArrayD<f64>, scale: &ArrayD<f64>, bias: &ArrayD<f64>) -> Result<ArrayD<f64>, OpError> {
    zip3(normalized, scale, bias, |n, s, b| n * s + b)
}

fn instance_norm(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    let xa = x.as_float()?;
    if xa.ndim() < 2 {
        return Err(OpError::invalid("InstanceNormalization input needs rank >= 2"));
    }
    let (normalized, _) = standardize(xa, 2, ctx.float("epsilon", 1e-5));
    let scale = per_channel(&ctx.input(inputs, 1)?.to_f64(), xa.ndim());
    let bias = per_channel(&ctx.input(inputs, 2)?.to_f64(), xa.ndim());
    Ok(vec![Value::float(x.dtype, affine(&normalized, &scale, &bias)?)])
}

/// LayerNormalization: standardises over the axes from `axis` on; outputs Y and, when asked
/// for, Mean and InvStdDev (shaped like X with those axes set to 1, of the `stash_type` dtype).
fn layer_norm(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    let xa = x.as_float()?;
    let axis = ctx.axis(ctx.int("axis", -1), xa.ndim())?;
    let (normalized, stats) = standardize(xa, axis, ctx.float("epsilon", 1e-5));
    let scale = ctx.input(inputs, 1)?.to_f64();
    let bias = match ctx.optional_input(inputs, 2) {
        Some(b) => b.to_f64(),
        None => ArrayD::zeros(IxDyn(&[])),
    };
    let y = Value::float(x.dtype, affine(&normalized, &scale, &bias)?);
    let stash = DType::from_onnx_code(ctx.int("stash_type", 1) as i32)
        .ok()
        .filter(|d| d.is_float())
        .ok_or_else(|| OpError::unsupported("LayerNormalization stash_type"))?;
    let stat_shape: Vec<usize> = (0..xa.ndim())
        .map(|i| if i < axis { xa.shape()[i] } else { 1 })
        .collect();
    let stat = |v: Vec<f64>| {
        Value::float(
            stash,
            ArrayD::from_shape_vec(IxDyn(&stat_shape), v).expect("one per row"),
        )
    };
    Ok(vec![y, stat(stats.mean), stat(stats.inv_std)])
}

/// GroupNormalization: standardises each group of `C / num_groups` channels (with their
/// spatial axes); scale and bias are per channel from opset 21, per group before.
fn group_norm(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    let xa = x.as_float()?;
    let groups = ctx.int("num_groups", 0);
    if xa.ndim() < 2 || groups <= 0 || xa.shape()[1] % groups as usize != 0 {
        return Err(OpError::invalid(format!(
            "GroupNormalization of {:?} into {groups} groups",
            xa.shape()
        )));
    }
    let (n, c, groups) = (xa.shape()[0], xa.shape()[1], groups as usize);
    let grouped = xa
        .to_shape(IxDyn(&[n, groups, xa.len() / (n * groups).max(1)]))
        .expect("divisible");
    let (normalized, _) = standardize(&grouped.into_owned(), 2, ctx.float("epsilon", 1e-5));
    let normalized = normalized.into_shape_with_order(xa.raw_dim()).expect("same length");
    let param = |i| -> Result<ArrayD<f64>, OpError> {
        let p = ctx.input(inputs, i)?.to_f64();
        let p = if ctx.opset < 21 && p.len() == groups {
            per_group_to_channels(&p, c / groups)
        } else {
            p
        };
        Ok(per_channel(&p, xa.ndim()))
    };
    Ok(vec![Value::float(
        x.dtype,
        affine(&normalized, &param(1)?, &param(2)?)?,
    )])
}

/// Repeats each per-group value for the `per_group` channels of its group.
fn per_group_to_channels(p: &ArrayD<f64>, per_group: usize) -> ArrayD<f64> {
    let values: Vec<f64> = p.iter().flat_map(|&v| std::iter::repeat_n(v, per_group)).collect();
    ArrayD::from_shape_vec(IxDyn(&[values.len()]), values).expect("1-D")
}

/// LpNormalization: divides each lane along `axis` by its L1 (p=1) or L2 (p=2) norm; a lane
/// whose norm is zero gives zeros (the spec's 0/0 rule).
fn lp_norm(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    let mut y = x.as_float()?.clone();
    let axis = ctx.axis(ctx.int("axis", -1), y.ndim())?;
    let norm: fn(f64, &f64) -> f64 = match ctx.int("p", 2) {
        1 => |acc, v| acc + v.abs(),
        2 => |acc, v| acc.hypot(*v),
        p => return Err(OpError::invalid(format!("LpNormalization p={p}"))),
    };
    for mut lane in y.lanes_mut(Axis(axis)) {
        let total = lane.fold(0.0, norm);
        lane.mapv_inplace(|v| if total == 0.0 { 0.0 } else { v / total });
    }
    Ok(vec![Value::float(x.dtype, y)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standardize_rows() {
        let x = ArrayD::from_shape_vec(IxDyn(&[2, 2]), vec![1.0, 3.0, 5.0, 5.0]).unwrap();
        let (y, stats) = standardize(&x, 1, 0.0);
        assert_eq!(stats.mean, [2.0, 5.0]);
        assert_eq!(y[[0, 0]], -1.0);
        assert_eq!(y[[0, 1]], 1.0);
        assert!(stats.inv_std[1].is_infinite());
    }

    #[test]
    fn per_channel_shapes() {
        let p = ArrayD::from_shape_vec(IxDyn(&[3]), vec![1.0, 2.0, 3.0]).unwrap();
        assert_eq!(per_channel(&p, 4).shape(), &[1, 3, 1, 1]);
        assert_eq!(per_group_to_channels(&p, 2).len(), 6);
    }
}
