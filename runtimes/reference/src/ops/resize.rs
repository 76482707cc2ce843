//! Reference kernels: Resize (opsets 10 to 19) and the deprecated Upsample, as separable N-D resampling.

use ndarray::{ArrayD, Axis};
use sysnoise_boundary::resize_coordinates::{CoordinateTransform, NearestRounding, ResizeAxis};

use super::Registry;
use crate::context::OpContext;
use crate::error::OpError;
use crate::value::{Data, Value};

pub fn register(r: &mut Registry) {
    r.add("Resize", resize);
    r.add("Upsample", upsample);
}

/// The interpolation kind.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    Nearest,
    Linear,
    Cubic,
}

/// How samples are taken along each resized axis.
struct Sampling {
    mode: Mode,
    transform: CoordinateTransform,
    rounding: NearestRounding,
    cubic_a: f64,
    exclude_outside: bool,
    antialias: bool,
    /// `Some` for `tf_crop_and_resize`: the value of samples whose coordinate leaves the input.
    extrapolation: Option<f64>,
}

/// The input taps of one output position along an axis, with weights; `None` means extrapolate.
type Taps = Option<Vec<(usize, f64)>>;

fn transform_by_name(name: &str) -> Result<CoordinateTransform, OpError> {
    CoordinateTransform::from_name(name)
        .ok_or_else(|| OpError::unsupported(format!("coordinate_transformation_mode '{name}'")))
}

fn rounding_by_name(name: &str) -> Result<NearestRounding, OpError> {
    NearestRounding::from_name(name).ok_or_else(|| OpError::unsupported(format!("nearest_mode '{name}'")))
}

fn mode_by_name(name: &str) -> Result<Mode, OpError> {
    match name {
        "nearest" => Ok(Mode::Nearest),
        "linear" | "bilinear" => Ok(Mode::Linear),
        "cubic" => Ok(Mode::Cubic),
        other => Err(OpError::unsupported(format!("resize mode '{other}'"))),
    }
}

// ---- interpolation kernels ----

/// The triangle (linear interpolation) kernel, support 1.
fn triangle(t: f64) -> f64 {
    (1.0 - t.abs()).max(0.0)
}

/// Keys' cubic convolution kernel with coefficient `a`, support 2.
fn cubic(t: f64, a: f64) -> f64 {
    let t = t.abs();
    if t <= 1.0 {
        ((a + 2.0) * t - (a + 3.0)) * t * t + 1.0
    } else if t < 2.0 {
        ((a * t - 5.0 * a) * t + 8.0 * a) * t - 4.0 * a
    } else {
        0.0
    }
}

impl Sampling {
    /// The sampling of Resize-11 and later, from the node's attributes.
    fn from_attributes(ctx: &OpContext) -> Result<Sampling, OpError> {
        let transform_name = ctx.string("coordinate_transformation_mode", "half_pixel");
        let crop = transform_name == "tf_crop_and_resize";
        Ok(Sampling {
            mode: mode_by_name(&ctx.string("mode", "nearest"))?,
            transform: transform_by_name(&transform_name)?,
            rounding: rounding_by_name(&ctx.string("nearest_mode", "round_prefer_floor"))?,
            cubic_a: ctx.float("cubic_coeff_a", -0.75),
            exclude_outside: ctx.int("exclude_outside", 0) != 0,
            antialias: ctx.int("antialias", 0) != 0,
            extrapolation: crop.then(|| ctx.float("extrapolation_value", 0.0)),
        })
    }

    /// The sampling of Upsample and Resize-10: asymmetric coordinates, legacy nearest rounding.
    fn legacy(ctx: &OpContext) -> Result<Sampling, OpError> {
        let mode = mode_by_name(&ctx.string("mode", "nearest"))?;
        if mode == Mode::Cubic {
            return Err(OpError::invalid("cubic mode needs Resize-11 or later"));
        }
        Ok(Sampling {
            mode,
            transform: CoordinateTransform::Asymmetric,
            rounding: NearestRounding::Legacy,
            cubic_a: -0.75,
            exclude_outside: false,
            antialias: false,
            extrapolation: None,
        })
    }

    /// The taps of every output position along one axis.
    fn axis_taps(&self, a: &ResizeAxis) -> Vec<Taps> {
        (0..a.out_len).map(|x| self.taps(x, a)).collect()
    }

