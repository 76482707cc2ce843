//! Reference kernels: N-D convolution (Conv, ConvInteger) with groups, strides, dilations, pads and auto_pad.

use ndarray::{Array3, ArrayD, IxDyn, s};
use sysnoise_boundary::{DType, U8S8Accumulation};

use super::Registry;
use crate::broadcast::zip2;
use crate::context::OpContext;
use crate::error::OpError;
use crate::value::Value;

pub fn register(r: &mut Registry) {
    r.add("Conv", conv);
    r.add("ConvInteger", conv_integer);
}

/// The sliding window of a convolution, one entry per spatial axis.
pub(super) struct Window {
    pub kernel: Vec<usize>,
    pub strides: Vec<usize>,
    pub dilations: Vec<usize>,
}

impl Window {
    /// From the `kernel_shape` (default: W's spatial shape), `strides` and `dilations` attributes.
    pub(super) fn from_attrs(ctx: &OpContext, w_shape: &[usize]) -> Result<Window, OpError> {
        let n = w_shape.len().saturating_sub(2);
        let kernel = match ctx.ints("kernel_shape") {
            Some(k) => to_usizes(&k, "kernel_shape")?,
            None => w_shape[2.min(w_shape.len())..].to_vec(),
        };
        let strides = ints_or(ctx, "strides", n, 1)?;
        let dilations = ints_or(ctx, "dilations", n, 1)?;
        if kernel.len() != n || strides.len() != n || dilations.len() != n || strides.contains(&0) {
            return Err(OpError::invalid(format!(
                "window kernel {kernel:?} strides {strides:?} dilations {dilations:?} for {n} spatial axes"
            )));
        }
        Ok(Window {
            kernel,
            strides,
            dilations,
        })
    }

    /// The span of the dilated kernel along spatial axis `i`.
    pub(super) fn extent(&self, i: usize) -> usize {
        (self.kernel[i].max(1) - 1) * self.dilations[i] + 1
    }
}

/// An ints attribute as usizes, or `n` copies of `default` when absent.
pub(super) fn ints_or(ctx: &OpContext, name: &str, n: usize, default: usize) -> Result<Vec<usize>, OpError> {
    match ctx.ints(name) {
        Some(v) => to_usizes(&v, name),
        None => Ok(vec![default; n]),
    }
}

fn to_usizes(v: &[i64], name: &str) -> Result<Vec<usize>, OpError> {
    v.iter()
        .map(|&x| usize::try_from(x).map_err(|_| OpError::invalid(format!("negative {name} {v:?}"))))
        .collect()
}

/// The `pads` attribute split into (begin, end) per spatial axis; zeros when absent.
pub(super) fn explicit_pads(ctx: &OpContext, n: usize) -> Result<(Vec<i64>, Vec<i64>), OpError> {
    let pads = ctx.ints("pads").unwrap_or_else(|| vec![0; 2 * n]);
    if pads.len() != 2 * n {
        return Err(OpError::invalid(format!("pads {pads:?} for {n} spatial axes")));
    }
    Ok((pads[..n].to_vec(), pads[n..].to_vec()))
}

/// For each kernel position and each position `f` of the `from` grid (both row-major; the
/// result is indexed `kernel * from_size + f`), the row-major index in the `to` grid of
/// `f * stride + k * dilation - pad_begin`, or `None` when that falls outside `to`. Conv
/// maps output positions to the input positions they read; ConvTranspose maps input
/// positions to the output positions they write.
pub(super) fn position_map(win: &Window, pad_begin: &[i64], from: &[usize], to: &[usize]) -> Vec<Option<usize>> {
    let n = from.len();
    let mut to_strides = vec![1usize; n];
    for i in (0..n.saturating_sub(1)).rev() {
        to_strides[i] = to_strides[i + 1] * to[i + 1];
    }
    let mut map = Vec::new();
    for k in ndarray::indices(IxDyn(&win.kernel)) {
        let mut offsets = vec![Some(0usize)];
        for i in 0..n {
            let coords: Vec<Option<usize>> = (0..from[i])
                .map(|f| {
                    let t = (f * win.strides[i] + k[i] * win.dilations[i]) as i64 - pad_begin[i];
                    (0..to[i] as i64).contains(&t).then(|| t as usize * to_strides[i])
                })
                .collect();
            offsets = offsets
                .iter()
                .flat_map(|&a| coords.iter().map(move |&b| a.zip(b).map(|(a, b)| a + b)))
                .collect();
        }
        map.extend(offsets);
    }
    map
}

