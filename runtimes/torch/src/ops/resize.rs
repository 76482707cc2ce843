//! Resize (opsets 10 to 19) and Upsample, only where a LibTorch upsampling kernel computes
//! exactly ONNX's sampling; anything else is declined:
//! - `nearest` with `asymmetric` + `floor` (and Upsample / Resize-10's nearest upsampling):
//!   LibTorch's `upsample_nearest`; with `half_pixel` + `round_prefer_ceil` or
//!   `tf_half_pixel_for_nn` + `floor` (both floor((x + 0.5) / scale)): `_upsample_nearest_exact`.
//!   LibTorch computes the source indices in float; they are checked against ONNX's for every
//!   output position before running (a mismatch is declined);
//! - `linear` with `half_pixel`, `pytorch_half_pixel` (when every resized length exceeds 1) or
//!   `align_corners` (when the resized length is an integer): `upsample_linear1d` /
//!   `upsample_bilinear2d` / `upsample_trilinear3d`. `asymmetric` linear has no LibTorch
//!   equivalent (LibTorch's linear modes are half-pixel or align-corners only).
//!
//! LibTorch resamples the last 1 to 3 axes of an N x C x ... tensor: the resized axes must be
//! trailing ones (the leading ones are folded into C).

use tch::{Kind, Tensor};

use super::Registry;
use crate::context::Ctx;
use crate::error::OpError;
use crate::value::Value;

pub fn register(r: &mut Registry) {
    r.add_checked("Resize", resize, check_resize);
    r.add_checked("Upsample", upsample, check_upsample);
}

/// How output positions map to input ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sampling {
    /// floor(x / scale) (asymmetric + floor, and the legacy rule of Upsample when upsampling).
    Nearest,
    /// floor((x + 0.5) / scale).
    NearestExact,
    /// Linear, half-pixel centres.
    LinearHalfPixel,
    /// Linear, half-pixel centres; a resized length <= 1 samples position 0 (not mapped).
    LinearPytorchHalfPixel,
    /// Linear, corners aligned.
    LinearAlignCorners,
    /// Upsample / Resize-10 nearest: floor when upsampling an axis, ceil when downsampling.
    NearestLegacy,
}

/// The sampling of a Resize-11+ node, or why LibTorch has no exact equivalent.
fn sampling(ctx: &Ctx) -> Result<Sampling, OpError> {
    if ctx.int("antialias", 0) != 0 {
        return Err(OpError::unsupported(
            "antialiased Resize: LibTorch's antialias filters differ from ONNX's",
        ));
    }
    let policy = ctx.string("keep_aspect_ratio_policy", "stretch");
    if policy != "stretch" {
        return Err(OpError::unsupported(format!("keep_aspect_ratio_policy '{policy}'")));
    }
    let mode = ctx.string("mode", "nearest");
    let transform = ctx.string("coordinate_transformation_mode", "half_pixel");
    let rounding = ctx.string("nearest_mode", "round_prefer_floor");
    match (mode.as_str(), transform.as_str(), rounding.as_str()) {
        ("nearest", "asymmetric", "floor") => Ok(Sampling::Nearest),
        ("nearest", "half_pixel", "round_prefer_ceil") | ("nearest", "tf_half_pixel_for_nn", "floor") => {
            Ok(Sampling::NearestExact)
        }
        ("nearest", t, r) => Err(OpError::unsupported(format!(
            "nearest Resize with {t} coordinates and {r} rounding: no LibTorch upsampling kernel samples that way"
        ))),
        ("linear", "half_pixel", _) => Ok(Sampling::LinearHalfPixel),
        ("linear", "pytorch_half_pixel", _) => Ok(Sampling::LinearPytorchHalfPixel),
        ("linear", "align_corners", _) => Ok(Sampling::LinearAlignCorners),
        ("linear", t, _) => Err(OpError::unsupported(format!(
            "linear Resize with {t} coordinates: LibTorch's linear upsampling has half-pixel and align-corners coordinates only"
        ))),
        (m, _, _) => Err(OpError::unsupported(format!(
            "{m} Resize: LibTorch's kernels do not compute ONNX's {m} interpolation"
        ))),
    }
}

