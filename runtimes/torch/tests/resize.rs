//! Resize / Upsample against the reference: the modes LibTorch's upsampling computes exactly
//! (nearest asymmetric + floor, nearest-exact, linear half_pixel / pytorch_half_pixel /
//! align_corners) agree; every other mode is declined.

use crate::common;

use crate::common::{attr, case, f32s, ints, seeded};
use sysnoise_boundary::{DType, Tensor};

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
    assert!(reason.contains("nearest index for output 3"), "{reason}");
    let reason = resize(&[1, 1, 14], "nearest", "asymmetric", "floor", None, Some(&[1, 1, 18])).unsupported();
    assert!(reason.contains("nearest index for output 9"), "{reason}");
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

#[test]
fn other_nearest_modes_are_declined_at_prepare() {
    for (transform, rounding) in [
        ("half_pixel", "round_prefer_floor"),
        ("asymmetric", "round_prefer_ceil"),
        ("align_corners", "floor"),
        ("half_pixel", "floor"),
    ] {
        resize(
            &[1, 1, 4, 4],
            "nearest",
            transform,
            rounding,
            Some(&[1.0, 1.0, 2.0, 2.0]),
            None,
        )
        .unsupported_at_prepare();
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
