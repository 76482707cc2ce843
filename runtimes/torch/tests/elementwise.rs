//! Elementwise families against the reference: unary, binary with numpy broadcasting (integer
//! Div / Mod signs), comparison, activations, variadic ops.

use crate::common;

use crate::common::{attr, bools, case, f32s, i32s, i64s, seeded};
use sysnoise_boundary::{DType, Tensor};

const F32: DType = DType::F32;

fn positive(shape: &[usize], seed: u64) -> Tensor {
    let v = seeded(shape, seed).to_f64_vec();
    f32s(shape, &v.iter().map(|x| (x.abs() + 0.1) as f32).collect::<Vec<_>>())
}

#[test]
fn unary_float_ops() {
    let x = seeded(&[2, 3, 4], 11);
    for op in [
        "Abs",
        "Neg",
        "Sign",
        "Floor",
        "Ceil",
        "Exp",
        "Erf",
        "Sin",
        "Cos",
        "Tan",
        "Atan",
        "Sinh",
        "Cosh",
        "Asinh",
        "Tanh",
        "Sigmoid",
        "Reciprocal",
    ] {
        case(op, 13).input("x", x.clone()).output("y", F32).agrees(1e-6, 4e-6);
    }
    for op in ["Log", "Sqrt", "Acosh"] {
        let p = positive(&[2, 3], 12);
        let p = if op == "Acosh" {
            f32s(
                &[2, 3],
                &p.to_f64_vec().iter().map(|v| (v + 1.0) as f32).collect::<Vec<_>>(),
            )
        } else {
            p
        };
        case(op, 13).input("x", p).output("y", F32).agrees(1e-6, 4e-6);
    }
    let unit = f32s(&[5], &[-0.9, -0.5, 0.0, 0.3, 0.99]);
    for op in ["Asin", "Acos", "Atanh"] {
        case(op, 13)
            .input("x", unit.clone())
            .output("y", F32)
            .agrees(1e-6, 4e-6);
    }
}

#[test]
fn round_is_half_to_even() {
    let x = f32s(&[8], &[0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4999998, -0.0]);
    case("Round", 11).input("x", x).output("y", F32).exact();
}

#[test]
fn unary_integer_and_bool_ops() {
    let x = i32s(&[5], &[-7, -1, 0, 3, i32::MAX]);
    for op in ["Abs", "Neg", "Sign"] {
        case(op, 13).input("x", x.clone()).output("y", DType::I32).exact();
    }
    case("Not", 1)
        .input("x", bools(&[3], &[true, false, true]))
        .output("y", DType::Bool)
        .exact();
    let special = f32s(&[5], &[f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 0.0, -1.0]);
    case("IsNaN", 13)
        .input("x", special.clone())
        .output("y", DType::Bool)
        .exact();
    case("IsInf", 10)
        .input("x", special.clone())
        .output("y", DType::Bool)
        .exact();
    case("IsInf", 10)
        .input("x", special)
        .attr(attr::int("detect_negative", 0))
        .output("y", DType::Bool)
        .exact();
}

#[test]
fn binary_arithmetic_broadcasts_like_numpy() {
    let shapes: [(&[usize], &[usize]); 4] = [
        (&[2, 3, 4], &[3, 1]),
        (&[4], &[]),
        (&[1, 3, 1], &[2, 1, 4]),
        (&[2, 3], &[2, 3]),
    ];
    for (i, (a, b)) in shapes.into_iter().enumerate() {
        for op in ["Add", "Sub", "Mul", "Div"] {
            case(op, 14)
                .input("a", seeded(a, i as u64))
                .input("b", positive(b, 100 + i as u64))
                .output("y", F32)
                .agrees(1e-6, 1e-6);
        }
    }
}

