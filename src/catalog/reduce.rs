//! Catalog: reductions — the Reduce* family (axes as an input from opset 18, as an attribute at 13), ArgMax, ArgMin.

use proptest::prelude::*;
use proptest::strategy::BoxedStrategy;
use sysnoise_boundary::DType;

use super::shape_ops::{axes_subset, axis, i64s, small_shape};
use super::{FLOATS_AND_HALVES, InputDesc, OpCase, OpSpec, attr};

const FAMILY: &str = "reduce";

/// Types with an exact reduction (sums, products, extremes).
const NUMERIC: &[DType] = &[DType::F32, DType::F16, DType::F64, DType::I32, DType::I64];
/// Types ReduceMax/ReduceMin order (bool from opset 20).
const ORDERED: &[DType] = &[
    DType::F32,
    DType::F16,
    DType::F64,
    DType::I32,
    DType::I64,
    DType::U8,
    DType::Bool,
];
/// Types ArgMax/ArgMin order.
const ARG_TYPES: &[DType] = &[DType::F32, DType::F16, DType::F64, DType::I32, DType::I64, DType::U8];

/// How a Reduce* node names its axes.
#[derive(Clone, Debug)]
enum Axes {
    /// No axes: all of them (none with `noop_with_empty_axes`).
    Absent,
    /// Listed axes: unique, some negative, in any order.
    Listed(Vec<i64>),
    /// An empty `axes` input (where axes are an input), which means the same as absent.
    Empty,
}

/// The choices of one Reduce* case besides its shape.
#[derive(Clone, Debug)]
struct ReduceChoice {
    opset: i64,
    keepdims: Option<i64>,
    noop_with_empty_axes: bool,
    axes: Axes,
}

/// Whether `op` at `opset` takes its axes as input 1 (rather than an attribute).
fn axes_are_an_input(op: &str, opset: i64) -> bool {
    opset >= 18 || (op == "ReduceSum" && opset >= 13)
}

/// Absent (the default) first, then 0 and 1.
fn keepdims() -> BoxedStrategy<Option<i64>> {
    prop_oneof![Just(None), Just(Some(0)), Just(Some(1))].boxed()
}

fn axes_choice(rank: usize) -> BoxedStrategy<Axes> {
    prop_oneof![
        1 => Just(Axes::Absent),
        3 => axes_subset(rank).prop_map(Axes::Listed),
        1 => Just(Axes::Empty),
    ]
    .boxed()
}

/// Opset 18 (axes input) or 13 (axes attribute); bool needs opset 20.
fn reduce_opset(dtype: DType) -> BoxedStrategy<i64> {
    if dtype == DType::Bool {
        Just(20).boxed()
    } else {
        prop_oneof![Just(18), Just(13)].boxed()
    }
}

fn reduce_choice(rank: usize, dtype: DType) -> BoxedStrategy<ReduceChoice> {
    (reduce_opset(dtype), keepdims(), any::<bool>(), axes_choice(rank))
        .prop_map(|(opset, keepdims, noop_with_empty_axes, axes)| ReduceChoice {
            opset,
            keepdims,
            noop_with_empty_axes,
            axes,
        })
        .boxed()
}

fn reduce_case(op: &'static str, dtype: DType, s: Vec<usize>, choice: ReduceChoice) -> OpCase {
    let mut inputs = vec![InputDesc::data(dtype, s)];
    let mut attrs: Vec<_> = choice.keepdims.map(|k| attr::int("keepdims", k)).into_iter().collect();
    if axes_are_an_input(op, choice.opset) {
        match choice.axes {
            Axes::Absent => {}
            Axes::Listed(axes) => inputs.push(InputDesc::fixed(i64s(&axes))),
            Axes::Empty => inputs.push(InputDesc::fixed(i64s(&[]))),
        }
        if choice.noop_with_empty_axes {
            attrs.push(attr::int("noop_with_empty_axes", 1));
        }
    } else if let Axes::Listed(axes) = choice.axes {
        attrs.push(attr::ints("axes", &axes));
    }
    let mut case = OpCase::new(op, dtype, inputs, attrs);
    case.opset = choice.opset;
    case
}

fn reduce(op: &'static str, dtype: DType) -> BoxedStrategy<OpCase> {
    small_shape(1..=5)
        .prop_flat_map(move |s| (Just(s.clone()), reduce_choice(s.len(), dtype)))
        .prop_map(move |(s, choice)| reduce_case(op, dtype, s, choice))
        .boxed()
}

fn arg_extreme(op: &'static str, dtype: DType) -> BoxedStrategy<OpCase> {
    small_shape(1..=5)
        .prop_flat_map(|s| {
            let axis = prop_oneof![Just(None), axis(s.len()).prop_map(Some)];
            (Just(s), axis, keepdims(), any::<bool>())
        })
        .prop_map(move |(s, axis, keepdims, last)| {
            let mut attrs: Vec<_> = axis.map(|a| attr::int("axis", a)).into_iter().collect();
            attrs.extend(keepdims.map(|k| attr::int("keepdims", k)));
            if last {
                attrs.push(attr::int("select_last_index", 1));
            }
            let mut case = OpCase::new(op, dtype, vec![InputDesc::data(dtype, s)], attrs);
            case.opset = 13;
            case
        })
        .boxed()
}

pub fn specs() -> Vec<OpSpec> {
    vec![
        OpSpec::new(FAMILY, "ReduceSum", NUMERIC, |d| reduce("ReduceSum", d)),
        OpSpec::new(FAMILY, "ReduceMean", NUMERIC, |d| reduce("ReduceMean", d)),
        OpSpec::new(FAMILY, "ReduceMax", ORDERED, |d| reduce("ReduceMax", d)),
        OpSpec::new(FAMILY, "ReduceMin", ORDERED, |d| reduce("ReduceMin", d)),
        OpSpec::new(FAMILY, "ReduceProd", NUMERIC, |d| reduce("ReduceProd", d)),
        OpSpec::new(FAMILY, "ReduceL1", NUMERIC, |d| reduce("ReduceL1", d)),
        OpSpec::new(FAMILY, "ReduceL2", FLOATS_AND_HALVES, |d| reduce("ReduceL2", d)),
        OpSpec::new(FAMILY, "ReduceLogSum", FLOATS_AND_HALVES, |d| reduce("ReduceLogSum", d)),
        OpSpec::new(FAMILY, "ReduceLogSumExp", FLOATS_AND_HALVES, |d| {
            reduce("ReduceLogSumExp", d)
        }),
        OpSpec::new(FAMILY, "ReduceSumSquare", NUMERIC, |d| reduce("ReduceSumSquare", d)),
        OpSpec::new(FAMILY, "ArgMax", ARG_TYPES, |d| arg_extreme("ArgMax", d)),
        OpSpec::new(FAMILY, "ArgMin", ARG_TYPES, |d| arg_extreme("ArgMin", d)),
    ]
}
