//! Network families against the reference: MatMul / Gemm, Conv, pooling (ceil_mode, pads,
//! count_include_pad, Indices), normalisations, softmax's opset-dependent axis.

use crate::common;

use crate::common::{attr, case, f32s, seeded};
use sysnoise_boundary::DType;

const F32: DType = DType::F32;

#[test]
fn matmul_promotes_vectors_and_broadcasts_batches() {
    let shapes: [(&[usize], &[usize]); 5] = [
        (&[3], &[3, 4]),
        (&[2, 3], &[3]),
        (&[2, 1, 3, 4], &[3, 4, 5]),
        (&[3], &[3]),
        (&[5, 2, 3], &[3, 2]),
    ];
    for (i, (a, b)) in shapes.into_iter().enumerate() {
        case("MatMul", 13)
            .input("a", seeded(a, i as u64))
            .input("b", seeded(b, 10 + i as u64))
            .output("y", F32)
            .agrees(1e-5, 1e-5);
    }
}

#[test]
fn gemm_transposes_scales_and_broadcasts_c() {
    let (m, k, n) = (3, 4, 5);
    for trans_a in [0, 1] {
        for trans_b in [0, 1] {
            let a_shape = if trans_a == 1 { [k, m] } else { [m, k] };
            let b_shape = if trans_b == 1 { [n, k] } else { [k, n] };
            let c_shapes: [&[usize]; 5] = [&[n], &[1, n], &[m, 1], &[], &[m, n]];
            for (i, c_shape) in c_shapes.into_iter().enumerate() {
                for (alpha, beta) in [(1.0, 1.0), (0.5, 2.0)] {
                    case("Gemm", 13)
                        .input("a", seeded(&a_shape, 1))
                        .constant("b", seeded(&b_shape, 2))
                        .constant("c", seeded(c_shape, 3 + i as u64))
                        .attr(attr::int("transA", trans_a))
                        .attr(attr::int("transB", trans_b))
                        .attr(attr::float("alpha", alpha))
                        .attr(attr::float("beta", beta))
                        .output("y", F32)
                        .agrees(1e-5, 1e-5);
                }
            }
            case("Gemm", 13)
                .input("a", seeded(&a_shape, 1))
                .input("b", seeded(&b_shape, 2))
                .attr(attr::int("transA", trans_a))
                .attr(attr::int("transB", trans_b))
                .attr(attr::float("alpha", 0.25))
                .output("y", F32)
                .agrees(1e-5, 1e-5);
        }
    }
}

fn conv(x: &[usize], w: &[usize], attrs: Vec<sysnoise_boundary::onnx::AttributeProto>, bias: bool) {
    let mut c = case("Conv", 11).input("x", seeded(x, 1)).constant("w", seeded(w, 2));
    if bias {
        c = c.constant("b", seeded(&[w[0]], 3));
    }
    for a in attrs {
        c = c.attr(a);
    }
    c.output("y", F32).agrees(1e-5, 1e-5);
}

#[test]
fn conv_pads_strides_dilations_groups() {
    conv(
        &[1, 2, 7, 6],
        &[4, 2, 3, 3],
        vec![attr::ints("pads", &[1, 1, 1, 1])],
        true,
    );
    // Asymmetric pads go through a constant pad.
    conv(
        &[2, 2, 7, 6],
        &[3, 2, 3, 2],
        vec![attr::ints("pads", &[1, 0, 2, 1])],
        true,
    );
    conv(
        &[1, 4, 9, 9],
        &[6, 2, 3, 3],
        vec![
            attr::ints("strides", &[2, 1]),
            attr::ints("dilations", &[2, 1]),
            attr::int("group", 2),
            attr::ints("pads", &[0, 2, 1, 0]),
        ],
        true,
    );
    for mode in ["SAME_UPPER", "SAME_LOWER", "VALID"] {
        conv(
            &[1, 2, 8, 7],
            &[3, 2, 4, 3],
            vec![attr::string("auto_pad", mode), attr::ints("strides", &[2, 3])],
            false,
        );
    }
    conv(
        &[1, 3, 10],
        &[2, 3, 3],
        vec![attr::ints("pads", &[2, 0]), attr::ints("strides", &[3])],
        true,
    );
    conv(
        &[1, 2, 4, 5, 3],
        &[2, 2, 2, 3, 2],
        vec![attr::ints("pads", &[1, 0, 1, 0, 1, 1])],
        true,
    );
}

