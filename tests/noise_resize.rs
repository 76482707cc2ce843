//! Golden tests: sysnoise's Pillow resize against the real Pillow (pinned in
//! scripts/requirements.txt), bit for bit, for every filter, on noisy and on sharp-edged images
//! at down-, up- and mixed scales.

use std::path::Path;
use std::process::Command;

use ndarray::Array3;
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

fn pillow_goldens(image: &Array3<u8>) -> Vec<(String, Array3<u8>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let python = root.join(".venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/setup.sh (it installs the pinned Pillow)",
        python.display()
    );
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("image.npy");
    let tensor = sysnoise_boundary::Tensor::U8(image.clone().into_dyn());
    std::fs::write(&input, sysnoise::npy::to_npy_bytes(&tensor).unwrap()).unwrap();
    let output = dir.path().join("goldens.npz");
    let run = Command::new(&python)
        .arg(root.join("scripts/goldens/pillow_resize.py"))
        .arg(&input)
        .arg(&output)
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
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
        let goldens = pillow_goldens(&image);
        assert_eq!(goldens.len(), 60, "6 filters x 10 sizes");
        let mut failures = Vec::new();
        for (key, want) in &goldens {
            let (filter, size) = key.split_once('_').unwrap();
            let (w, h) = size.split_once('x').unwrap();
            let got = resize(
                image.view(),
                w.parse().unwrap(),
                h.parse().unwrap(),
                filter_named(filter),
            );
            assert_eq!(got.dim(), want.dim(), "{label} {key}");
            let differing = got.iter().zip(want.iter()).filter(|(a, b)| a != b).count();
            let worst = got
                .iter()
                .zip(want.iter())
                .map(|(&a, &b)| (i16::from(a) - i16::from(b)).abs())
                .max()
                .unwrap_or(0);
            if differing > 0 {
                failures.push(format!("{label} {key}: {differing} values differ, by up to {worst}"));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }
}
