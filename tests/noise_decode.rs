//! Decoder noise on real JPEGs written by Pillow: every decoder against Pillow's own decode.
//!
//! The JPEGs cover several qualities, chroma subsamplings (4:4:4, 4:2:2, 4:2:0), a progressive
//! file and a grayscale one, of a smooth image with edges and of an odd-sized noisy one.
//! libjpeg-islow must be Pillow bit for bit; the other decoders' differences from it are the
//! measurement (printed with `--nocapture`), bounded by what was measured with a margin.

use crate::common;

use ndarray::Array3;
use sysnoise::noise::decode::{Decoder, PixelDifference, TRAINING, decode_rgb, difference};

/// A smooth gradient with sharp edges (blocks of +50 in every channel).
fn smooth_image(height: usize, width: usize) -> Array3<u8> {
    Array3::from_shape_fn((height, width, 3), |(y, x, c)| {
        let smooth = (x * 200 / width + y * 40 / height + c * 30) as u32;
        let edge = if (x / 9 + y / 7) % 3 == 0 { 50 } else { 0 };
        (smooth + edge).min(255) as u8
    })
}

/// Pseudo-random texture over a colour gradient, at a size that is not a multiple of the MCU
/// (partial blocks, odd chroma widths: the upsampling's edge cases).
fn noisy_image(height: usize, width: usize) -> Array3<u8> {
    Array3::from_shape_fn((height, width, 3), |(y, x, c)| {
        let hash = ((y * 7919 + x * 104_729 + c * 1_299_709) as u32).wrapping_mul(2_654_435_761) >> 24;
        let base = [x * 255 / width, y * 255 / height, 128][c] as u32;
        ((base * 3 + hash) / 4) as u8
    })
}

/// A JPEG written by Pillow and Pillow's RGB decode of it.
struct Golden {
    name: String,
    source: Array3<u8>,
    jpeg: Vec<u8>,
    pillow: Array3<u8>,
}

/// Every variant `pillow_jpeg.py` writes, of both test images.
fn goldens() -> Vec<Golden> {
    let mut goldens = Vec::new();
    for (image_name, image) in [("smooth", smooth_image(48, 64)), ("noisy", noisy_image(37, 53))] {
        let dir = tempfile::tempdir().unwrap();
        common::run_golden_script("pillow_jpeg.py", &image, dir.path(), dir.path());
        let references = sysnoise::npy::read_npz(&dir.path().join("decoded.npz")).unwrap();
        assert_eq!(references.len(), 6);
        for (variant, reference) in references {
            let sysnoise_boundary::Tensor::U8(reference) = reference else {
                panic!("{variant}: not u8")
            };
            let pillow: Array3<u8> = reference.into_dimensionality().unwrap();
            let jpeg = std::fs::read(dir.path().join(format!("{variant}.jpg"))).unwrap();
            // A grayscale JPEG's source is its luma, as Pillow's convert("L") makes it (ITU-R 601-2
            // weights in 16-bit fixed point).
            let source = if variant.contains("gray") {
                let luma = image.map_axis(ndarray::Axis(2), |p| {
                    ((u32::from(p[0]) * 19595 + u32::from(p[1]) * 38470 + u32::from(p[2]) * 7471 + 0x8000) >> 16) as u8
                });
                Array3::from_shape_fn(image.dim(), |(y, x, _)| luma[[y, x]])
            } else {
                image.clone()
            };
            goldens.push(Golden {
                name: format!("{image_name}/{variant}"),
                source,
                jpeg,
                pillow,
            });
        }
    }
    goldens
}

fn report(golden: &str, decoder: Decoder, against: &str, d: &PixelDifference) {
    eprintln!(
        "{golden:15} {:21} vs {against}: max {:3}, mean {:.3}, {:5.1}% of values differ",
        decoder.name(),
        d.max,
        d.mean,
        d.differing * 100.0
    );
}

#[test]
fn libjpeg_islow_decodes_exactly_as_pillow() {
    assert_eq!(TRAINING, Decoder::LibjpegIslow);
    assert_eq!(Decoder::ALL[0], TRAINING);
    for g in goldens() {
        let got = decode_rgb(&g.jpeg, TRAINING, &g.name).unwrap();
        assert_eq!(got.dim(), g.pillow.dim(), "{}", g.name);
        let d = difference(got.view(), g.pillow.view());
        report(&g.name, TRAINING, "Pillow", &d);
        assert_eq!(d.max, 0, "{}: libjpeg-islow is not Pillow bit for bit: {d:?}", g.name);
    }
}

/// How far each decoder may be from Pillow (= libjpeg-islow) on the test JPEGs: the worst over
/// all of them of max, mean and share of differing channel values, as measured (in comments)
/// with a margin.
fn bound(decoder: Decoder) -> PixelDifference {
    let (max, mean, differing) = match decoder {
        Decoder::LibjpegIslow => (0, 0.0, 0.0),
        // Measured 4, 1.015, 67.0% (noisy/q50_420): 8-bit multipliers round every block.
        Decoder::LibjpegIfast => (6, 1.5, 0.8),
        // Measured 3, 0.046, 3.7% (noisy/q90_444): float vs 13-bit fixed point, rarely apart.
        Decoder::LibjpegFloat => (4, 0.1, 0.08),
        // Measured 32, 5.94, 93.8% (noisy 4:2:0; 9, 0.23, 12.5% on the smooth image):
        // replicated instead of interpolated chroma, large where chroma has high frequencies.
        Decoder::LibjpegIslowNofancy => (48, 8.0, 1.0),
        // Measured 4, 0.397, 28.5% (noisy/q50_420).
        Decoder::ZuneJpeg => (6, 0.6, 0.4),
        // Measured 3, 0.225, 16.5% (noisy/q75_422).
        Decoder::JpegDecoder => (5, 0.4, 0.25),
    };
    PixelDifference { max, mean, differing }
}

