//! Golden tests: sysnoise's Pillow and OpenCV resizes against the real Pillow and OpenCV (pinned
//! in scripts/requirements.txt), bit for bit, for every filter / interpolation reproduced, on
//! noisy and on sharp-edged images at down-, up- and mixed scales.

mod common;

use ndarray::Array3;
use sysnoise::noise::resize::opencv::{self, OpenCvInterpolation};
use sysnoise::noise::resize::pillow::{PillowFilter, resize};

/// A deterministic RGB test image: `sharp` gives hard-edged blocks (ringing, clipping), else
/// smooth gradients plus per-pixel noise.
fn test_image(height: usize, width: usize, sharp: bool) -> Array3<u8> {
    Array3::from_shape_fn((height, width, 3), |(y, x, c)| {
        let hash = ((y * 7919 + x * 104_729 + c * 1_299_709) as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 56;
        if sharp {
            if (x / 4 + y / 3 + c) % 2 == 0 {
                255
            } else {
                (hash % 16) as u8
            }
        } else {
            ((x * 255 / width + y * 3 + c * 40) as u64 % 200 + hash % 56) as u8
        }
    })
}

/// Outputs of `scripts/goldens/<script>` (run by the project venv's Python) on `image`.
fn goldens(script: &str, image: &Array3<u8>) -> Vec<(String, Array3<u8>)> {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("goldens.npz");
    common::run_golden_script(script, image, dir.path(), &output);
    sysnoise::npy::read_npz(&output)
        .unwrap()
        .into_iter()
        .map(|(name, t)| match t {
            sysnoise_boundary::Tensor::U8(a) => (name, a.into_dimensionality().unwrap()),
            other => panic!("{name}: {:?}", other.dtype()),
        })
        .collect()
}

fn filter_named(name: &str) -> PillowFilter {
    PillowFilter::ALL.into_iter().find(|f| f.name() == name).unwrap()
}

#[test]
fn pillow_resize_matches_the_real_pillow_bit_for_bit() {
    for (label, image) in [
        ("smooth", test_image(29, 37, false)),
        ("sharp", test_image(29, 37, true)),
    ] {
        let goldens = goldens("pillow_resize.py", &image);
        assert_eq!(goldens.len(), 60, "6 filters x 10 sizes");
        let failures = compare_all(label, &goldens, |filter, w, h| {
            resize(image.view(), w, h, filter_named(filter))
        });
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }
}

/// Compares every golden with `resize(image, w, h, kind)`; returns the failures.
fn compare_all(
    label: &str,
    goldens: &[(String, Array3<u8>)],
    mut resize: impl FnMut(&str, usize, usize) -> Array3<u8>,
) -> Vec<String> {
    let mut failures = Vec::new();
    for (key, want) in goldens {
        let (kind, size) = key.split_once('_').unwrap();
        let (w, h) = size.split_once('x').unwrap();
        let got = resize(kind, w.parse().unwrap(), h.parse().unwrap());
        assert_eq!(got.dim(), want.dim(), "{label} {key}");
        let differing = got.iter().zip(want.iter()).filter(|(a, b)| a != b).count();
        if differing > 0 {
            failures.push(format!("{label} {key}: {differing} values differ"));
        }
    }
    failures
}

#[test]
fn opencv_resize_matches_the_real_opencv_bit_for_bit() {
    // 30 x 40 also exercises the exact 2x reduction OpenCV routes to INTER_AREA.
    for (label, image) in [
        ("smooth", test_image(30, 40, false)),
        ("sharp", test_image(29, 37, true)),
    ] {
        let goldens = goldens("opencv_resize.py", &image);
        assert!(goldens.len() >= 20, "{label}: {} goldens", goldens.len());
        let failures = compare_all(label, &goldens, |kind, w, h| {
            let interpolation = OpenCvInterpolation::ALL.into_iter().find(|i| i.name() == kind).unwrap();
            opencv::resize(image.view(), w, h, interpolation)
        });
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }
}
