//! ONNX Resize's coordinate arithmetic (the spec's `coordinate_transformation_mode` and
//! `nearest_mode`, in f64), shared by the reference interpreter, which samples with it, and the
//! adapters that check a runtime kernel's sampling against it before using the kernel.

/// One resized axis: its input and output lengths, the scale the coordinate transforms divide
/// by, the spec's `length_resized` (the fractional `length * scale` when resizing by scales, the
/// output length when by sizes) and its region of interest (used by `tf_crop_and_resize` only).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ResizeAxis {
    pub in_len: usize,
    pub out_len: usize,
    pub scale: f64,
    pub resized_len: f64,
    pub roi: (f64, f64),
}

impl ResizeAxis {
    /// An axis resized by `scale`: `floor(length * scale)` samples. (The spec's prose multiplies
    /// by the roi's extent too, but its own shape inference, its reference implementation and
    /// onnxruntime do not.)
    pub fn by_scale(in_len: usize, scale: f64, roi: (f64, f64)) -> ResizeAxis {
        ResizeAxis {
            in_len,
            out_len: scaled_len(in_len, scale),
            scale,
            resized_len: in_len as f64 * scale,
            roi,
        }
    }

    /// An axis resized by a `keep_aspect_ratio_policy` scale: `round_half_up(length * scale)`
    /// samples.
    pub fn by_kept_aspect_ratio(in_len: usize, scale: f64, roi: (f64, f64)) -> ResizeAxis {
        let resized_len = in_len as f64 * scale;
        ResizeAxis {
            in_len,
            out_len: (resized_len + 0.5).floor() as usize,
            scale,
            resized_len,
            roi,
        }
    }

    /// An axis resized to `out_len` samples (scale `out_len / in_len`).
    pub fn by_size(in_len: usize, out_len: usize, roi: (f64, f64)) -> ResizeAxis {
        ResizeAxis {
            in_len,
            out_len,
            scale: out_len as f64 / in_len as f64,
            resized_len: out_len as f64,
            roi,
        }
    }

    /// Whether the axis is left as it is (same length, scale 1).
    pub fn unchanged(&self) -> bool {
        self.in_len == self.out_len && self.scale == 1.0
    }

    /// The input index a `nearest` Resize samples for output position `x`, clamped into the
    /// input (`None` where `tf_crop_and_resize` leaves the input and extrapolates).
    pub fn nearest_index(&self, transform: CoordinateTransform, rounding: NearestRounding, x: usize) -> Option<usize> {
        let source = transform.source(x as f64, self);
        if transform == CoordinateTransform::TfCropAndResize && !(0.0..=self.last()).contains(&source) {
            return None;
        }
        Some(self.clamp_index(rounding.round(source, self)))
    }

    /// The last input position, as a coordinate.
    pub fn last(&self) -> f64 {
        self.in_len as f64 - 1.0
    }

    /// An input index clamped into `0..in_len`.
    pub fn clamp_index(&self, i: f64) -> usize {
        i.clamp(0.0, self.last()) as usize
    }
}

/// `floor(length * scale)`, in f32 like the schema's shape inference (so 10 x 0.7f gives 7, not 6).
pub fn scaled_len(len: usize, scale: f64) -> usize {
    ((len as f32) * (scale as f32)).floor().max(0.0) as usize
}

/// How an output coordinate maps to an input coordinate (`coordinate_transformation_mode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CoordinateTransform {
    HalfPixel,
    /// `half_pixel` shifted so a fractional output length (from a scale) stays centred.
    HalfPixelSymmetric,
    /// `half_pixel`, but a resized length <= 1 samples position 0.
    PytorchHalfPixel,
    /// Corner samples of input and output aligned (a one-sample output takes the first sample).
    AlignCorners,
    Asymmetric,
    /// Opset 11 only.
    TfHalfPixelForNn,
    /// Samples the region of interest; coordinates outside the input extrapolate.
    TfCropAndResize,
}