#[test]
fn every_decoder_stays_close_to_pillow_and_the_differences_are_measured() {
    let goldens = goldens();
    let mut failures = Vec::new();
    for decoder in Decoder::ALL {
        let mut worst = PixelDifference {
            max: 0,
            mean: 0.0,
            differing: 0.0,
        };
        for g in &goldens {
            let got = decode_rgb(&g.jpeg, decoder, &g.name).unwrap();
            assert_eq!(got.dim(), g.pillow.dim(), "{} {}", g.name, decoder.name());
            let d = difference(got.view(), g.pillow.view());
            worst.max = worst.max.max(d.max);
            worst.mean = worst.mean.max(d.mean);
            worst.differing = worst.differing.max(d.differing);
            // Against the source image, every decoder sees about the same compression error
            // (measured: within 0.83 of Pillow's mean error for libjpeg-islow-nofancy on noisy
            // 4:2:0, 0.27 for libjpeg-ifast, under 0.05 for the others); a broken colour
            // conversion would show here.
            let source = difference(got.view(), g.source.view());
            let pillow = difference(g.pillow.view(), g.source.view());
            report(&g.name, decoder, "Pillow", &d);
            eprintln!(
                "{:37} vs source: mean {:.3} (Pillow's {:.3})",
                "", source.mean, pillow.mean
            );
            if (source.mean - pillow.mean).abs() > 1.0 {
                failures.push(format!(
                    "{} {} vs source: {source:?}, Pillow's {pillow:?}",
                    g.name,
                    decoder.name()
                ));
            }
        }
        eprintln!("worst {:21} vs Pillow: {worst:?}", decoder.name());
        let bound = bound(decoder);
        if worst.max > bound.max || worst.mean > bound.mean || worst.differing > bound.differing {
            failures.push(format!("{}: {worst:?} over {bound:?}", decoder.name()));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn libjpeg_idct_and_upsampling_settings_take_effect_and_every_decoder_is_deterministic() {
    for g in goldens() {
        let islow = decode_rgb(&g.jpeg, Decoder::LibjpegIslow, &g.name).unwrap();
        for decoder in Decoder::ALL {
            let got = decode_rgb(&g.jpeg, decoder, &g.name).unwrap();
            assert_eq!(
                got,
                decode_rgb(&g.jpeg, decoder, &g.name).unwrap(),
                "{} {}",
                g.name,
                decoder.name()
            );
            let d = difference(got.view(), islow.view());
            let subsampled = g.name.contains("_420") || g.name.contains("_422");
            match decoder {
                // Without chroma subsampling there is nothing to upsample.
                Decoder::LibjpegIslowNofancy if !subsampled => {
                    assert_eq!(d.max, 0, "{} {}", g.name, decoder.name())
                }
                // The setting is applied: the IDCT or the upsampling does change pixels.
                Decoder::LibjpegIfast | Decoder::LibjpegFloat | Decoder::LibjpegIslowNofancy => {
                    assert!(
                        d.differing > 0.0,
                        "{} {}: same as libjpeg-islow",
                        g.name,
                        decoder.name()
                    )
                }
                _ => {}
            }
        }
    }
}

#[test]
fn decoder_names_are_their_serialized_names() {
    for decoder in Decoder::ALL {
        assert_eq!(
            serde_json::to_string(&decoder).unwrap(),
            format!("\"{}\"", decoder.name())
        );
        assert_eq!(
            serde_json::from_str::<Decoder>(&format!("\"{}\"", decoder.name())).unwrap(),
            decoder
        );
    }
}

#[test]
fn garbage_is_a_named_error_for_every_decoder() {
    for decoder in Decoder::ALL {
        for garbage in [&b"not a jpeg"[..], b"", b"\xff\xd8\xff\xd9"] {
            let err = decode_rgb(garbage, decoder, "x.jpg").unwrap_err().to_string();
            assert!(err.starts_with("x.jpg: "), "{err}");
            assert!(err.contains(decoder.name()), "{err}");
        }
    }
}

#[test]
fn damaged_jpegs_never_panic() {
    let g = goldens().into_iter().find(|g| g.name == "noisy/q75_420p").unwrap();
    let mut damaged: Vec<Vec<u8>> = [20, 100, 300, g.jpeg.len() / 2, g.jpeg.len() - 2]
        .into_iter()
        .map(|n| g.jpeg[..n].to_vec())
        .collect();
    for at in [3, 30, 200, g.jpeg.len() / 2] {
        let mut flipped = g.jpeg.clone();
        flipped[at] ^= 0x5a;
        damaged.push(flipped);
    }
    for decoder in Decoder::ALL {
        for (i, jpeg) in damaged.iter().enumerate() {
            match decode_rgb(jpeg, decoder, "damaged.jpg") {
                Ok(image) => eprintln!("damaged {i} {:21}: decoded {:?}", decoder.name(), image.dim()),
                Err(e) => {
                    let e = e.to_string();
                    eprintln!("damaged {i} {:21}: {e}", decoder.name());
                    assert!(e.starts_with("damaged.jpg: ") && e.contains(decoder.name()), "{e}");
                }
            }
        }
    }
}
