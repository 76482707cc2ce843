//! Pooling: MaxPool (with Indices), AveragePool (count_include_pad), LpPool and GlobalAveragePool /
//! GlobalMaxPool / GlobalLpPool, with ONNX's output lengths (ceil_mode drops a last window that would start
//! in the end padding) and pads. LibTorch's pools take one pad per axis, at most half the
//! window; other pads are applied by a constant pad before LibTorch pools without padding.

use sysnoise_boundary::DType;
use tch::{Kind, Tensor};

use super::Registry;
use super::conv::{conv_pads, spatial_list, torch_pad_list};
use crate::context::Ctx;
use crate::error::OpError;
use crate::value::Value;

pub fn register(r: &mut Registry) {
    r.add_checked("MaxPool", max_pool, check_max_pool);
    r.add_checked("AveragePool", average_pool, check_average_pool);
    r.add("GlobalMaxPool", global_max_pool);
    r.add("GlobalAveragePool", global_average_pool);
    r.add_checked("LpPool", lp_pool, check_auto_pad);
    r.add("GlobalLpPool", global_lp_pool);
}

/// Where the windows lie along each spatial axis.
#[derive(Clone, Debug, PartialEq)]
struct Geometry {
    input: Vec<i64>,
    kernel: Vec<i64>,
    strides: Vec<i64>,
    dilations: Vec<i64>,
    pad_begin: Vec<i64>,
    pad_end: Vec<i64>,
    /// ONNX's output length per axis.
    output: Vec<i64>,
    ceil_mode: bool,
}

impl Geometry {
    fn from_attributes(ctx: &Ctx, spatial: &[i64]) -> Result<Geometry, OpError> {
        let n = spatial.len();
        let kernel = ctx
            .ints("kernel_shape")
            .ok_or_else(|| OpError::invalid("kernel_shape is required"))?;
        if kernel.len() != n || kernel.iter().any(|&k| k < 1) {
            return Err(OpError::invalid(format!(
                "kernel_shape {kernel:?} must hold {n} positive values"
            )));
        }
        let strides = spatial_list(ctx, "strides", n)?;
        let dilations = spatial_list(ctx, "dilations", n)?;
        let (pad_begin, pad_end) = conv_pads(ctx, spatial, &kernel, &strides, &dilations)?;
        if pad_begin.iter().chain(&pad_end).any(|&p| p < 0) {
            return Err(OpError::invalid("negative pads"));
        }
        let explicit = ctx.string("auto_pad", "NOTSET") == "NOTSET";
        let ceil_mode = explicit && ctx.int("ceil_mode", 0) != 0;
        let mut g = Geometry {
            input: spatial.to_vec(),
            kernel,
            strides,
            dilations,
            pad_begin,
            pad_end,
            output: vec![0; n],
            ceil_mode,
        };
        for i in 0..n {
            g.output[i] = g.onnx_output_len(i)?;
        }
        Ok(g)
    }

    fn effective_kernel(&self, i: usize) -> i64 {
        (self.kernel[i] - 1) * self.dilations[i] + 1
    }

    /// ONNX's output length along axis `i` (SAME pads give ceil(input / stride) by construction).
    fn onnx_output_len(&self, i: usize) -> Result<i64, OpError> {
        let padded = self.input[i] + self.pad_begin[i] + self.pad_end[i];
        let span = padded - self.effective_kernel(i);
        if span < 0 {
            return Err(OpError::invalid(format!(
                "kernel extent {} exceeds padded input {padded}",
                self.effective_kernel(i)
            )));
        }
        let s = self.strides[i];
        let mut out = if self.ceil_mode { (span + s - 1) / s } else { span / s } + 1;
        if self.ceil_mode && (out - 1) * s >= self.input[i] + self.pad_begin[i] {
            out -= 1;
        }
        Ok(out)
    }

    /// LibTorch's output length with symmetric padding `pad` (its pooling_output_shape).
    fn torch_output_len(&self, i: usize, pad: i64) -> i64 {
        let s = self.strides[i];
        let numerator = self.input[i] + 2 * pad - self.effective_kernel(i) + if self.ceil_mode { s - 1 } else { 0 };
        let mut out = numerator.div_euclid(s) + 1;
        if self.ceil_mode && (out - 1) * s >= self.input[i] + pad {
            out -= 1;
        }
        out
    }