/// A convolution's output spatial shape and begin pads, from `auto_pad` and `pads`.
/// SAME_UPPER / SAME_LOWER aim at `ceil(in / stride)` outputs, padding `total` split in
/// halves with the odd one at the end (UPPER) or the beginning (LOWER).
fn conv_geometry(ctx: &OpContext, win: &Window, in_dims: &[usize]) -> Result<(Vec<usize>, Vec<i64>), OpError> {
    let n = in_dims.len();
    let auto_pad = ctx.string("auto_pad", "NOTSET");
    let (mut begin, mut end) = explicit_pads(ctx, n)?;
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let (input, stride, extent) = (in_dims[i] as i64, win.strides[i] as i64, win.extent(i) as i64);
        match auto_pad.as_str() {
            "NOTSET" => {}
            "VALID" => (begin[i], end[i]) = (0, 0),
            "SAME_UPPER" | "SAME_LOWER" => {
                let target = (input + stride - 1) / stride;
                let total = ((target - 1) * stride + extent - input).max(0);
                let small = total / 2;
                (begin[i], end[i]) = if auto_pad == "SAME_UPPER" {
                    (small, total - small)
                } else {
                    (total - small, small)
                };
            }
            other => return Err(OpError::invalid(format!("auto_pad {other}"))),
        }
        let padded = input + begin[i] + end[i];
        if padded < extent {
            return Err(OpError::invalid(format!(
                "kernel extent {extent} exceeds padded input {padded}"
            )));
        }
        out.push(((padded - extent) / stride + 1) as usize);
    }
    Ok((out, begin))
}

/// What a convolution of `x` `[N, C, D...]` with `w` `[M, C / group, k...]` computes over:
/// batch, channels, maps, groups, the output's spatial dims and, for every kernel tap and output
/// position, the input position it reads (`None`: padding).
pub(super) struct ConvLayout {
    pub batch: usize,
    pub channels: usize,
    pub maps: usize,
    pub group: usize,
    /// Input channels and output maps per group.
    pub cg: usize,
    pub mg: usize,
    pub out_dims: Vec<usize>,
    pub in_size: usize,
    pub out_size: usize,
    /// Kernel taps (the product of the kernel's spatial dims).
    pub ksize: usize,
    /// `map[tap * out_size + position]`.
    pub map: Vec<Option<usize>>,
}

impl ConvLayout {
    /// Checks the shapes and attributes of a convolution node (`op` names it in errors).
    pub(super) fn of(ctx: &OpContext, x_shape: &[usize], w_shape: &[usize], op: &str) -> Result<ConvLayout, OpError> {
        if x_shape.len() < 3 || w_shape.len() != x_shape.len() {
            return Err(OpError::invalid(format!(
                "{op} of {x_shape:?} with weights {w_shape:?}"
            )));
        }
        let win = Window::from_attrs(ctx, w_shape)?;
        let group = usize::try_from(ctx.int("group", 1)).unwrap_or(0);
        let (batch, channels, maps) = (x_shape[0], x_shape[1], w_shape[0]);
        if group == 0 || channels % group != 0 || maps % group != 0 || w_shape[1] * group != channels {
            return Err(OpError::invalid(format!(
                "{op} group {group}: X {x_shape:?}, W {w_shape:?}"
            )));
        }
        let in_dims = &x_shape[2..];
        let (out_dims, pad_begin) = conv_geometry(ctx, &win, in_dims)?;
        let map = position_map(&win, &pad_begin, &out_dims, in_dims);
        let ksize: usize = win.kernel.iter().product();
        if w_shape.iter().product::<usize>() != maps * (channels / group) * ksize {
            return Err(OpError::invalid(format!(
                "W {w_shape:?} does not match kernel_shape {:?}",
                win.kernel
            )));
        }
        Ok(ConvLayout {
            batch,
            channels,
            maps,
            group,
            cg: channels / group,
            mg: maps / group,
            in_size: in_dims.iter().product(),
            out_size: out_dims.iter().product(),
            out_dims,
            ksize,
            map,
        })
    }

    /// The output's shape `[N, M, out...]`.
    pub(super) fn output_shape(&self) -> Vec<usize> {
        [self.batch, self.maps]
            .into_iter()
            .chain(self.out_dims.iter().copied())
            .collect()
    }
}