impl CoordinateTransform {
    /// The transform of an attribute value, `None` for an unknown one.
    pub fn from_name(name: &str) -> Option<CoordinateTransform> {
        use CoordinateTransform::*;
        Some(match name {
            "half_pixel" => HalfPixel,
            "half_pixel_symmetric" => HalfPixelSymmetric,
            "pytorch_half_pixel" => PytorchHalfPixel,
            "align_corners" => AlignCorners,
            "asymmetric" => Asymmetric,
            "tf_half_pixel_for_nn" => TfHalfPixelForNn,
            "tf_crop_and_resize" => TfCropAndResize,
            _ => return None,
        })
    }

    /// The input coordinate of output coordinate `x` along axis `a`.
    pub fn source(self, x: f64, a: &ResizeAxis) -> f64 {
        use CoordinateTransform::*;
        let half_pixel = (x + 0.5) / a.scale - 0.5;
        match self {
            HalfPixel => half_pixel,
            HalfPixelSymmetric => {
                let adjustment = a.out_len as f64 / a.resized_len;
                let offset = a.in_len as f64 / 2.0 * (1.0 - adjustment);
                // This association (not offset + half_pixel): ties must round as ORT's do.
                offset + (x + 0.5) / a.scale - 0.5
            }
            PytorchHalfPixel if a.resized_len > 1.0 => half_pixel,
            PytorchHalfPixel => 0.0,
            AlignCorners if a.resized_len > 1.0 => x * a.last() / (a.resized_len - 1.0),
            AlignCorners => 0.0,
            Asymmetric => x / a.scale,
            TfHalfPixelForNn => (x + 0.5) / a.scale,
            TfCropAndResize => {
                let (start, end) = a.roi;
                if a.resized_len > 1.0 {
                    start * a.last() + x * (end - start) * a.last() / (a.resized_len - 1.0)
                } else {
                    0.5 * (start + end) * a.last()
                }
            }
        }
    }
}

/// How a `nearest` Resize picks an input index from an input coordinate (`nearest_mode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NearestRounding {
    /// Round half down.
    RoundPreferFloor,
    /// Round half up.
    RoundPreferCeil,
    Floor,
    Ceil,
    /// Upsample and Resize-10, which have no `nearest_mode`: floor when upsampling an axis, ceil
    /// when downsampling it (what the legacy backend tests expect).
    Legacy,
}

impl NearestRounding {
    /// The rounding of an attribute value, `None` for an unknown one.
    pub fn from_name(name: &str) -> Option<NearestRounding> {
        use NearestRounding::*;
        Some(match name {
            "round_prefer_floor" => RoundPreferFloor,
            "round_prefer_ceil" => RoundPreferCeil,
            "floor" => Floor,
            "ceil" => Ceil,
            _ => return None,
        })
    }