/// The sampling of Upsample and Resize-10 (asymmetric coordinates).
fn legacy_sampling(ctx: &Ctx) -> Result<Sampling, OpError> {
    match ctx.string("mode", "nearest").as_str() {
        "nearest" => Ok(Sampling::NearestLegacy),
        m => Err(OpError::unsupported(format!(
            "{m} {} (asymmetric coordinates): LibTorch's linear upsampling has half-pixel and align-corners coordinates only",
            ctx.node.op_type
        ))),
    }
}

fn check_resize(ctx: &Ctx) -> Result<(), OpError> {
    if ctx.opset <= 10 {
        legacy_sampling(ctx)
    } else {
        sampling(ctx)
    }
    .map(|_| ())
}

fn check_upsample(ctx: &Ctx) -> Result<(), OpError> {
    legacy_sampling(ctx).map(|_| ())
}

/// One axis: lengths, the ONNX scale (given, or output / input), the spec's resized length
/// (input x scale, fractional, when by scales) and the scale LibTorch is given (None: it
/// derives input / output itself).
#[derive(Clone, Copy, Debug)]
struct Axis {
    in_len: i64,
    out_len: i64,
    scale: f64,
    resized_len: f64,
    torch_scale: Option<f64>,
}

impl Axis {
    fn by_scale(in_len: i64, scale: f64) -> Axis {
        // floor(length * scale) in f32, as the schema's shape inference (and the reference) do.
        let out_len = ((in_len as f32) * (scale as f32)).floor().max(0.0) as i64;
        Axis {
            in_len,
            out_len,
            scale,
            resized_len: in_len as f64 * scale,
            torch_scale: Some(scale),
        }
    }

    fn by_size(in_len: i64, out_len: i64) -> Axis {
        Axis {
            in_len,
            out_len,
            scale: out_len as f64 / in_len as f64,
            resized_len: out_len as f64,
            torch_scale: None,
        }
    }

    fn unchanged(&self) -> bool {
        self.in_len == self.out_len && self.scale == 1.0
    }

    /// ONNX's source index of output position `x` for a nearest sampling (as the reference
    /// computes it, in f64), clamped into the input.
    fn onnx_nearest(&self, sampling: Sampling, x: i64) -> i64 {
        let x = x as f64;
        let i = match sampling {
            Sampling::NearestExact => ((x + 0.5) / self.scale).floor(),
            Sampling::NearestLegacy if self.scale < 1.0 => (x / self.scale).ceil(),
            _ => (x / self.scale).floor(),
        };
        i.clamp(0.0, (self.in_len - 1) as f64) as i64
    }
}

/// An optional input, an empty tensor counting as absent.
fn non_empty<'v>(ctx: &Ctx, inputs: &'v [Option<Value>], i: usize) -> Option<&'v Value> {
    ctx.optional_input(inputs, i).filter(|v| v.t.numel() > 0)
}

