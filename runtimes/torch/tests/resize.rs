//! Resize / Upsample against the reference: nearest resizes run wherever one of LibTorch's
//! nearest kernels picks ONNX's indices and then agree bit for bit; linear half_pixel /
//! pytorch_half_pixel / align_corners agree; every other mode is declined.

use crate::common;

use crate::common::{attr, case, f32s, ints, seeded, torch};
use sysnoise_boundary::{DType, Tensor};
use sysnoise_reference::Reference;
use sysnoise_torch::Precision;

const F32: DType = DType::F32;

fn resize(
    x: &[usize],
    mode: &str,
    transform: &str,
    nearest: &str,
    scales: Option<&[f32]>,
    sizes: Option<&[i64]>,
) -> common::Case {
    let mut c = case("Resize", 13).input("x", seeded(x, 3)).omitted();
    c = match (scales, sizes) {
        (Some(s), None) => c.constant("scales", f32s(&[s.len()], s)),
        (None, Some(s)) => c.omitted().constant("sizes", ints(s)),
        _ => unreachable!(),
    };
    c.attr(attr::string("mode", mode))
        .attr(attr::string("coordinate_transformation_mode", transform))
        .attr(attr::string("nearest_mode", nearest))
        .output("y", F32)
}

#[test]
fn nearest_asymmetric_floor() {
    resize(
        &[1, 2, 3, 4],
        "nearest",
        "asymmetric",
        "floor",
        Some(&[1.0, 1.0, 2.0, 3.0]),
        None,
    )
    .exact();
    resize(
        &[1, 2, 3, 4],
        "nearest",
        "asymmetric",
        "floor",
        None,
        Some(&[1, 2, 7, 5]),
    )
    .exact();
    resize(
        &[1, 1, 7, 8],
        "nearest",
        "asymmetric",
        "floor",
        None,
        Some(&[1, 1, 3, 5]),
    )
    .exact();
    resize(&[2, 5], "nearest", "asymmetric", "floor", Some(&[1.0, 2.5]), None).exact();
    resize(
        &[1, 2, 3, 4, 2],
        "nearest",
        "asymmetric",
        "floor",
        Some(&[1.0, 1.0, 2.0, 1.5, 3.0]),
        None,
    )
    .exact();
}

/// LibTorch computes nearest indices as floorf(x * float(1 / scale)): with scale 0.6f,
/// output 3 maps to 3 x 1.6666666f = 5.0 -> 5 where ONNX's 3 / 0.6f = 4.9999998 -> 4; by sizes
/// 14 -> 18, output 9 maps to 9 x float(14 / 18) -> 7 where ONNX's 9 / (18 / 14) -> 6. Such
/// resizes are declined.
#[test]
fn nearest_declines_where_libtorch_float_indices_differ() {
    let reason = resize(
        &[1, 1, 10],
        "nearest",
        "asymmetric",
        "floor",
        Some(&[1.0, 1.0, 0.6]),
        None,
    )
    .unsupported();
    assert!(
        reason.contains("upsample_nearest picks input 5 for output 3 of an axis resized 10 -> 6, ONNX input 4"),
        "{reason}"
    );
    let reason = resize(&[1, 1, 14], "nearest", "asymmetric", "floor", None, Some(&[1, 1, 18])).unsupported();
    assert!(reason.contains("picks input 7 for output 9"), "{reason}");
}

#[test]
fn nearest_half_pixel_round_prefer_ceil_is_nearest_exact() {
    resize(
        &[1, 2, 3, 4],
        "nearest",
        "half_pixel",
        "round_prefer_ceil",
        Some(&[1.0, 1.0, 2.0, 3.0]),
        None,
    )
    .exact();
    resize(
        &[1, 2, 5, 4],
        "nearest",
        "half_pixel",
        "round_prefer_ceil",
        None,
        Some(&[1, 2, 8, 3]),
    )
    .exact();
    resize(
        &[1, 2, 5, 4],
        "nearest",
        "tf_half_pixel_for_nn",
        "floor",
        None,
        Some(&[1, 2, 8, 3]),
    )
    .exact();
}

