//! Conv (1-D to 3-D): strides, dilations, group, explicit pads (asymmetric ones as a zero
//! constant pad before LibTorch's convolution) and auto_pad.

use super::Registry;
use crate::context::{Ctx, same_dtype};
use crate::error::OpError;
use crate::value::Value;

pub fn register(r: &mut Registry) {
    r.add_checked("Conv", conv, check_conv);
}

fn check_conv(ctx: &Ctx) -> Result<(), OpError> {
    match ctx.string("auto_pad", "NOTSET").as_str() {
        "NOTSET" | "VALID" | "SAME_UPPER" | "SAME_LOWER" => Ok(()),
        other => Err(OpError::invalid(format!("unknown auto_pad '{other}'"))),
    }
}

/// A per-spatial-axis attribute of `n` positive values, or `n` ones.
pub(super) fn spatial_list(ctx: &Ctx, name: &str, n: usize) -> Result<Vec<i64>, OpError> {
    match ctx.ints(name) {
        Some(v) if v.len() == n && v.iter().all(|&x| x >= 1) => Ok(v),
        Some(v) => Err(OpError::invalid(format!("{name} {v:?} must hold {n} positive values"))),
        None => Ok(vec![1; n]),
    }
}

/// Begin and end pads per spatial axis: explicit `pads`, none (VALID), or SAME_UPPER /
/// SAME_LOWER (output `ceil(input / stride)`, the odd pad at the end / the beginning).
pub(super) fn conv_pads(
    ctx: &Ctx,
    input: &[i64],
    kernel: &[i64],
    strides: &[i64],
    dilations: &[i64],
) -> Result<(Vec<i64>, Vec<i64>), OpError> {
    let n = input.len();
    match ctx.string("auto_pad", "NOTSET").as_str() {
        "NOTSET" => {
            let pads = ctx.ints("pads").unwrap_or_else(|| vec![0; 2 * n]);
            if pads.len() != 2 * n {
                return Err(OpError::invalid(format!("pads {pads:?} do not fit {n} spatial axes")));
            }
            Ok((pads[..n].to_vec(), pads[n..].to_vec()))
        }
        "VALID" => Ok((vec![0; n], vec![0; n])),
        mode => {
            let mut begin = vec![0; n];
            let mut end = vec![0; n];
            for i in 0..n {
                let out = (input[i] + strides[i] - 1) / strides[i];
                let extent = (kernel[i] - 1) * dilations[i] + 1;
                let total = ((out - 1).max(0) * strides[i] + extent - input[i]).max(0);
                let small = total / 2;
                (begin[i], end[i]) = if mode == "SAME_UPPER" {
                    (small, total - small)
                } else {
                    (total - small, small)
                };
            }
            Ok((begin, end))
        }
    }
}

/// LibTorch's pad list (last axis first, begin then end) for pads of the trailing axes.
pub(super) fn torch_pad_list(begin: &[i64], end: &[i64]) -> Vec<i64> {
    (0..begin.len()).rev().flat_map(|i| [begin[i], end[i]]).collect()
}

fn conv(ctx: &Ctx, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let (x, w) = (ctx.input(inputs, 0)?, ctx.input(inputs, 1)?);
    same_dtype("Conv", x, w)?;
    if !x.is_float() {
        return Err(OpError::invalid(format!("Conv of {}", x.dtype)));
    }
    let rank = x.rank();
    if !(3..=5).contains(&rank) || w.rank() != rank {
        return Err(OpError::unsupported(format!(
            "Conv of input {:?} with weights {:?}: LibTorch convolves 1 to 3 spatial axes",
            x.shape(),
            w.shape()
        )));
    }
    let n = rank - 2;
    let shape = x.shape();
    let kernel = w.shape()[2..].to_vec();
    if let Some(k) = ctx.ints("kernel_shape")
        && k != kernel
    {
        return Err(OpError::invalid(format!(
            "kernel_shape {k:?} but weights {:?}",
            w.shape()
        )));
    }
    let strides = spatial_list(ctx, "strides", n)?;
    let dilations = spatial_list(ctx, "dilations", n)?;
    let group = ctx.int("group", 1);
    let (begin, end) = conv_pads(ctx, &shape[2..], &kernel, &strides, &dilations)?;
    let bias = match ctx.optional_input(inputs, 2) {
        Some(b) => {
            same_dtype("Conv", x, b)?;
            Some(b.t.shallow_clone())
        }
        None => None,
    };
    let (input, padding) = if begin == end {
        (x.t.shallow_clone(), begin)
    } else {
        (x.t.f_constant_pad_nd(torch_pad_list(&begin, &end))?, vec![0; n])
    };
    let t = input.f_convolution(
        &w.t,
        bias.as_ref(),
        &strides,
        &padding,
        &dilations,
        false,
        vec![0; n],
        group,
    )?;
    Ok(vec![ctx.env.like(t, x)?])
}