/// Every axis's geometry of a Resize-11+ node (axes not in `axes` unchanged).
fn geometry(ctx: &Ctx, inputs: &[Option<Value>], shape: &[i64]) -> Result<Vec<Axis>, OpError> {
    let rank = shape.len();
    let listed = match ctx.ints("axes") {
        Some(a) => crate::context::axes(&a, rank)?,
        None => (0..rank as i64).collect(),
    };
    let mut axes: Vec<Axis> = shape.iter().map(|&n| Axis::by_size(n, n)).collect();
    match (non_empty(ctx, inputs, 2), non_empty(ctx, inputs, 3)) {
        (Some(scales), None) => {
            let scales = scales.to_f64s()?;
            if scales.len() != listed.len() || scales.iter().any(|&s| s <= 0.0) {
                return Err(OpError::invalid(format!("scales {scales:?} for axes {listed:?}")));
            }
            for (&d, &s) in listed.iter().zip(&scales) {
                axes[d as usize] = Axis::by_scale(shape[d as usize], s);
            }
        }
        (None, Some(sizes)) => {
            let sizes = sizes.to_i64s()?;
            if sizes.len() != listed.len() || sizes.iter().any(|&s| s < 0) {
                return Err(OpError::invalid(format!("sizes {sizes:?} for axes {listed:?}")));
            }
            for (&d, &s) in listed.iter().zip(&sizes) {
                axes[d as usize] = Axis::by_size(shape[d as usize], s);
            }
        }
        _ => return Err(OpError::invalid("Resize needs exactly one of scales and sizes")),
    }
    Ok(axes)
}

/// The geometry of Upsample / Resize-10: one scale per axis.
fn legacy_geometry(shape: &[i64], scales: &[f64]) -> Result<Vec<Axis>, OpError> {
    if scales.len() != shape.len() || scales.iter().any(|&s| s <= 0.0) {
        return Err(OpError::invalid(format!("scales {scales:?} for shape {shape:?}")));
    }
    Ok(shape.iter().zip(scales).map(|(&n, &s)| Axis::by_scale(n, s)).collect())
}

fn resize(ctx: &Ctx, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    let shape = x.shape();
    if ctx.opset <= 10 {
        let scales = ctx.input(inputs, 1)?.to_f64s()?;
        return run(ctx, x, &legacy_geometry(&shape, &scales)?, legacy_sampling(ctx)?);
    }
    run(ctx, x, &geometry(ctx, inputs, &shape)?, sampling(ctx)?)
}

fn upsample(ctx: &Ctx, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    let scales = match ctx.floats("scales") {
        Some(s) => s.iter().map(|&v| f64::from(v)).collect(),
        None => ctx.input(inputs, 1)?.to_f64s()?,
    };
    if scales.iter().any(|&s| s < 1.0) {
        return Err(OpError::invalid(format!("Upsample scales {scales:?} must be >= 1")));
    }
    run(ctx, x, &legacy_geometry(&x.shape(), &scales)?, legacy_sampling(ctx)?)
}

/// LibTorch's upsampling of the last `k` axes of a rank k + 2 tensor.
fn upsample_kernel(x: &Tensor, sampling: Sampling, out: &[i64], s: &[Option<f64>]) -> Result<Tensor, tch::TchError> {
    use Sampling::*;
    let corners = sampling == LinearAlignCorners;
    match (sampling, out.len()) {
        (Nearest | NearestLegacy, 1) => x.f_upsample_nearest1d(out, s[0]),
        (Nearest | NearestLegacy, 2) => x.f_upsample_nearest2d(out, s[0], s[1]),
        (Nearest | NearestLegacy, _) => x.f_upsample_nearest3d(out, s[0], s[1], s[2]),
        (NearestExact, 1) => x.f_internal_upsample_nearest_exact1d(out, s[0]),
        (NearestExact, 2) => x.f_internal_upsample_nearest_exact2d(out, s[0], s[1]),
        (NearestExact, _) => x.f_internal_upsample_nearest_exact3d(out, s[0], s[1], s[2]),
        (_, 1) => x.f_upsample_linear1d(out, corners, s[0]),
        (_, 2) => x.f_upsample_bilinear2d(out, corners, s[0], s[1]),
        (_, _) => x.f_upsample_trilinear3d(out, corners, s[0], s[1], s[2]),
    }
}