/// ONNX's default nearest (half_pixel + round_prefer_floor) picks floor(x / s) when upsampling
/// by an integer s, and 2x when halving (ties at 2x + 0.5 round down): LibTorch's
/// `upsample_nearest` there. 3 -> 5 picks 0, 0, 1, 2, 2: the exact kernel's.
#[test]
fn onnx_default_nearest_runs_where_a_kernel_coincides() {
    for (x, scales, sizes) in [
        (&[1, 2, 3, 4][..], Some(&[1.0f32, 1.0, 2.0, 3.0][..]), None),
        (&[1, 1, 8, 6], Some(&[1.0, 1.0, 0.5, 0.5]), None),
        (&[1, 1, 3, 2], None, Some(&[1i64, 1, 5, 4][..])),
    ] {
        resize(x, "nearest", "half_pixel", "round_prefer_floor", scales, sizes).exact();
    }
    // Resize-10 halving: the legacy rule's ceil(2x) is 2x.
    case("Resize", 10)
        .input("x", seeded(&[1, 2, 8, 4], 5))
        .constant("scales", f32s(&[4], &[1.0, 1.0, 0.5, 0.5]))
        .output("y", F32)
        .exact();
}

#[test]
fn nearest_declines_where_no_kernel_picks_onnx_indices() {
    // asymmetric + round_prefer_ceil doubling: output 1 takes input round_half_up(0.5) = 1;
    // both LibTorch kernels take 0.
    let reason = resize(
        &[1, 1, 4, 4],
        "nearest",
        "asymmetric",
        "round_prefer_ceil",
        Some(&[1.0, 1.0, 2.0, 2.0]),
        None,
    )
    .unsupported();
    assert!(
        reason.contains("upsample_nearest picks input 0 for output 1")
            && reason.contains("_upsample_nearest_exact picks input 0 for output 1"),
        "{reason}"
    );
    // Same length, yet not the identity: tf_half_pixel_for_nn + round_prefer_ceil at scale 1
    // takes input x + 1 (the last one clamped); both kernels take x.
    let reason = resize(
        &[1, 1, 7],
        "nearest",
        "tf_half_pixel_for_nn",
        "round_prefer_ceil",
        None,
        Some(&[1, 1, 7]),
    )
    .unsupported();
    assert!(
        reason.contains("picks input 0 for output 0 of an axis resized 7 -> 7, ONNX input 1"),
        "{reason}"
    );
    resize(
        &[1, 1, 4, 4],
        "nearest",
        "tf_crop_and_resize",
        "floor",
        Some(&[1.0, 1.0, 2.0, 2.0]),
        None,
    )
    .unsupported_at_prepare();
}

/// Runs `c` on the reference and LibTorch: true if LibTorch agrees bit for bit, false if it
/// declines; a disagreement or another error fails the test.
fn agrees_or_declines(c: &common::Case, label: &str) -> bool {
    let want = c.run(&Reference).unwrap_or_else(|e| panic!("{label}: reference: {e}"));
    match c.run(&torch(Precision::Native)) {
        Ok(got) => {
            assert_eq!(got, want, "{label}");
            true
        }
        Err(e) => {
            assert!(e.is_unsupported(), "{label}: {e}");
            false
        }
    }
}

/// LibTorch's CPU nearest kernels pick their path by shape and layout (a channels-last path
/// takes x >> 1 for any doubling, whatever the scale): the probe must have the input's shape.
/// Scale 2.1 on 3 samples gives 6 = 2 x 3 samples; with 70 -> 140 beside it the generic path
/// runs and picks floor(x / 2.1) = 0, 0, 0, 1, 1, 2, where ONNX's default picks 0, 0, 1, 1, 2, 2.
#[test]
fn nearest_probe_takes_the_inputs_kernel_path() {
    for channels in [1, 4] {
        for (x, scales) in [
            ([1, channels, 3, 70], [1.0, 1.0, 2.1, 2.0]),
            ([1, channels, 3, 3], [1.0, 1.0, 2.1, 1.2]),
            ([1, channels, 70, 70], [1.0, 1.0, 2.1, 2.1]),
        ] {
            for (transform, rounding) in [("half_pixel", "round_prefer_floor"), ("asymmetric", "floor")] {
                let c = resize(&x, "nearest", transform, rounding, Some(&scales), None);
                agrees_or_declines(&c, &format!("{x:?} x {scales:?}, {transform} + {rounding}"));
            }
        }
    }
    // The first: the exact kernel picks ONNX's indices on both axes.
    resize(
        &[1, 4, 3, 70],
        "nearest",
        "half_pixel",
        "round_prefer_floor",
        Some(&[1.0, 1.0, 2.1, 2.0]),
        None,
    )
    .exact();
}

/// One kernel fits one axis, the other the other (4 -> 2 halves: 2x, `upsample_nearest`;
/// 3 -> 5: 0, 0, 1, 2, 2, the exact kernel): one LibTorch call cannot do both, so declined.
#[test]
fn nearest_declines_when_the_axes_need_different_kernels() {
    let reason = resize(
        &[1, 1, 4, 3],
        "nearest",
        "half_pixel",
        "round_prefer_floor",
        None,
        Some(&[1, 1, 2, 5]),
    )
    .unsupported();
    assert!(
        reason.contains("upsample_nearest picks input 1 for output 3 of an axis resized 3 -> 5")
            && reason.contains("_upsample_nearest_exact picks input 1 for output 0 of an axis resized 4 -> 2"),
        "{reason}"
    );
}