#[test]
fn integer_div_truncates_toward_zero() {
    let a = [7, -7, 7, -7, 0, 5, -1, i32::MIN + 1];
    let b = [2, 2, -2, -2, 3, -5, 3, 2];
    case("Div", 14)
        .input("a", i32s(&[8], &a))
        .input("b", i32s(&[8], &b))
        .output("y", DType::I32)
        .exact();
    let a64: Vec<i64> = a.iter().map(|&v| i64::from(v)).collect();
    let b64: Vec<i64> = b.iter().map(|&v| i64::from(v)).collect();
    case("Div", 14)
        .input("a", i64s(&[8], &a64))
        .input("b", i64s(&[8], &b64))
        .output("y", DType::I64)
        .exact();
    // Broadcast scalar divisor.
    case("Div", 14)
        .input("a", i64s(&[2, 2], &[-9, 9, -8, 8]))
        .input("b", i64s(&[], &[-4]))
        .output("y", DType::I64)
        .exact();
    let reason = case("Div", 14)
        .input("a", i32s(&[2], &[1, 2]))
        .input("b", i32s(&[2], &[1, 0]))
        .output("y", DType::I32)
        .unsupported();
    assert!(reason.contains("division by zero"), "{reason}");
}

#[test]
fn integer_mod_signs_follow_fmod() {
    let a = i32s(&[6], &[7, -7, 7, -7, 6, -6]);
    let b = i32s(&[6], &[3, 3, -3, -3, 3, -3]);
    for fmod in [0, 1] {
        case("Mod", 13)
            .input("a", a.clone())
            .input("b", b.clone())
            .attr(attr::int("fmod", fmod))
            .output("y", DType::I32)
            .exact();
    }
    case("Mod", 13)
        .input("a", f32s(&[6], &[5.5, -5.5, 5.5, -5.5, 4.0, -4.0]))
        .input("b", f32s(&[6], &[2.0, 2.0, -2.0, -2.0, 2.0, 2.0]))
        .attr(attr::int("fmod", 1))
        .output("y", F32)
        .exact();
    // Floored float remainder (outside the spec's fmod = 1 rule, but the reference defines it).
    let floored = case("Mod", 13)
        .input("a", f32s(&[6], &[5.5, -5.5, 5.5, -5.5, 4.0, -4.0]))
        .input("b", f32s(&[6], &[2.0, 2.0, -2.0, -2.0, -2.0, 2.0]))
        .output("y", F32);
    floored.exact();
    let out = floored.run(&common::torch(sysnoise_torch::Precision::Native)).unwrap();
    let signs: Vec<bool> = match &out[0].1 {
        Tensor::F32(a) => a.iter().map(|v| v.is_sign_negative()).collect(),
        _ => unreachable!(),
    };
    // Zero remainders take the divisor's sign (numpy's rule): 4 mod -2 = -0, -4 mod 2 = +0.
    assert_eq!(&signs[4..], [true, false]);
}

#[test]
fn pow_keeps_the_base_dtype() {
    case("Pow", 15)
        .input("a", positive(&[2, 3], 5))
        .input("b", seeded(&[3], 6))
        .output("y", F32)
        .agrees(1e-6, 1e-5);
    case("Pow", 15)
        .input("a", seeded(&[4], 7))
        .input("b", i64s(&[4], &[0, 1, 2, 3]))
        .output("y", F32)
        .agrees(1e-6, 1e-6);
    case("Pow", 15)
        .input("a", i32s(&[4], &[-3, 2, 5, 0]))
        .input("b", i32s(&[4], &[3, 10, 2, 0]))
        .output("y", DType::I32)
        .exact();
    case("Pow", 15)
        .input("a", i32s(&[2], &[2, 3]))
        .input("b", i32s(&[2], &[-1, 2]))
        .output("y", DType::I32)
        .unsupported();
}

#[test]
fn logic_and_bitwise_ops() {
    let a = bools(&[2, 2], &[true, true, false, false]);
    let b = bools(&[2], &[true, false]);
    for op in ["And", "Or", "Xor"] {
        case(op, 7)
            .input("a", a.clone())
            .input("b", b.clone())
            .output("y", DType::Bool)
            .exact();
    }
    let x = i32s(&[4], &[0b1100, -1, 7, 0]);
    let y = i32s(&[4], &[0b1010, 5, -8, 3]);
    for op in ["BitwiseAnd", "BitwiseOr", "BitwiseXor"] {
        case(op, 18)
            .input("x", x.clone())
            .input("y", y.clone())
            .output("z", DType::I32)
            .exact();
    }
    case("BitwiseNot", 18).input("x", x).output("z", DType::I32).exact();
    let u = Tensor::U8(ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(&[4]), vec![1u8, 255, 16, 3]).unwrap());
    let s = Tensor::U8(ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(&[4]), vec![1u8, 1, 4, 9]).unwrap());
    for dir in ["LEFT", "RIGHT"] {
        case("BitShift", 11)
            .input("x", u.clone())
            .input("s", s.clone())
            .attr(attr::string("direction", dir))
            .output("y", DType::U8)
            .exact();
    }
}

