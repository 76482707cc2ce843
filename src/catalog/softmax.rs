//! Catalog: normalisations along an axis — Softmax, LogSoftmax, Hardmax (opset 13 single axis, opset 11 2-D coercion).

use proptest::prelude::*;
use proptest::strategy::BoxedStrategy;
use sysnoise_boundary::DType;

use super::shape_ops::{axis, small_shape};
use super::{FLOATS_AND_HALVES, InputDesc, OpCase, OpSpec, attr};

/// Opset 13 first; opset 11 coerces the input to 2-D at the axis (default 1), so it needs rank 2.
fn opset_and_shape() -> BoxedStrategy<(i64, Vec<usize>)> {
    prop_oneof![Just(13i64), Just(11)]
        .prop_flat_map(|opset| {
            let lowest_rank = if opset >= 13 { 1 } else { 2 };
            (Just(opset), small_shape(lowest_rank..=5))
        })
        .boxed()
}

fn along_axis(op: &'static str, dtype: DType) -> BoxedStrategy<OpCase> {
    opset_and_shape()
        .prop_flat_map(|(opset, s)| {
            let axis = prop_oneof![Just(None), axis(s.len()).prop_map(Some)];
            (Just(opset), Just(s), axis)
        })
        .prop_map(move |(opset, s, axis)| {
            let attrs: Vec<_> = axis.map(|a| attr::int("axis", a)).into_iter().collect();
            let mut case = OpCase::new(op, dtype, vec![InputDesc::data(dtype, s)], attrs);
            case.opset = opset;
            case
        })
        .boxed()
}

macro_rules! spec {
    ($op:literal) => {
        OpSpec {
            op_type: $op,
            family: "softmax",
            dtypes: FLOATS_AND_HALVES,
            strategy: |d| along_axis($op, d),
        }
    };
}

pub fn specs() -> Vec<OpSpec> {
    vec![spec!("Softmax"), spec!("LogSoftmax"), spec!("Hardmax")]
}
