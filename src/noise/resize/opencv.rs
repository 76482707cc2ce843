//! OpenCV's `cv::resize` for 8-bit images, reproduced bit for bit from imgproc/src/resize.cpp.
//!
//! Checked against opencv-python-headless 4.13 on x86-64 by tests/noise_resize.rs:
//!
//! - INTER_NEAREST: `floor(x * src/dst)`.
//! - INTER_LINEAR: f32 source positions, 11-bit weights, a horizontal pass into integer rows, and
//!   the vertical pass as OpenCV's SIMD kernel computes it
//!   (`((S0 >> 4) * b0 >> 16) + ((S1 >> 4) * b1 >> 16)`, then `(v + 2) >> 2`), with vertical
//!   weights left unclamped at the borders and rows clamped instead. An exact 2× downscale is
//!   INTER_AREA's, as OpenCV switches to it.
//! - INTER_AREA, downscaling: an integer factor sums each block in integers (`(sum + 2) >> 2` for
//!   2×2 with 1, 3 or 4 channels, else `sum * (1.f / area)` rounded half to even); any other
//!   factor weighs source pixels by their f32 overlap, accumulating in f32 row by row. Upscaling
//!   (either axis) is INTER_LINEAR's fixed-point kernel with OpenCV's "area" coefficients
//!   (`sx = floor(dx * scale)`, `fx = (dx + 1) - (sx + 1) / scale`, wrapped into [0, 1)).
//! - INTER_CUBIC (A = -0.75) and INTER_LANCZOS4: f32 weights rounded one by one to 11 bits (not
//!   renormalised), out-of-range taps clamped to the edge pixel, an integer horizontal pass, then
//!   the vertical pass: Lanczos4 `(sum + 2^21) >> 22`; cubic the same only for the last
//!   `row_len % 8` values of a row, the others through OpenCV's f32 SIMD kernel (`S3*b3`, then
//!   `+ S2*b2`, `+ S1*b1`, `+ S0*b0` unfused, weights pre-scaled by 2^-22, rounded half to even).
//!
//! One caveat, INTER_CUBIC: x86 wheels of OpenCV route 8-bit INTER_CUBIC to Intel IPP by default
//! (`cv2.ipp.useIPP()`), whose f32 kernel rounds differently from OpenCV's own code. This module
//! reproduces OpenCV's own code (what `cv2.ipp.setUseIPP(False)` gives on x86-64); the
//! IPP result differs from it by ±1 on 1-5% of values (see the golden test). IPP's kernel is
//! closed and CPU-dispatched, so it is not reproduced; it computes in floating point (f32 weights
//! from f64, f32 sums and half-to-even rounding match it everywhere but at some exact .5 ties).

use ndarray::{Array3, ArrayView3};
use serde::{Deserialize, Serialize};
use std::f64::consts::PI;

/// The OpenCV interpolations reproduced here.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OpenCvInterpolation {
    Nearest,
    Linear,
    Area,
    Cubic,
    Lanczos4,
}

impl OpenCvInterpolation {
    pub const ALL: [OpenCvInterpolation; 5] = [
        OpenCvInterpolation::Nearest,
        OpenCvInterpolation::Linear,
        OpenCvInterpolation::Area,
        OpenCvInterpolation::Cubic,
        OpenCvInterpolation::Lanczos4,
    ];

    /// The `cv2.INTER_*` name.
    pub fn name(self) -> &'static str {
        match self {
            OpenCvInterpolation::Nearest => "nearest",
            OpenCvInterpolation::Linear => "linear",
            OpenCvInterpolation::Area => "area",
            OpenCvInterpolation::Cubic => "cubic",
            OpenCvInterpolation::Lanczos4 => "lanczos4",
        }
    }
}

/// `INTER_RESIZE_COEF_SCALE`: weights are scaled by 2^11.
const COEF_SCALE: f32 = 2048.0;

