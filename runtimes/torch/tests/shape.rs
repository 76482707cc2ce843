//! Data-movement families against the reference: reshape / flatten / squeeze / unsqueeze /
//! shape, transpose, concat / split, slice, gather, expand / tile, pad, cast, constants, and
//! the reductions.

use crate::common::{attr, case, f32s, i32s, i64s, ints, seeded};
use sysnoise_boundary::DType;

const F32: DType = DType::F32;

#[test]
fn reshape_flatten_squeeze_unsqueeze() {
    let x = seeded(&[2, 3, 4], 1);
    case("Reshape", 14)
        .input("x", x.clone())
        .input("s", ints(&[0, -1, 2]))
        .output("y", F32)
        .exact();
    case("Reshape", 5)
        .input("x", x.clone())
        .input("s", ints(&[4, 0, 2]))
        .output("y", F32)
        .exact();
    case("Reshape", 14)
        .input("x", seeded(&[0, 3], 2))
        .input("s", ints(&[3, 0]))
        .attr(attr::int("allowzero", 1))
        .output("y", F32)
        .exact();
    for axis in [0, 1, 2, 3, -1] {
        case("Flatten", 13)
            .input("x", x.clone())
            .attr(attr::int("axis", axis))
            .output("y", F32)
            .exact();
    }
    let ones = seeded(&[1, 3, 1, 2], 3);
    case("Squeeze", 11)
        .input("x", ones.clone())
        .attr(attr::ints("axes", &[-2]))
        .output("y", F32)
        .exact();
    case("Squeeze", 13)
        .input("x", ones.clone())
        .input("a", ints(&[0, 2]))
        .output("y", F32)
        .exact();
    case("Squeeze", 13).input("x", ones).output("y", F32).exact();
    case("Unsqueeze", 11)
        .input("x", x.clone())
        .attr(attr::ints("axes", &[0, 4]))
        .output("y", F32)
        .exact();
    case("Unsqueeze", 13)
        .input("x", x.clone())
        .input("a", ints(&[-1, 1]))
        .output("y", F32)
        .exact();
    case("Shape", 13).input("x", x.clone()).output("y", DType::I64).exact();
    case("Shape", 15)
        .input("x", x.clone())
        .attr(attr::int("start", -2))
        .output("y", DType::I64)
        .exact();
    case("Shape", 15)
        .input("x", x.clone())
        .attr(attr::int("start", 1))
        .attr(attr::int("end", -1))
        .output("y", DType::I64)
        .exact();
    case("Size", 13).input("x", x.clone()).output("y", DType::I64).exact();
    case("Identity", 16).input("x", x).output("y", F32).exact();
}

#[test]
fn transpose_concat_split() {
    let x = seeded(&[2, 3, 4], 4);
    case("Transpose", 13).input("x", x.clone()).output("y", F32).exact();
    case("Transpose", 13)
        .input("x", x.clone())
        .attr(attr::ints("perm", &[1, 2, 0]))
        .output("y", F32)
        .exact();
    case("Concat", 13)
        .input("a", x.clone())
        .input("b", seeded(&[2, 3, 1], 5))
        .input("c", seeded(&[2, 3, 2], 6))
        .attr(attr::int("axis", -1))
        .output("y", F32)
        .exact();
    case("Split", 11)
        .input("x", x.clone())
        .attr(attr::int("axis", 2))
        .attr(attr::ints("split", &[1, 3]))
        .output("a", F32)
        .output("b", F32)
        .exact();
    case("Split", 13)
        .input("x", x.clone())
        .input("s", ints(&[2, 0, 1]))
        .attr(attr::int("axis", 1))
        .output("a", F32)
        .output("b", F32)
        .output("c", F32)
        .exact();
    case("Split", 13)
        .input("x", x.clone())
        .output("a", F32)
        .output("b", F32)
        .exact();
    // Opset 18: num_outputs with a smaller last part.
    case("Split", 18)
        .input("x", seeded(&[7, 2], 7))
        .attr(attr::int("num_outputs", 3))
        .output("a", F32)
        .output("b", F32)
        .output("c", F32)
        .exact();
}

