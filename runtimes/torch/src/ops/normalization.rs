//! Normalisations: BatchNormalization (inference), InstanceNormalization, LayerNormalization
//! (with its Mean and InvStdDev outputs), GroupNormalization (LibTorch's own kernels) and
//! LpNormalization (a vector norm along one axis; zero lanes give zeros).

use sysnoise_boundary::DType;
use tch::Tensor;

use super::Registry;
use crate::context::{Ctx, axis, same_dtype};
use crate::error::OpError;
use crate::value::Value;

pub fn register(r: &mut Registry) {
    r.add_checked("BatchNormalization", batch_norm, check_batch_norm);
    r.add("InstanceNormalization", instance_norm);
    r.add("LayerNormalization", layer_norm);
    r.add("GroupNormalization", group_norm);
    r.add("LpNormalization", lp_norm);
}

fn check_batch_norm(ctx: &Ctx) -> Result<(), OpError> {
    if ctx.int("training_mode", 0) != 0 {
        return Err(OpError::unsupported("BatchNormalization in training mode"));
    }
    if ctx.opset < 9 && ctx.int("spatial", 1) == 0 {
        return Err(OpError::unsupported(
            "BatchNormalization with spatial = 0 (per-element statistics)",
        ));
    }
    if ctx.wanted_outputs() > 1 {
        return Err(OpError::unsupported(
            "BatchNormalization's running mean / variance outputs (training only)",
        ));
    }
    Ok(())
}

/// Inputs `first..` as tensors of x's dtype.
fn params(
    ctx: &Ctx,
    inputs: &[Option<Value>],
    x: &Value,
    range: std::ops::Range<usize>,
) -> Result<Vec<Tensor>, OpError> {
    range
        .map(|i| {
            let p = ctx.input(inputs, i)?;
            same_dtype(&ctx.node.op_type, x, p)?;
            Ok(p.t.shallow_clone())
        })
        .collect()
}

fn float_input<'v>(ctx: &Ctx, inputs: &'v [Option<Value>]) -> Result<&'v Value, OpError> {
    let x = ctx.input(inputs, 0)?;
    if !x.is_float() {
        return Err(OpError::invalid(format!("{} of {}", ctx.node.op_type, x.dtype)));
    }
    if x.rank() < 2 {
        return Err(OpError::invalid(format!(
            "{} of shape {:?}",
            ctx.node.op_type,
            x.shape()
        )));
    }
    Ok(x)
}

fn batch_norm(ctx: &Ctx, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let x = float_input(ctx, inputs)?;
    let p = params(ctx, inputs, x, 1..5)?;
    let eps = ctx.float("epsilon", 1e-5);
    let momentum = ctx.float("momentum", 0.9);
    let t = x.t.f_batch_norm(
        Some(&p[0]),
        Some(&p[1]),
        Some(&p[2]),
        Some(&p[3]),
        false,
        momentum,
        eps,
        true,
    )?;
    Ok(vec![ctx.env.like(t, x)?])
}

fn instance_norm(ctx: &Ctx, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let x = float_input(ctx, inputs)?;
    let p = params(ctx, inputs, x, 1..3)?;
    let eps = ctx.float("epsilon", 1e-5);
    let t =
        x.t.f_instance_norm(Some(&p[0]), Some(&p[1]), None::<&Tensor>, None, true, 0.1, eps, true)?;
    Ok(vec![ctx.env.like(t, x)?])
}

