//! Catalog: elementwise ops — unary math and activations, broadcasting binary ops, comparisons, Where, Clip.

use proptest::prelude::*;
use proptest::strategy::BoxedStrategy;
use sysnoise_boundary::DType;

use super::{FLOATS, FLOATS_AND_HALVES, InputDesc, OpCase, OpSpec, attr, broadcastable_to, shape};

const FAMILY: &str = "elementwise";

const NUMERIC: &[DType] = &[DType::F32, DType::F16, DType::F64, DType::I32, DType::I64];

/// Binary ops with multidirectional broadcasting.
const BINARY: &[(&str, &[DType])] = &[
    ("Add", NUMERIC),
    ("Sub", NUMERIC),
    ("Mul", NUMERIC),
    ("Div", FLOATS_AND_HALVES),
    ("Pow", FLOATS),
    ("Max", NUMERIC),
    ("Min", NUMERIC),
    ("Equal", NUMERIC),
    ("Less", NUMERIC),
    ("Greater", NUMERIC),
];

fn unary(op: &'static str, dtype: DType) -> BoxedStrategy<OpCase> {
    shape(0..=5, 1..=5)
        .prop_map(move |s| OpCase::new(op, dtype, vec![InputDesc::data(dtype, s)], vec![]))
        .boxed()
}

fn unary_spec(op: &'static str) -> OpSpec {
    // A fn pointer cannot capture `op`, so each op gets its strategy through a lookup.
    OpSpec::new(FAMILY, op, FLOATS_AND_HALVES, plain_unary_strategy(op))
}

/// Defines `PLAIN_UNARY` (unary ops with no attributes, over floats) and the strategy of each.
macro_rules! plain_unary_fns {
    ($($op:literal),*) => {
        const PLAIN_UNARY: &[&str] = &[$($op),*];

        fn plain_unary_strategy(op: &'static str) -> fn(DType) -> BoxedStrategy<OpCase> {
            match op {
                $($op => |d| unary($op, d),)*
                other => unreachable!("{other} is not a plain unary op"),
            }
        }
    };
}
plain_unary_fns!(
    "Abs",
    "Neg",
    "Exp",
    "Log",
    "Sqrt",
    "Reciprocal",
    "Sigmoid",
    "Tanh",
    "Relu",
    "Erf",
    "Floor",
    "Ceil",
    "Round",
    "Sign",
    "Sin",
    "Cos",
    "Softplus",
    "Softsign",
    "HardSwish",
    "Selu",
    "Mish"
);

/// Unary ops with one float attribute `alpha` (and HardSigmoid's `beta`).
fn with_alpha(op: &'static str, dtype: DType) -> BoxedStrategy<OpCase> {
    (
        shape(0..=5, 1..=5),
        prop_oneof![Just(None), (0.01f32..3.0).prop_map(Some)],
    )
        .prop_map(move |(s, alpha)| {
            let attrs = alpha.map(|a| vec![attr::float("alpha", a)]).unwrap_or_default();
            OpCase::new(op, dtype, vec![InputDesc::data(dtype, s)], attrs)
        })
        .boxed()
}

fn gelu(dtype: DType) -> BoxedStrategy<OpCase> {
    (shape(0..=5, 1..=5), prop_oneof![Just("none"), Just("tanh")])
        .prop_map(move |(s, approximate)| {
            let mut case = OpCase::new("Gelu", dtype, vec![InputDesc::data(dtype, s)], vec![]);
            if approximate != "none" {
                case.attributes.push(attr::string("approximate", approximate));
            }
            case.opset = 20;
            case
        })
        .boxed()
}

fn binary(op: &'static str, dtype: DType) -> BoxedStrategy<OpCase> {
    shape(0..=4, 1..=5)
        .prop_flat_map(|a| (Just(a.clone()), broadcastable_to(a), any::<bool>()))
        .prop_map(move |(a, b, swap)| {
            let (a, b) = if swap { (b, a) } else { (a, b) };
            OpCase::new(
                op,
                dtype,
                vec![InputDesc::data(dtype, a), InputDesc::data(dtype, b)],
                vec![],
            )
        })
        .boxed()
}

fn prelu(dtype: DType) -> BoxedStrategy<OpCase> {
    shape(1..=4, 1..=5)
        .prop_flat_map(|a| (Just(a.clone()), broadcastable_to(a)))
        .prop_map(move |(a, slope)| {
            OpCase::new(
                "PRelu",
                dtype,
                vec![InputDesc::data(dtype, a), InputDesc::weight(dtype, slope)],
                vec![],
            )
        })
        .boxed()
}

fn where_op(dtype: DType) -> BoxedStrategy<OpCase> {
    shape(0..=4, 1..=4)
        .prop_flat_map(|a| (Just(a.clone()), broadcastable_to(a.clone()), broadcastable_to(a)))
        .prop_map(move |(c, x, y)| {
            let inputs = vec![
                InputDesc::data(DType::Bool, c),
                InputDesc::data(dtype, x),
                InputDesc::data(dtype, y),
            ];
            OpCase::new("Where", dtype, inputs, vec![])
        })
        .boxed()
}

fn clip(dtype: DType) -> BoxedStrategy<OpCase> {
    (shape(0..=4, 1..=5), any::<bool>(), any::<bool>())
        .prop_map(move |(s, has_min, has_max)| {
            let bound = |present: bool| {
                if present {
                    InputDesc::weight(dtype, vec![])
                } else {
                    InputDesc::omitted()
                }
            };
            let mut inputs = vec![InputDesc::data(dtype, s), bound(has_min), bound(has_max)];
            while inputs.last().is_some_and(|d| d.role == super::Role::Omitted) {
                inputs.pop();
            }
            OpCase::new("Clip", dtype, inputs, vec![])
        })
        .boxed()
}

macro_rules! binary_fns {
    ($($op:literal),*) => {
        fn binary_strategy(op: &'static str) -> fn(DType) -> BoxedStrategy<OpCase> {
            match op {
                $($op => |d| binary($op, d),)*
                other => unreachable!("{other} is not a binary op"),
            }
        }
    };
}
binary_fns!(
    "Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Equal", "Less", "Greater"
);

pub fn specs() -> Vec<OpSpec> {
    let mut specs: Vec<OpSpec> = PLAIN_UNARY.iter().map(|op| unary_spec(op)).collect();
    specs.extend(
        BINARY
            .iter()
            .map(|(op, dtypes)| OpSpec::new(FAMILY, op, dtypes, binary_strategy(op))),
    );
    specs.extend([
        OpSpec::new(FAMILY, "LeakyRelu", FLOATS_AND_HALVES, |d| with_alpha("LeakyRelu", d)),
        OpSpec::new(FAMILY, "Elu", FLOATS_AND_HALVES, |d| with_alpha("Elu", d)),
        OpSpec::new(FAMILY, "Celu", FLOATS, |d| with_alpha("Celu", d)),
        OpSpec::new(FAMILY, "HardSigmoid", FLOATS_AND_HALVES, |d| {
            with_alpha("HardSigmoid", d)
        }),
        OpSpec::new(FAMILY, "Gelu", FLOATS_AND_HALVES, gelu),
        OpSpec::new(FAMILY, "PRelu", FLOATS_AND_HALVES, prelu),
        OpSpec::new(FAMILY, "Where", NUMERIC, where_op),
        OpSpec::new(FAMILY, "Clip", NUMERIC, clip),
    ]);
    specs
}
