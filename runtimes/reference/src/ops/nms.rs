//! Reference kernels: non-maximum suppression (NonMaxSuppression).

use ndarray::{Array2, ArrayD, IxDyn};
use sysnoise_boundary::DType;

use super::Registry;
use crate::context::OpContext;
use crate::error::OpError;
use crate::value::Value;

pub fn register(r: &mut Registry) {
    r.add("NonMaxSuppression", non_max_suppression);
}

/// A box as `(y1, x1, y2, x2)` with `y1 <= y2`, `x1 <= x2`.
type Corners = (f64, f64, f64, f64);

fn corners(b: &[f64], center_point: bool) -> Corners {
    if center_point {
        let (xc, yc, w, h) = (b[0], b[1], b[2], b[3]);
        (yc - h / 2.0, xc - w / 2.0, yc + h / 2.0, xc + w / 2.0)
    } else {
        (b[0].min(b[2]), b[1].min(b[3]), b[0].max(b[2]), b[1].max(b[3]))
    }
}

fn iou(a: Corners, b: Corners) -> f64 {
    let area = |c: Corners| (c.2 - c.0).max(0.0) * (c.3 - c.1).max(0.0);
    let ih = (a.2.min(b.2) - a.0.max(b.0)).max(0.0);
    let iw = (a.3.min(b.3) - a.1.max(b.1)).max(0.0);
    let inter = ih * iw;
    let union = area(a) + area(b) - inter;
    if union <= 0.0 { 0.0 } else { inter / union }
}

/// NonMaxSuppression: per batch and class, boxes by descending score (ties: lower index first)
/// above `score_threshold`, each kept unless its IoU with a kept box exceeds `iou_threshold`, at
/// most `max_output_boxes_per_class`; the output rows are `[batch, class, box]`.
fn non_max_suppression(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let boxes = ctx.input(inputs, 0)?.to_f64();
    let scores = ctx.input(inputs, 1)?.to_f64();
    let scalar = |i: usize| {
        ctx.optional_input(inputs, i)
            .and_then(|v| v.to_f64().iter().next().copied())
    };
    let max_per_class = scalar(2).unwrap_or(0.0).max(0.0) as usize;
    let iou_threshold = scalar(3).unwrap_or(0.0);
    let score_threshold = scalar(4);
    let center_point = ctx.int("center_point_box", 0) != 0;
    let (&[batches, count, 4], &[score_batches, classes, score_count]) = (boxes.shape(), scores.shape()) else {
        return Err(OpError::invalid(format!(
            "NonMaxSuppression of boxes {:?} and scores {:?} (need [B, N, 4] and [B, C, N])",
            boxes.shape(),
            scores.shape()
        )));
    };
    if score_batches != batches || score_count != count {
        return Err(OpError::invalid(format!(
            "NonMaxSuppression boxes {:?} and scores {:?} disagree",
            boxes.shape(),
            scores.shape()
        )));
    }
    let mut selected: Vec<[i64; 3]> = Vec::new();
    for b in 0..batches {
        let all: Vec<Corners> = (0..count)
            .map(|i| {
                let v: Vec<f64> = (0..4).map(|k| boxes[[b, i, k]]).collect();
                corners(&v, center_point)
            })
            .collect();
        for c in 0..classes {
            let mut order: Vec<usize> = (0..count)
                .filter(|&i| score_threshold.is_none_or(|t| scores[[b, c, i]] > t))
                .collect();
            order.sort_by(|&i, &j| scores[[b, c, j]].total_cmp(&scores[[b, c, i]]).then(i.cmp(&j)));
            let mut kept: Vec<usize> = Vec::new();
            for i in order {
                if kept.len() >= max_per_class {
                    break;
                }
                if kept.iter().all(|&k| iou(all[k], all[i]) <= iou_threshold) {
                    kept.push(i);
                    selected.push([b as i64, c as i64, i as i64]);
                }
            }
        }
    }
    let rows = Array2::from_shape_fn((selected.len(), 3), |(r, k)| selected[r][k]);
    let out: ArrayD<i64> = rows
        .into_dyn()
        .into_shape_with_order(IxDyn(&[selected.len(), 3]))
        .expect("same");
    Ok(vec![Value::int(DType::I64, out)])
}
