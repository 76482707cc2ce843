//! Post-processing noise for detectors: box decoding (R-CNN deltas or GFL distance
//! distributions) with or without the legacy `+1` pixel offset and with coordinate rounding, the
//! choice of NMS candidates (top-k before or after the score threshold), and non-maximum
//! suppression variants (IoU with or without `+1`, suppress on `>` or `>=`, class-aware or
//! class-agnostic, a cap on detections).

use serde::{Deserialize, Serialize};

/// An axis-aligned box with its score and class.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Detection {
    pub x1: f64,
    pub y1: f64,
    pub x2: f64,
    pub y2: f64,
    pub score: f64,
    pub class: usize,
}

/// How box sizes count pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PixelConvention {
    /// Width = x2 - x1 (continuous coordinates; torchvision, modern detectors).
    Continuous,
    /// Width = x2 - x1 + 1 (inclusive pixel indices; Caffe / Detectron1 legacy).
    PlusOne,
}

impl PixelConvention {
    fn offset(self) -> f64 {
        match self {
            PixelConvention::Continuous => 0.0,
            PixelConvention::PlusOne => 1.0,
        }
    }
}

/// Rounding of decoded coordinates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CoordinateRounding {
    None,
    Nearest,
    Floor,
}

impl CoordinateRounding {
    fn apply(self, v: f64) -> f64 {
        match self {
            CoordinateRounding::None => v,
            CoordinateRounding::Nearest => v.round(),
            CoordinateRounding::Floor => v.floor(),
        }
    }
}

/// Decodes R-CNN style deltas `(dx, dy, dw, dh)` against an anchor `[x1, y1, x2, y2]`.
pub fn decode(anchor: [f64; 4], deltas: [f64; 4], pixels: PixelConvention, rounding: CoordinateRounding) -> [f64; 4] {
    let offset = pixels.offset();
    let w = anchor[2] - anchor[0] + offset;
    let h = anchor[3] - anchor[1] + offset;
    let cx = anchor[0] + 0.5 * w;
    let cy = anchor[1] + 0.5 * h;
    let (pcx, pcy) = (deltas[0] * w + cx, deltas[1] * h + cy);
    let (pw, ph) = (deltas[2].exp() * w, deltas[3].exp() * h);
    [
        pcx - 0.5 * pw,
        pcy - 0.5 * ph,
        pcx + 0.5 * pw - offset,
        pcy + 0.5 * ph - offset,
    ]
    .map(|v| rounding.apply(v))
}

/// The expected value of a distance distribution (Generalized Focal Loss' "integral", as
/// NanoDet decodes each box side): softmax over the bin logits, then `Σ p_i · i`, in bins.
pub fn distribution_distance(logits: &[f64]) -> f64 {
    let max = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let (mut total, mut weighted) = (0.0, 0.0);
    for (i, logit) in logits.iter().enumerate() {
        let p = (logit - max).exp();
        total += p;
        weighted += p * i as f64;
    }
    if total > 0.0 { weighted / total } else { 0.0 }
}

/// Decodes an anchor-free (FCOS / GFL / NanoDet) box: `distances` = (left, top, right, bottom)
/// from the `centre`, both in the model's input pixels. The box is `[cx − l, cy − t, cx + r,
/// cy + b]`; under the `+1` convention the far corner is an inclusive pixel index (`cx + r − 1`).
/// Coordinates are clipped to the input (`bounds`: its width and height; the last pixel index
/// under `+1`), scaled by `scale` (x, y: image size over input size), and `rounding` applies to
/// the scaled coordinates, as a deployment writing integer pixel boxes of the image does.
pub fn decode_distances(
    centre: [f64; 2],
    distances: [f64; 4],
    bounds: [f64; 2],
    scale: [f64; 2],
    pixels: PixelConvention,
    rounding: CoordinateRounding,
) -> [f64; 4] {
    let offset = pixels.offset();
    let clip = |v: f64, axis: usize| v.clamp(0.0, (bounds[axis] - offset).max(0.0)) * scale[axis];
    [
        clip(centre[0] - distances[0], 0),
        clip(centre[1] - distances[1], 1),
        clip(centre[0] + distances[2] - offset, 0),
        clip(centre[1] + distances[3] - offset, 1),
    ]
    .map(|v| rounding.apply(v))
}