/// Bits to drop after the vertical pass: both passes' weights (`INTER_RESIZE_COEF_BITS * 2`).
const TWO_PASS_BITS: u32 = 22;

/// Resizes `image` (height × width × channels, u8) to `width` × `height` as
/// `cv2.resize(image, (width, height), interpolation=...)` does.
pub fn resize(image: ArrayView3<u8>, width: usize, height: usize, interpolation: OpenCvInterpolation) -> Array3<u8> {
    let (in_h, in_w, _) = image.dim();
    if (in_w, in_h) == (width, height) {
        return image.to_owned();
    }
    match interpolation {
        OpenCvInterpolation::Nearest => nearest(image, width, height),
        OpenCvInterpolation::Linear => match integer_factors(image, width, height) {
            Some((2, 2)) => area_by_integer_factor(image, 2, 2),
            _ => fixed_point(
                image,
                &linear_axis(in_w, width, true),
                &linear_axis(in_h, height, false),
                linear_vertical,
            ),
        },
        OpenCvInterpolation::Area => area(image, width, height),
        OpenCvInterpolation::Cubic => {
            let row_len = width * image.dim().2;
            // OpenCV's SIMD loop takes 8 values (one 128-bit vector of i16) at a time.
            let simd_end = row_len - row_len % 8;
            fixed_point(
                image,
                &kernel_axis(in_w, width, 4, cubic_weights),
                &kernel_axis(in_h, height, 4, cubic_weights),
                |sums, weights, i| {
                    if i < simd_end {
                        cubic_vertical_simd(sums, weights)
                    } else {
                        fixed_vertical(sums, weights)
                    }
                },
            )
        }
        OpenCvInterpolation::Lanczos4 => fixed_point(
            image,
            &kernel_axis(in_w, width, 8, lanczos4_weights),
            &kernel_axis(in_h, height, 8, lanczos4_weights),
            |sums, weights, _| fixed_vertical(sums, weights),
        ),
    }
}

/// `scale_x = 1. / inv_scale_x` as `cv::resize` derives it from the sizes.
fn source_step(src: usize, dst: usize) -> f64 {
    1.0 / (dst as f64 / src as f64)
}

/// The whole-number downscale factors when both axes have one (OpenCV's `is_area_fast`).
fn integer_factors(image: ArrayView3<u8>, width: usize, height: usize) -> Option<(usize, usize)> {
    let (in_h, in_w, _) = image.dim();
    let factor = |src: usize, dst: usize| {
        let scale = source_step(src, dst);
        let rounded = scale.round_ties_even();
        // OpenCV compares with DBL_EPSILON; in exact sizes that means src == k * dst.
        ((scale - rounded).abs() < f64::EPSILON && rounded >= 1.0 && src == rounded as usize * dst)
            .then_some(rounded as usize)
    };
    Some((factor(in_w, width)?, factor(in_h, height)?))
}

fn nearest(image: ArrayView3<u8>, width: usize, height: usize) -> Array3<u8> {
    let (in_h, in_w, channels) = image.dim();
    let step_x = source_step(in_w, width);
    let step_y = source_step(in_h, height);
    let xs: Vec<usize> = (0..width)
        .map(|x| ((x as f64 * step_x).floor() as usize).min(in_w - 1))
        .collect();
    let ys: Vec<usize> = (0..height)
        .map(|y| ((y as f64 * step_y).floor() as usize).min(in_h - 1))
        .collect();
    Array3::from_shape_fn((height, width, channels), |(y, x, c)| image[[ys[y], xs[x], c]])
}

/// Per output position along one axis: the source index of its first tap (before clamping to
/// the image) and its `len` 11-bit weights.
struct AxisTaps {
    first: Vec<i64>,
    weights: Vec<i32>,
    len: usize,
}

