//! Pillow's `Image.resize` for 8-bit images, reproduced exactly: the separable convolution of
//! libImaging/Resample.c (coefficients normalised in f64, then rounded to 22-bit fixed point,
//! horizontal pass over the rows the vertical pass needs, then vertical — or vertical first
//! when the width grows and the height shrinks, as Pillow does) and, for NEAREST, the
//! affine scaling of libImaging/Geometry.c (source positions accumulated in f64, truncated).

use ndarray::{Array3, ArrayView3};

/// Pillow's resampling filters (`PIL.Image.Resampling`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PillowFilter {
    Nearest,
    Box,
    Bilinear,
    Hamming,
    Bicubic,
    Lanczos,
}

impl PillowFilter {
    pub const ALL: [PillowFilter; 6] = [
        PillowFilter::Nearest,
        PillowFilter::Box,
        PillowFilter::Bilinear,
        PillowFilter::Hamming,
        PillowFilter::Bicubic,
        PillowFilter::Lanczos,
    ];

    /// The name Pillow gives it (`Image.Resampling.<NAME>`).
    pub fn name(self) -> &'static str {
        match self {
            PillowFilter::Nearest => "nearest",
            PillowFilter::Box => "box",
            PillowFilter::Bilinear => "bilinear",
            PillowFilter::Hamming => "hamming",
            PillowFilter::Bicubic => "bicubic",
            PillowFilter::Lanczos => "lanczos",
        }
    }

    /// The kernel and its support (half-width) at scale 1; `None` for NEAREST.
    fn kernel(self) -> Option<(Kernel, f64)> {
        Some(match self {
            PillowFilter::Nearest => return None,
            PillowFilter::Box => (box_kernel, 0.5),
            PillowFilter::Bilinear => (bilinear_kernel, 1.0),
            PillowFilter::Hamming => (hamming_kernel, 1.0),
            PillowFilter::Bicubic => (bicubic_kernel, 2.0),
            PillowFilter::Lanczos => (lanczos_kernel, 3.0),
        })
    }
}

/// A resampling kernel: weight at a distance (in input pixels, at scale 1).
type Kernel = fn(f64) -> f64;

fn box_kernel(x: f64) -> f64 {
    if x > -0.5 && x <= 0.5 { 1.0 } else { 0.0 }
}

fn bilinear_kernel(x: f64) -> f64 {
    let x = x.abs();
    if x < 1.0 { 1.0 - x } else { 0.0 }
}

fn hamming_kernel(x: f64) -> f64 {
    let x = x.abs();
    if x == 0.0 {
        1.0
    } else if x >= 1.0 {
        0.0
    } else {
        let x = x * std::f64::consts::PI;
        // Pillow writes the window constants as C floats (0.54f, 0.46f).
        x.sin() / x * (f64::from(0.54f32) + f64::from(0.46f32) * x.cos())
    }
}

/// Keys' cubic with a = -0.5 (what Pillow calls BICUBIC).
fn bicubic_kernel(x: f64) -> f64 {
    const A: f64 = -0.5;
    let x = x.abs();
    if x < 1.0 {
        ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0
    } else if x < 2.0 {
        (((x - 5.0) * x + 8.0) * x - 4.0) * A
    } else {
        0.0
    }
}

fn sinc(x: f64) -> f64 {
    if x == 0.0 {
        1.0
    } else {
        let x = x * std::f64::consts::PI;
        x.sin() / x
    }
}

fn lanczos_kernel(x: f64) -> f64 {
    if (-3.0..3.0).contains(&x) {
        sinc(x) * sinc(x / 3.0)
    } else {
        0.0
    }
}

/// Fractional bits of the fixed-point coefficients (Resample.c: 32 - 8 - 2).
const PRECISION_BITS: u32 = 22;

/// The taps of every output position along one axis: first input index and fixed-point
/// weights.
struct Taps {
    starts: Vec<usize>,
    weights: Vec<Vec<i32>>,
}

/// `precompute_coeffs` then `normalize_coeffs_8bpc`, for the span `[0, in_size)`.
fn taps(in_size: usize, out_size: usize, kernel: Kernel, support: f64) -> Taps {
    let scale = in_size as f64 / out_size as f64;
    let filter_scale = scale.max(1.0);
    let support = support * filter_scale;
    let mut starts = Vec::with_capacity(out_size);
    let mut weights = Vec::with_capacity(out_size);
    for xx in 0..out_size {
        let center = (xx as f64 + 0.5) * scale;
        let inverse = 1.0 / filter_scale;
        // Pillow rounds with a cast after adding 0.5 (truncation toward zero), then clamps.
        let xmin = ((center - support + 0.5) as i64).max(0) as usize;
        let xmax = ((center + support + 0.5) as i64).min(in_size as i64) as usize;
        let count = xmax.saturating_sub(xmin);
        let raw: Vec<f64> = (0..count)
            .map(|x| kernel((x as f64 + xmin as f64 - center + 0.5) * inverse))
            .collect();
        let total: f64 = raw.iter().sum();
        let fixed = raw
            .iter()
            .map(|&w| {
                let w = if total != 0.0 { w / total } else { w };
                let scaled = w * f64::from(1u32 << PRECISION_BITS);
                if w < 0.0 {
                    (scaled - 0.5) as i32
                } else {
                    (scaled + 0.5) as i32
                }
            })
            .collect();
        starts.push(xmin);
        weights.push(fixed);
    }
    Taps { starts, weights }
}