/// How the candidates that enter NMS are chosen from one feature level's scores.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct PreNms {
    /// A (location, class) pair is a candidate when its score is at least this.
    pub score_threshold: f64,
    /// At most this many per level.
    pub top_k: usize,
    /// `false` (mmdetection ≥ 2.18's `filter_scores_and_topk`): every pair at or above the
    /// threshold, then the `top_k` best pairs. `true` (NanoDet's own `get_bboxes`, mmdetection
    /// before 2.18): the `top_k` locations with the best class score first, then every pair of
    /// theirs at or above the threshold. The two differ when a level has more than `top_k`
    /// candidates: pairs against locations.
    pub top_k_before_threshold: bool,
}

/// The candidates of one level whose scores are `[locations, classes]` row-major: (location,
/// class) pairs, best score first (ties: lower location, then lower class first).
pub fn select_candidates(scores: &[f64], classes: usize, config: &PreNms) -> Vec<(usize, usize)> {
    let classes = classes.max(1);
    let locations = scores.len() / classes;
    let score = |(location, class): (usize, usize)| scores[location * classes + class];
    let best_first = |a: &(usize, usize), b: &(usize, usize)| score(*b).total_cmp(&score(*a)).then(a.cmp(b));
    let mut pairs: Vec<(usize, usize)> = if config.top_k_before_threshold {
        let best = |location: usize| {
            scores[location * classes..(location + 1) * classes]
                .iter()
                .copied()
                .fold(f64::NEG_INFINITY, f64::max)
        };
        let mut order: Vec<usize> = (0..locations).collect();
        order.sort_by(|&a, &b| best(b).total_cmp(&best(a)).then(a.cmp(&b)));
        order.truncate(config.top_k);
        order
            .into_iter()
            .flat_map(|location| (0..classes).map(move |class| (location, class)))
            .filter(|&pair| score(pair) >= config.score_threshold)
            .collect()
    } else {
        let mut pairs: Vec<(usize, usize)> = (0..locations)
            .flat_map(|location| (0..classes).map(move |class| (location, class)))
            .filter(|&pair| score(pair) >= config.score_threshold)
            .collect();
        pairs.sort_by(best_first);
        pairs.truncate(config.top_k);
        pairs
    };
    pairs.sort_by(best_first);
    pairs
}

/// Intersection over union under a pixel convention.
pub fn iou(a: &Detection, b: &Detection, pixels: PixelConvention) -> f64 {
    let offset = pixels.offset();
    let area = |d: &Detection| ((d.x2 - d.x1 + offset).max(0.0)) * ((d.y2 - d.y1 + offset).max(0.0));
    let iw = (a.x2.min(b.x2) - a.x1.max(b.x1) + offset).max(0.0);
    let ih = (a.y2.min(b.y2) - a.y1.max(b.y1) + offset).max(0.0);
    let inter = iw * ih;
    let union = area(a) + area(b) - inter;
    if union > 0.0 { inter / union } else { 0.0 }
}

/// When an overlap suppresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Suppress {
    /// IoU > threshold (torchvision, ONNX NonMaxSuppression).
    Above,
    /// IoU >= threshold.
    AtOrAbove,
}

/// One NMS configuration.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Nms {
    pub iou_threshold: f64,
    pub score_threshold: f64,
    pub pixels: PixelConvention,
    pub suppress: Suppress,
    /// Boxes of different classes never suppress each other.
    pub class_aware: bool,
    /// At most this many detections are kept (highest scores first).
    pub max_detections: usize,
}