/// Every coordinate transform and rounding over a grid of lengths: LibTorch either agrees with
/// the reference bit for bit or declines the node, never disagrees; and ONNX's default, the
/// kernels' own modes and the legacy rule run in most of the grid.
#[test]
fn nearest_grid_agrees_or_declines() {
    let transforms = [
        "half_pixel",
        "half_pixel_symmetric",
        "pytorch_half_pixel",
        "align_corners",
        "asymmetric",
        "tf_half_pixel_for_nn",
    ];
    let roundings = ["round_prefer_floor", "round_prefer_ceil", "floor", "ceil"];
    let lengths = [
        (1, 3),
        (2, 5),
        (3, 5),
        (4, 2),
        (5, 3),
        (6, 4),
        (3, 9),
        (7, 7),
        (8, 3),
        (2, 8),
    ];
    let mut ran = std::collections::BTreeMap::new();
    for transform in transforms {
        for rounding in roundings {
            for (by_scale, (n, m)) in [false, true].into_iter().flat_map(|b| lengths.map(|l| (b, l))) {
                let scale = [1.0, m as f32 / n as f32];
                let sizes = [1, m as i64];
                let c = if by_scale {
                    resize(&[2, n], "nearest", transform, rounding, Some(&scale), None)
                } else {
                    resize(&[2, n], "nearest", transform, rounding, None, Some(&sizes))
                };
                let label = format!("{transform} + {rounding}, {n} -> {m}, by scale: {by_scale}");
                if agrees_or_declines(&c, &label) {
                    *ran.entry((transform, rounding)).or_insert(0) += 1;
                }
            }
        }
    }
    let cases = 2 * lengths.len();
    for mode in [
        ("half_pixel", "round_prefer_floor"),
        ("asymmetric", "floor"),
        ("half_pixel", "round_prefer_ceil"),
        ("tf_half_pixel_for_nn", "floor"),
    ] {
        let runs = ran.get(&mode).copied().unwrap_or(0);
        assert!(runs * 2 > cases, "{mode:?} ran {runs} of {cases}: {ran:?}");
    }
}

#[test]
fn linear_half_pixel_and_align_corners() {
    for transform in ["half_pixel", "pytorch_half_pixel", "align_corners"] {
        resize(&[1, 2, 3, 4], "linear", transform, "floor", None, Some(&[1, 2, 8, 5])).agrees(1e-6, 1e-5);
        resize(&[1, 2, 8, 7], "linear", transform, "floor", None, Some(&[1, 2, 3, 2])).agrees(1e-6, 1e-5);
        resize(&[2, 9], "linear", transform, "floor", None, Some(&[2, 4])).agrees(1e-6, 1e-5);
        resize(
            &[1, 1, 3, 4, 5],
            "linear",
            transform,
            "floor",
            None,
            Some(&[1, 1, 5, 4, 2]),
        )
        .agrees(1e-6, 1e-5);
    }
    for transform in ["half_pixel", "pytorch_half_pixel"] {
        resize(
            &[1, 2, 3, 4],
            "linear",
            transform,
            "floor",
            Some(&[1.0, 1.0, 2.0, 2.0]),
            None,
        )
        .agrees(1e-6, 1e-5);
        resize(
            &[1, 2, 5, 4],
            "linear",
            transform,
            "floor",
            Some(&[1.0, 1.0, 0.6, 1.7]),
            None,
        )
        .agrees(1e-6, 1e-5);
    }
    resize(
        &[1, 2, 3, 4],
        "linear",
        "align_corners",
        "floor",
        Some(&[1.0, 1.0, 2.0, 2.0]),
        None,
    )
    .agrees(1e-6, 1e-5);
}

