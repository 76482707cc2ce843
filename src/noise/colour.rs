//! Colour noise: RGB → YUV 4:2:0 (NV12) → RGB round trips as camera and video pipelines do them
//! — BT.601 full or limited (studio) range, float or integer (libyuv-style 8-bit fixed point)
//! formulas, chroma subsampling by 2×2 average or by the top-left sample, and chroma upsampling
//! by replication or bilinear interpolation (chroma sited at the centre of each 2×2 block).

use ndarray::{Array2, Array3, ArrayView3};
use serde::{Deserialize, Serialize};

/// Luma/chroma range of BT.601.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Range {
    /// Y, Cb, Cr in 0..=255 (JPEG/JFIF).
    Full,
    /// Y in 16..=235, Cb/Cr in 16..=240 (video).
    Limited,
}

/// How the conversion is computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Arithmetic {
    /// f64 matrices, rounded to nearest once.
    Float,
    /// 8-bit fixed point with `(… + 128) >> 8`, as libyuv / most camera ISPs (limited range
    /// only; full range uses the JFIF integer coefficients scaled by 2^16).
    Integer,
}

/// How 2×2 blocks of chroma become one sample.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Subsample {
    Average,
    TopLeft,
}

/// How one chroma sample covers its 2×2 block again.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Upsample {
    Replicate,
    Bilinear,
}

/// One colour round-trip configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColourPipeline {
    pub range: Range,
    pub arithmetic: Arithmetic,
    pub subsample: Subsample,
    pub upsample: Upsample,
}

fn clamp_u8(v: f64) -> u8 {
    v.round().clamp(0.0, 255.0) as u8
}

fn clamp_i32(v: i32) -> u8 {
    v.clamp(0, 255) as u8
}

/// One pixel to (Y, Cb, Cr).
pub fn rgb_to_ycbcr(rgb: [u8; 3], range: Range, arithmetic: Arithmetic) -> [u8; 3] {
    let [r, g, b] = rgb.map(i32::from);
    match (range, arithmetic) {
        (Range::Limited, Arithmetic::Integer) => [
            clamp_i32(((66 * r + 129 * g + 25 * b + 128) >> 8) + 16),
            clamp_i32(((-38 * r - 74 * g + 112 * b + 128) >> 8) + 128),
            clamp_i32(((112 * r - 94 * g - 18 * b + 128) >> 8) + 128),
        ],
        (Range::Full, Arithmetic::Integer) => [
            clamp_i32((19595 * r + 38470 * g + 7471 * b + 32768) >> 16),
            clamp_i32(((-11059 * r - 21709 * g + 32768 * b + 32768) >> 16) + 128),
            clamp_i32(((32768 * r - 27439 * g - 5329 * b + 32768) >> 16) + 128),
        ],
        (Range::Full, Arithmetic::Float) => {
            let (r, g, b) = (f64::from(r), f64::from(g), f64::from(b));
            [
                clamp_u8(0.299 * r + 0.587 * g + 0.114 * b),
                clamp_u8(-0.168_736 * r - 0.331_264 * g + 0.5 * b + 128.0),
                clamp_u8(0.5 * r - 0.418_688 * g - 0.081_312 * b + 128.0),
            ]
        }
        (Range::Limited, Arithmetic::Float) => {
            let (r, g, b) = (f64::from(r), f64::from(g), f64::from(b));
            [
                clamp_u8(16.0 + (65.481 * r + 128.553 * g + 24.966 * b) / 255.0),
                clamp_u8(128.0 + (-37.797 * r - 74.203 * g + 112.0 * b) / 255.0),
                clamp_u8(128.0 + (112.0 * r - 93.786 * g - 18.214 * b) / 255.0),
            ]
        }
    }
}

