//! Catalog: normalisations — BatchNormalization (inference), Instance-, Layer-, Group- and LpNormalization.

use ndarray::{ArrayD, IxDyn};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::strategy::BoxedStrategy;
use sysnoise_boundary::onnx::AttributeProto;
use sysnoise_boundary::{DType, Tensor};

use super::{FLOATS_AND_HALVES, InputDesc, OpCase, OpSpec, attr, shape};

const FAMILY: &str = "normalization";

/// `epsilon` left at its default (1e-5) or set.
fn epsilon() -> BoxedStrategy<Vec<AttributeProto>> {
    select(vec![None, Some(1e-3f32), Some(0.1), Some(1e-6)])
        .prop_map(|e| e.map(|e| vec![attr::float("epsilon", e)]).unwrap_or_default())
        .boxed()
}

/// An `N x C x D1 ... Dn` shape with `spatial` axes in the given range.
fn channels_first(spatial: std::ops::RangeInclusive<usize>, max_channels: usize) -> BoxedStrategy<Vec<usize>> {
    (1usize..=2, 1..=max_channels, shape(spatial, 1..=5))
        .prop_map(|(n, c, rest)| [n, c].into_iter().chain(rest).collect())
        .boxed()
}

/// A positive 1-D tensor (a running variance), drawn from the strategy so a case is reproducible.
fn positive(dtype: DType, len: usize) -> BoxedStrategy<Tensor> {
    vec(0.05f64..2.0, len)
        .prop_map(move |v| Tensor::from_f64(dtype, &ArrayD::from_shape_vec(IxDyn(&[v.len()]), v).expect("1-D")))
        .boxed()
}

/// BatchNormalization in inference mode: scale, B and mean are weights; the variance is a
/// fixed positive constant (a negative one would take the square root of a negative number).
fn batch_norm(dtype: DType) -> BoxedStrategy<OpCase> {
    channels_first(0..=3, 4)
        .prop_flat_map(move |x| {
            let c = x[1];
            (Just(x), positive(dtype, c), epsilon(), any::<bool>())
        })
        .prop_map(move |(x, var, mut attrs, momentum)| {
            let c = vec![x[1]];
            let inputs = vec![
                InputDesc::data(dtype, x),
                InputDesc::weight(dtype, c.clone()),
                InputDesc::weight(dtype, c.clone()),
                InputDesc::weight(dtype, c),
                InputDesc::fixed(var),
            ];
            if momentum {
                attrs.push(attr::float("momentum", 0.8));
            }
            OpCase::new("BatchNormalization", dtype, inputs, attrs)
        })
        .boxed()
}

fn instance_norm(dtype: DType) -> BoxedStrategy<OpCase> {
    (channels_first(1..=3, 4), epsilon())
        .prop_map(move |(x, attrs)| {
            let c = vec![x[1]];
            let inputs = vec![
                InputDesc::data(dtype, x),
                InputDesc::weight(dtype, c.clone()),
                InputDesc::weight(dtype, c),
            ];
            OpCase::new("InstanceNormalization", dtype, inputs, attrs)
        })
        .boxed()
}

/// LayerNormalization over the axes from `axis` on (the default -1 first), with or without the
/// bias and the Mean / InvStdDev outputs.
fn layer_norm(dtype: DType) -> BoxedStrategy<OpCase> {
    shape(1..=4, 1..=6)
        .prop_flat_map(|x| {
            let rank = x.len() as i64;
            (Just(x), prop_oneof![Just(-1i64), -rank..rank])
        })
        .prop_flat_map(move |(x, axis)| (Just(x), Just(axis), epsilon(), any::<bool>(), any::<bool>()))
        .prop_map(move |(x, axis, mut attrs, bias, statistics)| {
            let first = if axis < 0 { x.len() as i64 + axis } else { axis } as usize;
            let normalized = x[first..].to_vec();
            let mut inputs = vec![InputDesc::data(dtype, x), InputDesc::weight(dtype, normalized.clone())];
            if bias {
                inputs.push(InputDesc::weight(dtype, normalized));
            }
            if axis != -1 {
                attrs.push(attr::int("axis", axis));
            }
            let mut case = OpCase::new("LayerNormalization", dtype, inputs, attrs);
            case.num_outputs = if statistics { 3 } else { 1 };
            case
        })
        .boxed()
}

/// GroupNormalization (opset 21: per-channel scale and bias) into a number of groups dividing
/// the channels.
fn group_norm(dtype: DType) -> BoxedStrategy<OpCase> {
    (1usize..=3, 1usize..=3, 1usize..=2, shape(1..=2, 1..=5), epsilon())
        .prop_map(move |(groups, per_group, n, spatial, mut attrs)| {
            let c = groups * per_group;
            let x = [n, c].into_iter().chain(spatial).collect();
            let inputs = vec![
                InputDesc::data(dtype, x),
                InputDesc::weight(dtype, vec![c]),
                InputDesc::weight(dtype, vec![c]),
            ];
            attrs.push(attr::int("num_groups", groups as i64));
            let mut case = OpCase::new("GroupNormalization", dtype, inputs, attrs);
            case.opset = 21;
            case
        })
        .boxed()
}

/// LpNormalization along `axis` (default -1) with p = 2 (default) or 1.
fn lp_norm(dtype: DType) -> BoxedStrategy<OpCase> {
    shape(1..=4, 1..=6)
        .prop_flat_map(|x| {
            let rank = x.len() as i64;
            (
                Just(x),
                prop_oneof![Just(None), (-rank..rank).prop_map(Some)],
                any::<bool>(),
            )
        })
        .prop_map(move |(x, axis, l1)| {
            let mut attrs: Vec<AttributeProto> = axis.map(|a| attr::int("axis", a)).into_iter().collect();
            if l1 {
                attrs.push(attr::int("p", 1));
            }
            OpCase::new("LpNormalization", dtype, vec![InputDesc::data(dtype, x)], attrs)
        })
        .boxed()
}

pub fn specs() -> Vec<OpSpec> {
    vec![
        OpSpec::new(FAMILY, "BatchNormalization", FLOATS_AND_HALVES, batch_norm),
        OpSpec::new(FAMILY, "InstanceNormalization", FLOATS_AND_HALVES, instance_norm),
        OpSpec::new(FAMILY, "LayerNormalization", FLOATS_AND_HALVES, layer_norm),
        OpSpec::new(FAMILY, "GroupNormalization", FLOATS_AND_HALVES, group_norm),
        OpSpec::new(FAMILY, "LpNormalization", FLOATS_AND_HALVES, lp_norm),
    ]
}