#[test]
fn slice_clamps_and_steps_backwards() {
    let x = seeded(&[5, 6], 8);
    let slice = |starts: &[i64], ends: &[i64], axes: Option<&[i64]>, steps: Option<&[i64]>| {
        let mut c = case("Slice", 13)
            .input("x", x.clone())
            .input("s", ints(starts))
            .input("e", ints(ends));
        match (axes, steps) {
            (Some(a), Some(st)) => c = c.input("a", ints(a)).input("st", ints(st)),
            (Some(a), None) => c = c.input("a", ints(a)),
            (None, Some(st)) => c = c.omitted().input("st", ints(st)),
            (None, None) => {}
        }
        c.output("y", F32).exact();
    };
    slice(&[1, 0], &[3, 10], None, None);
    slice(&[-2], &[i64::MAX], Some(&[1]), None);
    slice(&[4, 5], &[0, -7], None, Some(&[-1, -2]));
    slice(&[-1], &[i64::MIN], Some(&[-1]), Some(&[-1]));
    slice(&[10], &[-10], Some(&[0]), Some(&[-2]));
    slice(&[0, 1], &[5, 6], Some(&[0, 1]), Some(&[2, 3]));
    slice(&[3], &[1], Some(&[0]), None);
    case("Slice", 9)
        .input("x", x)
        .attr(attr::ints("starts", &[1, -3]))
        .attr(attr::ints("ends", &[100, -1]))
        .output("y", F32)
        .exact();
}

#[test]
fn gather_with_negative_indices() {
    let x = seeded(&[3, 4, 2], 9);
    case("Gather", 13)
        .input("x", x.clone())
        .input("i", i64s(&[2, 2], &[0, -1, 3, -4]))
        .attr(attr::int("axis", 1))
        .output("y", F32)
        .exact();
    case("Gather", 13)
        .input("x", x.clone())
        .input("i", i32s(&[], &[-1]))
        .output("y", F32)
        .exact();
    case("GatherElements", 13)
        .input("x", x)
        .input("i", i64s(&[3, 1, 2], &[0, -1, 2, 3, -2, 1]))
        .attr(attr::int("axis", 1))
        .output("y", F32)
        .exact();
}

#[test]
fn expand_and_tile() {
    case("Expand", 13)
        .input("x", seeded(&[3, 1], 10))
        .input("s", ints(&[2, 1, 4]))
        .output("y", F32)
        .exact();
    case("Expand", 13)
        .input("x", seeded(&[2, 3], 10))
        .input("s", ints(&[1]))
        .output("y", F32)
        .exact();
    case("Tile", 13)
        .input("x", seeded(&[2, 3], 11))
        .input("r", ints(&[2, 1]))
        .output("y", F32)
        .exact();
}

#[test]
fn pad_modes() {
    let x = seeded(&[2, 3, 4], 12);
    for mode in ["constant", "reflect", "edge", "wrap"] {
        let opset = if mode == "wrap" { 19 } else { 13 };
        case("Pad", opset)
            .input("x", x.clone())
            .input("p", ints(&[0, 2, 1, 1, 1, 3]))
            .attr(attr::string("mode", mode))
            .output("y", F32)
            .exact();
    }
    case("Pad", 13)
        .input("x", x.clone())
        .input("p", ints(&[0, -1, 2, 1, 0, -2]))
        .input("v", f32s(&[], &[1.5]))
        .output("y", F32)
        .exact();
    // reflect beyond the axis length reflects again (numpy's rule).
    case("Pad", 13)
        .input("x", x.clone())
        .input("p", ints(&[0, 0, 7, 0, 0, 5]))
        .attr(attr::string("mode", "reflect"))
        .output("y", F32)
        .exact();
    case("Pad", 18)
        .input("x", x.clone())
        .input("p", ints(&[1, 2, 3, 0]))
        .input("v", f32s(&[], &[-1.0]))
        .input("a", ints(&[-1, 0]))
        .output("y", F32)
        .exact();
    case("Pad", 2)
        .input("x", x)
        .attr(attr::ints("pads", &[0, 1, 0, 0, 1, 2]))
        .attr(attr::float("value", 2.5))
        .output("y", F32)
        .exact();
}