    /// The taps of output position `x` along an axis.
    fn taps(&self, x: usize, a: &ResizeAxis) -> Taps {
        let source = self.transform.source(x as f64, a);
        if self.extrapolation.is_some() && !(0.0..=a.last()).contains(&source) {
            return None;
        }
        Some(match self.mode {
            Mode::Nearest => vec![(a.clamp_index(self.rounding.round(source, a)), 1.0)],
            Mode::Linear => self.filter_taps(source, a, 1.0, triangle),
            Mode::Cubic => self.filter_taps(source, a, 2.0, |t| cubic(t, self.cubic_a)),
        })
    }

    /// Taps of an interpolation `kernel` of half-width `support` centred on `source`; with antialias on a
    /// downsampled axis the kernel is stretched by 1 / scale. Taps outside the input repeat the edge sample, or
    /// are dropped with `exclude_outside`; weights are renormalised whenever they need not sum to one.
    fn filter_taps(&self, source: f64, a: &ResizeAxis, support: f64, kernel: impl Fn(f64) -> f64) -> Vec<(usize, f64)> {
        let stretch = if self.antialias && a.scale < 1.0 { a.scale } else { 1.0 };
        let radius = support / stretch;
        let first = (source - radius).floor() as i64;
        let last = (source + radius).ceil() as i64;
        let mut taps = Vec::new();
        for i in first..=last {
            let weight = kernel((i as f64 - source) * stretch);
            let inside = (0..a.in_len as i64).contains(&i);
            if weight != 0.0 && (inside || !self.exclude_outside) {
                taps.push((a.clamp_index(i as f64), weight));
            }
        }
        if self.exclude_outside || stretch != 1.0 {
            let total: f64 = taps.iter().map(|t| t.1).sum();
            taps.iter_mut().for_each(|t| t.1 /= total);
        }
        taps
    }
}

/// Resamples `x` along `axis` with one list of taps per output position (extrapolated positions are left 0).
fn resample_axis(x: &ArrayD<f64>, axis: usize, taps: &[Taps]) -> ArrayD<f64> {
    let mut shape = x.shape().to_vec();
    shape[axis] = taps.len();
    let mut out = ArrayD::<f64>::zeros(shape);
    for (j, taps) in taps.iter().enumerate() {
        let mut lane = out.index_axis_mut(Axis(axis), j);
        match taps.as_deref() {
            Some(&[(i, 1.0)]) => lane.assign(&x.index_axis(Axis(axis), i)),
            Some(taps) => taps
                .iter()
                .for_each(|&(i, w)| lane.scaled_add(w, &x.index_axis(Axis(axis), i))),
            None => {}
        }
    }
    out
}

/// Resizes `x` along the given axes, then writes the extrapolation value where any axis extrapolated.
fn resample(x: &ArrayD<f64>, axes: &[(usize, ResizeAxis)], sampling: &Sampling) -> ArrayD<f64> {
    let plans: Vec<(usize, Vec<Taps>)> = axes.iter().map(|(d, a)| (*d, sampling.axis_taps(a))).collect();
    let mut y = x.clone();
    for (d, taps) in &plans {
        y = resample_axis(&y, *d, taps);
    }
    if let Some(value) = sampling.extrapolation {
        for (d, taps) in &plans {
            for (j, _) in taps.iter().enumerate().filter(|(_, t)| t.is_none()) {
                y.index_axis_mut(Axis(*d), j).fill(value);
            }
        }
    }
    y
}

/// Resizes a value (floats any mode; integers and bools `nearest` only).
fn resize_value(x: &Value, axes: &[(usize, ResizeAxis)], sampling: &Sampling) -> Result<Value, OpError> {
    match &x.data {
        Data::F(a) => Ok(Value::float(x.dtype, resample(a, axes, sampling))),
        _ if sampling.mode == Mode::Nearest => Ok(Value::from_f64(x.dtype, resample(&x.to_f64(), axes, sampling))),
        _ => Err(OpError::unsupported(format!(
            "{:?} resize of {}: the rounding of interpolated integers is unspecified",
            sampling.mode, x.dtype
        ))),
    }
}