    /// The symmetric pads LibTorch can take itself: equal begin and end pads of at most
    /// `limit(axis)` giving ONNX's output lengths.
    fn native_padding(&self, limit: impl Fn(usize) -> i64) -> Option<Vec<i64>> {
        (0..self.input.len())
            .map(|i| {
                let p = self.pad_begin[i];
                let ok = p == self.pad_end[i] && p <= limit(i) && self.torch_output_len(i, p) == self.output[i];
                ok.then_some(p)
            })
            .collect()
    }

    /// The end pad making a pad-free, floor-mode pool give ONNX's output length (negative: the
    /// input tail no window reaches is cut).
    fn exact_end_pads(&self) -> Vec<i64> {
        (0..self.input.len())
            .map(|i| {
                let needed = (self.output[i] - 1) * self.strides[i] + self.effective_kernel(i);
                needed - self.input[i] - self.pad_begin[i]
            })
            .collect()
    }
}

/// The spatial extents of a pooling input (N x C x D1 x ... x Dn, n from 1 to 3).
fn spatial_shape(ctx: &Ctx, x: &Value) -> Result<Vec<i64>, OpError> {
    let shape = x.shape();
    if !(3..=5).contains(&shape.len()) {
        return Err(OpError::unsupported(format!(
            "{} of shape {shape:?}: LibTorch pools 1 to 3 spatial axes",
            ctx.node.op_type
        )));
    }
    Ok(shape[2..].to_vec())
}

fn check_auto_pad(ctx: &Ctx) -> Result<(), OpError> {
    match ctx.string("auto_pad", "NOTSET").as_str() {
        "NOTSET" | "VALID" | "SAME_UPPER" | "SAME_LOWER" => Ok(()),
        other => Err(OpError::invalid(format!("unknown auto_pad '{other}'"))),
    }
}

fn check_max_pool(ctx: &Ctx) -> Result<(), OpError> {
    check_auto_pad(ctx)?;
    if ctx.wanted_outputs() > 1 && ctx.int("storage_order", 0) != 0 {
        return Err(OpError::unsupported(
            "MaxPool Indices in column-major order (storage_order = 1): LibTorch numbers row-major",
        ));
    }
    Ok(())
}

/// The lowest value of a dtype: MaxPool's padding.
fn lowest(dtype: DType) -> Result<f64, OpError> {
    Ok(match dtype {
        d if d.is_float() => f64::NEG_INFINITY,
        DType::I8 => f64::from(i8::MIN),
        DType::I16 => f64::from(i16::MIN),
        DType::I32 => f64::from(i32::MIN),
        DType::U8 => 0.0,
        other => return Err(OpError::unsupported(format!("MaxPool of {other}"))),
    })
}

type MaxPoolFn = fn(&Tensor, &[i64], &[i64], &[i64], &[i64], bool) -> Result<(Tensor, Tensor), tch::TchError>;

fn max_pool_with_indices(n: usize) -> MaxPoolFn {
    match n {
        1 => |x, k, s, p, d, c| x.f_max_pool1d_with_indices(k, s, p, d, c),
        2 => |x, k, s, p, d, c| x.f_max_pool2d_with_indices(k, s, p, d, c),
        _ => |x, k, s, p, d, c| x.f_max_pool3d_with_indices(k, s, p, d, c),
    }
}

fn max_pool_values(x: &Tensor, g: &Geometry, padding: &[i64], ceil_mode: bool) -> Result<Tensor, tch::TchError> {
    let (k, s, d) = (&g.kernel, &g.strides, &g.dilations);
    match g.input.len() {
        1 => x.f_max_pool1d(k, s, padding, d, ceil_mode),
        2 => x.f_max_pool2d(k, s, padding, d, ceil_mode),
        _ => x.f_max_pool3d(k, s, padding, d, ceil_mode),
    }
}