#[test]
fn casts_and_constants() {
    let x = f32s(&[6], &[-2.7, -0.5, 0.0, 0.5, 2.7, 300.4]);
    for (to, dtype) in [
        (6, DType::I32),
        (7, DType::I64),
        (10, DType::F16),
        (16, DType::BF16),
        (9, DType::Bool),
        (11, DType::F64),
    ] {
        case("Cast", 13)
            .input("x", x.clone())
            .attr(attr::int("to", to))
            .output("y", dtype)
            .exact();
    }
    case("Cast", 13)
        .input("x", i64s(&[3], &[-3, 16_777_217, 7]))
        .attr(attr::int("to", 1))
        .output("y", F32)
        .exact();
    case("CastLike", 15)
        .input("x", x.clone())
        .input("like", i32s(&[1], &[0]))
        .output("y", DType::I32)
        .exact();
    case("Cast", 13)
        .input("x", x.clone())
        .attr(attr::int("to", 12))
        .output("y", DType::U32)
        .exact();
    case("Cast", 13)
        .input("x", x)
        .attr(attr::int("to", 13))
        .output("y", DType::U64)
        .unsupported_at_prepare();
    case("Constant", 13)
        .attr(attr::floats("value_floats", &[1.5, -2.0]))
        .output("y", F32)
        .exact();
    case("Constant", 13)
        .attr(attr::tensor("value", &i32s(&[2, 2], &[1, 2, 3, 4])))
        .output("y", DType::I32)
        .exact();
    case("ConstantOfShape", 9)
        .input("s", ints(&[2, 3]))
        .attr(attr::tensor("value", &i64s(&[1], &[7])))
        .output("y", DType::I64)
        .exact();
    case("ConstantOfShape", 9)
        .input("s", ints(&[0, 3]))
        .output("y", F32)
        .exact();
    case("Range", 11)
        .input("a", f32s(&[], &[1.0]))
        .input("b", f32s(&[], &[2.2]))
        .input("d", f32s(&[], &[0.3]))
        .output("y", F32)
        .exact();
    case("Range", 11)
        .input("a", i64s(&[], &[10]))
        .input("b", i64s(&[], &[-3]))
        .input("d", i64s(&[], &[-4]))
        .output("y", DType::I64)
        .exact();
    case("Range", 11)
        .input("a", i32s(&[], &[1]))
        .input("b", i32s(&[], &[0]))
        .input("d", i32s(&[], &[1]))
        .output("y", DType::I32)
        .exact();
}

#[test]
fn reductions_axes_by_opset_and_keepdims() {
    let x = seeded(&[2, 3, 4], 13);
    let ops = [
        "ReduceSum",
        "ReduceMean",
        "ReduceMax",
        "ReduceMin",
        "ReduceProd",
        "ReduceL1",
        "ReduceL2",
        "ReduceLogSumExp",
        "ReduceSumSquare",
    ];
    for op in ops {
        for keep in [0, 1] {
            // Opset 11: axes as an attribute.
            case(op, 11)
                .input("x", x.clone())
                .attr(attr::ints("axes", &[0, -1]))
                .attr(attr::int("keepdims", keep))
                .output("y", F32)
                .agrees(1e-5, 1e-5);
            // Opset 18: axes as an input.
            case(op, 18)
                .input("x", x.clone())
                .input("a", ints(&[1]))
                .attr(attr::int("keepdims", keep))
                .output("y", F32)
                .agrees(1e-5, 1e-5);
            // No axes: every axis.
            case(op, 18)
                .input("x", x.clone())
                .attr(attr::int("keepdims", keep))
                .output("y", F32)
                .agrees(1e-5, 1e-5);
        }
    }
    case("ReduceLogSum", 18)
        .input("x", f32s(&[2, 2], &[1.0, 2.0, 3.0, 4.0]))
        .input("a", ints(&[1]))
        .output("y", F32)
        .agrees(1e-6, 1e-6);
    case("ReduceSum", 13)
        .input("x", i32s(&[2, 3], &[1, 2, 3, 4, 5, i32::MAX]))
        .input("a", ints(&[1]))
        .output("y", DType::I32)
        .exact();
    case("ReduceSum", 13)
        .input("x", x.clone())
        .input("a", i64s(&[0], &[]))
        .attr(attr::int("noop_with_empty_axes", 1))
        .output("y", F32)
        .exact();
    let ties = f32s(&[2, 4], &[1.0, 3.0, 3.0, 0.0, 2.0, 2.0, 2.0, 2.0]);
    for op in ["ArgMax", "ArgMin"] {
        for last in [0, 1] {
            for keep in [0, 1] {
                case(op, 12)
                    .input("x", ties.clone())
                    .attr(attr::int("axis", -1))
                    .attr(attr::int("select_last_index", last))
                    .attr(attr::int("keepdims", keep))
                    .output("y", DType::I64)
                    .exact();
            }
        }
    }
}