/// (Y, Cb, Cr) back to RGB.
pub fn ycbcr_to_rgb(ycc: [u8; 3], range: Range, arithmetic: Arithmetic) -> [u8; 3] {
    let [y, cb, cr] = ycc.map(i32::from);
    match (range, arithmetic) {
        (Range::Limited, Arithmetic::Integer) => {
            let (c, d, e) = (y - 16, cb - 128, cr - 128);
            [
                clamp_i32((298 * c + 409 * e + 128) >> 8),
                clamp_i32((298 * c - 100 * d - 208 * e + 128) >> 8),
                clamp_i32((298 * c + 516 * d + 128) >> 8),
            ]
        }
        (Range::Full, Arithmetic::Integer) => {
            let (d, e) = (cb - 128, cr - 128);
            let y = y << 16;
            [
                clamp_i32((y + 91881 * e + 32768) >> 16),
                clamp_i32((y - 22554 * d - 46802 * e + 32768) >> 16),
                clamp_i32((y + 116130 * d + 32768) >> 16),
            ]
        }
        (Range::Full, Arithmetic::Float) => {
            let (y, d, e) = (f64::from(y), f64::from(cb) - 128.0, f64::from(cr) - 128.0);
            [
                clamp_u8(y + 1.402 * e),
                clamp_u8(y - 0.344_136 * d - 0.714_136 * e),
                clamp_u8(y + 1.772 * d),
            ]
        }
        (Range::Limited, Arithmetic::Float) => {
            let y = (f64::from(y) - 16.0) * 255.0 / 219.0;
            let (d, e) = (
                (f64::from(cb) - 128.0) * 255.0 / 224.0,
                (f64::from(cr) - 128.0) * 255.0 / 224.0,
            );
            [
                clamp_u8(y + 1.402 * e),
                clamp_u8(y - 0.344_136 * d - 0.714_136 * e),
                clamp_u8(y + 1.772 * d),
            ]
        }
    }
}

/// An NV12-like frame: full-resolution luma, chroma at half resolution (rounded up).
pub struct Yuv420 {
    pub y: Array2<u8>,
    pub cb: Array2<u8>,
    pub cr: Array2<u8>,
}

/// RGB (height × width × 3) to 4:2:0.
pub fn to_yuv420(rgb: ArrayView3<u8>, pipeline: &ColourPipeline) -> Yuv420 {
    let (h, w, _) = rgb.dim();
    let full: Vec<[u8; 3]> = (0..h * w)
        .map(|i| {
            let (y, x) = (i / w, i % w);
            rgb_to_ycbcr(
                [rgb[[y, x, 0]], rgb[[y, x, 1]], rgb[[y, x, 2]]],
                pipeline.range,
                pipeline.arithmetic,
            )
        })
        .collect();
    let at = |y: usize, x: usize, c: usize| full[y.min(h - 1) * w + x.min(w - 1)][c];
    let (ch, cw) = (h.div_ceil(2), w.div_ceil(2));
    let chroma = |c: usize| {
        Array2::from_shape_fn((ch, cw), |(y, x)| match pipeline.subsample {
            Subsample::TopLeft => at(2 * y, 2 * x, c),
            Subsample::Average => {
                let sum: u32 = [(0, 0), (0, 1), (1, 0), (1, 1)]
                    .iter()
                    .map(|&(dy, dx)| u32::from(at(2 * y + dy, 2 * x + dx, c)))
                    .sum();
                ((sum + 2) / 4) as u8
            }
        })
    };
    Yuv420 {
        y: Array2::from_shape_fn((h, w), |(y, x)| full[y * w + x][0]),
        cb: chroma(1),
        cr: chroma(2),
    }
}

/// A chroma plane brought back to `h × w`.
fn upsample_plane(plane: &Array2<u8>, h: usize, w: usize, how: Upsample) -> Array2<u8> {
    let (ch, cw) = plane.dim();
    match how {
        Upsample::Replicate => Array2::from_shape_fn((h, w), |(y, x)| plane[[y / 2, x / 2]]),
        Upsample::Bilinear => Array2::from_shape_fn((h, w), |(y, x)| {
            // Chroma samples sit at the centre of their 2×2 block: position (x - 0.5) / 2.
            let pos = |v: usize, len: usize| -> (usize, usize, f64) {
                let p = ((v as f64 - 0.5) / 2.0).clamp(0.0, (len - 1) as f64);
                let lo = p.floor() as usize;
                (lo, (lo + 1).min(len - 1), p - lo as f64)
            };
            let (y0, y1, fy) = pos(y, ch);
            let (x0, x1, fx) = pos(x, cw);
            let v = |yy: usize, xx: usize| f64::from(plane[[yy, xx]]);
            let top = v(y0, x0) * (1.0 - fx) + v(y0, x1) * fx;
            let bottom = v(y1, x0) * (1.0 - fx) + v(y1, x1) * fx;
            clamp_u8(top * (1.0 - fy) + bottom * fy)
        }),
    }
}

/// 4:2:0 back to RGB.
pub fn from_yuv420(frame: &Yuv420, pipeline: &ColourPipeline) -> Array3<u8> {
    let (h, w) = frame.y.dim();
    let cb = upsample_plane(&frame.cb, h, w, pipeline.upsample);
    let cr = upsample_plane(&frame.cr, h, w, pipeline.upsample);
    let mut out = Array3::<u8>::zeros((h, w, 3));
    for y in 0..h {
        for x in 0..w {
            let rgb = ycbcr_to_rgb(
                [frame.y[[y, x]], cb[[y, x]], cr[[y, x]]],
                pipeline.range,
                pipeline.arithmetic,
            );
            for c in 0..3 {
                out[[y, x, c]] = rgb[c];
            }
        }
    }
    out
}