fn pool(op: &str, opset: i64, x: &[usize], attrs: Vec<sysnoise_boundary::onnx::AttributeProto>) {
    let mut c = case(op, opset).input("x", seeded(x, 7));
    for a in attrs {
        c = c.attr(a);
    }
    c.output("y", F32).agrees(1e-6, 1e-6);
}

#[test]
fn max_pool_ceil_mode_with_pads() {
    for ceil in [0, 1] {
        for pads in [[0, 0, 0, 0], [1, 1, 1, 1], [1, 0, 1, 0], [0, 2, 2, 1]] {
            for (k, s) in [(3, 2), (2, 2), (3, 3)] {
                if pads.iter().any(|&p| p >= k) {
                    continue;
                }
                pool(
                    "MaxPool",
                    12,
                    &[1, 2, 7, 6],
                    vec![
                        attr::ints("kernel_shape", &[k, k]),
                        attr::ints("strides", &[s, s]),
                        attr::ints("pads", &pads),
                        attr::int("ceil_mode", ceil),
                    ],
                );
            }
        }
    }
    // A ceil-mode window that would start in the end padding is dropped.
    pool(
        "MaxPool",
        12,
        &[1, 1, 2, 2],
        vec![
            attr::ints("kernel_shape", &[3, 3]),
            attr::ints("strides", &[3, 3]),
            attr::ints("pads", &[1, 1, 1, 1]),
            attr::int("ceil_mode", 1),
        ],
    );
    pool(
        "MaxPool",
        12,
        &[1, 2, 9, 8],
        vec![
            attr::ints("kernel_shape", &[2, 3]),
            attr::ints("dilations", &[2, 2]),
            attr::ints("strides", &[2, 1]),
            attr::int("ceil_mode", 1),
        ],
    );
    for mode in ["SAME_UPPER", "SAME_LOWER"] {
        pool(
            "MaxPool",
            12,
            &[1, 1, 6, 7],
            vec![
                attr::ints("kernel_shape", &[2, 3]),
                attr::ints("strides", &[2, 2]),
                attr::string("auto_pad", mode),
            ],
        );
    }
    pool(
        "MaxPool",
        12,
        &[2, 3, 9],
        vec![
            attr::ints("kernel_shape", &[3]),
            attr::ints("strides", &[2]),
            attr::ints("pads", &[1, 1]),
            attr::int("ceil_mode", 1),
        ],
    );
    pool(
        "MaxPool",
        12,
        &[1, 2, 5, 4, 6],
        vec![
            attr::ints("kernel_shape", &[2, 2, 3]),
            attr::ints("strides", &[2, 2, 2]),
            attr::int("ceil_mode", 1),
        ],
    );
}

#[test]
fn max_pool_indices_count_within_the_tensor() {
    let c = case("MaxPool", 12)
        .input("x", seeded(&[2, 3, 5, 5], 9))
        .attr(attr::ints("kernel_shape", &[3, 3]))
        .attr(attr::ints("strides", &[2, 2]))
        .attr(attr::ints("pads", &[1, 1, 1, 1]))
        .attr(attr::int("ceil_mode", 1))
        .output("y", F32)
        .output("i", DType::I64);
    c.exact();
    let c = case("MaxPool", 12)
        .input("x", seeded(&[1, 1, 5, 5], 9))
        .attr(attr::ints("kernel_shape", &[2, 2]))
        .attr(attr::ints("pads", &[1, 0, 0, 0]))
        .output("y", F32)
        .output("i", DType::I64);
    c.unsupported();
    let c = case("MaxPool", 12)
        .input("x", seeded(&[1, 1, 5, 5], 9))
        .attr(attr::ints("kernel_shape", &[2, 2]))
        .attr(attr::int("storage_order", 1))
        .output("y", F32)
        .output("i", DType::I64);
    c.unsupported_at_prepare();
}

