//! Conv (1-D to 3-D): strides, dilations, group, explicit pads (asymmetric ones as a zero
//! constant pad before LibTorch's convolution) and auto_pad; ConvTranspose (1-D to 3-D): the
//! full transposed convolution, then cropped (or zero-extended) to ONNX's output window.

use tch::Tensor;

use super::Registry;
use crate::context::{Ctx, same_dtype};
use crate::error::OpError;
use crate::value::Value;

/// Strides, explicit padding, dilations and group of one LibTorch convolution.
pub(super) struct Window<'a> {
    pub strides: &'a [i64],
    pub padding: &'a [i64],
    pub dilations: &'a [i64],
    pub group: i64,
}

/// LibTorch's convolution (the full transposed one when `transposed`), with cuDNN's settings
/// explicit rather than LibTorch's process-wide defaults (which allow TF32 for convolutions):
/// on CUDA, f32 means f32, and the algorithm is deterministic and not auto-tuned, so a run is
/// repeatable. The settings are ignored on the CPU.
pub(super) fn convolve(
    input: &Tensor,
    weight: &Tensor,
    bias: Option<&Tensor>,
    window: &Window,
    transposed: bool,
) -> Result<Tensor, tch::TchError> {
    let (benchmark, deterministic, cudnn_enabled, allow_tf32) = (false, true, true, false);
    input.f_internal_convolution(
        weight,
        bias,
        window.strides,
        window.padding,
        window.dilations,
        transposed,
        vec![0; window.strides.len()],
        window.group,
        benchmark,
        deterministic,
        cudnn_enabled,
        allow_tf32,
    )
}

pub fn register(r: &mut Registry) {
    r.add_checked("Conv", conv, check_conv);
    r.add_checked("ConvTranspose", conv_transpose, check_conv);
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

/// The number of spatial axes of a convolution of `x` by `w` (`op`): equal ranks with 1 to 3
/// spatial axes, what LibTorch convolves.
pub(super) fn spatial_axes(op: &str, x: &Value, w: &Value) -> Result<usize, OpError> {
    let rank = x.rank();
    if !(3..=5).contains(&rank) || w.rank() != rank {
        return Err(OpError::unsupported(format!(
            "{op} of input {:?} with weights {:?}: LibTorch convolves 1 to 3 spatial axes",
            x.shape(),
            w.shape()
        )));
    }
    Ok(rank - 2)
}

/// The kernel's spatial extents, from the weights, checked against `kernel_shape` when given.
fn kernel_of(ctx: &Ctx, w: &Value) -> Result<Vec<i64>, OpError> {
    let w_shape = w.shape();
    let kernel = w_shape[2..].to_vec();
    match ctx.ints("kernel_shape") {
        Some(k) if k != kernel => Err(OpError::invalid(format!("kernel_shape {k:?} but weights {w_shape:?}"))),
        _ => Ok(kernel),
    }
}

/// Strides, dilations and the begin / end pads of a (forward) convolution of `x` by `w` over
/// `n` spatial axes.
pub(super) struct ConvGeometry {
    pub strides: Vec<i64>,
    pub dilations: Vec<i64>,
    pub begin: Vec<i64>,
    pub end: Vec<i64>,
}

impl ConvGeometry {
    pub(super) fn of(ctx: &Ctx, x: &Value, w: &Value, n: usize) -> Result<ConvGeometry, OpError> {
        let kernel = kernel_of(ctx, w)?;
        let strides = spatial_list(ctx, "strides", n)?;
        let dilations = spatial_list(ctx, "dilations", n)?;
        let (begin, end) = conv_pads(ctx, &x.shape()[2..], &kernel, &strides, &dilations)?;
        Ok(ConvGeometry {
            strides,
            dilations,
            begin,
            end,
        })
    }
}

/// The input and weights of Conv / ConvTranspose (`op`), checked: same float dtype and
/// [`spatial_axes`]; also the number of spatial axes.
fn float_operands<'a>(
    op: &str,
    ctx: &Ctx,
    inputs: &'a [Option<Value>],
) -> Result<(&'a Value, &'a Value, usize), OpError> {
    let (x, w) = (ctx.input(inputs, 0)?, ctx.input(inputs, 1)?);
    same_dtype(op, x, w)?;
    if !x.is_float() {
        return Err(OpError::invalid(format!("{op} of {}", x.dtype)));
    }
    Ok((x, w, spatial_axes(op, x, w)?))
}

fn conv(ctx: &Ctx, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let (x, w, n) = float_operands("Conv", ctx, inputs)?;
    let ConvGeometry {
        strides,
        dilations,
        begin,
        end,
    } = ConvGeometry::of(ctx, x, w, n)?;
    let group = ctx.int("group", 1);
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
    let window = Window {
        strides: &strides,
        padding: &padding,
        dilations: &dilations,
        group,
    };
    let t = convolve(&input, &w.t, bias.as_ref(), &window, false)?;
    Ok(vec![ctx.env.like(t, x)?])
}

