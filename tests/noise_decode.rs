//! Decoder noise on real JPEGs: files written by the real Pillow (libjpeg-turbo) at several
//! qualities and chroma subsamplings, decoded by zune-jpeg and jpeg-decoder and compared with
//! libjpeg-turbo's own decode. The differences are the measurement (printed); the assertions
//! are what must hold for any conforming decoder.

mod common;

use ndarray::Array3;
use sysnoise::noise::decode::{Decoder, decode_rgb, difference};

fn test_image(height: usize, width: usize) -> Array3<u8> {
    Array3::from_shape_fn((height, width, 3), |(y, x, c)| {
        let smooth = (x * 200 / width + y * 40 / height + c * 30) as u32;
        let edge = if (x / 9 + y / 7) % 3 == 0 { 50 } else { 0 };
        (smooth + edge).min(255) as u8
    })
}

#[test]
fn rust_decoders_stay_close_to_libjpeg_turbo_and_their_differences_are_measured() {
    let dir = tempfile::tempdir().unwrap();
    let image = test_image(48, 64);
    common::run_golden_script("pillow_jpeg.py", &image, dir.path(), dir.path());
    let references = sysnoise::npy::read_npz(&dir.path().join("decoded.npz")).unwrap();
    assert_eq!(references.len(), 3);
    for (name, reference) in references {
        let sysnoise_boundary::Tensor::U8(reference) = reference else {
            panic!("{name}: not u8")
        };
        let reference: Array3<u8> = reference.into_dimensionality().unwrap();
        let jpeg = std::fs::read(dir.path().join(format!("{name}.jpg"))).unwrap();
        for decoder in Decoder::ALL {
            let got = decode_rgb(&jpeg, decoder, &name).unwrap();
            assert_eq!(got.dim(), reference.dim(), "{name} {}", decoder.name());
            let d = difference(got.view(), reference.view());
            println!(
                "{name:8} {:13} vs libjpeg-turbo: max {:3}, mean {:.3}, {:.1}% of values differ",
                decoder.name(),
                d.max,
                d.mean,
                d.differing * 100.0
            );
            // Decoders may differ in IDCT rounding and chroma upsampling (measured here: up to 3
            // levels on 1–7% of values), never by much; a broken colour conversion or
            // upsampling would show here.
            assert!(d.mean < 0.5 && d.max <= 8, "{name} {}: {d:?}", decoder.name());
            // Against the source image, every decoder sees the same compression error.
            let source = difference(got.view(), image.view());
            assert!(source.mean < 6.0, "{name} {}: {source:?}", decoder.name());
        }
    }
}

#[test]
fn garbage_is_a_named_error_for_every_decoder() {
    for decoder in Decoder::ALL {
        let err = decode_rgb(b"not a jpeg", decoder, "x.jpg").unwrap_err().to_string();
        assert!(err.starts_with("x.jpg: "), "{err}");
        assert!(err.contains(decoder.name()), "{err}");
    }
}
