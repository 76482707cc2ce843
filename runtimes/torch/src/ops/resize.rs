//! Resize (opsets 10 to 19) and Upsample, only where a LibTorch upsampling kernel computes
//! exactly ONNX's sampling; anything else is declined:
//! - `nearest` (any coordinate transform but `tf_crop_and_resize`, any rounding, and the
//!   legacy rule of Upsample / Resize-10): ONNX's source index of every output position (the
//!   spec's arithmetic in f64, `sysnoise_boundary::resize_coordinates`, as the reference
//!   computes it) is compared with the indices LibTorch's two nearest kernels pick on a probe
//!   of the input's shape, dtype, layout and device (so the same kernel path and index
//!   arithmetic) — `upsample_nearest` (about floor(x / scale)) and `_upsample_nearest_exact`
//!   (about floor((x + 0.5) / scale)), both in limited precision — and the first kernel that
//!   picks ONNX's index everywhere runs the node; if neither does, it is declined. So
//!   `asymmetric` + `floor` runs on `upsample_nearest` wherever LibTorch's rounded indices
//!   agree, `half_pixel` + `round_prefer_ceil` and `tf_half_pixel_for_nn` + `floor` on the
//!   exact kernel, and ONNX's default `half_pixel` + `round_prefer_floor` wherever it
//!   coincides with one of them (integer upsampling, say);
//! - `linear` with `half_pixel`, `pytorch_half_pixel` (when every resized length exceeds 1) or
//!   `align_corners` (when the resized length is an integer): `upsample_linear1d` /
//!   `upsample_bilinear2d` / `upsample_trilinear3d`. `asymmetric` linear has no LibTorch
//!   equivalent (LibTorch's linear modes are half-pixel or align-corners only).
//!
//! LibTorch resamples the last 1 to 3 axes of an N x C x ... tensor: the resized axes must be
//! trailing ones (the leading ones are folded into C).

use sysnoise_boundary::resize_coordinates::{CoordinateTransform, NearestRounding, ResizeAxis};
use tch::{Kind, Tensor};

use super::Registry;
use crate::context::Ctx;
use crate::error::OpError;
use crate::value::Value;

pub fn register(r: &mut Registry) {
    r.add_checked("Resize", resize, check_resize);
    r.add_checked("Upsample", upsample, check_upsample);
}

/// How output positions map to input ones, as ONNX specifies it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sampling {
    /// Nearest, by ONNX's coordinate transform and rounding (the legacy rule of Upsample and
    /// Resize-10 is `Asymmetric` + `Legacy`).
    Nearest(CoordinateTransform, NearestRounding),
    /// Linear, half-pixel centres.
    LinearHalfPixel,
    /// Linear, half-pixel centres; a resized length <= 1 samples position 0 (not mapped).
    LinearPytorchHalfPixel,
    /// Linear, corners aligned.
    LinearAlignCorners,
}

/// A LibTorch upsampling kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kernel {
    /// `upsample_nearest*`: floor(x / scale).
    Nearest,
    /// `_upsample_nearest_exact*`: floor((x + 0.5) / scale).
    NearestExact,
    /// `upsample_linear1d` / `bilinear2d` / `trilinear3d`, half-pixel or corner-aligned.
    Linear { align_corners: bool },
}

impl Kernel {
    fn name(self) -> &'static str {
        match self {
            Kernel::Nearest => "upsample_nearest",
            Kernel::NearestExact => "_upsample_nearest_exact",
            Kernel::Linear { .. } => "upsample_linear",
        }
    }
}

/// The sampling of a Resize-11+ node, or why LibTorch has no exact equivalent.
fn sampling(ctx: &Ctx) -> Result<Sampling, OpError> {
    if ctx.int("antialias", 0) != 0 {
        return Err(OpError::unsupported(
            "antialiased Resize: LibTorch's antialias filters differ from ONNX's",
        ));
    }
    let mode = ctx.string("mode", "nearest");
    let transform_name = ctx.string("coordinate_transformation_mode", "half_pixel");
    let transform = CoordinateTransform::from_name(&transform_name)
        .ok_or_else(|| OpError::unsupported(format!("coordinate_transformation_mode '{transform_name}'")))?;
    if transform == CoordinateTransform::TfCropAndResize {
        return Err(OpError::unsupported(
            "tf_crop_and_resize: LibTorch's upsampling has no region of interest or extrapolation",
        ));
    }
    match mode.as_str() {
        "nearest" => {
            let name = ctx.string("nearest_mode", "round_prefer_floor");
            let rounding = NearestRounding::from_name(&name)
                .ok_or_else(|| OpError::unsupported(format!("nearest_mode '{name}'")))?;
            Ok(Sampling::Nearest(transform, rounding))
        }
        "linear" => match transform {
            CoordinateTransform::HalfPixel => Ok(Sampling::LinearHalfPixel),
            CoordinateTransform::PytorchHalfPixel => Ok(Sampling::LinearPytorchHalfPixel),
            CoordinateTransform::AlignCorners => Ok(Sampling::LinearAlignCorners),
            _ => Err(OpError::unsupported(format!(
                "linear Resize with {transform_name} coordinates: LibTorch's linear upsampling has half-pixel and align-corners coordinates only"
            ))),
        },
        m => Err(OpError::unsupported(format!(
            "{m} Resize: LibTorch's kernels do not compute ONNX's {m} interpolation"
        ))),
    }
}