impl AxisTaps {
    /// Builds the taps of `dst` outputs; `tap(d)` gives the source index OpenCV calls `sx` (the
    /// tap just left of the sample) and the f32 weights.
    fn new(dst: usize, len: usize, tap: impl Fn(usize) -> (i64, Vec<f32>)) -> AxisTaps {
        let mut first = Vec::with_capacity(dst);
        let mut weights = Vec::with_capacity(dst * len);
        for d in 0..dst {
            let (sx, w) = tap(d);
            debug_assert_eq!(w.len(), len);
            first.push(sx - (len as i64 / 2 - 1));
            weights.extend(w.iter().map(|&w| fixed_weight(w)));
        }
        AxisTaps { first, weights, len }
    }

    fn count(&self) -> usize {
        self.first.len()
    }

    fn tap(&self, d: usize) -> (i64, &[i32]) {
        (self.first[d], &self.weights[d * self.len..(d + 1) * self.len])
    }
}

/// `saturate_cast<short>(w * INTER_RESIZE_COEF_SCALE)`: rounds half to even.
fn fixed_weight(w: f32) -> i32 {
    (w * COEF_SCALE)
        .round_ties_even()
        .clamp(f32::from(i16::MIN), f32::from(i16::MAX)) as i32
}

/// `fx = (float)((d + 0.5) * scale - 0.5)`, split into `floor(fx)` and the f32 remainder.
fn centred_position(d: usize, scale: f64) -> (i64, f32) {
    let position = ((d as f64 + 0.5) * scale - 0.5) as f32;
    let start = position.floor();
    (start as i64, position - start)
}

/// INTER_LINEAR's taps. `clamp_borders`: positions before the first / after the last sample snap
/// to it (OpenCV does this horizontally only).
fn linear_axis(src: usize, dst: usize, clamp_borders: bool) -> AxisTaps {
    let scale = source_step(src, dst);
    AxisTaps::new(dst, 2, |d| {
        let (start, fraction) = centred_position(d, scale);
        clamp_linear(start, fraction, src, clamp_borders)
    })
}

/// INTER_AREA's taps when upscaling: linear weights from OpenCV's "area" positions.
fn area_linear_axis(src: usize, dst: usize, clamp_borders: bool) -> AxisTaps {
    let inv_scale = dst as f64 / src as f64;
    let scale = 1.0 / inv_scale;
    AxisTaps::new(dst, 2, |d| {
        let start = (d as f64 * scale).floor() as i64;
        let fraction = ((d + 1) as f64 - (start + 1) as f64 * inv_scale) as f32;
        let fraction = if fraction <= 0.0 {
            0.0
        } else {
            fraction - fraction.floor()
        };
        clamp_linear(start, fraction, src, clamp_borders)
    })
}

fn clamp_linear(start: i64, fraction: f32, src: usize, clamp_borders: bool) -> (i64, Vec<f32>) {
    let (start, fraction) = match start {
        s if clamp_borders && s < 0 => (0, 0.0),
        s if clamp_borders && s >= src as i64 - 1 => (src as i64 - 1, 0.0),
        s => (s, fraction),
    };
    (start, vec![1.0 - fraction, fraction])
}

/// INTER_CUBIC's and INTER_LANCZOS4's taps: centred positions, never clamped (the image edge is
/// repeated instead).
fn kernel_axis(src: usize, dst: usize, len: usize, weights: fn(f32) -> Vec<f32>) -> AxisTaps {
    let scale = source_step(src, dst);
    AxisTaps::new(dst, len, |d| {
        let (start, fraction) = centred_position(d, scale);
        (start, weights(fraction))
    })
}

/// OpenCV's `interpolateCubic` (A = -0.75), in its f32 operation order: the last weight is one
/// minus the others.
fn cubic_weights(x: f32) -> Vec<f32> {
    const A: f32 = -0.75;
    let w0 = ((A * (x + 1.0) - 5.0 * A) * (x + 1.0) + 8.0 * A) * (x + 1.0) - 4.0 * A;
    let w1 = ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0;
    let w2 = ((A + 2.0) * (1.0 - x) - (A + 3.0)) * (1.0 - x) * (1.0 - x) + 1.0;
    let w3 = 1.0 - w0 - w1 - w2;
    vec![w0, w1, w2, w3]
}