#[test]
fn linear_edge_cases_are_declined() {
    // align_corners divides by length x scale - 1: 3 x 1.5 = 4.5 is no output length.
    let reason = resize(
        &[1, 1, 3, 3],
        "linear",
        "align_corners",
        "floor",
        Some(&[1.0, 1.0, 1.5, 1.0]),
        None,
    )
    .unsupported();
    assert!(reason.contains("align_corners"), "{reason}");
    // pytorch_half_pixel to one sample takes position 0.
    resize(
        &[1, 1, 4, 3],
        "linear",
        "pytorch_half_pixel",
        "floor",
        None,
        Some(&[1, 1, 1, 3]),
    )
    .unsupported();
    resize(
        &[1, 1, 4, 4],
        "linear",
        "asymmetric",
        "floor",
        Some(&[1.0, 1.0, 2.0, 2.0]),
        None,
    )
    .unsupported_at_prepare();
    resize(
        &[1, 1, 4, 4],
        "cubic",
        "half_pixel",
        "floor",
        Some(&[1.0, 1.0, 2.0, 2.0]),
        None,
    )
    .unsupported_at_prepare();
    resize(
        &[1, 1, 4, 4],
        "linear",
        "tf_crop_and_resize",
        "floor",
        Some(&[1.0, 1.0, 2.0, 2.0]),
        None,
    )
    .unsupported_at_prepare();
    // Four trailing axes: more than LibTorch upsamples.
    resize(
        &[2, 2, 2, 2],
        "linear",
        "half_pixel",
        "floor",
        Some(&[2.0, 1.0, 1.0, 2.0]),
        None,
    )
    .unsupported();
    case("Resize", 18)
        .input("x", seeded(&[1, 1, 8, 8], 3))
        .omitted()
        .constant("scales", f32s(&[4], &[1.0, 1.0, 0.5, 0.5]))
        .attr(attr::string("mode", "linear"))
        .attr(attr::int("antialias", 1))
        .output("y", F32)
        .unsupported_at_prepare();
}

/// `keep_aspect_ratio_policy`: one scale for every listed axis (the smallest / largest of
/// size / length), lengths rounded half up; LibTorch is given that scale.
#[test]
fn keep_aspect_ratio_policies() {
    for policy in ["not_larger", "not_smaller"] {
        for (mode, transform) in [("linear", "half_pixel"), ("nearest", "asymmetric")] {
            let c = case("Resize", 18)
                .input("x", seeded(&[1, 2, 4, 6], 7))
                .omitted()
                .omitted()
                .constant("sizes", ints(&[5, 5]))
                .attr(attr::ints("axes", &[2, 3]))
                .attr(attr::string("keep_aspect_ratio_policy", policy))
                .attr(attr::string("mode", mode))
                .attr(attr::string("coordinate_transformation_mode", transform))
                .attr(attr::string("nearest_mode", "floor"))
                .output("y", F32);
            c.agrees(1e-6, 1e-5);
            let want = if policy == "not_larger" {
                [1, 2, 3, 5]
            } else {
                [1, 2, 5, 8]
            };
            assert_eq!(c.run(&Reference).unwrap()[0].1.shape(), want, "{policy}");
        }
    }
}

#[test]
fn resize_axes_attribute_and_integer_data() {
    case("Resize", 18)
        .input("x", seeded(&[1, 2, 3, 4], 4))
        .omitted()
        .constant("scales", f32s(&[2], &[2.0, 3.0]))
        .attr(attr::ints("axes", &[2, 3]))
        .attr(attr::string("mode", "linear"))
        .output("y", F32)
        .agrees(1e-6, 1e-5);
    let bytes =
        Tensor::U8(ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(&[1, 1, 2, 3]), vec![1u8, 2, 3, 4, 5, 6]).unwrap());
    case("Resize", 13)
        .input("x", bytes)
        .omitted()
        .constant("scales", f32s(&[4], &[1.0, 1.0, 2.0, 2.0]))
        .attr(attr::string("coordinate_transformation_mode", "asymmetric"))
        .attr(attr::string("nearest_mode", "floor"))
        .output("y", DType::U8)
        .exact();
}

#[test]
fn upsample_and_resize_10_nearest() {
    case("Upsample", 9)
        .input("x", seeded(&[1, 2, 3, 4], 5))
        .constant("scales", f32s(&[4], &[1.0, 1.0, 2.0, 3.0]))
        .output("y", F32)
        .exact();
    case("Upsample", 7)
        .input("x", seeded(&[1, 2, 3, 4], 5))
        .attr(attr::floats("scales", &[1.0, 1.0, 2.0, 1.5]))
        .output("y", F32)
        .exact();
    case("Resize", 10)
        .input("x", seeded(&[1, 2, 3, 4], 5))
        .constant("scales", f32s(&[4], &[1.0, 1.0, 2.0, 2.0]))
        .output("y", F32)
        .exact();
    case("Upsample", 9)
        .input("x", seeded(&[1, 2, 3, 4], 5))
        .constant("scales", f32s(&[4], &[1.0, 1.0, 2.0, 2.0]))
        .attr(attr::string("mode", "linear"))
        .output("y", F32)
        .unsupported_at_prepare();
}
