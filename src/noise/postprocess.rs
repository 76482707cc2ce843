//! Post-processing noise for detectors: box decoding with or without the legacy `+1` pixel
//! offset and with coordinate rounding, and non-maximum suppression variants (IoU with or
//! without `+1`, suppress on `>` or `>=`, class-aware or class-agnostic, a cap on detections).

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
}
