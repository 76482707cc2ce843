//! Golden tests: sysnoise's Pillow and OpenCV resizes against the real Pillow and OpenCV (pinned
//! in scripts/requirements.txt), bit for bit for every filter / interpolation reproduced (OpenCV's
//! INTER_CUBIC: bit for bit against OpenCV's own code, ±1 against its default IPP path), on noisy
//! and on sharp-edged images at down-, up- and mixed scales.

use crate::common;

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

/// The OpenCV test images: 3-channel smooth and sharp small images (odd sizes, and 30 x 40 for
/// the whole-number factors), a 1-channel one, and 300 x 300 ones (1 and 3 channels) for
/// ImageNet-like ~224 resizes.
fn opencv_images() -> Vec<(&'static str, Array3<u8>)> {
    let gray = |image: Array3<u8>| image.slice(ndarray::s![.., .., 0..1]).to_owned();
    vec![
        ("smooth", test_image(30, 40, false)),
        ("sharp", test_image(29, 37, true)),
        ("sharp-gray", gray(test_image(30, 40, true))),
        ("large", test_image(300, 300, false)),
        ("large-sharp-gray", gray(test_image(300, 300, true))),
    ]
}

/// IPP's INTER_CUBIC (the default on x86) against OpenCV's own code, which is reproduced: the
/// largest share of one output's values allowed to differ, each by exactly 1 (measured on these
/// images: 1.1-1.7% overall, at most 4.7% for one size).
const IPP_CUBIC_MAX_SHARE: f64 = 0.08;

/// Every OpenCV interpolation bit for bit against the real `cv2.resize`, except INTER_CUBIC:
/// bit for bit against OpenCV's own code (`cv2.ipp.setUseIPP(False)`), and within ±1 on a small
/// share of values against the default IPP path, which rounds differently (see
/// `sysnoise::noise::resize::opencv`).
#[test]
fn opencv_resize_matches_the_real_opencv() {
    let mut checked = std::collections::BTreeSet::new();
    for (label, image) in opencv_images() {
        let goldens = goldens("opencv_resize.py", &image);
        assert!(goldens.len() >= 60, "{label}: {} goldens", goldens.len());
        let mut failures = Vec::new();
        let (mut ipp_differing, mut ipp_total, mut ipp_worst_share) = (0, 0, 0f64);
        for (key, want) in &goldens {
            let (kind, size) = key.split_once('_').unwrap();
            let (w, h) = size.split_once('x').unwrap();
            let name = kind.strip_suffix("-noipp").unwrap_or(kind);
            let interpolation = OpenCvInterpolation::ALL.into_iter().find(|i| i.name() == name).unwrap();
            let got = opencv::resize(image.view(), w.parse().unwrap(), h.parse().unwrap(), interpolation);
            assert_eq!(got.dim(), want.dim(), "{label} {key}");
            checked.insert(kind.to_string());
            let differing = got.iter().zip(want.iter()).filter(|(a, b)| a != b).count();
            if kind == "cubic" {
                let worst = got
                    .iter()
                    .zip(want.iter())
                    .map(|(&a, &b)| a.abs_diff(b))
                    .max()
                    .unwrap_or(0);
                if worst > 1 {
                    failures.push(format!("{label} {key}: IPP cubic off by {worst}"));
                }
                let share = differing as f64 / got.len() as f64;
                if share > IPP_CUBIC_MAX_SHARE {
                    failures.push(format!("{label} {key}: IPP cubic differs on {:.2}%", share * 100.0));
                }
                ipp_differing += differing;
                ipp_total += got.len();
                ipp_worst_share = ipp_worst_share.max(share);
            } else if differing > 0 {
                failures.push(format!("{label} {key}: {differing} values differ"));
            }
        }
        eprintln!(
            "{label}: IPP cubic differs by 1 on {ipp_differing} of {ipp_total} values ({:.2}%, at most {:.2}% for one size)",
            100.0 * ipp_differing as f64 / ipp_total as f64,
            100.0 * ipp_worst_share
        );
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }
    let kinds: Vec<_> = checked.into_iter().collect();
    assert_eq!(kinds, ["area", "cubic", "cubic-noipp", "lanczos4", "linear", "nearest"]);
}

/// The ONNX Resize pre-processing on ONNX Runtime agrees with the same one-node model on the f64
/// reference interpreter (the spec): values within one level (f32 vs f64 at rounding ties), and
/// each mode really resizes (nearest keeps only source values).
#[test]
fn onnx_resize_preprocessing_on_ort_matches_the_reference() {
    use sysnoise::noise::resize::onnx::{OnnxResize, resize as onnx_resize};
    let ort = sysnoise::registry::build("ort").unwrap_or_else(|e| panic!("{e}"));
    let reference = sysnoise::registry::build("reference").unwrap();
    let image = test_image(23, 31, true);
    for mode in OnnxResize::ALL {
        for (w, h) in [(45, 37), (17, 12)] {
            let by_ort = onnx_resize(image.view(), w, h, mode, ort.as_ref()).unwrap_or_else(|e| panic!("{e}"));
            let by_reference = onnx_resize(image.view(), w, h, mode, reference.as_ref()).unwrap();
            assert_eq!(by_ort.dim(), (h, w, 3));
            let worst = by_ort
                .iter()
                .zip(by_reference.iter())
                .map(|(a, b)| a.abs_diff(*b))
                .max()
                .unwrap();
            assert!(
                worst <= 1,
                "{} {w}x{h}: ORT and the reference differ by {worst}",
                mode.name()
            );
            if mode == OnnxResize::Nearest {
                let source: std::collections::HashSet<u8> = image.iter().copied().collect();
                assert!(by_ort.iter().all(|v| source.contains(v)));
            }
        }
    }
}