/// The round trip RGB → 4:2:0 → RGB.
pub fn round_trip(rgb: ArrayView3<u8>, pipeline: &ColourPipeline) -> Array3<u8> {
    from_yuv420(&to_yuv420(rgb, pipeline), pipeline)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL_FORMULAS: [(Range, Arithmetic); 4] = [
        (Range::Full, Arithmetic::Float),
        (Range::Full, Arithmetic::Integer),
        (Range::Limited, Arithmetic::Float),
        (Range::Limited, Arithmetic::Integer),
    ];

    #[test]
    fn white_and_black_map_to_the_range_ends_and_neutral_chroma() {
        // Hand-computed: white is Y 255 (full) / 235 (limited), black 0 / 16, chroma 128.
        for (range, arithmetic) in ALL_FORMULAS {
            let (white, black) = match range {
                Range::Full => (255, 0),
                Range::Limited => (235, 16),
            };
            assert_eq!(
                rgb_to_ycbcr([255; 3], range, arithmetic),
                [white, 128, 128],
                "{range:?} {arithmetic:?}"
            );
            assert_eq!(
                rgb_to_ycbcr([0; 3], range, arithmetic),
                [black, 128, 128],
                "{range:?} {arithmetic:?}"
            );
            assert_eq!(ycbcr_to_rgb([white, 128, 128], range, arithmetic), [255; 3]);
            assert_eq!(ycbcr_to_rgb([black, 128, 128], range, arithmetic), [0; 3]);
        }
    }

    #[test]
    fn pure_red_by_hand() {
        // Full range float: Y = 0.299 * 255 = 76.245 → 76; Cb = 128 - 0.168736 * 255 = 84.97 → 85;
        // Cr = 128 + 127.5 = 255.5 → 255 (clamped).
        assert_eq!(rgb_to_ycbcr([255, 0, 0], Range::Full, Arithmetic::Float), [76, 85, 255]);
        // Limited integer: Y = ((66 * 255 + 128) >> 8) + 16 = (16958 >> 8) + 16 = 66 + 16 = 82;
        // Cb = ((-38 * 255 + 128) >> 8) + 128 = (-9562 >> 8) + 128 = -38 + 128 = 90;
        // Cr = ((112 * 255 + 128) >> 8) + 128 = (28688 >> 8) + 128 = 112 + 128 = 240.
        assert_eq!(
            rgb_to_ycbcr([255, 0, 0], Range::Limited, Arithmetic::Integer),
            [82, 90, 240]
        );
    }

    #[test]
    fn a_flat_colour_survives_every_round_trip_within_two_levels() {
        let image = Array3::from_shape_fn((6, 5, 3), |(_, _, c)| [200u8, 90, 30][c]);
        for (range, arithmetic) in ALL_FORMULAS {
            for subsample in [Subsample::Average, Subsample::TopLeft] {
                for upsample in [Upsample::Replicate, Upsample::Bilinear] {
                    let p = ColourPipeline {
                        range,
                        arithmetic,
                        subsample,
                        upsample,
                    };
                    let back = round_trip(image.view(), &p);
                    let worst = back
                        .iter()
                        .zip(image.iter())
                        .map(|(&a, &b)| (i16::from(a) - i16::from(b)).abs())
                        .max()
                        .unwrap();
                    assert!(worst <= 2, "{p:?}: {worst}");
                }
            }
        }
    }

    #[test]
    fn chroma_subsampling_blurs_a_colour_edge() {
        // A red/blue edge inside a 2×2 block: averaging mixes the chroma, so the round trip
        // changes colours that full-resolution chroma would keep.
        let image = Array3::from_shape_fn(
            (2, 2, 3),
            |(_, x, c)| if x == 0 { [255, 0, 0][c] } else { [0, 0, 255][c] },
        );
        let p = ColourPipeline {
            range: Range::Full,
            arithmetic: Arithmetic::Float,
            subsample: Subsample::Average,
            upsample: Upsample::Replicate,
        };
        let back = round_trip(image.view(), &p);
        assert_ne!(back, image);
        let top_left = ColourPipeline {
            subsample: Subsample::TopLeft,
            ..p
        };
        assert_ne!(
            round_trip(image.view(), &top_left),
            back,
            "the subsampling choice matters"
        );
    }
}
