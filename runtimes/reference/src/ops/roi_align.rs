//! Reference kernel: RoiAlign (opsets 10, 16), bilinear pooling of regions of interest.

use ndarray::{ArrayD, IxDyn};

use super::Registry;
use crate::context::OpContext;
use crate::error::OpError;
use crate::value::Value;

pub fn register(r: &mut Registry) {
    r.add("RoiAlign", roi_align);
}

/// One bilinear sample: four element offsets in the plane and their weights (all zero for a
/// sample outside the plane).
struct Sample {
    offsets: [usize; 4],
    weights: [f64; 4],
}

/// The sample at (y, x) of an `height × width` plane, as the specification's algorithm takes it:
/// outside [−1, size] it reads nothing; below 0 it clamps to 0; on the last row or column it
/// reads that row or column only.
fn sample(y: f64, x: f64, height: usize, width: usize) -> Sample {
    let (h, w) = (height as f64, width as f64);
    if y < -1.0 || y > h || x < -1.0 || x > w {
        return Sample {
            offsets: [0; 4],
            weights: [0.0; 4],
        };
    }
    let corner = |v: f64, size: usize| -> (usize, usize, f64) {
        let v = v.max(0.0);
        let low = v.trunc() as usize;
        if low >= size - 1 {
            (size - 1, size - 1, 0.0)
        } else {
            (low, low + 1, v - low as f64)
        }
    };
    let (y0, y1, ly) = corner(y, height);
    let (x0, x1, lx) = corner(x, width);
    let (hy, hx) = (1.0 - ly, 1.0 - lx);
    Sample {
        offsets: [y0 * width + x0, y0 * width + x1, y1 * width + x0, y1 * width + x1],
        weights: [hy * hx, hy * lx, ly * hx, ly * lx],
    }
}

/// RoiAlign: X `[N, C, H, W]`, rois `[R, 4]` as (x1, y1, x2, y2) in input coordinates times
/// `spatial_scale`, batch_indices `[R]`; Y `[R, C, output_height, output_width]`. Each output
/// bin averages (`avg`) or takes the largest weighted corner of (`max`) a grid of bilinear
/// samples, `sampling_ratio` per bin side (0: ceil(roi size / bins)). `half_pixel` (the default
/// from opset 16) shifts the roi by −0.5; `output_half_pixel` (opset 10) does not, and makes a
/// roi at least 1×1.
fn roi_align(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    let xa = x.as_float()?.as_standard_layout().into_owned();
    let rois = ctx.input(inputs, 1)?.to_f64();
    let batch_indices = ctx.input(inputs, 2)?.to_i64();
    let xs = xa.shape().to_vec();
    if xs.len() != 4 || rois.ndim() != 2 || rois.shape()[1] != 4 || batch_indices.len() != rois.shape()[0] {
        return Err(OpError::invalid(format!(
            "RoiAlign: X {xs:?}, rois {:?}, batch_indices {:?}",
            rois.shape(),
            batch_indices.shape()
        )));
    }
    let (batch, channels, height, width) = (xs[0], xs[1], xs[2], xs[3]);
    let default_mode = if ctx.opset < 16 {
        "output_half_pixel"
    } else {
        "half_pixel"
    };
    let half_pixel = match ctx.string("coordinate_transformation_mode", default_mode).as_str() {
        "half_pixel" => true,
        "output_half_pixel" => false,
        other => {
            return Err(OpError::invalid(format!(
                "RoiAlign: unknown coordinate_transformation_mode '{other}'"
            )));
        }
    };
    let max_mode = match ctx.string("mode", "avg").as_str() {
        "avg" => false,
        "max" => true,
        other => return Err(OpError::invalid(format!("RoiAlign: unknown mode '{other}'"))),
    };
    let bins_h = usize::try_from(ctx.int("output_height", 1)).unwrap_or(0);
    let bins_w = usize::try_from(ctx.int("output_width", 1)).unwrap_or(0);
    let ratio = usize::try_from(ctx.int("sampling_ratio", 0)).unwrap_or(0);
    let scale = ctx.float("spatial_scale", 1.0);
    if bins_h == 0 || bins_w == 0 || height == 0 || width == 0 {
        return Err(OpError::invalid(format!(
            "RoiAlign: {bins_h}x{bins_w} bins of a {height}x{width} input"
        )));
    }
    let offset = if half_pixel { 0.5 } else { 0.0 };
    let plane = height * width;
    let src = xa.as_slice().expect("standard layout");
    let count = rois.shape()[0];
    let mut out = vec![0.0; count * channels * bins_h * bins_w];
    for r in 0..count {
        let b = batch_indices[r];
        if !(0..batch as i64).contains(&b) {
            return Err(OpError::invalid(format!(
                "RoiAlign: batch index {b} for a batch of {batch}"
            )));
        }
        let roi = |k: usize| rois[[r, k]] * scale - offset;
        let (start_w, start_h) = (roi(0), roi(1));
        let (mut roi_w, mut roi_h) = (roi(2) - start_w, roi(3) - start_h);
        if !half_pixel {
            roi_w = roi_w.max(1.0);
            roi_h = roi_h.max(1.0);
        }
        let (bin_h, bin_w) = (roi_h / bins_h as f64, roi_w / bins_w as f64);
        let grid_h = if ratio > 0 {
            ratio
        } else {
            (roi_h / bins_h as f64).ceil().max(0.0) as usize
        };
        let grid_w = if ratio > 0 {
            ratio
        } else {
            (roi_w / bins_w as f64).ceil().max(0.0) as usize
        };
        let samples_per_bin = (grid_h * grid_w).max(1) as f64;
        for ph in 0..bins_h {
            for pw in 0..bins_w {
                let samples: Vec<Sample> = (0..grid_h)
                    .flat_map(|iy| (0..grid_w).map(move |ix| (iy, ix)))
                    .map(|(iy, ix)| {
                        let y = start_h + ph as f64 * bin_h + (iy as f64 + 0.5) * bin_h / grid_h as f64;
                        let x = start_w + pw as f64 * bin_w + (ix as f64 + 0.5) * bin_w / grid_w as f64;
                        sample(y, x, height, width)
                    })
                    .collect();
                for c in 0..channels {
                    let data = &src[(b as usize * channels + c) * plane..][..plane];
                    let weighted = |s: &Sample, k: usize| s.weights[k] * data[s.offsets[k]];
                    let value = if max_mode {
                        samples
                            .iter()
                            .map(|s| (0..4).map(|k| weighted(s, k)).fold(f64::NEG_INFINITY, f64::max))
                            .fold(None, |best: Option<f64>, v| Some(best.map_or(v, |b| b.max(v))))
                            .unwrap_or(0.0)
                    } else {
                        samples
                            .iter()
                            .map(|s| (0..4).map(|k| weighted(s, k)).sum::<f64>())
                            .sum::<f64>()
                            / samples_per_bin
                    };
                    out[((r * channels + c) * bins_h + ph) * bins_w + pw] = value;
                }
            }
        }
    }
    let y = ArrayD::from_shape_vec(IxDyn(&[count, channels, bins_h, bins_w]), out).expect("one value per bin");
    Ok(vec![Value::float(x.dtype, y)])
}