#[test]
fn empty_reductions() {
    let empty = f32s(&[2, 0, 3], &[]);
    for op in ["ReduceSum", "ReduceProd", "ReduceLogSumExp"] {
        case(op, 18)
            .input("x", empty.clone())
            .input("a", ints(&[1]))
            .output("y", F32)
            .exact();
    }
    for op in ["ReduceMax", "ReduceMin"] {
        case(op, 18)
            .input("x", empty.clone())
            .input("a", ints(&[1]))
            .output("y", F32)
            .unsupported();
    }
}

#[test]
fn gather_nd_with_batch_dims_and_negative_indices() {
    let x = seeded(&[2, 3, 4], 5);
    // Whole tuples (scalars), partial tuples (blocks) and the empty tuple (everything).
    case("GatherND", 13)
        .input("x", x.clone())
        .input("i", i64s(&[2, 3], &[0, 1, 2, 1, -1, -4]))
        .output("y", F32)
        .exact();
    case("GatherND", 13)
        .input("x", x.clone())
        .input("i", i64s(&[2, 2, 1], &[1, 0, -1, 0]))
        .output("y", F32)
        .exact();
    case("GatherND", 13)
        .input("x", x.clone())
        .input("i", i64s(&[3, 2], &[0, 2, -1, -3, 1, 1]))
        .output("y", F32)
        .exact();
    case("GatherND", 13)
        .input("x", x.clone())
        .input("i", i64s(&[2, 0], &[]))
        .output("y", F32)
        .exact();
    for (b, ishape, values) in [
        (1, &[2, 1][..], &[2, -1][..]),
        (1, &[2, 3, 2][..], &[0, 1, 2, 3, -1, 0, 1, 1, 0, 0, 2, -2][..]),
        (2, &[2, 3, 1][..], &[0, 1, 2, 3, -1, -4][..]),
    ] {
        case("GatherND", 12)
            .input("x", x.clone())
            .input("i", i64s(ishape, values))
            .attr(attr::int("batch_dims", b))
            .output("y", F32)
            .exact();
    }
    case("GatherND", 13)
        .input("x", i64s(&[2, 2], &[1, 2, 3, 4]))
        .input("i", i32s(&[2, 1], &[1, 0]))
        .output("y", DType::I64)
        .exact();
}