/// The core of Conv: `x` is `[N, C, D...]`, `w` is `[M, C / group, k...]`, the result
/// `[N, M, out...]` (plus `bias[m]`). Each group is an im2col matrix product.
fn convolve(
    ctx: &OpContext,
    x: &ArrayD<f64>,
    w: &ArrayD<f64>,
    bias: Option<&ArrayD<f64>>,
) -> Result<ArrayD<f64>, OpError> {
    let l = ConvLayout::of(ctx, x.shape(), w.shape(), "Conv")?;
    let (cg, mg, ksize, out_size) = (l.cg, l.mg, l.ksize, l.out_size);
    let x = x.as_standard_layout();
    let xs = x.as_slice().expect("standard layout");
    let w2 = w.to_shape((l.maps, cg * ksize)).expect("same length");
    let mut out = Array3::<f64>::zeros((l.batch, l.maps, out_size));
    if cg == 1 && mg == 1 {
        depthwise(&l, xs, w, &mut out);
        if let Some(b) = bias {
            add_bias(&mut out, b)?;
        }
        return Ok(out
            .into_shape_with_order(IxDyn(&l.output_shape()))
            .expect("same length"));
    }
    // A 1x1 kernel that reads every input position once, in order (stride 1, no padding): the
    // input planes are the im2col matrix already.
    let pointwise = ksize == 1 && out_size == l.in_size && l.map.iter().enumerate().all(|(p, m)| *m == Some(p));
    let mut cols = vec![0.0; if pointwise { 0 } else { cg * ksize * out_size }];
    let runs = tap_runs(&l);
    for n in 0..l.batch {
        if pointwise {
            for g in 0..l.group {
                let start = (n * l.channels + g * cg) * l.in_size;
                let planes = ndarray::ArrayView2::from_shape((cg, out_size), &xs[start..start + cg * out_size])
                    .expect("sized by the layout");
                let product = w2.slice(s![g * mg..(g + 1) * mg, ..]).dot(&planes);
                out.slice_mut(s![n, g * mg..(g + 1) * mg, ..]).assign(&product);
            }
            continue;
        }
        for g in 0..l.group {
            // im2col: row r = (channel r / ksize of the group, tap r % ksize), one column per
            // output position; taps in the padding stay 0 (the buffer is zeroed once, and every
            // run writes the same positions for each channel).
            for (r, dst) in cols.chunks_mut(out_size.max(1)).enumerate().take(cg * ksize) {
                let channel = g * cg + r / ksize;
                let row = &xs[(n * l.channels + channel) * l.in_size..][..l.in_size];
                for run in &runs[r % ksize] {
                    let dst = &mut dst[run.dst..run.dst + run.len];
                    if run.stride == 1 {
                        dst.copy_from_slice(&row[run.src..run.src + run.len]);
                    } else {
                        for (k, d) in dst.iter_mut().enumerate() {
                            *d = row[run.src + k * run.stride];
                        }
                    }
                }
            }
            let cols = ndarray::ArrayView2::from_shape((cg * ksize, out_size), &cols).expect("sized above");
            let product = w2.slice(s![g * mg..(g + 1) * mg, ..]).dot(&cols);
            out.slice_mut(s![n, g * mg..(g + 1) * mg, ..]).assign(&product);
        }
    }
    if let Some(b) = bias {
        add_bias(&mut out, b)?;
    }
    Ok(out
        .into_shape_with_order(IxDyn(&l.output_shape()))
        .expect("same length"))
}

/// A depthwise convolution (one input channel per output map): each map's taps accumulated
/// straight into its output row, without the im2col matrix (as many products as the GEMM, a
/// ninth of the memory traffic for a 3x3 kernel).
fn depthwise(l: &ConvLayout, xs: &[f64], w: &ArrayD<f64>, out: &mut Array3<f64>) {
    let w = w.as_standard_layout();
    let ws = w.as_slice().expect("standard layout");
    let runs = tap_runs(l);
    for n in 0..l.batch {
        for m in 0..l.maps {
            let row = &xs[(n * l.channels + m) * l.in_size..][..l.in_size];
            let mut dst = out.slice_mut(s![n, m, ..]);
            let dst = dst.as_slice_mut().expect("a contiguous output row");
            for (tap, &weight) in ws[m * l.ksize..(m + 1) * l.ksize].iter().enumerate() {
                for run in &runs[tap] {
                    let dst = &mut dst[run.dst..run.dst + run.len];
                    for (k, d) in dst.iter_mut().enumerate() {
                        *d += weight * row[run.src + k * run.stride];
                    }
                }
            }
        }
    }
}

/// A stretch of consecutive output positions whose tap reads input positions `src`,
/// `src + stride`, ...: one output row of a 2-D convolution, inside the padding.
struct Run {
    dst: usize,
    src: usize,
    len: usize,
    stride: usize,
}