fn max_pool(ctx: &Ctx, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    let g = Geometry::from_attributes(ctx, &spatial_shape(ctx, x)?)?;
    let n = g.input.len();
    // LibTorch: "pad should be at most half of effective kernel size".
    let native = g.native_padding(|i| g.effective_kernel(i) / 2);
    let want_indices = ctx.wanted_outputs() > 1;
    if want_indices {
        let Some(padding) = native else {
            return Err(OpError::unsupported(
                "MaxPool Indices with pads LibTorch cannot take (asymmetric, over half the window, or other output lengths)",
            ));
        };
        let (values, indices) =
            max_pool_with_indices(n)(&x.t, &g.kernel, &g.strides, &padding, &g.dilations, g.ceil_mode)?;
        // LibTorch's indices count within each (batch, channel) plane; ONNX's within the tensor.
        let shape = x.shape();
        let plane: i64 = g.input.iter().product();
        let planes = shape[0] * shape[1];
        let mut offset_shape = vec![shape[0], shape[1]];
        offset_shape.extend(vec![1; n]);
        let offsets = Tensor::f_arange_start_step(0, planes * plane, plane, (Kind::Int64, x.t.device()))?
            .f_reshape(&offset_shape)?;
        let indices = indices.f_add(&offsets)?;
        return Ok(vec![ctx.env.like(values, x)?, ctx.env.native(indices)?]);
    }
    let t = match native {
        Some(padding) => max_pool_values(&x.t, &g, &padding, g.ceil_mode)?,
        None => {
            let padded = x.t.f_pad(
                torch_pad_list(&g.pad_begin, &g.exact_end_pads()),
                "constant",
                Some(lowest(x.dtype)?),
            )?;
            max_pool_values(&padded, &g, &vec![0; n], false)?
        }
    };
    Ok(vec![ctx.env.like(t, x)?])
}

fn check_average_pool(ctx: &Ctx) -> Result<(), OpError> {
    check_auto_pad(ctx)?;
    if ctx.ints("dilations").is_some_and(|d| d.iter().any(|&v| v != 1)) {
        return Err(OpError::unsupported(
            "dilated AveragePool: LibTorch's avg_pool has no dilation",
        ));
    }
    Ok(())
}

/// Sum pooling (LibTorch's avg_pool with divisor 1) without padding, 1-D lifted to 2-D.
fn sum_pool(x: &Tensor, g: &Geometry) -> Result<Tensor, tch::TchError> {
    let (k, s) = (&g.kernel, &g.strides);
    match g.input.len() {
        1 => x
            .f_unsqueeze(2)?
            .f_avg_pool2d([1, k[0]], [1, s[0]], [0, 0], false, false, 1)?
            .f_squeeze_dims([2]),
        2 => x.f_avg_pool2d(k, s, [0, 0], false, false, 1),
        _ => x.f_avg_pool3d(k, s, [0, 0, 0], false, false, 1),
    }
}

fn average_pool(ctx: &Ctx, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    if !x.is_float() {
        return Err(OpError::invalid(format!("AveragePool of {}", x.dtype)));
    }
    let g = Geometry::from_attributes(ctx, &spatial_shape(ctx, x)?)?;
    let include_pad = ctx.int("count_include_pad", 0) != 0;
    // LibTorch: "pad should be at most half of kernel size"; its divisor counts the taps inside
    // the padded input (count_include_pad) or inside the input, as ONNX's does.
    let t = match g.native_padding(|i| g.kernel[i] / 2) {
        Some(p) => {
            let (k, s, c) = (&g.kernel, &g.strides, g.ceil_mode);
            match g.input.len() {
                1 => x.t.f_avg_pool1d(k, s, &p, c, include_pad)?,
                2 => x.t.f_avg_pool2d(k, s, &p, c, include_pad, None)?,
                _ => x.t.f_avg_pool3d(k, s, &p, c, include_pad, None)?,
            }
        }
        None => {
            // Sum of each window over the zero-padded input, divided by the number of taps
            // inside the input (and inside the pads with count_include_pad).
            let end = g.exact_end_pads();
            let sums = sum_pool(&x.t.f_constant_pad_nd(torch_pad_list(&g.pad_begin, &end))?, &g)?;
            let mut mask_shape = vec![1, 1];
            mask_shape.extend(&g.input);
            let ones = Tensor::f_ones(&mask_shape, (x.t.f_kind()?, x.t.device()))?;
            let mask = if include_pad {
                let padded = ones.f_pad(torch_pad_list(&g.pad_begin, &g.pad_end), "constant", Some(1.0))?;
                let overhang: Vec<i64> = end.iter().zip(&g.pad_end).map(|(e, p)| e - p).collect();
                padded.f_constant_pad_nd(torch_pad_list(&vec![0; g.input.len()], &overhang))?
            } else {
                ones.f_constant_pad_nd(torch_pad_list(&g.pad_begin, &end))?
            };
            sums.f_div(&sum_pool(&mask, &g)?)?
        }
    };
    Ok(vec![ctx.env.like(t, x)?])
}