/// OpenCV's `interpolateLanczos4`: `sin(πt/4) sin(πt) / (πt/4)^2` per tap from the f64 sine and
/// cosine of the first tap's angle, each cast to f32, then divided by their f32 sum (a tap at
/// distance ~0 gets 1e30 so that it ends up as 1).
fn lanczos4_weights(x: f32) -> Vec<f32> {
    const S45: f64 = std::f64::consts::FRAC_1_SQRT_2;
    // (sin, cos) factors of each tap's angle, offset by multiples of 3π/4 from the first.
    const ROTATIONS: [(f64, f64); 8] = [
        (1.0, 0.0),
        (-S45, -S45),
        (0.0, 1.0),
        (S45, -S45),
        (-1.0, 0.0),
        (S45, S45),
        (0.0, -1.0),
        (-S45, S45),
    ];
    let angle = f64::from(-(x + 3.0)) * PI * 0.25;
    let (sin, cos) = (angle.sin(), angle.cos());
    let mut weights: Vec<f32> = ROTATIONS
        .iter()
        .enumerate()
        .map(|(i, &(rs, rc))| {
            let distance = x + 3.0 - i as f32;
            if distance.abs() >= 1e-6 {
                let y = f64::from(-distance) * PI * 0.25;
                ((rs * sin + rc * cos) / (y * y)) as f32
            } else {
                1e30
            }
        })
        .collect();
    let sum = weights.iter().fold(0.0f32, |sum, &w| sum + w);
    let inverse = 1.0 / sum;
    for w in &mut weights {
        *w *= inverse;
    }
    weights
}

/// OpenCV's fixed-point separable resize (`resizeGeneric_`): a horizontal pass of every source
/// row into integer sums scaled by 2^11, then `vertical(sums, weights, index)` per output value,
/// `sums` being the rows' sums (rows clamped to the image) and `index` the value's position in
/// its output row (`x * channels + c`).
fn fixed_point(
    image: ArrayView3<u8>,
    columns: &AxisTaps,
    rows: &AxisTaps,
    vertical: impl Fn(&[i64], &[i32], usize) -> u8,
) -> Array3<u8> {
    let (in_h, in_w, channels) = image.dim();
    let clamp = |i: i64, len: usize| i.clamp(0, len as i64 - 1) as usize;
    let horizontal = Array3::from_shape_fn((in_h, columns.count(), channels), |(y, x, c)| {
        let (first, weights) = columns.tap(x);
        weights
            .iter()
            .enumerate()
            .map(|(k, &w)| i64::from(image[[y, clamp(first + k as i64, in_w), c]]) * i64::from(w))
            .sum::<i64>()
    });
    let mut sums = vec![0i64; rows.len];
    Array3::from_shape_fn((rows.count(), columns.count(), channels), |(y, x, c)| {
        let (first, weights) = rows.tap(y);
        for (k, sum) in sums.iter_mut().enumerate() {
            *sum = horizontal[[clamp(first + k as i64, in_h), x, c]];
        }
        vertical(&sums, weights, x * channels + c)
    })
}

/// INTER_LINEAR's vertical pass as `VResizeLinearVec_32s8u` computes it: sums narrowed by `>> 4`
/// to i16, `v_mul_hi` (`(a * b) >> 16`), then `(v + 2) >> 2`.
fn linear_vertical(sums: &[i64], weights: &[i32], _: usize) -> u8 {
    let v = (((sums[0] >> 4) * i64::from(weights[0])) >> 16) + (((sums[1] >> 4) * i64::from(weights[1])) >> 16);
    ((v + 2) >> 2).clamp(0, 255) as u8
}