#[test]
fn comparisons_and_where_broadcast() {
    let a = f32s(&[2, 3], &[1.0, f32::NAN, 3.0, -1.0, 0.0, 2.0]);
    let b = f32s(&[3], &[1.0, 1.0, 2.0]);
    for op in ["Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual"] {
        case(op, 16)
            .input("a", a.clone())
            .input("b", b.clone())
            .output("y", DType::Bool)
            .exact();
    }
    case("Equal", 13)
        .input("a", i64s(&[3], &[1, 2, 3]))
        .input("b", i64s(&[1], &[2]))
        .output("y", DType::Bool)
        .exact();
    case("Where", 16)
        .input("c", bools(&[2, 1], &[true, false]))
        .input("x", seeded(&[3], 1))
        .input("y", seeded(&[2, 3], 2))
        .output("z", F32)
        .exact();
}

#[test]
fn activations_with_their_attributes() {
    let x = seeded(&[2, 3, 4], 21);
    let simple = [
        "Relu",
        "HardSwish",
        "Softplus",
        "Softsign",
        "Elu",
        "Selu",
        "Celu",
        "HardSigmoid",
        "LeakyRelu",
    ];
    for op in simple {
        case(op, 17).input("x", x.clone()).output("y", F32).agrees(1e-6, 4e-6);
    }
    case("Mish", 18)
        .input("x", x.clone())
        .output("y", F32)
        .agrees(1e-6, 4e-6);
    let with = |op: &str, opset: i64, attrs: Vec<sysnoise_boundary::onnx::AttributeProto>| {
        let mut c = case(op, opset).input("x", x.clone()).output("y", F32);
        for a in attrs {
            c = c.attr(a);
        }
        c.agrees(1e-6, 4e-6);
    };
    with("LeakyRelu", 16, vec![attr::float("alpha", 0.3)]);
    with("Elu", 6, vec![attr::float("alpha", 0.7)]);
    with("Selu", 6, vec![attr::float("alpha", 1.5), attr::float("gamma", 2.0)]);
    with("Celu", 12, vec![attr::float("alpha", 2.0)]);
    with(
        "HardSigmoid",
        6,
        vec![attr::float("alpha", 0.3), attr::float("beta", 0.4)],
    );
    with("ThresholdedRelu", 10, vec![attr::float("alpha", 0.5)]);
    with("Shrink", 9, vec![attr::float("bias", 0.3), attr::float("lambd", 0.7)]);
    with("Gelu", 20, vec![]);
    with("Gelu", 20, vec![attr::string("approximate", "tanh")]);
    case("PRelu", 16)
        .input("x", x.clone())
        .input("slope", seeded(&[3, 1], 22))
        .output("y", F32)
        .agrees(1e-6, 1e-6);
}

#[test]
fn clip_by_attribute_and_by_input() {
    let x = seeded(&[3, 4], 31);
    case("Clip", 6)
        .input("x", x.clone())
        .attr(attr::float("min", -1.0))
        .attr(attr::float("max", 0.5))
        .output("y", F32)
        .exact();
    case("Clip", 13)
        .input("x", x.clone())
        .input("min", f32s(&[], &[-0.5]))
        .output("y", F32)
        .exact();
    case("Clip", 13)
        .input("x", x.clone())
        .omitted()
        .input("max", f32s(&[], &[0.25]))
        .output("y", F32)
        .exact();
    // min > max: every element becomes max.
    case("Clip", 13)
        .input("x", x)
        .input("min", f32s(&[], &[1.0]))
        .input("max", f32s(&[], &[-1.0]))
        .output("y", F32)
        .exact();
    case("Clip", 13)
        .input("x", i64s(&[5], &[-9, -1, 0, 4, 10]))
        .input("min", i64s(&[], &[-2]))
        .input("max", i64s(&[], &[5]))
        .output("y", DType::I64)
        .exact();
}