#[test]
fn average_pool_count_include_pad_and_ceil_mode() {
    for include in [0, 1] {
        for ceil in [0, 1] {
            for pads in [[0, 0, 0, 0], [1, 1, 1, 1], [1, 0, 2, 1], [0, 1, 0, 1]] {
                pool(
                    "AveragePool",
                    11,
                    &[1, 2, 7, 6],
                    vec![
                        attr::ints("kernel_shape", &[3, 3]),
                        attr::ints("strides", &[2, 2]),
                        attr::ints("pads", &pads),
                        attr::int("ceil_mode", ceil),
                        attr::int("count_include_pad", include),
                    ],
                );
            }
            // 1-D: input 4, kernel 3, stride 2, pads (1, 1): the last ceil window covers one
            // input, one pad and one overhang tap.
            pool(
                "AveragePool",
                11,
                &[1, 1, 4],
                vec![
                    attr::ints("kernel_shape", &[3]),
                    attr::ints("strides", &[2]),
                    attr::ints("pads", &[1, 1]),
                    attr::int("ceil_mode", ceil),
                    attr::int("count_include_pad", include),
                ],
            );
            pool(
                "AveragePool",
                11,
                &[1, 1, 5, 4, 6],
                vec![
                    attr::ints("kernel_shape", &[2, 2, 3]),
                    attr::ints("strides", &[2, 1, 2]),
                    attr::ints("pads", &[1, 0, 1, 0, 1, 2]),
                    attr::int("ceil_mode", ceil),
                    attr::int("count_include_pad", include),
                ],
            );
        }
    }
    for mode in ["SAME_UPPER", "SAME_LOWER"] {
        pool(
            "AveragePool",
            11,
            &[1, 1, 6, 7],
            vec![
                attr::ints("kernel_shape", &[2, 3]),
                attr::ints("strides", &[2, 2]),
                attr::string("auto_pad", mode),
            ],
        );
    }
    case("AveragePool", 19)
        .input("x", seeded(&[1, 1, 6, 6], 1))
        .attr(attr::ints("kernel_shape", &[2, 2]))
        .attr(attr::ints("dilations", &[2, 2]))
        .output("y", F32)
        .unsupported_at_prepare();
}

#[test]
fn global_pools() {
    for op in ["GlobalAveragePool", "GlobalMaxPool"] {
        for shape in [&[2, 3, 4, 5][..], &[1, 2, 7], &[1, 2, 2, 3, 4]] {
            case(op, 1)
                .input("x", seeded(shape, 3))
                .output("y", F32)
                .agrees(1e-6, 1e-6);
        }
    }
}