/// The sampling of Upsample and Resize-10 (asymmetric coordinates).
fn legacy_sampling(ctx: &Ctx) -> Result<Sampling, OpError> {
    match ctx.string("mode", "nearest").as_str() {
        "nearest" => Ok(Sampling::Nearest(
            CoordinateTransform::Asymmetric,
            NearestRounding::Legacy,
        )),
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

/// One axis: ONNX's geometry of it and the scale LibTorch is given (None: it derives input /
/// output itself).
#[derive(Clone, Copy, Debug)]
struct Axis {
    onnx: ResizeAxis,
    torch_scale: Option<f64>,
}

impl Axis {
    fn by_scale(in_len: i64, scale: f64) -> Axis {
        Axis {
            onnx: ResizeAxis::by_scale(in_len as usize, scale, (0.0, 1.0)),
            torch_scale: Some(scale),
        }
    }

    /// An axis of a `keep_aspect_ratio_policy` resize: ONNX's common scale, which LibTorch is
    /// given too (with the rounded length).
    fn by_kept_aspect_ratio(in_len: i64, scale: f64) -> Axis {
        Axis {
            onnx: ResizeAxis::by_kept_aspect_ratio(in_len as usize, scale, (0.0, 1.0)),
            torch_scale: Some(scale),
        }
    }

    fn by_size(in_len: i64, out_len: i64) -> Axis {
        Axis {
            onnx: ResizeAxis::by_size(in_len as usize, out_len as usize, (0.0, 1.0)),
            torch_scale: None,
        }
    }

    fn in_len(&self) -> i64 {
        self.onnx.in_len as i64
    }

    fn out_len(&self) -> i64 {
        self.onnx.out_len as i64
    }

    /// Whether `sampling` leaves the axis as it is. Not only when the length stays: a nearest
    /// `tf_half_pixel_for_nn` + `round_prefer_ceil` at scale 1 shifts every sample by one.
    fn is_identity(&self, sampling: Sampling) -> bool {
        match sampling {
            Sampling::Nearest(transform, rounding) => {
                self.onnx.in_len == self.onnx.out_len
                    && (0..self.onnx.out_len).all(|x| self.onnx.nearest_index(transform, rounding, x) == Some(x))
            }
            _ => self.onnx.unchanged(),
        }
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
            if scales.len() != listed.len() || scales.iter().any(|&s| !(s > 0.0 && s.is_finite())) {
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
            let ratios = listed
                .iter()
                .zip(&sizes)
                .map(|(&d, &s)| s as f64 / shape[d as usize] as f64);
            let kept = match ctx.string("keep_aspect_ratio_policy", "stretch").as_str() {
                "stretch" => None,
                "not_larger" => Some(ratios.fold(f64::INFINITY, f64::min)),
                "not_smaller" => Some(ratios.fold(f64::NEG_INFINITY, f64::max)),
                other => return Err(OpError::invalid(format!("keep_aspect_ratio_policy '{other}'"))),
            };
            for (&d, &s) in listed.iter().zip(&sizes) {
                let n = shape[d as usize];
                axes[d as usize] = match kept {
                    None => Axis::by_size(n, s),
                    Some(scale) => Axis::by_kept_aspect_ratio(n, scale),
                };
            }
        }
        _ => return Err(OpError::invalid("Resize needs exactly one of scales and sizes")),
    }
    Ok(axes)
}

/// The geometry of Upsample / Resize-10: one scale per axis.
fn legacy_geometry(shape: &[i64], scales: &[f64]) -> Result<Vec<Axis>, OpError> {
    if scales.len() != shape.len() || scales.iter().any(|&s| !(s > 0.0 && s.is_finite())) {
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

/// One LibTorch upsampling call: the input folded to `[1, C, resized...]` and the resized
/// axes' output lengths and the scales LibTorch is given. The nearest probes and the real call
/// share it, so they run with the same arguments.
struct UpsampleCall {
    folded: Vec<i64>,
    out: Vec<i64>,
    scales: Vec<Option<f64>>,
}

impl UpsampleCall {
    /// The call resizing `shape`'s axes from `first` on (the leading ones folded into C).
    fn new(shape: &[i64], first: usize, resized: &[Axis]) -> UpsampleCall {
        let channels: i64 = shape[..first].iter().product();
        let mut folded = vec![1, channels];
        folded.extend(&shape[first..]);
        UpsampleCall {
            folded,
            out: resized.iter().map(Axis::out_len).collect(),
            scales: resized.iter().map(|a| a.torch_scale).collect(),
        }
    }

    /// LibTorch's upsampling of a folded (rank k + 2) tensor by `kernel`.
    fn apply(&self, x: &Tensor, kernel: Kernel) -> Result<Tensor, tch::TchError> {
        let (out, s) = (self.out.as_slice(), self.scales.as_slice());
        match (kernel, out.len()) {
            (Kernel::Nearest, 1) => x.f_upsample_nearest1d(out, s[0]),
            (Kernel::Nearest, 2) => x.f_upsample_nearest2d(out, s[0], s[1]),
            (Kernel::Nearest, _) => x.f_upsample_nearest3d(out, s[0], s[1], s[2]),
            (Kernel::NearestExact, 1) => x.f_internal_upsample_nearest_exact1d(out, s[0]),
            (Kernel::NearestExact, 2) => x.f_internal_upsample_nearest_exact2d(out, s[0], s[1]),
            (Kernel::NearestExact, _) => x.f_internal_upsample_nearest_exact3d(out, s[0], s[1], s[2]),
            (Kernel::Linear { align_corners }, 1) => x.f_upsample_linear1d(out, align_corners, s[0]),
            (Kernel::Linear { align_corners }, 2) => x.f_upsample_bilinear2d(out, align_corners, s[0], s[1]),
            (Kernel::Linear { align_corners }, _) => x.f_upsample_trilinear3d(out, align_corners, s[0], s[1], s[2]),
        }
    }
}

/// The largest integer every value below which `kind` holds exactly (None: any index fits).
fn exact_integers(kind: Kind) -> Option<i64> {
    match kind {
        Kind::Uint8 => Some(256),
        Kind::Int8 => Some(128),
        Kind::BFloat16 => Some(256),
        Kind::Half => Some(2048),
        Kind::Int16 => Some(32768),
        Kind::Float => Some(1 << 24),
        _ => None,
    }
}

/// The source indices a LibTorch nearest kernel picks along resized axis `j` (of length
/// `in_len`) of `call`'s folded input, read off a probe holding 0, 1, 2, ... along that axis.
/// The probe has the input's shape, dtype, layout (contiguous) and device, so LibTorch takes the
/// same code path as for the input itself: its kernels choose between paths by shape and layout
/// (a channels-last path special-cases doubling and equal lengths) and compute indices in the
/// data's op-math type. The picked indices must agree across the probe, not only along a line.
fn kernel_indices(
    call: &UpsampleCall,
    j: usize,
    in_len: i64,
    kernel: Kernel,
    (kind, device): (Kind, tch::Device),
) -> Result<Vec<i64>, OpError> {
    let rank = call.folded.len();
    let mut line_shape = vec![1i64; rank];
    line_shape[j + 2] = in_len;
    let probe = Tensor::f_arange(in_len, (kind, device))?
        .f_reshape(&line_shape)?
        .f_expand(&call.folded, false)?
        .f_contiguous()?;
    let picked = call.apply(&probe, kernel)?;
    let mut line = picked.shallow_clone();
    for d in (0..rank).filter(|&d| d != j + 2) {
        line = line.f_narrow(d as i64, 0, 1)?;
    }
    let uniform = picked
        .f_eq_tensor(&line.f_expand_as(&picked)?)?
        .f_all()?
        .f_int64_value(&[])?
        != 0;
    if !uniform {
        return Err(OpError::unsupported(format!(
            "{} picks different inputs along other axes for an axis resized {in_len} -> {}",
            kernel.name(),
            call.out[j]
        )));
    }
    Value {
        t: line.f_to_kind(Kind::Int64)?,
        dtype: sysnoise_boundary::DType::I64,
    }
    .to_i64s()
}

/// The LibTorch nearest kernel that picks ONNX's source index for every output position of
/// every resized axis of the folded input, or why neither does.
fn nearest_kernel(
    call: &UpsampleCall,
    axes: &[Axis],
    (transform, rounding): (CoordinateTransform, NearestRounding),
    (kind, device): (Kind, tch::Device),
) -> Result<Kernel, OpError> {
    if kind == Kind::Bool {
        return Err(OpError::unsupported(
            "nearest Resize of bool: LibTorch has no bool upsampling",
        ));
    }
    if let Some(a) = axes
        .iter()
        .find(|a| exact_integers(kind).is_some_and(|limit| a.in_len() > limit))
    {
        return Err(OpError::unsupported(format!(
            "nearest Resize of a {}-sample axis in {kind:?}: too long to check LibTorch's indices with a probe of that dtype",
            a.in_len()
        )));
    }
    let mut mismatches = Vec::new();
    for kernel in [Kernel::Nearest, Kernel::NearestExact] {
        let mut first_mismatch = None;
        for (j, a) in axes.iter().enumerate() {
            // LibTorch first: it fails cleanly on an output too large to allocate.
            let torch = kernel_indices(call, j, a.in_len(), kernel, (kind, device))?;
            let onnx = |x: usize| a.onnx.nearest_index(transform, rounding, x).map_or(-1, |i| i as i64);
            if let Some(x) = (0..torch.len()).find(|&x| torch[x] != onnx(x)) {
                first_mismatch = Some(format!(
                    "{} picks input {} for output {x} of an axis resized {} -> {}, ONNX input {}",
                    kernel.name(),
                    torch[x],
                    a.in_len(),
                    a.out_len(),
                    onnx(x)
                ));
                break;
            }
        }
        match first_mismatch {
            None => return Ok(kernel),
            Some(m) => mismatches.push(m),
        }
    }
    Err(OpError::unsupported(format!(
        "no LibTorch nearest kernel samples as ONNX's {transform:?} + {rounding:?} does here: {}",
        mismatches.join("; ")
    )))
}

fn run(ctx: &Ctx, x: &Value, axes: &[Axis], sampling: Sampling) -> Result<Vec<Value>, OpError> {
    let rank = axes.len();
    if let Some(a) = axes.iter().find(|a| a.onnx.out_len > i64::MAX as usize) {
        return Err(OpError::invalid(format!(
            "an axis of {} samples resized by {} overflows",
            a.in_len(),
            a.onnx.scale
        )));
    }
    if axes.iter().any(|a| a.in_len() == 0 && a.out_len() > 0) {
        return Err(OpError::invalid("cannot resize an empty axis to a non-empty one"));
    }
    let Some(first) = axes.iter().position(|a| !a.is_identity(sampling)) else {
        return Ok(vec![x.clone()]);
    };
    let k = rank - first;
    if k > 3 {
        return Err(OpError::unsupported(format!(
            "Resize of {k} trailing axes: LibTorch upsamples at most 3"
        )));
    }
    let resized = &axes[first..];
    if !matches!(sampling, Sampling::Nearest(..)) && !x.is_float() {
        return Err(OpError::unsupported(format!(
            "linear Resize of {}: the rounding of interpolated integers is unspecified",
            x.dtype
        )));
    }
    let shape = x.shape();
    let call = UpsampleCall::new(&shape, first, resized);
    let kernel = match sampling {
        Sampling::Nearest(transform, rounding) => {
            nearest_kernel(&call, resized, (transform, rounding), (x.t.f_kind()?, ctx.env.device))?
        }
        Sampling::LinearHalfPixel => Kernel::Linear { align_corners: false },
        Sampling::LinearPytorchHalfPixel => {
            if resized.iter().any(|a| !a.onnx.unchanged() && a.onnx.resized_len <= 1.0) {
                return Err(OpError::unsupported(
                    "pytorch_half_pixel with a resized length <= 1 (ONNX samples position 0, LibTorch the centre)",
                ));
            }
            Kernel::Linear { align_corners: false }
        }
        Sampling::LinearAlignCorners => {
            if resized.iter().any(|a| a.onnx.resized_len != a.onnx.out_len as f64) {
                return Err(OpError::unsupported(
                    "align_corners with a fractional resized length (ONNX divides by length x scale - 1, LibTorch by the output length - 1)",
                ));
            }
            Kernel::Linear { align_corners: true }
        }
    };
    // Contiguous, as the nearest probe was: the same layout takes the same kernel path.
    let t = call.apply(&x.t.f_contiguous()?.f_reshape(&call.folded)?, kernel)?;
    let mut result_shape = shape[..first].to_vec();
    result_shape.extend(&call.out);
    Ok(vec![ctx.env.like(t.f_reshape(&result_shape)?, x)?])
}