/// The axes to resize, from the `axes` attribute (negative counted from the back) or all of them.
fn resize_axes(ctx: &OpContext, rank: usize) -> Result<Vec<usize>, OpError> {
    match ctx.ints("axes") {
        Some(axes) => {
            let axes = axes.iter().map(|&a| ctx.axis(a, rank)).collect::<Result<Vec<_>, _>>()?;
            if (1..axes.len()).any(|i| axes[..i].contains(&axes[i])) {
                return Err(OpError::invalid(format!("repeated axis in {axes:?}")));
            }
            Ok(axes)
        }
        None => Ok((0..rank).collect()),
    }
}

/// An optional input, treating an empty tensor as absent.
fn non_empty<'v>(ctx: &OpContext, inputs: &'v [Option<Value>], i: usize) -> Option<&'v Value> {
    ctx.optional_input(inputs, i).filter(|v| !v.is_empty())
}

/// Checks that a per-axis input holds `n` values.
fn expect_len(name: &str, len: usize, n: usize) -> Result<(), OpError> {
    if len == n {
        Ok(())
    } else {
        Err(OpError::invalid(format!("{name} has {len} values, expected {n}")))
    }
}

/// The axes' geometry from `sizes` under `keep_aspect_ratio_policy`: `stretch` takes the sizes as they are;
/// `not_larger` / `not_smaller` resize every axis by one scale, the smallest / largest of sizes / input.
fn sized_axes(policy: &str, sizes: &[i64], in_lens: &[usize], roi: &[(f64, f64)]) -> Result<Vec<ResizeAxis>, OpError> {
    let ratios = sizes.iter().zip(in_lens).map(|(&s, &n)| s as f64 / n as f64);
    let scale = match policy {
        "stretch" => {
            let axes = (0..sizes.len()).map(|i| ResizeAxis::by_size(in_lens[i], sizes[i].max(0) as usize, roi[i]));
            return Ok(axes.collect());
        }
        "not_larger" => ratios.fold(f64::INFINITY, f64::min),
        "not_smaller" => ratios.fold(f64::NEG_INFINITY, f64::max),
        other => return Err(OpError::invalid(format!("keep_aspect_ratio_policy '{other}'"))),
    };
    Ok((0..sizes.len())
        .map(|i| ResizeAxis::by_kept_aspect_ratio(in_lens[i], scale, roi[i]))
        .collect())
}

/// The geometry of every resized axis of Resize-11 and later, from roi and scales or sizes.
fn resize_geometry(
    ctx: &OpContext,
    inputs: &[Option<Value>],
    shape: &[usize],
    crop: bool,
) -> Result<Vec<(usize, ResizeAxis)>, OpError> {
    let axes = resize_axes(ctx, shape.len())?;
    let n = axes.len();
    let in_lens: Vec<usize> = axes.iter().map(|&d| shape[d]).collect();
    let roi: Vec<(f64, f64)> = match non_empty(ctx, inputs, 1).filter(|_| crop) {
        Some(r) => {
            let r: Vec<f64> = r.to_f64().iter().copied().collect();
            expect_len("roi", r.len(), 2 * n)?;
            (0..n).map(|i| (r[i], r[i + n])).collect()
        }
        None => vec![(0.0, 1.0); n],
    };
    let geometries: Vec<ResizeAxis> = match (non_empty(ctx, inputs, 2), non_empty(ctx, inputs, 3)) {
        (Some(scales), None) => {
            let scales = positive_scales(scales.to_f64().iter().copied().collect())?;
            expect_len("scales", scales.len(), n)?;
            (0..n)
                .map(|i| ResizeAxis::by_scale(in_lens[i], scales[i], roi[i]))
                .collect()
        }
        (None, Some(sizes)) => {
            let sizes = sizes.to_i64_vec();
            expect_len("sizes", sizes.len(), n)?;
            let policy = ctx.string("keep_aspect_ratio_policy", "stretch");
            sized_axes(&policy, &sizes, &in_lens, &roi)?
        }
        _ => return Err(OpError::invalid("Resize needs exactly one of scales and sizes")),
    };
    Ok(axes.into_iter().zip(geometries).collect())
}

/// Checks that every scale is positive.
fn positive_scales(scales: Vec<f64>) -> Result<Vec<f64>, OpError> {
    if scales.iter().all(|&s| s > 0.0) {
        Ok(scales)
    } else {
        Err(OpError::invalid(format!("scales {scales:?} must be positive")))
    }
}

