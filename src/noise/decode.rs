//! Decoder noise: the same JPEG bytes decoded by different decoders give different pixels.
//!
//! The differences come from the IDCT method, chroma upsampling and colour conversion
//! rounding. The decoders: libjpeg-turbo's (through MozJPEG) with each of its IDCTs and with
//! fancy upsampling on or off, and the pure-Rust zune-jpeg and jpeg-decoder. [`TRAINING`]
//! (libjpeg-turbo, ISLOW IDCT, fancy upsampling) is Pillow's and OpenCV's decoder, so the
//! usual training pipeline's; the tests check it against the real Pillow bit for bit. The
//! others are what a serving system may decode with instead.

use ndarray::{Array3, ArrayView3};
use serde::{Deserialize, Serialize};

use crate::error::EngineError;

/// A JPEG decoder.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Decoder {
    /// libjpeg-turbo's decoder (MozJPEG v4, built without SIMD, which is bit-exact with it),
    /// accurate integer IDCT (`JDCT_ISLOW`), fancy (triangle-filter) chroma upsampling:
    /// libjpeg's defaults, and what Pillow and OpenCV decode with.
    LibjpegIslow,
    /// libjpeg-turbo, fast integer IDCT (`JDCT_IFAST`, 8-bit multiplier precision), fancy
    /// upsampling.
    LibjpegIfast,
    /// libjpeg-turbo, floating-point IDCT (`JDCT_FLOAT`), fancy upsampling.
    LibjpegFloat,
    /// libjpeg-turbo, accurate integer IDCT, chroma upsampled by pixel replication (merged
    /// with the colour conversion for 4:2:0 and 4:2:2): `do_fancy_upsampling = FALSE`.
    LibjpegIslowNofancy,
    /// zune-jpeg (SIMD IDCT and upsampling).
    ZuneJpeg,
    /// jpeg-decoder (the `image` crate's historical decoder).
    JpegDecoder,
}

/// The training system's decoder: Pillow's (`Image.open(f).convert("RGB")`), which is
/// libjpeg-turbo with its defaults, ISLOW IDCT and fancy upsampling.
pub const TRAINING: Decoder = Decoder::LibjpegIslow;

impl Decoder {
    /// Every decoder, the training one ([`TRAINING`]) first.
    pub const ALL: [Decoder; 6] = [
        Decoder::LibjpegIslow,
        Decoder::LibjpegIfast,
        Decoder::LibjpegFloat,
        Decoder::LibjpegIslowNofancy,
        Decoder::ZuneJpeg,
        Decoder::JpegDecoder,
    ];

    /// The decoder's name, as serialized.
    pub fn name(self) -> &'static str {
        match self {
            Decoder::LibjpegIslow => "libjpeg-islow",
            Decoder::LibjpegIfast => "libjpeg-ifast",
            Decoder::LibjpegFloat => "libjpeg-float",
            Decoder::LibjpegIslowNofancy => "libjpeg-islow-nofancy",
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
        Decoder::LibjpegIslow => libjpeg(jpeg, decoder, what, mozjpeg::DctMethod::IntegerSlow, true)?,
        Decoder::LibjpegIfast => libjpeg(jpeg, decoder, what, mozjpeg::DctMethod::IntegerFast, true)?,
        Decoder::LibjpegFloat => libjpeg(jpeg, decoder, what, mozjpeg::DctMethod::Float, true)?,
        Decoder::LibjpegIslowNofancy => libjpeg(jpeg, decoder, what, mozjpeg::DctMethod::IntegerSlow, false)?,
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

/// Decodes with libjpeg-turbo (MozJPEG), returning width, height and RGB pixels. libjpeg
/// reports fatal errors by unwinding (mozjpeg's error manager), caught here. Its warnings are
/// silenced and do not fail the decode: a truncated file decodes, what is missing filled in
/// (grey rows of a baseline file), as djpeg does; Pillow refuses it unless
/// `ImageFile.LOAD_TRUNCATED_IMAGES`.
fn libjpeg(
    jpeg: &[u8],
    decoder: Decoder,
    what: &str,
    dct: mozjpeg::DctMethod,
    fancy_upsampling: bool,
) -> Result<(usize, usize, Vec<u8>), EngineError> {
    let decode = || -> std::io::Result<(usize, usize, Vec<u8>)> {
        let mut d = mozjpeg::Decompress::new_mem(jpeg)?;
        d.dct_method(dct);
        d.do_fancy_upsampling(fancy_upsampling);
        // Grayscale comes out as RGB with the value repeated (libjpeg's gray → RGB).
        let mut started = d.rgb()?;
        let (width, height) = (started.width(), started.height());
        let pixels = started.read_scanlines::<u8>()?;
        started.finish()?;
        Ok((width, height, pixels))
    };
    match std::panic::catch_unwind(decode) {
        Ok(Ok(decoded)) => Ok(decoded),
        Ok(Err(e)) => Err(decode_error(decoder, what, e)),
        Err(payload) => {
            let message = payload
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| payload.downcast_ref::<&str>().copied())
                .unwrap_or("libjpeg fatal error");
            Err(decode_error(decoder, what, message))
        }
    }
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