#[test]
fn scatter_elements_reductions_and_negative_axes() {
    let x = seeded(&[3, 4], 1);
    for axis in [0, 1, -1, -2] {
        case("ScatterElements", 16)
            .input("x", x.clone())
            .input("i", i64s(&[2, 3], &[0, -1, 2, 1, 0, -2]))
            .input("u", seeded(&[2, 3], 2))
            .attr(attr::int("axis", axis))
            .output("y", F32)
            .exact();
    }
    // Duplicate targets only with a reduction.
    for reduction in ["add", "mul"] {
        case("ScatterElements", 16)
            .input("x", x.clone())
            .input("i", i64s(&[3, 2], &[1, 1, 1, -3, 0, 3]))
            .input("u", seeded(&[3, 2], 3))
            .attr(attr::int("axis", 1))
            .attr(attr::string("reduction", reduction))
            .output("y", F32)
            .agrees(1e-5, 1e-5);
        case("ScatterElements", 18)
            .input("x", i64s(&[2, 3], &[1, 2, 3, 4, 5, 6]))
            .input("i", i64s(&[3, 3], &[1, 0, 1, 1, 1, 0, 0, 1, 1]))
            .input("u", i64s(&[3, 3], &[2, 3, 4, 5, 6, 7, 8, 9, -1]))
            .attr(attr::string("reduction", reduction))
            .output("y", DType::I64)
            .exact();
    }
    case("Scatter", 9)
        .input("x", x.clone())
        .input("i", i64s(&[1, 4], &[2, 0, 1, 2]))
        .input("u", seeded(&[1, 4], 4))
        .output("y", F32)
        .exact();
    // Without a reduction, a repeated target is declined.
    case("ScatterElements", 16)
        .input("x", x.clone())
        .input("i", i64s(&[2, 1], &[1, 1]))
        .input("u", seeded(&[2, 1], 5))
        .output("y", F32)
        .unsupported();
    // max / min over repeated targets, a NaN update ignored and a NaN in the data kept.
    for reduction in ["max", "min"] {
        case("ScatterElements", 18)
            .input("x", f32s(&[2, 3], &[1.0, f32::NAN, 3.0, 4.0, 5.0, 6.0]))
            .input("i", i64s(&[2, 4], &[0, 1, 1, 2, 2, 2, 1, 0]))
            .input(
                "u",
                f32s(&[2, 4], &[7.0, 2.0, -8.0, f32::NAN, 9.0, -1.0, 2.0, f32::NAN]),
            )
            .attr(attr::int("axis", -1))
            .attr(attr::string("reduction", reduction))
            .output("y", F32)
            .exact();
        case("ScatterElements", 18)
            .input("x", x.clone())
            .input("i", i64s(&[2, 1], &[1, 1]))
            .input("u", seeded(&[2, 1], 5))
            .attr(attr::string("reduction", reduction))
            .output("y", F32)
            .exact();
    }
}

#[test]
fn scatter_nd_blocks_and_reductions() {
    let x = seeded(&[3, 2, 4], 1);
    case("ScatterND", 13)
        .input("x", x.clone())
        .input("i", i64s(&[2, 1], &[2, -3]))
        .input("u", seeded(&[2, 2, 4], 2))
        .output("y", F32)
        .exact();
    case("ScatterND", 13)
        .input("x", x.clone())
        .input("i", i64s(&[2, 2, 3], &[0, 0, 0, 2, 1, 3, -1, -1, -2, 1, 0, 2]))
        .input("u", seeded(&[2, 2], 3))
        .output("y", F32)
        .exact();
    for reduction in ["add", "mul"] {
        case("ScatterND", 16)
            .input("x", x.clone())
            .input("i", i64s(&[3, 2], &[1, 1, 1, -1, 0, 0]))
            .input("u", seeded(&[3, 4], 4))
            .attr(attr::string("reduction", reduction))
            .output("y", F32)
            .agrees(1e-5, 1e-5);
        case("ScatterND", 16)
            .input("x", i32s(&[4], &[1, 2, 3, 4]))
            .input("i", i64s(&[4, 1], &[0, 0, 3, 0]))
            .input("u", i32s(&[4], &[5, 6, 7, 8]))
            .attr(attr::string("reduction", reduction))
            .output("y", DType::I32)
            .exact();
    }
    case("ScatterND", 13)
        .input("x", x.clone())
        .input("i", i64s(&[2, 1], &[1, 1]))
        .input("u", seeded(&[2, 2, 4], 5))
        .output("y", F32)
        .unsupported();
    for reduction in ["max", "min"] {
        case("ScatterND", 18)
            .input("x", x.clone())
            .input("i", i64s(&[3, 1], &[1, -2, 0]))
            .input("u", seeded(&[3, 2, 4], 5))
            .attr(attr::string("reduction", reduction))
            .output("y", F32)
            .exact();
    }
}

#[test]
fn eye_like_diagonals_and_dtypes() {
    for k in [0, 1, -2, 5] {
        case("EyeLike", 9)
            .input("x", seeded(&[3, 4], 1))
            .attr(attr::int("k", k))
            .output("y", F32)
            .exact();
    }
    case("EyeLike", 9)
        .input("x", i32s(&[4, 2], &[0; 8]))
        .attr(attr::int("k", -1))
        .output("y", DType::I32)
        .exact();
    // dtype 7 is int64.
    case("EyeLike", 9)
        .input("x", seeded(&[2, 3], 1))
        .attr(attr::int("dtype", 7))
        .output("y", DType::I64)
        .exact();
}