/// For each kernel tap, the layout's position map as runs (positions in the padding left out),
/// so that im2col and depthwise loops copy and accumulate slices instead of testing every
/// position.
fn tap_runs(l: &ConvLayout) -> Vec<Vec<Run>> {
    (0..l.ksize)
        .map(|tap| {
            let map = &l.map[tap * l.out_size..][..l.out_size];
            let mut runs: Vec<Run> = Vec::new();
            for (p, source) in map.iter().enumerate() {
                let Some(i) = *source else { continue };
                if let Some(run) = runs.last_mut() {
                    let next = run.dst + run.len == p;
                    if next && run.len == 1 && i > run.src {
                        run.stride = i - run.src;
                        run.len = 2;
                        continue;
                    }
                    if next && run.len > 1 && i == run.src + run.len * run.stride {
                        run.len += 1;
                        continue;
                    }
                }
                runs.push(Run {
                    dst: p,
                    src: i,
                    len: 1,
                    stride: 1,
                });
            }
            runs
        })
        .collect()
}

/// Adds `bias[m]` to every element of output channel `m` of an `[N, M, positions]` array.
pub(super) fn add_bias(out: &mut Array3<f64>, bias: &ArrayD<f64>) -> Result<(), OpError> {
    if bias.len() != out.shape()[1] {
        return Err(OpError::invalid(format!(
            "bias of shape {:?} for {} maps",
            bias.shape(),
            out.shape()[1]
        )));
    }
    for (m, &b) in bias.iter().enumerate() {
        out.slice_mut(s![.., m, ..]).mapv_inplace(|v| v + b);
    }
    Ok(())
}

fn conv(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    let w = ctx.input(inputs, 1)?.to_f64();
    let bias = ctx.optional_input(inputs, 2).map(Value::to_f64);
    Ok(vec![Value::float(
        x.dtype,
        convolve(ctx, x.as_float()?, &w, bias.as_ref())?,
    )])
}

/// ConvInteger: Conv of `(x - x_zero_point)` with `(w - w_zero_point)` (a 1-D w_zero_point is
/// per output channel), in int32. Padding is zero after the shift, i.e. the zero point before.
/// The sums are exact in f64 for 8-bit operands.
pub(super) fn conv_integer(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    if ctx.u8s8 == U8S8Accumulation::SaturatingPairs
        && super::pmaddubsw::applies(ctx.input(inputs, 0)?, ctx.input(inputs, 1)?)
    {
        return super::pmaddubsw::conv_integer(ctx, inputs);
    }
    let x = shift(ctx.input(inputs, 0)?, ctx.optional_input(inputs, 2))?;
    let w = shift(ctx.input(inputs, 1)?, ctx.optional_input(inputs, 3))?;
    let y = convolve(ctx, &x, &w, None)?;
    Ok(vec![Value::int(DType::I32, y.mapv(|v| v.round() as i64))])
}

/// `v - zero_point` in f64, for a scalar zero point or a 1-D one per index of axis 0.
fn shift(v: &Value, zero_point: Option<&Value>) -> Result<ArrayD<f64>, OpError> {
    let a = v.to_f64();
    let Some(zp) = zero_point else { return Ok(a) };
    let mut shape = vec![1usize; a.ndim()];
    if zp.len() != 1 && !shape.is_empty() {
        shape[0] = zp.len();
    }
    let zp = zp
        .to_f64()
        .into_shape_with_order(IxDyn(&shape))
        .map_err(|_| OpError::invalid(format!("zero point of shape {:?} for {:?}", zp.shape(), v.shape())))?;
    zip2(&a, &zp, |x, z| x - z)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(k: usize, s: usize, d: usize) -> Window {
        Window {
            kernel: vec![k],
            strides: vec![s],
            dilations: vec![d],
        }
    }

    #[test]
    fn same_padding_puts_the_odd_pad_by_mode() {
        // in 4, kernel 2, stride 1: total pad 1, at the end (UPPER) or the beginning (LOWER).
        let win = window(2, 1, 1);
        let begin_for = |mode: &str| {
            let node = sysnoise_boundary::onnx::NodeProto {
                attribute: vec![sysnoise_boundary::onnx::AttributeProto {
                    name: "auto_pad".into(),
                    s: mode.as_bytes().to_vec(),
                    ..Default::default()
                }],
                ..Default::default()
            };
            let ctx = OpContext::new(&node, 22);
            conv_geometry(&ctx, &win, &[4]).unwrap()
        };
        assert_eq!(begin_for("SAME_UPPER"), (vec![4], vec![0]));
        assert_eq!(begin_for("SAME_LOWER"), (vec![4], vec![1]));
        assert_eq!(begin_for("VALID"), (vec![3], vec![0]));
    }

    #[test]
    fn position_map_skips_padding() {
        // 1-D, in 3, kernel 3, pad 1 each side, out 3: first output's first tap is padding.
        let map = position_map(&window(3, 1, 1), &[1], &[3], &[3]);
        assert_eq!(map.len(), 9);
        assert_eq!(&map[..3], &[None, Some(0), Some(1)]);
        assert_eq!(&map[6..], &[Some(1), Some(2), None]);
    }
}