/// The spatial axes of a rank >= 3 input.
fn spatial_axes(ctx: &Ctx, x: &Value) -> Result<Vec<i64>, OpError> {
    if x.rank() < 3 {
        return Err(OpError::invalid(format!(
            "{} needs rank >= 3, got {:?}",
            ctx.node.op_type,
            x.shape()
        )));
    }
    Ok((2..x.rank() as i64).collect())
}

fn global_average_pool(ctx: &Ctx, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    if !x.is_float() {
        return Err(OpError::invalid(format!("GlobalAveragePool of {}", x.dtype)));
    }
    let t = x.t.f_mean_dim(spatial_axes(ctx, x)?, true, None)?;
    Ok(vec![ctx.env.like(t, x)?])
}

fn global_max_pool(ctx: &Ctx, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    let t = x.t.f_amax(spatial_axes(ctx, x)?, true)?;
    Ok(vec![ctx.env.like(t, x)?])
}

/// The `p` of LpPool / GlobalLpPool (an int attribute since opset 2, a float one in opset 1).
fn p_attribute(ctx: &Ctx) -> f64 {
    ctx.attr("p")
        .map_or(2.0, |a| if a.i != 0 { a.i as f64 } else { f64::from(a.f) })
}

/// `|x|^p` of a float input.
fn abs_pow(ctx: &Ctx, x: &Value, p: f64) -> Result<Tensor, OpError> {
    if !x.is_float() {
        return Err(OpError::invalid(format!("{} of {}", ctx.node.op_type, x.dtype)));
    }
    Ok(x.t.f_abs()?.f_pow_tensor_scalar(p)?)
}

/// LpPool: `(sum |x|^p)^(1/p)` over each window, padding contributing zeros. The window sums
/// are a depthwise convolution with a kernel of ones over the zero-padded `|x|^p` (strides and
/// dilations as LibTorch's convolution takes them).
fn lp_pool(ctx: &Ctx, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    let g = Geometry::from_attributes(ctx, &spatial_shape(ctx, x)?)?;
    let p = p_attribute(ctx);
    let powered = abs_pow(ctx, x, p)?;
    let padded = powered.f_constant_pad_nd(torch_pad_list(&g.pad_begin, &g.exact_end_pads()))?;
    let channels = x.shape()[1];
    let mut kernel_shape = vec![channels, 1];
    kernel_shape.extend(&g.kernel);
    let ones = Tensor::f_ones(&kernel_shape, (powered.f_kind()?, powered.device()))?;
    let n = g.input.len();
    let sums = padded.f_convolution(
        &ones,
        None::<&Tensor>,
        &g.strides,
        vec![0; n],
        &g.dilations,
        false,
        vec![0; n],
        channels,
    )?;
    let t = sums.f_pow_tensor_scalar(p.recip())?;
    Ok(vec![ctx.env.like(t, x)?])
}

fn global_lp_pool(ctx: &Ctx, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    let axes = spatial_axes(ctx, x)?;
    let p = p_attribute(ctx);
    let t = abs_pow(ctx, x, p)?
        .f_sum_dim_intlist(axes, true, None::<Kind>)?
        .f_pow_tensor_scalar(p.recip())?;
    Ok(vec![ctx.env.like(t, x)?])
}