/// Greedy NMS: indices of the kept detections, best score first (ties: lower index first).
pub fn nms(detections: &[Detection], config: &Nms) -> Vec<usize> {
    let mut order: Vec<usize> = (0..detections.len())
        .filter(|&i| detections[i].score >= config.score_threshold)
        .collect();
    order.sort_by(|&a, &b| detections[b].score.total_cmp(&detections[a].score).then(a.cmp(&b)));
    let mut kept: Vec<usize> = Vec::new();
    for i in order {
        if kept.len() >= config.max_detections {
            break;
        }
        let suppressed = kept.iter().any(|&k| {
            let same_class = detections[k].class == detections[i].class;
            let overlap = iou(&detections[k], &detections[i], config.pixels);
            (!config.class_aware || same_class)
                && match config.suppress {
                    Suppress::Above => overlap > config.iou_threshold,
                    Suppress::AtOrAbove => overlap >= config.iou_threshold,
                }
        });
        if !suppressed {
            kept.push(i);
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

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

    const BASE: Nms = Nms {
        iou_threshold: 0.5,
        score_threshold: 0.0,
        pixels: PixelConvention::Continuous,
        suppress: Suppress::Above,
        class_aware: true,
        max_detections: 100,
    };

    #[test]
    fn iou_by_hand_with_and_without_the_plus_one() {
        let a = det(0.0, 0.0, 10.0, 10.0, 1.0, 0);
        let b = det(5.0, 0.0, 15.0, 10.0, 1.0, 0);
        // Continuous: 50 / (100 + 100 - 50) = 1/3. Inclusive pixels: 6 * 11 = 66 over
        // 121 + 121 - 66 = 176 → 0.375.
        assert_eq!(iou(&a, &b, PixelConvention::Continuous), 1.0 / 3.0);
        assert_eq!(iou(&a, &b, PixelConvention::PlusOne), 0.375);
    }

    #[test]
    fn the_comparison_decides_an_overlap_exactly_at_the_threshold() {
        let boxes = [det(0.0, 0.0, 10.0, 10.0, 0.9, 0), det(5.0, 0.0, 15.0, 10.0, 0.8, 0)];
        let at = Nms {
            iou_threshold: 1.0 / 3.0,
            ..BASE
        };
        assert_eq!(nms(&boxes, &at), vec![0, 1]);
        let at_or_above = Nms {
            suppress: Suppress::AtOrAbove,
            ..at
        };
        assert_eq!(nms(&boxes, &at_or_above), vec![0]);
        // With +1 the same boxes overlap 0.375 > 1/3: suppressed either way.
        let plus_one = Nms {
            pixels: PixelConvention::PlusOne,
            ..at
        };
        assert_eq!(nms(&boxes, &plus_one), vec![0]);
    }

    #[test]
    fn class_aware_nms_keeps_overlapping_boxes_of_other_classes() {
        let boxes = [det(0.0, 0.0, 10.0, 10.0, 0.9, 0), det(1.0, 1.0, 10.0, 10.0, 0.8, 1)];
        assert_eq!(nms(&boxes, &BASE), vec![0, 1]);
        let agnostic = Nms {
            class_aware: false,
            ..BASE
        };
        assert_eq!(nms(&boxes, &agnostic), vec![0]);
    }

    #[test]
    fn score_threshold_and_cap() {
        let boxes = [
            det(0.0, 0.0, 1.0, 1.0, 0.3, 0),
            det(2.0, 2.0, 3.0, 3.0, 0.9, 0),
            det(4.0, 4.0, 5.0, 5.0, 0.7, 0),
        ];
        let config = Nms {
            score_threshold: 0.5,
            max_detections: 1,
            ..BASE
        };
        assert_eq!(nms(&boxes, &config), vec![1]);
        assert_eq!(
            nms(
                &boxes,
                &Nms {
                    max_detections: 5,
                    ..config
                }
            ),
            vec![1, 2]
        );
    }

    #[test]
    fn decoding_by_hand() {
        // Anchor [0, 0, 9, 9] with zero deltas: continuous width 9 gives the anchor back; the
        // +1 convention (width 10, centre 5) gives it back too, and the conventions differ
        // once the box is scaled: dw = ln 2 doubles the width around the centre.
        let anchor = [0.0, 0.0, 9.0, 9.0];
        assert_eq!(
            decode(anchor, [0.0; 4], PixelConvention::Continuous, CoordinateRounding::None),
            anchor
        );
        assert_eq!(
            decode(anchor, [0.0; 4], PixelConvention::PlusOne, CoordinateRounding::None),
            anchor
        );
        let ln2 = std::f64::consts::LN_2;
        let continuous = decode(
            anchor,
            [0.0, 0.0, ln2, ln2],
            PixelConvention::Continuous,
            CoordinateRounding::None,
        );
        let plus_one = decode(
            anchor,
            [0.0, 0.0, ln2, ln2],
            PixelConvention::PlusOne,
            CoordinateRounding::None,
        );
        // Continuous: centre 4.5, width 18 → [-4.5, 13.5]. +1: centre 5, width 20 → [-5, 14].
        assert!((continuous[0] + 4.5).abs() < 1e-12 && (continuous[2] - 13.5).abs() < 1e-12);
        assert!((plus_one[0] + 5.0).abs() < 1e-12 && (plus_one[2] - 14.0).abs() < 1e-12);
        let rounded = decode(
            anchor,
            [0.0, 0.0, ln2, ln2],
            PixelConvention::Continuous,
            CoordinateRounding::Floor,
        );
        assert_eq!(rounded[0], -5.0);
    }

    #[test]
    fn distribution_distance_is_the_expected_bin() {
        // Equal logits: the mean of 0..=10 is 5. All the mass on bin 3: 3. Two equal peaks at
        // bins 2 and 3: 2.5.
        assert!((distribution_distance(&[0.0; 11]) - 5.0).abs() < 1e-12);
        let mut one = [-1000.0; 11];
        one[3] = 0.0;
        assert_eq!(distribution_distance(&one), 3.0);
        let mut two = [-1000.0; 11];
        two[2] = 5.0;
        two[3] = 5.0;
        assert_eq!(distribution_distance(&two), 2.5);
        // Softmax by hand over two bins: logits (0, ln 3) → p = (1/4, 3/4) → 0.75.
        assert!((distribution_distance(&[0.0, 3f64.ln()]) - 0.75).abs() < 1e-12);
    }

    #[test]
    fn distance_decoding_by_hand() {
        // Cell (x 1, y 2) at stride 8: centre (12, 20); distances (1, 2, 3, 4) bins × 8.
        let centre = [12.0, 20.0];
        let d = [8.0, 16.0, 24.0, 32.0];
        let input = [416.0, 416.0];
        let none = CoordinateRounding::None;
        let decode =
            |centre, bounds, scale, pixels, rounding| decode_distances(centre, d, bounds, scale, pixels, rounding);
        assert_eq!(
            decode(centre, input, [1.0, 1.0], PixelConvention::Continuous, none),
            [4.0, 4.0, 36.0, 52.0]
        );
        // Inclusive pixels: the far corner is the last pixel, one less.
        assert_eq!(
            decode(centre, input, [1.0, 1.0], PixelConvention::PlusOne, none),
            [4.0, 4.0, 35.0, 51.0]
        );
        // Scaled to an image half as wide and twice as tall.
        assert_eq!(
            decode(centre, input, [0.5, 2.0], PixelConvention::Continuous, none),
            [2.0, 8.0, 18.0, 104.0]
        );
        // Clipped to a 30 × 40 input: x2 36 → 30 (continuous) or 29 (the last pixel under +1),
        // y2 52 → 40 or 39; near the origin x1 12 − 24 → 0.
        assert_eq!(
            decode(centre, [30.0, 40.0], [1.0, 1.0], PixelConvention::Continuous, none),
            [4.0, 4.0, 30.0, 40.0]
        );
        assert_eq!(
            decode(centre, [30.0, 40.0], [1.0, 1.0], PixelConvention::PlusOne, none),
            [4.0, 4.0, 29.0, 39.0]
        );
        assert_eq!(
            decode_distances(
                centre,
                [24.0, 0.0, 0.0, 0.0],
                input,
                [1.0, 1.0],
                PixelConvention::Continuous,
                none
            )[0],
            0.0
        );
        // Centre x 13.5, scale ½: x1 = (13.5 − 8) / 2 = 2.75, x2 = (13.5 + 24) / 2 = 18.75,
        // rounded in the image.
        for (rounding, x1, x2) in [
            (none, 2.75, 18.75),
            (CoordinateRounding::Nearest, 3.0, 19.0),
            (CoordinateRounding::Floor, 2.0, 18.0),
        ] {
            let r = decode([13.5, 20.0], input, [0.5, 1.0], PixelConvention::Continuous, rounding);
            assert_eq!((r[0], r[2]), (x1, x2), "{rounding:?}");
        }
    }

    #[test]
    fn top_k_before_or_after_the_threshold() {
        // Three locations × two classes, k = 2. Threshold first: the two best pairs. Top-k
        // first: the two best locations (0 with 0.9, 1 with 0.7), then all their pairs ≥ 0.05.
        let scores = [0.9, 0.8, 0.7, 0.0, 0.06, 0.5];
        let after = PreNms {
            score_threshold: 0.05,
            top_k: 2,
            top_k_before_threshold: false,
        };
        assert_eq!(select_candidates(&scores, 2, &after), vec![(0, 0), (0, 1)]);
        let before = PreNms {
            top_k_before_threshold: true,
            ..after
        };
        assert_eq!(select_candidates(&scores, 2, &before), vec![(0, 0), (0, 1), (1, 0)]);
        // Without a cap that bites, both give every pair above the threshold, best first.
        for top_k_before_threshold in [false, true] {
            let all = PreNms {
                top_k: 10,
                top_k_before_threshold,
                ..after
            };
            assert_eq!(
                select_candidates(&scores, 2, &all),
                vec![(0, 0), (0, 1), (1, 0), (2, 1), (2, 0)]
            );
        }
    }
}
