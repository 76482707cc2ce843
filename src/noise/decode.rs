//! Decoder noise: the same JPEG bytes decoded by different decoders (IDCT precision, chroma
//! upsampling, colour conversion rounding) give different pixels. Pure-Rust decoders here
//! (zune-jpeg, jpeg-decoder); libjpeg-turbo (what Pillow and OpenCV use) is the comparison
//! the tests make through the real Pillow.

use ndarray::{Array3, ArrayView3};
use serde::{Deserialize, Serialize};

use crate::error::EngineError;

/// A JPEG decoder.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Decoder {
    /// zune-jpeg (SIMD IDCT and upsampling).
    ZuneJpeg,
    /// jpeg-decoder (the `image` crate's historical decoder).
    JpegDecoder,
}

impl Decoder {
    pub const ALL: [Decoder; 2] = [Decoder::ZuneJpeg, Decoder::JpegDecoder];

    pub fn name(self) -> &'static str {
        match self {
            Decoder::ZuneJpeg => "zune-jpeg",
            Decoder::JpegDecoder => "jpeg-decoder",
        }
    }
}

fn decode_error(decoder: Decoder, what: &str, e: impl std::fmt::Display) -> EngineError {
    EngineError::Input(format!("{what}: {} cannot decode it: {e}", decoder.name()))
}

/// Decodes `jpeg` (named `what` in errors) to RGB, height × width × 3.
pub fn decode_rgb(jpeg: &[u8], decoder: Decoder, what: &str) -> Result<Array3<u8>, EngineError> {
    let (width, height, pixels) = match decoder {
        Decoder::ZuneJpeg => {
            use zune_jpeg::zune_core::bytestream::ZCursor;
            use zune_jpeg::zune_core::colorspace::ColorSpace;
            use zune_jpeg::zune_core::options::DecoderOptions;
            let options = DecoderOptions::default().jpeg_set_out_colorspace(ColorSpace::RGB);
            let mut d = zune_jpeg::JpegDecoder::new_with_options(ZCursor::new(jpeg), options);
            let pixels = d.decode().map_err(|e| decode_error(decoder, what, format!("{e:?}")))?;
            let info = d.info().ok_or_else(|| decode_error(decoder, what, "no image header"))?;
            (usize::from(info.width), usize::from(info.height), pixels)
        }
        Decoder::JpegDecoder => {
            let mut d = jpeg_decoder::Decoder::new(jpeg);
            let pixels = d.decode().map_err(|e| decode_error(decoder, what, e))?;
            let info = d.info().ok_or_else(|| decode_error(decoder, what, "no image header"))?;
            let pixels = match info.pixel_format {
                jpeg_decoder::PixelFormat::RGB24 => pixels,
                jpeg_decoder::PixelFormat::L8 => pixels.iter().flat_map(|&v| [v, v, v]).collect(),
                other => return Err(decode_error(decoder, what, format!("pixel format {other:?}"))),
            };
            (usize::from(info.width), usize::from(info.height), pixels)
        }
    };
    Array3::from_shape_vec((height, width, 3), pixels)
        .map_err(|e| decode_error(decoder, what, format!("{width}×{height} RGB expected: {e}")))
}

/// How far two decodes of the same image are apart.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PixelDifference {
    /// Largest absolute difference of one channel value.
    pub max: u8,
    /// Mean absolute difference over every channel value.
    pub mean: f64,
    /// Share of channel values that differ at all.
    pub differing: f64,
}

/// The difference between two images of the same size.
pub fn difference(a: ArrayView3<u8>, b: ArrayView3<u8>) -> PixelDifference {
    assert_eq!(a.dim(), b.dim(), "images of different sizes");
    let (mut max, mut sum, mut differing) = (0u8, 0u64, 0usize);
    for (&x, &y) in a.iter().zip(b.iter()) {
        let d = x.abs_diff(y);
        max = max.max(d);
        sum += u64::from(d);
        differing += usize::from(d != 0);
    }
    let n = a.len().max(1) as f64;
    PixelDifference {
        max,
        mean: sum as f64 / n,
        differing: differing as f64 / n,
    }
}