#[test]
fn normalisations() {
    let c = 3;
    case("BatchNormalization", 15)
        .input("x", seeded(&[2, c, 4, 5], 1))
        .constant("scale", seeded(&[c], 2))
        .constant("bias", seeded(&[c], 3))
        .constant("mean", seeded(&[c], 4))
        .constant("var", f32s(&[c], &[0.5, 1.5, 3.0]))
        .attr(attr::float("epsilon", 1e-3))
        .output("y", F32)
        .agrees(1e-5, 1e-5);
    case("BatchNormalization", 15)
        .input("x", seeded(&[4, c], 1))
        .constant("scale", seeded(&[c], 2))
        .constant("bias", seeded(&[c], 3))
        .constant("mean", seeded(&[c], 4))
        .constant("var", f32s(&[c], &[0.5, 1.5, 3.0]))
        .output("y", F32)
        .agrees(1e-5, 1e-5);
    case("BatchNormalization", 15)
        .input("x", seeded(&[4, c], 1))
        .constant("scale", seeded(&[c], 2))
        .constant("bias", seeded(&[c], 3))
        .constant("mean", seeded(&[c], 4))
        .constant("var", f32s(&[c], &[0.5, 1.5, 3.0]))
        .attr(attr::int("training_mode", 1))
        .output("y", F32)
        .unsupported_at_prepare();
    case("InstanceNormalization", 6)
        .input("x", seeded(&[2, c, 4, 5], 5))
        .constant("scale", seeded(&[c], 6))
        .constant("bias", seeded(&[c], 7))
        .attr(attr::float("epsilon", 1e-4))
        .output("y", F32)
        .agrees(1e-5, 1e-4);
    for axis in [-1, 1, 2] {
        let x = seeded(&[2, 3, 4], 8);
        let tail: Vec<usize> = x.shape()[(if axis < 0 { 3 + axis } else { axis }) as usize..].to_vec();
        case("LayerNormalization", 17)
            .input("x", x)
            .constant("scale", seeded(&tail, 9))
            .constant("bias", seeded(&tail, 10))
            .attr(attr::int("axis", axis))
            .output("y", F32)
            .output("mean", F32)
            .output("inv_std", F32)
            .agrees(1e-5, 1e-4);
    }
    // A scale that only broadcasts to the normalised shape.
    case("LayerNormalization", 17)
        .input("x", seeded(&[2, 3, 4], 8))
        .constant("scale", seeded(&[1, 4], 9))
        .attr(attr::int("axis", 1))
        .output("y", F32)
        .agrees(1e-5, 1e-4);
}

#[test]
fn softmax_axis_semantics_change_at_opset_13() {
    let x = seeded(&[2, 3, 4], 12);
    for op in ["Softmax", "LogSoftmax", "Hardmax"] {
        for opset in [11, 13] {
            for axis in [0, 1, -1] {
                case(op, opset)
                    .input("x", x.clone())
                    .attr(attr::int("axis", axis))
                    .output("y", F32)
                    .agrees(1e-6, 1e-5);
            }
            case(op, opset)
                .input("x", x.clone())
                .output("y", F32)
                .agrees(1e-6, 1e-5);
        }
    }
    // Hardmax picks the first of tied maxima.
    case("Hardmax", 13)
        .input("x", f32s(&[2, 3], &[1.0, 3.0, 3.0, 2.0, 2.0, 0.0]))
        .output("y", F32)
        .exact();
}

#[test]
fn group_normalization_per_channel_and_per_group_parameters() {
    // Opset 21: per-channel scale and bias.
    for (shape, groups) in [
        (&[2, 6, 4, 3][..], 3),
        (&[1, 4, 5][..], 2),
        (&[3, 4][..], 4),
        (&[2, 6, 2, 2, 2][..], 1),
    ] {
        let c = shape[1];
        case("GroupNormalization", 21)
            .input("x", seeded(shape, 1))
            .constant("scale", seeded(&[c], 2))
            .constant("bias", seeded(&[c], 3))
            .attr(attr::int("num_groups", groups))
            .attr(attr::float("epsilon", 1e-3))
            .output("y", F32)
            .agrees(1e-5, 1e-5);
    }
    // Opset 18: per-group parameters, repeated for the channels of each group.
    case("GroupNormalization", 18)
        .input("x", seeded(&[2, 6, 3, 3], 4))
        .constant("scale", seeded(&[3], 5))
        .constant("bias", seeded(&[3], 6))
        .attr(attr::int("num_groups", 3))
        .output("y", F32)
        .agrees(1e-5, 1e-5);
}

#[test]
fn lp_normalization_axes_and_zero_lanes() {
    for p in [1, 2] {
        for axis in [0, 1, -1, -3] {
            case("LpNormalization", 1)
                .input("x", seeded(&[3, 4, 5], 1))
                .attr(attr::int("axis", axis))
                .attr(attr::int("p", p))
                .output("y", F32)
                .agrees(1e-6, 1e-5);
        }
        // A zero lane gives zeros, not NaN.
        case("LpNormalization", 1)
            .input("x", f32s(&[2, 3], &[0.0, 0.0, 0.0, 1.0, -2.0, 2.0]))
            .attr(attr::int("p", p))
            .output("y", F32)
            .agrees(1e-6, 1e-6);
    }
}

