//! OpenCV's `cv::resize` for 8-bit images, reproduced exactly (checked against
//! opencv-python-headless 4.13): INTER_NEAREST (`floor(x * src/dst)`), and INTER_LINEAR's
//! fixed-point path — f32 source positions, 11-bit weights, a horizontal pass into i32 rows,
//! and the vertical pass as OpenCV's SIMD kernel computes it (`((S0 >> 4) * b0 >> 16) +
//! ((S1 >> 4) * b1 >> 16)`, then `(v + 2) >> 2`), with vertical weights left unclamped at the
//! borders and rows clamped instead. An exact 2× downscale is INTER_AREA's 2×2 average, as
//! OpenCV switches to it.

use ndarray::{Array3, ArrayView3};
use serde::{Deserialize, Serialize};

/// The OpenCV interpolations reproduced here.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OpenCvInterpolation {
    Nearest,
    Linear,
}

impl OpenCvInterpolation {
    pub const ALL: [OpenCvInterpolation; 2] = [OpenCvInterpolation::Nearest, OpenCvInterpolation::Linear];

    /// The `cv2.INTER_*` name.
    pub fn name(self) -> &'static str {
        match self {
            OpenCvInterpolation::Nearest => "nearest",
            OpenCvInterpolation::Linear => "linear",
        }
    }
}

/// `INTER_RESIZE_COEF_BITS`: weights are scaled by 2^11.
const COEF_SCALE: f32 = 2048.0;

/// Source index and the two 11-bit weights of each output position along one axis.
/// `clamp_borders`: positions before the first / after the last sample snap to it (OpenCV
/// does this horizontally only).
fn linear_taps(src: usize, dst: usize, clamp_borders: bool) -> Vec<(i64, i32, i32)> {
    let scale = 1.0 / (dst as f64 / src as f64);
    (0..dst)
        .map(|d| {
            let position = ((d as f64 + 0.5) * scale - 0.5) as f32;
            let mut start = position.floor() as i64;
            let mut fraction = position - start as f32;
            if clamp_borders && start < 0 {
                (start, fraction) = (0, 0.0);
            }
            if clamp_borders && start >= src as i64 - 1 {
                (start, fraction) = (src as i64 - 1, 0.0);
            }
            // saturate_cast<short> rounds half to even (lrint).
            let w0 = ((1.0 - fraction) * COEF_SCALE).round_ties_even() as i32;
            let w1 = (fraction * COEF_SCALE).round_ties_even() as i32;
            (start, w0, w1)
        })
        .collect()
}

/// Resizes `image` (height × width × channels, u8) to `width` × `height` as
/// `cv2.resize(image, (width, height), interpolation=...)` does.
pub fn resize(image: ArrayView3<u8>, width: usize, height: usize, interpolation: OpenCvInterpolation) -> Array3<u8> {
    let (in_h, in_w, channels) = image.dim();
    if (in_w, in_h) == (width, height) {
        return image.to_owned();
    }
    match interpolation {
        OpenCvInterpolation::Nearest => nearest(image, width, height),
        OpenCvInterpolation::Linear if in_w == 2 * width && in_h == 2 * height && channels != 2 => halve_by_area(image),
        OpenCvInterpolation::Linear => linear(image, width, height),
    }
}

fn nearest(image: ArrayView3<u8>, width: usize, height: usize) -> Array3<u8> {
    let (in_h, in_w, channels) = image.dim();
    let step_x = 1.0 / (width as f64 / in_w as f64);
    let step_y = 1.0 / (height as f64 / in_h as f64);
    let xs: Vec<usize> = (0..width)
        .map(|x| ((x as f64 * step_x).floor() as usize).min(in_w - 1))
        .collect();
    let ys: Vec<usize> = (0..height)
        .map(|y| ((y as f64 * step_y).floor() as usize).min(in_h - 1))
        .collect();
    Array3::from_shape_fn((height, width, channels), |(y, x, c)| image[[ys[y], xs[x], c]])
}

/// INTER_AREA's fast path for an exact 2× reduction: `(a + b + c + d + 2) >> 2`.
fn halve_by_area(image: ArrayView3<u8>) -> Array3<u8> {
    let (in_h, in_w, channels) = image.dim();
    Array3::from_shape_fn((in_h / 2, in_w / 2, channels), |(y, x, c)| {
        let sum: u32 = [(0, 0), (0, 1), (1, 0), (1, 1)]
            .iter()
            .map(|&(dy, dx)| u32::from(image[[2 * y + dy, 2 * x + dx, c]]))
            .sum();
        ((sum + 2) >> 2) as u8
    })
}

fn linear(image: ArrayView3<u8>, width: usize, height: usize) -> Array3<u8> {
    let (in_h, in_w, channels) = image.dim();
    let columns = linear_taps(in_w, width, true);
    let rows = linear_taps(in_h, height, false);
    // Horizontal pass: every source row into i32 sums scaled by 2^11.
    let horizontal = Array3::from_shape_fn((in_h, width, channels), |(y, x, c)| {
        let (start, w0, w1) = columns[x];
        let start = start as usize;
        let next = (start + 1).min(in_w - 1);
        i64::from(image[[y, start, c]]) * i64::from(w0) + i64::from(image[[y, next, c]]) * i64::from(w1)
    });
    let clamp_row = |r: i64| r.clamp(0, in_h as i64 - 1) as usize;
    Array3::from_shape_fn((height, width, channels), |(y, x, c)| {
        let (start, b0, b1) = rows[y];
        let s0 = horizontal[[clamp_row(start), x, c]];
        let s1 = horizontal[[clamp_row(start + 1), x, c]];
        // v_mul_hi on 16-bit lanes: (a * b) >> 16, after the sums are narrowed by >> 4.
        let v = (((s0 >> 4) * i64::from(b0)) >> 16) + (((s1 >> 4) * i64::from(b1)) >> 16);
        ((v + 2) >> 2).clamp(0, 255) as u8
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_sum_to_one_in_fixed_point() {
        for (src, dst) in [(37, 13), (13, 37), (29, 7)] {
            for clamp in [true, false] {
                for (_, w0, w1) in linear_taps(src, dst, clamp) {
                    assert_eq!(w0 + w1, 2048, "{src}->{dst}");
                }
            }
        }
    }

    #[test]
    fn a_flat_image_stays_flat() {
        let flat = Array3::<u8>::from_elem((9, 11, 3), 201);
        for interpolation in OpenCvInterpolation::ALL {
            for (w, h) in [(5, 20), (22, 18), (30, 4)] {
                let out = resize(flat.view(), w, h, interpolation);
                assert!(out.iter().all(|&v| v == 201), "{interpolation:?} {w}x{h}");
            }
        }
    }
}