    /// The (unclamped) input index of input coordinate `x` along axis `a`.
    pub fn round(self, x: f64, a: &ResizeAxis) -> f64 {
        use NearestRounding::*;
        let tie = x - x.floor() == 0.5;
        match self {
            RoundPreferFloor if tie => x.floor(),
            RoundPreferCeil if tie => x.ceil(),
            RoundPreferFloor | RoundPreferCeil => x.round(),
            Floor => x.floor(),
            Ceil => x.ceil(),
            Legacy if a.scale < 1.0 => x.ceil(),
            Legacy => x.floor(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use CoordinateTransform::*;
    use NearestRounding::*;

    fn axis(in_len: usize, scale: f64) -> ResizeAxis {
        ResizeAxis::by_scale(in_len, scale, (0.0, 1.0))
    }

    #[test]
    fn coordinate_transforms_differ_as_specified() {
        let up = axis(2, 2.0); // 2 -> 4
        let map = |t: CoordinateTransform| (0..4).map(|x| t.source(x as f64, &up)).collect::<Vec<_>>();
        assert_eq!(map(HalfPixel), vec![-0.25, 0.25, 0.75, 1.25]);
        assert_eq!(map(Asymmetric), vec![0.0, 0.5, 1.0, 1.5]);
        assert_eq!(map(TfHalfPixelForNn), vec![0.25, 0.75, 1.25, 1.75]);
        let third = 1.0 / 3.0;
        assert_eq!(map(AlignCorners), vec![0.0, third, 2.0 * third, 1.0]);
        // align_corners divides by the fractional resized length: 4 x 0.6 = 2.4 samples wanted, 2 produced.
        let down = axis(4, 0.6);
        assert_eq!(down.out_len, 2);
        let corner = AlignCorners.source(1.0, &down);
        assert!((corner - 3.0 / 1.4).abs() < 1e-12, "{corner}");
        // A one-sample output: pytorch_half_pixel and align_corners take the first input sample.
        let single = ResizeAxis::by_size(4, 1, (0.0, 1.0));
        assert_eq!(PytorchHalfPixel.source(0.0, &single), 0.0);
        assert_eq!(AlignCorners.source(0.0, &single), 0.0);
        assert_eq!(HalfPixel.source(0.0, &single), 1.5);
        assert_eq!(CoordinateTransform::from_name("half_pixel"), Some(HalfPixel));
        assert_eq!(CoordinateTransform::from_name("centre"), None);
    }

    #[test]
    fn half_pixel_symmetric_recentres_a_truncated_output() {
        // 4 x 0.6 = 2.4 samples truncated to 2: the output is shifted by 2 x (1 - 2 / 2.4) = 1/3.
        let a = axis(4, 0.6);
        let shift = HalfPixelSymmetric.source(0.0, &a) - HalfPixel.source(0.0, &a);
        assert!((shift - 1.0 / 3.0).abs() < 1e-12, "{shift}");
        // With an exact output length the two agree.
        let exact = axis(4, 0.5);
        assert_eq!(HalfPixelSymmetric.source(1.0, &exact), HalfPixel.source(1.0, &exact));
    }

    #[test]
    fn nearest_roundings_break_ties_as_named() {
        let a = axis(4, 1.0);
        for (x, floor_tie, ceil_tie) in [(2.5, 2.0, 3.0), (-0.5, -1.0, 0.0), (2.4, 2.0, 2.0), (2.6, 3.0, 3.0)] {
            assert_eq!(RoundPreferFloor.round(x, &a), floor_tie, "round_prefer_floor({x})");
            assert_eq!(RoundPreferCeil.round(x, &a), ceil_tie, "round_prefer_ceil({x})");
        }
        assert_eq!((Floor.round(2.9, &a), Ceil.round(2.1, &a)), (2.0, 3.0));
        // Legacy (Upsample / Resize-10): floor when upsampling, ceil when downsampling.
        assert_eq!(Legacy.round(1.5, &axis(4, 2.0)), 1.0);
        assert_eq!(Legacy.round(1.5, &axis(4, 0.5)), 2.0);
        assert_eq!(NearestRounding::from_name("ceil"), Some(Ceil));
    }

    #[test]
    fn nearest_indices_clamp_into_the_input_or_extrapolate() {
        // 2 -> 4, half_pixel: sources -0.25, 0.25, 0.75, 1.25 pick 0, 0, 1, 1.
        let up = axis(2, 2.0);
        let picked: Vec<_> = (0..4)
            .map(|x| up.nearest_index(HalfPixel, RoundPreferFloor, x))
            .collect();
        assert_eq!(picked, [Some(0), Some(0), Some(1), Some(1)]);
        // Cropping [0.5, 1.5] of 3 samples: sources 1, 2, 3; the last lies outside.
        let crop = ResizeAxis::by_size(3, 3, (0.5, 1.5));
        let picked: Vec<_> = (0..3).map(|x| crop.nearest_index(TfCropAndResize, Floor, x)).collect();
        assert_eq!(picked, [Some(1), Some(2), None]);
    }
}