#[test]
fn lp_pools() {
    for p in [1, 2, 3] {
        for (k, s, pads) in [(2, 1, [0, 0, 0, 0]), (3, 2, [1, 1, 1, 1]), (3, 2, [0, 2, 1, 0])] {
            pool_lp(
                &[1, 2, 6, 5],
                vec![
                    attr::int("p", p),
                    attr::ints("kernel_shape", &[k, k]),
                    attr::ints("strides", &[s, s]),
                    attr::ints("pads", &pads),
                ],
            );
        }
        pool_lp(
            &[2, 3, 7],
            vec![
                attr::int("p", p),
                attr::ints("kernel_shape", &[3]),
                attr::ints("strides", &[2]),
                attr::ints("dilations", &[2]),
                attr::int("ceil_mode", 1),
                attr::ints("pads", &[1, 1]),
            ],
        );
        for mode in ["SAME_UPPER", "SAME_LOWER", "VALID"] {
            pool_lp(
                &[1, 2, 5, 4, 3],
                vec![
                    attr::int("p", p),
                    attr::ints("kernel_shape", &[2, 3, 2]),
                    attr::ints("strides", &[2, 1, 2]),
                    attr::string("auto_pad", mode),
                ],
            );
        }
        for shape in [&[2, 3, 4, 5][..], &[1, 2, 7], &[1, 2, 2, 3, 4]] {
            case("GlobalLpPool", 2)
                .input("x", seeded(shape, 3))
                .attr(attr::int("p", p))
                .output("y", F32)
                .agrees(1e-5, 1e-5);
        }
    }
    // Opset 1's float p.
    case("GlobalLpPool", 1)
        .input("x", seeded(&[1, 2, 3, 3], 4))
        .attr(attr::float("p", 2.0))
        .output("y", F32)
        .agrees(1e-5, 1e-5);
}

fn pool_lp(x: &[usize], attrs: Vec<sysnoise_boundary::onnx::AttributeProto>) {
    let mut c = case("LpPool", 18).input("x", seeded(x, 7));
    for a in attrs {
        c = c.attr(a);
    }
    c.output("y", F32).agrees(1e-5, 1e-5);
}

fn conv_transpose(x: &[usize], w: &[usize], attrs: Vec<sysnoise_boundary::onnx::AttributeProto>, bias: bool) {
    let mut c = case("ConvTranspose", 11)
        .input("x", seeded(x, 1))
        .constant("w", seeded(w, 2));
    if bias {
        let group = attrs.iter().find(|a| a.name == "group").map_or(1, |a| a.i as usize);
        c = c.constant("b", seeded(&[w[1] * group], 3));
    }
    for a in attrs {
        c = c.attr(a);
    }
    c.output("y", F32).agrees(1e-4, 1e-5);
}

#[test]
fn conv_transpose_pads_strides_output_padding_groups() {
    conv_transpose(&[1, 2, 4, 3], &[2, 3, 3, 3], vec![], true);
    conv_transpose(
        &[2, 2, 4, 3],
        &[2, 3, 3, 2],
        vec![attr::ints("strides", &[2, 3]), attr::ints("pads", &[1, 0, 2, 1])],
        true,
    );
    conv_transpose(
        &[1, 4, 3, 3],
        &[4, 2, 3, 3],
        vec![
            attr::ints("strides", &[2, 2]),
            attr::ints("dilations", &[2, 1]),
            attr::int("group", 2),
            attr::ints("pads", &[1, 1, 0, 1]),
            attr::ints("output_padding", &[1, 1]),
        ],
        true,
    );
    conv_transpose(
        &[1, 3, 5],
        &[3, 2, 3],
        vec![attr::ints("strides", &[3]), attr::ints("output_padding", &[2])],
        false,
    );
    for mode in ["SAME_UPPER", "SAME_LOWER", "VALID"] {
        conv_transpose(
            &[1, 2, 3, 4],
            &[2, 2, 3, 2],
            vec![attr::string("auto_pad", mode), attr::ints("strides", &[2, 3])],
            true,
        );
    }
    // output_shape: the pads split the total padding (odd unit first), also a negative total.
    for out in [[10, 9], [7, 6], [12, 11]] {
        conv_transpose(
            &[1, 1, 3, 3],
            &[1, 2, 3, 3],
            vec![attr::ints("strides", &[3, 3]), attr::ints("output_shape", &out)],
            true,
        );
    }
    conv_transpose(
        &[1, 2, 2, 3, 2],
        &[2, 1, 2, 2, 3],
        vec![
            attr::ints("strides", &[1, 2, 2]),
            attr::ints("pads", &[0, 1, 1, 1, 0, 1]),
            attr::int("group", 2),
        ],
        true,
    );
}