/// Fixed-point accumulator back to 8 bits: shift, then clamp (Pillow's `clip8`).
fn clip8(accumulator: i64) -> u8 {
    (accumulator >> PRECISION_BITS).clamp(0, 255) as u8
}

/// Resizes `image` (height × width × channels, u8) to `width` × `height` as
/// `PIL.Image.resize((width, height), filter)` does for L / RGB images.
pub fn resize(image: ArrayView3<u8>, width: usize, height: usize, filter: PillowFilter) -> Array3<u8> {
    let (in_h, in_w, channels) = image.dim();
    if (in_w, in_h) == (width, height) {
        return image.to_owned();
    }
    let Some((kernel, support)) = filter.kernel() else {
        return nearest(image, width, height);
    };
    // Pillow (measured on 13.0 against its own two-step resizes) shrinks rows first when the
    // width grows and the height shrinks; every other case is horizontal, then vertical.
    if width > in_w && height < in_h {
        let rows_first = resize(image, in_w, height, filter);
        return resize(rows_first.view(), width, height, filter);
    }
    let horizontal = taps(in_w, width, kernel, support);
    let vertical = taps(in_h, height, kernel, support);
    let round = 1i64 << (PRECISION_BITS - 1);
    // Horizontal pass, only over the rows the vertical pass reads (as Pillow does).
    let (first_row, rows) = if width != in_w {
        let first = vertical.starts[0];
        let last = vertical.starts[height - 1] + vertical.weights[height - 1].len();
        let mut temp = Array3::<u8>::zeros((last - first, width, channels));
        for y in 0..last - first {
            for (xx, (start, w)) in horizontal.starts.iter().zip(&horizontal.weights).enumerate() {
                for c in 0..channels {
                    let sum: i64 = w
                        .iter()
                        .enumerate()
                        .map(|(k, &wk)| i64::from(image[[y + first, start + k, c]]) * i64::from(wk))
                        .sum();
                    temp[[y, xx, c]] = clip8(round + sum);
                }
            }
        }
        (first, temp)
    } else {
        (0, image.to_owned())
    };
    if height == in_h {
        return rows;
    }
    let mut out = Array3::<u8>::zeros((height, width, channels));
    for (yy, (start, w)) in vertical.starts.iter().zip(&vertical.weights).enumerate() {
        let start = start - first_row;
        for x in 0..width {
            for c in 0..channels {
                let sum: i64 = w
                    .iter()
                    .enumerate()
                    .map(|(k, &wk)| i64::from(rows[[start + k, x, c]]) * i64::from(wk))
                    .sum();
                out[[yy, x, c]] = clip8(round + sum);
            }
        }
    }
    out
}

/// NEAREST: Geometry.c's `ImagingScaleAffine` — positions start at half a step and are
/// accumulated by repeated f64 addition, then truncated.
fn nearest(image: ArrayView3<u8>, width: usize, height: usize) -> Array3<u8> {
    let (in_h, in_w, channels) = image.dim();
    let step_x = in_w as f64 / width as f64;
    let step_y = in_h as f64 / height as f64;
    let positions = |count: usize, step: f64, limit: usize| -> Vec<usize> {
        let mut at = step * 0.5;
        (0..count)
            .map(|_| {
                let index = (at as usize).min(limit - 1);
                at += step;
                index
            })
            .collect()
    };
    let xs = positions(width, step_x, in_w);
    let ys = positions(height, step_y, in_h);
    Array3::from_shape_fn((height, width, channels), |(y, x, c)| image[[ys[y], xs[x], c]])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernels_are_interpolating_at_the_integers() {
        for (kernel, support) in PillowFilter::ALL.iter().filter_map(|f| f.kernel()) {
            assert_eq!(kernel(0.0), 1.0);
            assert!(kernel(support + 0.01).abs() < 1e-12);
        }
        assert!(bicubic_kernel(1.0).abs() < 1e-12 && lanczos_kernel(2.0).abs() < 1e-12);
    }

    #[test]
    fn fixed_point_weights_sum_to_one_within_rounding() {
        for filter in PillowFilter::ALL {
            let Some((kernel, support)) = filter.kernel() else {
                continue;
            };
            for (in_size, out_size) in [(37, 13), (13, 37), (224, 224 + 32), (500, 224)] {
                let t = taps(in_size, out_size, kernel, support);
                for w in &t.weights {
                    let sum: i64 = w.iter().map(|&v| i64::from(v)).sum();
                    assert!(
                        (sum - (1 << PRECISION_BITS)).abs() <= w.len() as i64,
                        "{filter:?} {sum}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_flat_image_stays_flat() {
        let flat = Array3::<u8>::from_elem((9, 11, 3), 77);
        for filter in PillowFilter::ALL {
            let out = resize(flat.view(), 5, 20, filter);
            assert_eq!(out.dim(), (20, 5, 3));
            assert!(out.iter().all(|&v| v == 77), "{filter:?}");
        }
    }
}