/// `FixedPtCast<int, uchar, 22>`: `(sum + 2^21) >> 22`, saturated.
fn fixed_vertical(sums: &[i64], weights: &[i32]) -> u8 {
    let sum: i64 = sums.iter().zip(weights).map(|(&s, &w)| s * i64::from(w)).sum();
    ((sum + (1 << (TWO_PASS_BITS - 1))) >> TWO_PASS_BITS).clamp(0, 255) as u8
}

/// `VResizeCubicVec_32s8u`: the sums as f32 times weights pre-scaled by 2^-22, accumulated from
/// the last row to the first (unfused multiply-adds on SSE), rounded half to even, saturated.
fn cubic_vertical_simd(sums: &[i64], weights: &[i32]) -> u8 {
    let scale = 1.0f32 / (1u32 << TWO_PASS_BITS) as f32;
    let term = |k: usize| sums[k] as f32 * (weights[k] as f32 * scale);
    let v = term(3);
    let v = term(2) + v;
    let v = term(1) + v;
    let v = term(0) + v;
    v.round_ties_even().clamp(0.0, 255.0) as u8
}

/// INTER_AREA: true area averaging when both axes shrink (or keep) their size, else the
/// linear-like "area" upscaling.
fn area(image: ArrayView3<u8>, width: usize, height: usize) -> Array3<u8> {
    let (in_h, in_w, _) = image.dim();
    let (scale_x, scale_y) = (source_step(in_w, width), source_step(in_h, height));
    if scale_x >= 1.0 && scale_y >= 1.0 {
        match integer_factors(image, width, height) {
            Some((fx, fy)) => area_by_integer_factor(image, fx, fy),
            None => area_by_overlap(image, width, height, scale_x, scale_y),
        }
    } else {
        fixed_point(
            image,
            &area_linear_axis(in_w, width, true),
            &area_linear_axis(in_h, height, false),
            linear_vertical,
        )
    }
}

/// `resizeAreaFast_`: the integer sum of each `fx` × `fy` block. A 2×2 block of 1, 3 or 4
/// channels goes through OpenCV's SIMD kernel, `(sum + 2) >> 2`; every other block becomes
/// `sum * (1.f / area)` rounded half to even.
fn area_by_integer_factor(image: ArrayView3<u8>, fx: usize, fy: usize) -> Array3<u8> {
    let (in_h, in_w, channels) = image.dim();
    let halving = fx == 2 && fy == 2 && matches!(channels, 1 | 3 | 4);
    let scale = 1.0f32 / (fx * fy) as f32;
    Array3::from_shape_fn((in_h / fy, in_w / fx, channels), |(y, x, c)| {
        let sum: u32 = (0..fy)
            .flat_map(|dy| (0..fx).map(move |dx| (dy, dx)))
            .map(|(dy, dx)| u32::from(image[[fy * y + dy, fx * x + dx, c]]))
            .sum();
        if halving {
            ((sum + 2) >> 2) as u8
        } else {
            (sum as f32 * scale).round_ties_even().clamp(0.0, 255.0) as u8
        }
    })
}

/// One entry of OpenCV's `computeResizeAreaTab`: source `src` contributes `weight` to output `dst`.
struct AreaTap {
    dst: usize,
    src: usize,
    weight: f32,
}

/// `computeResizeAreaTab`: each output cell `[d * scale, (d + 1) * scale)` as the source pixels
/// it overlaps, weighted by overlap / cell width (partial pixels under 1e-3 dropped).
fn area_taps(src: usize, dst: usize, scale: f64) -> Vec<AreaTap> {
    let mut taps = Vec::with_capacity(2 * src);
    for d in 0..dst {
        let start = d as f64 * scale;
        let end = start + scale;
        let cell = scale.min(src as f64 - start);
        let last = (end.floor() as i64).min(src as i64 - 1);
        let first = (start.ceil() as i64).min(last);
        let mut push = |s: i64, weight: f64| {
            taps.push(AreaTap {
                dst: d,
                src: s as usize,
                weight: weight as f32,
            })
        };
        if first as f64 - start > 1e-3 {
            push(first - 1, (first as f64 - start) / cell);
        }
        for s in first..last {
            push(s, 1.0 / cell);
        }
        if end - last as f64 > 1e-3 {
            push(last, (end - last as f64).min(1.0).min(cell) / cell);
        }
    }
    taps
}