/// Checks LibTorch's nearest source indices along each resized axis against ONNX's, by
/// resizing a probe holding 0, 1, 2, ... along that axis.
fn check_nearest_indices(axes: &[Axis], sampling: Sampling, kind: Kind, device: tch::Device) -> Result<(), OpError> {
    let k = axes.len();
    // LibTorch computes indices in the op-math type: double for double, float otherwise.
    let probe_kind = if kind == Kind::Double {
        Kind::Double
    } else {
        Kind::Float
    };
    for (j, a) in axes.iter().enumerate() {
        let mut probe_shape = vec![1i64; k + 2];
        probe_shape[j + 2] = a.in_len;
        let probe = Tensor::f_arange(a.in_len, (probe_kind, device))?.f_reshape(&probe_shape)?;
        let mut out = vec![1i64; k];
        out[j] = a.out_len;
        let mut scales = vec![None; k];
        scales[j] = a.torch_scale;
        let picked = upsample_kernel(&probe, sampling, &out, &scales)?;
        let torch: Vec<i64> = Value {
            t: picked,
            dtype: sysnoise_boundary::DType::F64,
        }
        .to_i64s()?;
        let onnx: Vec<i64> = (0..a.out_len).map(|x| a.onnx_nearest(sampling, x)).collect();
        if let Some(x) = (0..onnx.len()).find(|&x| torch[x] != onnx[x]) {
            return Err(OpError::unsupported(format!(
                "LibTorch's nearest index for output {x} of an axis resized {} -> {} is {}, ONNX's is {}",
                a.in_len, a.out_len, torch[x], onnx[x]
            )));
        }
    }
    Ok(())
}

fn run(ctx: &Ctx, x: &Value, axes: &[Axis], sampling: Sampling) -> Result<Vec<Value>, OpError> {
    let rank = axes.len();
    if axes.iter().any(|a| a.in_len == 0 && a.out_len > 0) {
        return Err(OpError::invalid("cannot resize an empty axis to a non-empty one"));
    }
    let Some(first) = axes.iter().position(|a| !a.unchanged()) else {
        return Ok(vec![x.clone()]);
    };
    let k = rank - first;
    if k > 3 {
        return Err(OpError::unsupported(format!(
            "Resize of {k} trailing axes: LibTorch upsamples at most 3"
        )));
    }
    let resized = &axes[first..];
    let linear = matches!(
        sampling,
        Sampling::LinearHalfPixel | Sampling::LinearPytorchHalfPixel | Sampling::LinearAlignCorners
    );
    if linear && !x.is_float() {
        return Err(OpError::unsupported(format!(
            "linear Resize of {}: the rounding of interpolated integers is unspecified",
            x.dtype
        )));
    }
    match sampling {
        Sampling::LinearPytorchHalfPixel if resized.iter().any(|a| !a.unchanged() && a.resized_len <= 1.0) => {
            return Err(OpError::unsupported(
                "pytorch_half_pixel with a resized length <= 1 (ONNX samples position 0, LibTorch the centre)",
            ));
        }
        Sampling::LinearAlignCorners if resized.iter().any(|a| a.resized_len != a.out_len as f64) => {
            return Err(OpError::unsupported(
                "align_corners with a fractional resized length (ONNX divides by length x scale - 1, LibTorch by the output length - 1)",
            ));
        }
        _ => {}
    }
    if !linear {
        check_nearest_indices(resized, sampling, x.t.f_kind()?, ctx.env.device)?;
    }
    let shape = x.shape();
    let channels: i64 = shape[..first].iter().product();
    let mut folded = vec![1, channels];
    folded.extend(&shape[first..]);
    let out: Vec<i64> = resized.iter().map(|a| a.out_len).collect();
    let scales: Vec<Option<f64>> = resized.iter().map(|a| a.torch_scale).collect();
    let t = upsample_kernel(&x.t.f_reshape(&folded)?, sampling, &out, &scales)?;
    let mut result_shape = shape[..first].to_vec();
    result_shape.extend(&out);
    Ok(vec![ctx.env.like(t.f_reshape(&result_shape)?, x)?])
}