/// LayerNormalization over the axes from `axis` on. Scale and bias of exactly the normalised
/// shape go to LibTorch's kernel; ones that only broadcast to it are applied after it.
fn layer_norm(ctx: &Ctx, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    if !x.is_float() {
        return Err(OpError::invalid(format!("LayerNormalization of {}", x.dtype)));
    }
    let shape = x.shape();
    let a = axis(ctx.int("axis", -1), shape.len())? as usize;
    let normalized = shape[a..].to_vec();
    let eps = ctx.float("epsilon", 1e-5);
    let scale = ctx.input(inputs, 1)?;
    same_dtype("LayerNormalization", x, scale)?;
    let bias = ctx.optional_input(inputs, 2);
    if let Some(b) = bias {
        same_dtype("LayerNormalization", x, b)?;
    }
    let exact = scale.shape() == normalized && bias.is_none_or(|b| b.shape() == normalized);
    let (weight, b) = if exact {
        (Some(scale.t.shallow_clone()), bias.map(|b| b.t.shallow_clone()))
    } else {
        (None, None)
    };
    let (mut y, mean, rstd) = x.t.f_native_layer_norm(&normalized, weight.as_ref(), b.as_ref(), eps)?;
    if !exact {
        y = y.f_mul(&scale.t)?;
        if let Some(b) = bias {
            y = y.f_add(&b.t)?;
        }
        if y.size() != shape {
            return Err(OpError::invalid(format!(
                "LayerNormalization scale {:?} does not broadcast to {shape:?}",
                scale.shape()
            )));
        }
    }
    // Mean and InvStdDev have type U = stash_type (float by default).
    let stats = DType::from_onnx_code(ctx.int("stash_type", 1) as i32).unwrap_or(x.dtype);
    let mut outputs = vec![ctx.env.like(y, x)?];
    if ctx.wanted_outputs() > 1 {
        outputs.push(ctx.env.value(mean, stats)?);
        outputs.push(ctx.env.value(rstd, stats)?);
    }
    Ok(outputs)
}

/// GroupNormalization: LibTorch's group_norm with per-channel scale and bias; before opset 21
/// they may be per group, repeated for the channels of each group.
fn group_norm(ctx: &Ctx, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let x = float_input(ctx, inputs)?;
    let shape = x.shape();
    let (c, groups) = (shape[1], ctx.int("num_groups", 0));
    if groups <= 0 || c % groups != 0 {
        return Err(OpError::invalid(format!(
            "GroupNormalization of {shape:?} into {groups} groups"
        )));
    }
    let eps = ctx.float("epsilon", 1e-5);
    let p = params(ctx, inputs, x, 1..3)?;
    let per_channel = |t: &Tensor| -> Result<Tensor, OpError> {
        if t.dim() != 1 {
            return Err(OpError::invalid(format!(
                "GroupNormalization parameter of shape {:?}",
                t.size()
            )));
        }
        let len = t.size()[0];
        if ctx.opset < 21 && len == groups && groups != c {
            Ok(t.f_repeat_interleave_self_int(c / groups, 0, None::<i64>)?)
        } else if len == c {
            Ok(t.shallow_clone())
        } else {
            Err(OpError::invalid(format!(
                "GroupNormalization parameter of {len} values for {c} channels"
            )))
        }
    };
    let (scale, bias) = (per_channel(&p[0])?, per_channel(&p[1])?);
    let t = x.t.f_group_norm(groups, Some(&scale), Some(&bias), eps, false)?;
    Ok(vec![ctx.env.like(t, x)?])
}

/// LpNormalization: each lane along `axis` divided by its L1 (p = 1) or L2 (p = 2) norm; a lane
/// whose norm is zero gives zeros.
fn lp_norm(ctx: &Ctx, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    if !x.is_float() {
        return Err(OpError::invalid(format!("LpNormalization of {}", x.dtype)));
    }
    let a = axis(ctx.int("axis", -1), x.rank())?;
    let p = match ctx.int("p", 2) {
        p @ (1 | 2) => p,
        p => return Err(OpError::invalid(format!("LpNormalization p={p}"))),
    };
    let norm = x.t.f_norm_scalaropt_dim(p, [a], true)?;
    let y = x.t.f_div(&norm)?;
    let zero = norm.f_eq(0)?;
    let t = y.f_masked_fill(&zero, 0.0)?;
    Ok(vec![ctx.env.like(t, x)?])
}