/// Deterministic 8-bit values over the whole range (u8, or i8 when `signed`).
fn bytes(shape: &[usize], seed: u64, signed: bool) -> sysnoise_boundary::Tensor {
    let n: usize = shape.iter().product();
    let values = (0..n as u64).map(|i| ((i * 97 + seed * 31 + (i * i) % 13) % 256) as u8);
    if signed {
        common::tensor(shape, values.map(|v| v as i8).collect::<Vec<i8>>())
    } else {
        common::tensor(shape, values.collect::<Vec<u8>>())
    }
}

/// MatMulInteger: u8 and i8 operands, scalar and per-row / per-column zero points, batching;
/// the int32 results must be exact.
#[test]
fn matmul_integer_shifts_by_zero_points_exactly() {
    for (signed_a, signed_b) in [(false, false), (false, true), (true, true)] {
        case("MatMulInteger", 10)
            .input("a", bytes(&[2, 3, 40], 1, signed_a))
            .input("b", bytes(&[40, 5], 2, signed_b))
            .output("y", DType::I32)
            .exact();
        let zero_a = |shape: &[usize]| bytes(shape, 3, signed_a);
        let zero_b = |shape: &[usize]| bytes(shape, 4, signed_b);
        for (za, zb) in [(vec![], vec![]), (vec![4], vec![6]), (vec![4], vec![])] {
            case("MatMulInteger", 10)
                .input("a", bytes(&[4, 33], 5, signed_a))
                .input("b", bytes(&[33, 6], 6, signed_b))
                .constant("a_zero_point", zero_a(&za))
                .constant("b_zero_point", zero_b(&zb))
                .output("y", DType::I32)
                .exact();
        }
    }
}

/// ConvInteger: the zero point pads (zero after the shift), per-output-channel weight zero
/// points, strides, dilations, groups, 1-D and 2-D.
#[test]
fn conv_integer_pads_with_the_zero_point_exactly() {
    case("ConvInteger", 10)
        .input("x", bytes(&[1, 2, 7, 6], 1, false))
        .constant("w", bytes(&[4, 2, 3, 3], 2, false))
        .constant("x_zero_point", bytes(&[], 3, false))
        .constant("w_zero_point", bytes(&[4], 4, false))
        .attr(attr::ints("pads", &[1, 2, 0, 1]))
        .attr(attr::ints("strides", &[2, 1]))
        .output("y", DType::I32)
        .exact();
    case("ConvInteger", 10)
        .input("x", bytes(&[2, 4, 9], 5, true))
        .constant("w", bytes(&[6, 2, 3], 6, true))
        .attr(attr::int("group", 2))
        .attr(attr::ints("dilations", &[2]))
        .attr(attr::string("auto_pad", "SAME_UPPER"))
        .output("y", DType::I32)
        .exact();
}

/// N-D zero points broadcast as they are (here: per row of each batch).
#[test]
fn matmul_integer_nd_zero_points() {
    case("MatMulInteger", 10)
        .input("a", bytes(&[2, 4, 33], 7, false))
        .input("b", bytes(&[33, 6], 8, true))
        .constant("a_zero_point", bytes(&[2, 4, 1], 9, false))
        .constant("b_zero_point", bytes(&[6], 10, true))
        .output("y", DType::I32)
        .exact();
}