/// ConvTranspose's output extents and begin pads per spatial axis. The full output of input
/// position `i` and tap `k` is `i * stride + k * dilation`, of length `natural - output_padding`;
/// ONNX's output position is that minus the begin pad. With `output_shape` (or SAME_*, which
/// asks for `in * stride`) the pads split the total `natural - out` (SAME_UPPER puts the odd
/// unit at the end, anything else at the beginning); otherwise the output comes from the pads.
fn conv_transpose_geometry(
    ctx: &Ctx,
    input: &[i64],
    kernel: &[i64],
    strides: &[i64],
    dilations: &[i64],
) -> Result<(Vec<i64>, Vec<i64>), OpError> {
    let n = input.len();
    let out_pad = match ctx.ints("output_padding") {
        Some(v) if v.len() == n && v.iter().all(|&p| p >= 0) => v,
        Some(v) => return Err(OpError::invalid(format!("output_padding {v:?} for {n} spatial axes"))),
        None => vec![0; n],
    };
    let natural: Vec<i64> = (0..n)
        .map(|i| strides[i] * (input[i].max(1) - 1) + out_pad[i] + (kernel[i] - 1) * dilations[i] + 1)
        .collect();
    let auto_pad = ctx.string("auto_pad", "NOTSET");
    let target = match (ctx.ints("output_shape"), auto_pad.as_str()) {
        (Some(shape), _) if shape.len() >= n => Some(shape[shape.len() - n..].to_vec()),
        (Some(shape), _) => {
            return Err(OpError::invalid(format!("output_shape {shape:?} for {n} spatial axes")));
        }
        (None, "SAME_UPPER" | "SAME_LOWER") => Some((0..n).map(|i| input[i] * strides[i]).collect()),
        (None, _) => None,
    };
    let (out, begin): (Vec<i64>, Vec<i64>) = match target {
        Some(out) => {
            let begin = (0..n)
                .map(|i| {
                    let total = natural[i] - out[i];
                    let half = total.div_euclid(2);
                    if auto_pad == "SAME_UPPER" { half } else { total - half }
                })
                .collect();
            (out, begin)
        }
        None if auto_pad == "VALID" => (natural, vec![0; n]),
        None => {
            let pads = ctx.ints("pads").unwrap_or_else(|| vec![0; 2 * n]);
            if pads.len() != 2 * n {
                return Err(OpError::invalid(format!("pads {pads:?} do not fit {n} spatial axes")));
            }
            let out = (0..n).map(|i| natural[i] - pads[i] - pads[n + i]).collect();
            (out, pads[..n].to_vec())
        }
    };
    if out.iter().any(|&d| d < 0) {
        return Err(OpError::invalid(format!("ConvTranspose output shape {out:?}")));
    }
    Ok((out, begin))
}

fn conv_transpose(ctx: &Ctx, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let (x, w, n) = float_operands("ConvTranspose", ctx, inputs)?;
    let (shape, w_shape) = (x.shape(), w.shape());
    if w_shape[0] != shape[1] {
        return Err(OpError::invalid(format!(
            "ConvTranspose of {shape:?} with weights {w_shape:?}"
        )));
    }
    let kernel = kernel_of(ctx, w)?;
    let strides = spatial_list(ctx, "strides", n)?;
    let dilations = spatial_list(ctx, "dilations", n)?;
    let group = ctx.int("group", 1);
    if group < 1 || shape[1] % group != 0 {
        return Err(OpError::invalid(format!(
            "ConvTranspose group {group} for {} channels",
            shape[1]
        )));
    }
    let (out, begin) = conv_transpose_geometry(ctx, &shape[2..], &kernel, &strides, &dilations)?;
    let window = Window {
        strides: &strides,
        padding: &vec![0; n],
        dilations: &dilations,
        group,
    };
    let full = convolve(&x.t, &w.t, None, &window, true)?;
    // Keep full positions begin .. begin + out: negative pads crop, positive ones add zeros.
    let full_size = full.size();
    let end: Vec<i64> = (0..n).map(|i| begin[i] + out[i] - full_size[2 + i]).collect();
    let neg_begin: Vec<i64> = begin.iter().map(|b| -b).collect();
    let mut t = full.f_constant_pad_nd(torch_pad_list(&neg_begin, &end))?;
    if let Some(b) = ctx.optional_input(inputs, 2) {
        same_dtype("ConvTranspose", x, b)?;
        let maps = t.size()[1];
        if b.shape() != [maps] {
            return Err(OpError::invalid(format!(
                "bias of shape {:?} for {maps} maps",
                b.shape()
            )));
        }
        let mut bias_shape = vec![1, maps];
        bias_shape.extend(vec![1; n]);
        t = t.f_add(&b.t.f_reshape(&bias_shape)?)?;
    }
    Ok(vec![ctx.env.like(t, x)?])
}