/// The geometry of Upsample and Resize-10: a scale per axis.
fn legacy_geometry(shape: &[usize], scales: Vec<f64>) -> Result<Vec<(usize, ResizeAxis)>, OpError> {
    let scales = positive_scales(scales)?;
    expect_len("scales", scales.len(), shape.len())?;
    Ok(shape
        .iter()
        .zip(scales)
        .enumerate()
        .map(|(d, (&in_len, scale))| (d, ResizeAxis::by_scale(in_len, scale, (0.0, 1.0))))
        .collect())
}

fn resize(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    if ctx.opset <= 10 {
        let scales: Vec<f64> = ctx.input(inputs, 1)?.to_f64().iter().copied().collect();
        let axes = legacy_geometry(x.shape(), scales)?;
        return Ok(vec![resize_value(x, &axes, &Sampling::legacy(ctx)?)?]);
    }
    let sampling = Sampling::from_attributes(ctx)?;
    let axes = resize_geometry(ctx, inputs, x.shape(), sampling.extrapolation.is_some())?;
    if axes.iter().any(|(_, a)| a.in_len == 0 && a.out_len > 0) {
        return Err(OpError::invalid("cannot resize an empty axis to a non-empty one"));
    }
    Ok(vec![resize_value(x, &axes, &sampling)?])
}

/// Upsample (deprecated): `scales` an attribute up to opset 8, an input from opset 9.
fn upsample(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    let scales = match ctx.floats("scales") {
        Some(scales) => scales,
        None => ctx.input(inputs, 1)?.to_f64().iter().copied().collect(),
    };
    if scales.iter().any(|&s| s < 1.0) {
        return Err(OpError::invalid(format!("Upsample scales {scales:?} must be >= 1")));
    }
    let axes = legacy_geometry(x.shape(), scales)?;
    Ok(vec![resize_value(x, &axes, &Sampling::legacy(ctx)?)?])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn axis(in_len: usize, scale: f64) -> ResizeAxis {
        ResizeAxis::by_scale(in_len, scale, (0.0, 1.0))
    }

    fn sampling(mode: Mode, transform: CoordinateTransform, rounding: NearestRounding) -> Sampling {
        Sampling {
            mode,
            transform,
            rounding,
            cubic_a: -0.75,
            exclude_outside: false,
            antialias: false,
            extrapolation: None,
        }
    }

    #[test]
    fn nearest_taps_clamp_into_the_input() {
        let s = sampling(
            Mode::Nearest,
            CoordinateTransform::HalfPixel,
            NearestRounding::RoundPreferFloor,
        );
        // 2 -> 4: sources -0.25, 0.25, 0.75, 1.25 pick 0, 0, 1, 1.
        let taps: Vec<usize> = s
            .axis_taps(&axis(2, 2.0))
            .into_iter()
            .map(|t| t.unwrap()[0].0)
            .collect();
        assert_eq!(taps, vec![0, 0, 1, 1]);
    }

    #[test]
    fn cubic_taps_sum_to_one_and_exclude_outside_renormalises() {
        let mut s = sampling(
            Mode::Cubic,
            CoordinateTransform::HalfPixel,
            NearestRounding::RoundPreferFloor,
        );
        let a = axis(4, 2.0);
        let taps = s.taps(0, &a).unwrap(); // source -0.25: taps -2..=1, edge-clamped
        approx::assert_relative_eq!(taps.iter().map(|t| t.1).sum::<f64>(), 1.0, max_relative = 1e-12);
        assert!(taps.iter().all(|t| t.0 <= 1));
        s.exclude_outside = true;
        let inside = s.taps(0, &a).unwrap();
        assert_eq!(inside.iter().map(|t| t.0).collect::<Vec<_>>(), vec![0, 1]);
        approx::assert_relative_eq!(inside.iter().map(|t| t.1).sum::<f64>(), 1.0, max_relative = 1e-12);
    }

    #[test]
    fn crop_and_resize_extrapolates_outside_the_input() {
        let mut s = sampling(
            Mode::Linear,
            CoordinateTransform::TfCropAndResize,
            NearestRounding::RoundPreferFloor,
        );
        s.extrapolation = Some(7.0);
        let a = ResizeAxis::by_size(3, 3, (0.5, 1.5)); // sources 1, 2, 3
        let x = ArrayD::from_shape_vec(ndarray::IxDyn(&[3]), vec![10.0, 20.0, 30.0]).unwrap();
        let y = resample(&x, &[(0, a)], &s);
        assert_eq!(y.iter().copied().collect::<Vec<_>>(), vec![20.0, 30.0, 7.0]);
    }
}