/// `ResizeArea_Invoker`: per source row, the f32 overlap-weighted sums of its pixels per output
/// column (in tap order); each output row accumulates its source rows' sums times their f32
/// weights, then rounds half to even.
fn area_by_overlap(image: ArrayView3<u8>, width: usize, height: usize, scale_x: f64, scale_y: f64) -> Array3<u8> {
    let (in_h, in_w, channels) = image.dim();
    let columns = area_taps(in_w, width, scale_x);
    let rows = area_taps(in_h, height, scale_y);
    let mut out = Array3::<u8>::zeros((height, width, channels));
    let mut row_sum = vec![0f32; width * channels];
    let mut sum = vec![0f32; width * channels];
    for (i, row) in rows.iter().enumerate() {
        row_sum.fill(0.0);
        for tap in &columns {
            for c in 0..channels {
                row_sum[tap.dst * channels + c] += f32::from(image[[row.src, tap.src, c]]) * tap.weight;
            }
        }
        let starts_output_row = i == 0 || rows[i - 1].dst != row.dst;
        for (s, &r) in sum.iter_mut().zip(&row_sum) {
            *s = if starts_output_row {
                row.weight * r
            } else {
                *s + row.weight * r
            };
        }
        if rows.get(i + 1).is_none_or(|next| next.dst != row.dst) {
            for (value, &s) in out.slice_mut(ndarray::s![row.dst, .., ..]).iter_mut().zip(&sum) {
                *value = s.round_ties_even().clamp(0.0, 255.0) as u8;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_weights_sum_to_one_in_fixed_point() {
        for (src, dst) in [(37, 13), (13, 37), (29, 7)] {
            for clamp in [true, false] {
                for taps in [linear_axis(src, dst, clamp), area_linear_axis(src, dst, clamp)] {
                    for d in 0..dst {
                        assert_eq!(taps.tap(d).1.iter().sum::<i32>(), 2048, "{src}->{dst}");
                    }
                }
            }
        }
    }

    #[test]
    fn kernel_weights_are_close_to_one_in_fixed_point() {
        for x in [0.0, 0.1, 0.25, 0.5, 0.75, 0.999] {
            for weights in [cubic_weights(x), lanczos4_weights(x)] {
                let sum: i32 = weights.iter().map(|&w| fixed_weight(w)).sum();
                assert!((sum - 2048).abs() <= 2, "{x}: {weights:?}");
            }
        }
        assert_eq!(
            lanczos4_weights(0.0)
                .iter()
                .map(|&w| fixed_weight(w))
                .collect::<Vec<_>>()[3],
            2048
        );
    }

    #[test]
    fn area_taps_cover_each_cell_once() {
        for (src, dst) in [(37, 13), (300, 224), (10, 3)] {
            let taps = area_taps(src, dst, source_step(src, dst));
            for d in 0..dst {
                let total: f32 = taps.iter().filter(|t| t.dst == d).map(|t| t.weight).sum();
                assert!((total - 1.0).abs() < 1e-4, "{src}->{dst} cell {d}: {total}");
            }
        }
    }

    #[test]
    fn a_flat_image_stays_flat() {
        let flat = Array3::<u8>::from_elem((9, 11, 3), 201);
        for interpolation in OpenCvInterpolation::ALL {
            for (w, h) in [(5, 20), (22, 18), (30, 4), (3, 3)] {
                let out = resize(flat.view(), w, h, interpolation);
                assert!(out.iter().all(|&v| v == 201), "{interpolation:?} {w}x{h}");
            }
        }
    }
}