#[test]
fn variadic_ops_broadcast_and_propagate_nan() {
    let a = f32s(&[2, 1], &[1.0, f32::NAN]);
    let b = seeded(&[3], 41);
    let c = seeded(&[2, 3], 42);
    for op in ["Max", "Min", "Sum", "Mean"] {
        case(op, 13)
            .input("a", a.clone())
            .input("b", b.clone())
            .input("c", c.clone())
            .output("y", F32)
            .agrees(1e-6, 1e-6);
    }
    case("Max", 13)
        .input("a", i32s(&[3], &[1, 5, -2]))
        .input("b", i32s(&[1], &[2]))
        .output("y", DType::I32)
        .exact();
}

/// u16 / u32 live in wider signed kinds: arithmetic that leaves the range must wrap like the
/// unsigned types (ONNX, numpy), and values past the signed range must survive.
#[test]
fn unsigned_16_and_32_bit_arithmetic_wraps() {
    let u16s = |v: &[u16]| common::tensor(&[v.len()], v.to_vec());
    let u32s = |v: &[u32]| common::tensor(&[v.len()], v.to_vec());
    for op in ["Sub", "Mul", "Add", "Div", "Mod", "Max", "Less"] {
        let out = if op == "Less" { DType::Bool } else { DType::U16 };
        case(op, 13)
            .input("a", u16s(&[3, 65535, 40000, 7, 0]))
            .input("b", u16s(&[5, 65535, 30000, 2, 1]))
            .output("y", out)
            .exact();
        let out = if op == "Less" { DType::Bool } else { DType::U32 };
        case(op, 13)
            .input("a", u32s(&[3, u32::MAX, 3_000_000_000, 7, 0]))
            .input("b", u32s(&[5, u32::MAX, 2_000_000_000, 2, 1]))
            .output("y", out)
            .exact();
    }
    case("BitShift", 11)
        .input("a", u16s(&[1, 0x8001, 65535]))
        .input("b", u16s(&[15, 1, 4]))
        .attr(attr::string("direction", "LEFT"))
        .output("y", DType::U16)
        .exact();
    case("BitwiseNot", 18)
        .input("a", u32s(&[0, 1, u32::MAX]))
        .output("y", DType::U32)
        .exact();
    case("Cast", 13)
        .input("a", u32s(&[0, 4_000_000_000, u32::MAX]))
        .attr(attr::int("to", 1))
        .output("y", F32)
        .exact();
}

/// The wrap must happen inside the graph, not only at its output: `(a - b) / 2` and
/// `(a - b) < c` see the wrapped difference.
#[test]
fn unsigned_wraps_between_nodes() {
    use sysnoise_boundary::{GraphBuilder, Runtime};
    for dtype in [DType::U16, DType::U32] {
        let values = |v: &[u32]| match dtype {
            DType::U16 => common::tensor(&[v.len()], v.iter().map(|&x| x as u16).collect::<Vec<_>>()),
            _ => common::tensor(&[v.len()], v.to_vec()),
        };
        let mut g = GraphBuilder::new("unsigned_chain", 13);
        g.input("a", dtype, &[3]);
        g.input("b", dtype, &[3]);
        let two = g.constant("two", &values(&[2, 2, 2]));
        let c = g.constant("c", &values(&[100, 100, 100]));
        let d = g.node("Sub", "difference", &["a", "b"], vec![]);
        let half = g.node("Div", "half", &[&d, &two], vec![]);
        let small = g.node("Less", "small", &[&d, &c], vec![]);
        g.output(&half, dtype);
        g.output(&small, DType::Bool);
        let model = g.build();
        let feeds = vec![
            ("a".to_string(), values(&[3, 10, 0])),
            ("b".to_string(), values(&[5, 4, 1])),
        ];
        let run = |runtime: &dyn Runtime| runtime.prepare(&model).unwrap().run(&feeds).unwrap();
        let expected = run(&sysnoise_reference::Reference);
        let actual = run(&common::torch(sysnoise_torch::Precision::Native));
        assert_eq!(actual, expected, "{dtype}");
        // (3 - 5) wraps to the top of the range: half of it is large, and it is not < 100.
        assert_eq!(expected[1].1.to_f64_vec(), vec![0.0, 1.0, 0.0]);
    }
}
