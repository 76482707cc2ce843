//! Catalog: data-movement ops — Reshape, Transpose, Concat, Split, Slice, Gather(Elements), Pad, Squeeze, Unsqueeze, Flatten, Expand, Tile, Cast.

use ndarray::{ArrayD, IxDyn};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample;
use proptest::strategy::BoxedStrategy;
use sysnoise_boundary::{DType, Tensor};

use super::{InputDesc, OpCase, OpSpec, Role, attr, broadcastable_to, shape};

const FAMILY: &str = "shape_ops";

/// Element types for ops that only move data.
const MOVABLE: &[DType] = &[
    DType::F32,
    DType::F16,
    DType::F64,
    DType::I32,
    DType::I64,
    DType::U8,
    DType::Bool,
];

/// The largest dim for a tensor of `rank`, so that no tensor has more than a few hundred elements.
fn max_dim(rank: usize) -> usize {
    match rank {
        0..=2 => 6,
        3 => 5,
        4 => 4,
        _ => 3,
    }
}

/// A shape of rank in `ranks` with dims from 1 up to a cap that falls with the rank (shrinks
/// toward the lowest rank and dims of 1).
pub(super) fn small_shape(ranks: std::ops::RangeInclusive<usize>) -> BoxedStrategy<Vec<usize>> {
    ranks.prop_flat_map(|r| vec(1..=max_dim(r), r)).boxed()
}

/// An int64 tensor of `shape` holding `values`.
pub(super) fn i64_tensor(shape: &[usize], values: Vec<i64>) -> Tensor {
    Tensor::I64(ArrayD::from_shape_vec(IxDyn(shape), values).expect("one value per element"))
}

/// A 1-D int64 tensor (axes, pads, shapes...).
pub(super) fn i64s(values: &[i64]) -> Tensor {
    i64_tensor(&[values.len()], values.to_vec())
}

/// `axis` (possibly negative) as an index into a tensor of `rank`.
pub(super) fn normalised(axis: i64, rank: usize) -> usize {
    if axis < 0 {
        (axis + rank as i64) as usize
    } else {
        axis as usize
    }
}

/// An axis of a tensor of `rank` (at least 1), sometimes written negative; shrinks to 0.
pub(super) fn axis(rank: usize) -> BoxedStrategy<i64> {
    (0..rank, any::<bool>())
        .prop_map(move |(a, negative)| if negative { a as i64 - rank as i64 } else { a as i64 })
        .boxed()
}

/// `axes` of a tensor of `rank`, some written negative, in any order (shrinks to as given).
fn signed_and_shuffled(axes: Vec<usize>, rank: usize) -> BoxedStrategy<Vec<i64>> {
    vec(any::<bool>(), axes.len())
        .prop_map(move |negative| {
            axes.iter()
                .zip(&negative)
                .map(|(&a, &n)| if n { a as i64 - rank as i64 } else { a as i64 })
                .collect::<Vec<i64>>()
        })
        .prop_flat_map(|v| Just(v).prop_shuffle())
        .boxed()
}

/// A non-empty subset of `candidates` (axes of a tensor of `rank`), unique, some negative, in
/// any order; shrinks toward the first candidate alone.
pub(super) fn axes_among(candidates: Vec<usize>, rank: usize) -> BoxedStrategy<Vec<i64>> {
    vec(any::<bool>(), candidates.len())
        .prop_map(move |pick| {
            let chosen: Vec<usize> = candidates
                .iter()
                .zip(&pick)
                .filter(|(_, p)| **p)
                .map(|(&a, _)| a)
                .collect();
            if chosen.is_empty() { vec![candidates[0]] } else { chosen }
        })
        .prop_flat_map(move |chosen| signed_and_shuffled(chosen, rank))
        .boxed()
}

/// A non-empty subset of the axes of a tensor of `rank` (at least 1).
pub(super) fn axes_subset(rank: usize) -> BoxedStrategy<Vec<i64>> {
    axes_among((0..rank).collect(), rank)
}

/// An optional attribute value: absent first (the default), then a present one.
fn optional<T: Clone + std::fmt::Debug + 'static>(value: BoxedStrategy<T>) -> BoxedStrategy<Option<T>> {
    prop_oneof![Just(None), value.prop_map(Some)].boxed()
}

fn prime_factors(mut n: usize) -> Vec<usize> {
    let mut factors = Vec::new();
    let mut p = 2;
    while n > 1 {
        while n.is_multiple_of(p) {
            factors.push(p);
            n /= p;
        }
        p += 1;
    }
    factors
}

/// How a Reshape target is drawn from the input's element count: its prime factors (shuffled)
/// go to buckets `bucket % rank`; one dim may become -1, and dims equal to the input's may
/// become 0 (copy) unless `allowzero`.
#[derive(Clone, Debug)]
struct ReshapeTarget {
    factors: Vec<usize>,
    rank: usize,
    buckets: Vec<usize>,
    minus_one: Option<usize>,
    zeros: bool,
    allowzero: bool,
}

impl ReshapeTarget {
    fn shape_input(&self, input: &[usize]) -> Vec<i64> {
        let mut dims = vec![1usize; self.rank];
        for (f, b) in self.factors.iter().zip(&self.buckets) {
            dims[b % self.rank] *= f;
        }
        let mut target: Vec<i64> = dims.iter().map(|&d| d as i64).collect();
        if self.zeros && !self.allowzero {
            for (t, &d) in target.iter_mut().zip(input) {
                if *t == d as i64 {
                    *t = 0;
                }
            }
        }
        if let Some(i) = self.minus_one {
            target[i % self.rank] = -1;
        }
        target
    }
}

fn reshape_target(input: &[usize]) -> BoxedStrategy<ReshapeTarget> {
    let factors = prime_factors(input.iter().product());
    let n = factors.len();
    (
        Just(factors).prop_shuffle(),
        1usize..=4,
        vec(0usize..4, n),
        optional((0usize..4).boxed()),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(factors, rank, buckets, minus_one, zeros, allowzero)| ReshapeTarget {
            factors,
            rank,
            buckets,
            minus_one,
            zeros,
            allowzero,
        })
        .boxed()
}

fn reshape(dtype: DType) -> BoxedStrategy<OpCase> {
    small_shape(1..=4)
        .prop_flat_map(|s| (Just(s.clone()), reshape_target(&s)))
        .prop_map(move |(s, target)| {
            let shape_input = InputDesc::fixed(i64s(&target.shape_input(&s)));
            let attrs = if target.allowzero {
                vec![attr::int("allowzero", 1)]
            } else {
                vec![]
            };
            let mut case = OpCase::new("Reshape", dtype, vec![InputDesc::data(dtype, s), shape_input], attrs);
            case.opset = 14;
            case
        })
        .boxed()
}

fn transpose(dtype: DType) -> BoxedStrategy<OpCase> {
    small_shape(1..=5)
        .prop_flat_map(|s| {
            let identity: Vec<i64> = (0..s.len() as i64).collect();
            (Just(s), optional(Just(identity).prop_shuffle().boxed()))
        })
        .prop_map(move |(s, perm)| {
            let attrs = perm.map(|p| vec![attr::ints("perm", &p)]).unwrap_or_default();
            OpCase::new("Transpose", dtype, vec![InputDesc::data(dtype, s)], attrs)
        })
        .boxed()
}

fn concat(dtype: DType) -> BoxedStrategy<OpCase> {
    (small_shape(1..=4), 2usize..=4)
        .prop_flat_map(|(s, n)| (Just(s.clone()), axis(s.len()), vec(1usize..=4, n)))
        .prop_map(move |(s, axis, lengths)| {
            let at = normalised(axis, s.len());
            let inputs = lengths
                .iter()
                .map(|&len| {
                    let mut part = s.clone();
                    part[at] = len;
                    InputDesc::data(dtype, part)
                })
                .collect();
            let mut case = OpCase::new("Concat", dtype, inputs, vec![attr::int("axis", axis)]);
            case.opset = 13;
            case
        })
        .boxed()
}

/// How Split divides its axis.
#[derive(Clone, Debug)]
enum SplitBy {
    /// Into this many outputs: the `num_outputs` attribute from opset 18, the node's output
    /// count before.
    Count(usize),
    /// Explicit sizes (the `split` input), summing to the dim.
    Sizes(Vec<usize>),
}

/// The output counts valid for a dim of `d`: from opset 18 chunks of `ceil(d / n)` with a
/// smaller but non-empty last one; before, equal parts.
fn split_counts(d: usize, opset: i64) -> Vec<usize> {
    (1..=d.min(4))
        .filter(|&n| {
            if opset >= 18 {
                (n - 1) * d.div_ceil(n) < d
            } else {
                d.is_multiple_of(n)
            }
        })
        .collect()
}

/// The lengths of the segments of `0..d` cut before each position `i + 1` where `cuts[i]`.
fn segments(d: usize, cuts: &[bool]) -> Vec<usize> {
    let mut sizes = vec![];
    let mut start = 0;
    for (i, _) in cuts.iter().enumerate().filter(|(_, c)| **c) {
        sizes.push(i + 1 - start);
        start = i + 1;
    }
    sizes.push(d - start);
    sizes
}

fn split_by(d: usize, opset: i64) -> BoxedStrategy<SplitBy> {
    prop_oneof![
        sample::select(split_counts(d, opset)).prop_map(SplitBy::Count),
        vec(any::<bool>(), d - 1).prop_map(move |cuts| SplitBy::Sizes(segments(d, &cuts))),
    ]
    .boxed()
}

fn split_case(dtype: DType, s: Vec<usize>, opset: i64, axis: i64, by: SplitBy) -> OpCase {
    let mut inputs = vec![InputDesc::data(dtype, s)];
    let mut attrs = vec![attr::int("axis", axis)];
    let num_outputs = match by {
        SplitBy::Count(n) => {
            if opset >= 18 {
                attrs.push(attr::int("num_outputs", n as i64));
            }
            n
        }
        SplitBy::Sizes(sizes) => {
            let sizes_i64: Vec<i64> = sizes.iter().map(|&v| v as i64).collect();
            inputs.push(InputDesc::fixed(i64s(&sizes_i64)));
            sizes.len()
        }
    };
    let mut case = OpCase::new("Split", dtype, inputs, attrs);
    case.opset = opset;
    case.num_outputs = num_outputs;
    case
}

fn split(dtype: DType) -> BoxedStrategy<OpCase> {
    (small_shape(1..=4), prop_oneof![Just(18i64), Just(13)])
        .prop_flat_map(|(s, opset)| (Just(s.clone()), Just(opset), axis(s.len())))
        .prop_flat_map(|(s, opset, axis)| {
            let d = s[normalised(axis, s.len())];
            (Just(s), Just(opset), Just(axis), split_by(d, opset))
        })
        .prop_map(move |(s, opset, axis, by)| split_case(dtype, s, opset, axis, by))
        .boxed()
}

/// Start, end and step of one sliced axis of length `d`: steps 1, 2, 3, -1, -2; starts and ends in range,
/// negative, or past either end (clamped), the end sometimes i64::MAX (i64::MIN backward); shrinks toward
/// the whole axis forward.
fn slice_range(d: usize) -> BoxedStrategy<(i64, i64, i64)> {
    let d = d as i64;
    (
        prop_oneof![Just(1i64), Just(-1), Just(2), Just(-2), Just(3)],
        -(d + 2)..=(d + 2),
        -(d + 2)..=(d + 2),
        prop_oneof![4 => Just(false), 1 => Just(true)],
    )
        .prop_map(move |(step, s, e, extreme)| {
            if step > 0 {
                (s, if extreme { i64::MAX } else { d - e }, step)
            } else {
                (d - 1 - s, if extreme { i64::MIN } else { e - d - 1 }, step)
            }
        })
        .boxed()
}

/// The arguments of one Slice node, per sliced axis, and which optional inputs to leave out
/// (where they hold their defaults).
#[derive(Clone, Debug)]
struct SliceArgs {
    axes: Vec<i64>,
    ranges: Vec<(i64, i64, i64)>,
    omit_axes: bool,
    omit_steps: bool,
}

impl SliceArgs {
    fn inputs(&self) -> Vec<InputDesc> {
        let column =
            |f: fn(&(i64, i64, i64)) -> i64| InputDesc::fixed(i64s(&self.ranges.iter().map(f).collect::<Vec<_>>()));
        let default_axes: Vec<i64> = (0..self.axes.len() as i64).collect();
        let steps_default = self.ranges.iter().all(|r| r.2 == 1);
        let mut inputs = vec![column(|r| r.0), column(|r| r.1)];
        inputs.push(if self.omit_axes && self.axes == default_axes {
            InputDesc::omitted()
        } else {
            InputDesc::fixed(i64s(&self.axes))
        });
        inputs.push(column(|r| r.2));
        if self.omit_steps && steps_default {
            inputs.pop();
            if inputs.last().is_some_and(|d| d.role == Role::Omitted) {
                inputs.pop();
            }
        }
        inputs
    }
}

fn slice_args(s: &[usize]) -> BoxedStrategy<SliceArgs> {
    let s = s.to_vec();
    axes_subset(s.len())
        .prop_flat_map(move |axes| {
            let ranges: Vec<_> = axes.iter().map(|&a| slice_range(s[normalised(a, s.len())])).collect();
            (
                Just(axes),
                ranges,
                prop_oneof![Just(true), Just(false)],
                prop_oneof![Just(true), Just(false)],
            )
        })
        .prop_map(|(axes, ranges, omit_axes, omit_steps)| SliceArgs {
            axes,
            ranges,
            omit_axes,
            omit_steps,
        })
        .boxed()
}

fn slice(dtype: DType) -> BoxedStrategy<OpCase> {
    small_shape(1..=4)
        .prop_flat_map(|s| (Just(s.clone()), slice_args(&s)))
        .prop_map(move |(s, args)| {
            let mut inputs = vec![InputDesc::data(dtype, s)];
            inputs.extend(args.inputs());
            let mut case = OpCase::new("Slice", dtype, inputs, vec![]);
            case.opset = 13;
            case
        })
        .boxed()
}

/// Indices into an axis of length `d`, in range, some negative; shrink toward 0.
fn indices(d: usize, count: usize) -> BoxedStrategy<Vec<i64>> {
    let d = d as i64;
    vec(-d..d, count).boxed()
}

fn gather(dtype: DType) -> BoxedStrategy<OpCase> {
    (small_shape(1..=4), shape(0..=2, 1..=3))
        .prop_flat_map(|(s, index_shape)| (Just(s.clone()), axis(s.len()), Just(index_shape)))
        .prop_flat_map(move |(s, axis, index_shape)| with_indices("Gather", dtype, s, axis, index_shape))
        .boxed()
}

/// An `op` (Gather, GatherElements) case on data of shape `s` with in-range int64 indices of
/// `index_shape` along `axis`.
fn with_indices(
    op: &'static str,
    dtype: DType,
    s: Vec<usize>,
    axis: i64,
    index_shape: Vec<usize>,
) -> BoxedStrategy<OpCase> {
    let d = s[normalised(axis, s.len())];
    let n = index_shape.iter().product();
    indices(d, n)
        .prop_map(move |values| {
            let inputs = vec![
                InputDesc::data(dtype, s.clone()),
                InputDesc::fixed(i64_tensor(&index_shape, values)),
            ];
            let mut case = OpCase::new(op, dtype, inputs, vec![attr::int("axis", axis)]);
            case.opset = 13;
            case
        })
        .boxed()
}

/// The shape of GatherElements indices: no larger than the data off the axis, any length on it.
fn element_index_shape(s: &[usize], at: usize) -> BoxedStrategy<Vec<usize>> {
    s.iter()
        .enumerate()
        .map(|(i, &d)| if i == at { (1..=4usize).boxed() } else { (1..=d).boxed() })
        .collect::<Vec<_>>()
        .boxed()
}

fn gather_elements(dtype: DType) -> BoxedStrategy<OpCase> {
    small_shape(1..=4)
        .prop_flat_map(|s| (Just(s.clone()), axis(s.len())))
        .prop_flat_map(|(s, axis)| {
            let at = normalised(axis, s.len());
            (Just(s.clone()), Just(axis), element_index_shape(&s, at))
        })
        .prop_flat_map(move |(s, axis, index_shape)| with_indices("GatherElements", dtype, s, axis, index_shape))
        .boxed()
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum PadMode {
    Constant,
    Reflect,
    Edge,
    Wrap,
}

impl PadMode {
    fn name(self) -> &'static str {
        match self {
            PadMode::Constant => "constant",
            PadMode::Reflect => "reflect",
            PadMode::Edge => "edge",
            PadMode::Wrap => "wrap",
        }
    }

    /// Begin and end pads for an axis of length `d`: crops (negative) only in constant mode,
    /// leaving at least one element; reflect pads below the dim; wrap pads up to the dim.
    fn pads(self, d: usize) -> BoxedStrategy<(i64, i64)> {
        let d = d as i64;
        let (low, high) = match self {
            PadMode::Constant => (-((d - 1) / 2), 3),
            PadMode::Reflect => (0, d - 1),
            PadMode::Edge => (0, 3),
            PadMode::Wrap => (0, d),
        };
        (low..=high, low..=high).boxed()
    }
}

/// Pad's arguments: the padded axes (`None`: all, no `axes` input), their pads, and whether
/// a `constant_value` input is given (constant mode).
#[derive(Clone, Debug)]
struct PadArgs {
    mode: PadMode,
    axes: Option<Vec<i64>>,
    pads: Vec<(i64, i64)>,
    value: bool,
}

impl PadArgs {
    fn inputs(&self, dtype: DType) -> Vec<InputDesc> {
        let pads: Vec<i64> = self
            .pads
            .iter()
            .map(|p| p.0)
            .chain(self.pads.iter().map(|p| p.1))
            .collect();
        let mut inputs = vec![InputDesc::fixed(i64s(&pads))];
        let value = self.value && self.mode == PadMode::Constant;
        inputs.push(if value {
            InputDesc::weight(dtype, vec![])
        } else {
            InputDesc::omitted()
        });
        match &self.axes {
            Some(axes) => inputs.push(InputDesc::fixed(i64s(axes))),
            None if !value => {
                inputs.pop();
            }
            None => {}
        }
        inputs
    }
}

fn pad_args(s: &[usize]) -> BoxedStrategy<PadArgs> {
    let s = s.to_vec();
    let rank = s.len();
    let modes = prop_oneof![
        Just(PadMode::Constant),
        Just(PadMode::Reflect),
        Just(PadMode::Edge),
        Just(PadMode::Wrap)
    ];
    (modes, optional(axes_subset(rank)))
        .prop_flat_map(move |(mode, axes)| {
            let padded: Vec<usize> = match &axes {
                Some(a) => a.iter().map(|&a| s[normalised(a, rank)]).collect(),
                None => s.clone(),
            };
            let pads: Vec<_> = padded.iter().map(|&d| mode.pads(d)).collect();
            (Just(mode), Just(axes), pads, any::<bool>())
        })
        .prop_map(|(mode, axes, pads, value)| PadArgs {
            mode,
            axes,
            pads,
            value,
        })
        .boxed()
}

fn pad(dtype: DType) -> BoxedStrategy<OpCase> {
    small_shape(1..=4)
        .prop_flat_map(|s| (Just(s.clone()), pad_args(&s)))
        .prop_map(move |(s, args)| {
            let mut inputs = vec![InputDesc::data(dtype, s)];
            inputs.extend(args.inputs(dtype));
            let attrs = match args.mode {
                PadMode::Constant => vec![],
                mode => vec![attr::string("mode", mode.name())],
            };
            let mut case = OpCase::new("Pad", dtype, inputs, attrs);
            case.opset = 19;
            case
        })
        .boxed()
}

fn squeeze(dtype: DType) -> BoxedStrategy<OpCase> {
    small_shape(1..=4)
        .prop_flat_map(|s| (Just(s.clone()), vec(any::<bool>(), s.len())))
        .prop_flat_map(|(s, ones)| {
            let s: Vec<usize> = s.iter().zip(&ones).map(|(&d, &one)| if one { 1 } else { d }).collect();
            let unit: Vec<usize> = (0..s.len()).filter(|&i| s[i] == 1).collect();
            let axes = if unit.is_empty() {
                Just(None).boxed()
            } else {
                optional(axes_among(unit, s.len()))
            };
            (Just(s), axes)
        })
        .prop_map(move |(s, axes)| {
            let mut inputs = vec![InputDesc::data(dtype, s)];
            inputs.extend(axes.map(|a| InputDesc::fixed(i64s(&a))));
            let mut case = OpCase::new("Squeeze", dtype, inputs, vec![]);
            case.opset = 13;
            case
        })
        .boxed()
}

fn unsqueeze(dtype: DType) -> BoxedStrategy<OpCase> {
    (1usize..=4)
        .prop_flat_map(|out_rank| (Just(out_rank), axes_among((0..out_rank).collect(), out_rank)))
        .prop_flat_map(|(out_rank, axes)| {
            let rank = out_rank - axes.len();
            (small_shape(rank..=rank), Just(axes))
        })
        .prop_map(move |(s, axes)| {
            let inputs = vec![InputDesc::data(dtype, s), InputDesc::fixed(i64s(&axes))];
            let mut case = OpCase::new("Unsqueeze", dtype, inputs, vec![]);
            case.opset = 13;
            case
        })
        .boxed()
}

fn flatten(dtype: DType) -> BoxedStrategy<OpCase> {
    small_shape(1..=4)
        .prop_flat_map(|s| {
            let r = s.len() as i64;
            (Just(s), optional((-r..=r).boxed()))
        })
        .prop_map(move |(s, axis)| {
            let attrs = axis.map(|a| vec![attr::int("axis", a)]).unwrap_or_default();
            let mut case = OpCase::new("Flatten", dtype, vec![InputDesc::data(dtype, s)], attrs);
            case.opset = 13;
            case
        })
        .boxed()
}

/// The `shape` input of Expand to `out` from `input`: `out`, with 1 where the aligned input dim
/// already has the output's length and `ones` says so.
fn expand_shape(out: &[usize], input: &[usize], ones: &[bool]) -> Vec<i64> {
    let offset = out.len() - input.len();
    out.iter()
        .enumerate()
        .map(|(i, &d)| {
            let covered = i >= offset && input[i - offset] == d;
            if covered && ones[i] { 1 } else { d as i64 }
        })
        .collect()
}

fn expand(dtype: DType) -> BoxedStrategy<OpCase> {
    small_shape(1..=4)
        .prop_flat_map(|out| {
            (
                Just(out.clone()),
                broadcastable_to(out.clone()),
                vec(any::<bool>(), out.len()),
            )
        })
        .prop_map(move |(out, input, ones)| {
            let target = expand_shape(&out, &input, &ones);
            let inputs = vec![InputDesc::data(dtype, input), InputDesc::fixed(i64s(&target))];
            let mut case = OpCase::new("Expand", dtype, inputs, vec![]);
            case.opset = 13;
            case
        })
        .boxed()
}

fn tile(dtype: DType) -> BoxedStrategy<OpCase> {
    shape(1..=3, 1..=3)
        .prop_flat_map(|s| (Just(s.clone()), vec(1i64..=3, s.len())))
        .prop_map(move |(s, repeats)| {
            let inputs = vec![InputDesc::data(dtype, s), InputDesc::fixed(i64s(&repeats))];
            let mut case = OpCase::new("Tile", dtype, inputs, vec![]);
            case.opset = 13;
            case
        })
        .boxed()
}

/// The element types Cast converts between.
const CAST_TYPES: &[DType] = &[
    DType::F32,
    DType::F16,
    DType::F64,
    DType::I32,
    DType::I64,
    DType::Bool,
    DType::U8,
];

/// The types a `from` value casts to with a defined result for typical values: floats in
/// [-1, 1) go to no unsigned type (out-of-range float-to-int casts are undefined).
fn cast_targets(from: DType) -> Vec<DType> {
    CAST_TYPES
        .iter()
        .copied()
        .filter(|&to| !(from.is_float() && to.is_unsigned_int()))
        .collect()
}

fn cast(dtype: DType) -> BoxedStrategy<OpCase> {
    (small_shape(0..=4), sample::select(cast_targets(dtype)))
        .prop_map(move |(s, to)| {
            let attrs = vec![attr::int("to", i64::from(to.onnx_code()))];
            let mut case = OpCase::new("Cast", dtype, vec![InputDesc::data(dtype, s)], attrs);
            case.opset = 13;
            case
        })
        .boxed()
}

pub fn specs() -> Vec<OpSpec> {
    vec![
        OpSpec::new(FAMILY, "Reshape", MOVABLE, reshape),
        OpSpec::new(FAMILY, "Transpose", MOVABLE, transpose),
        OpSpec::new(FAMILY, "Concat", MOVABLE, concat),
        OpSpec::new(FAMILY, "Split", MOVABLE, split),
        OpSpec::new(FAMILY, "Slice", MOVABLE, slice),
        OpSpec::new(FAMILY, "Gather", MOVABLE, gather),
        OpSpec::new(FAMILY, "GatherElements", MOVABLE, gather_elements),
        OpSpec::new(FAMILY, "Pad", MOVABLE, pad),
        OpSpec::new(FAMILY, "Squeeze", MOVABLE, squeeze),
        OpSpec::new(FAMILY, "Unsqueeze", MOVABLE, unsqueeze),
        OpSpec::new(FAMILY, "Flatten", MOVABLE, flatten),
        OpSpec::new(FAMILY, "Expand", MOVABLE, expand),
        OpSpec::new(FAMILY, "Tile", MOVABLE, tile),
        OpSpec::new(FAMILY, "Cast", CAST_TYPES, cast),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reshape_targets_keep_the_element_count() {
        let target = ReshapeTarget {
            factors: vec![2, 3, 2],
            rank: 3,
            buckets: vec![0, 1, 3],
            minus_one: None,
            zeros: true,
            allowzero: false,
        };
        assert_eq!(target.shape_input(&[4, 3]), vec![0, 0, 1]);
        let inferred = ReshapeTarget {
            minus_one: Some(2),
            ..target
        };
        assert_eq!(inferred.shape_input(&[2, 6]), vec![4, 3, -1]);
    }

    #[test]
    fn split_counts_leave_no_empty_chunk() {
        assert_eq!(split_counts(5, 18), vec![1, 2, 3]);
        assert_eq!(split_counts(6, 18), vec![1, 2, 3]);
        assert_eq!(split_counts(6, 13), vec![1, 2, 3]);
        assert_eq!(segments(5, &[false, true, false, true]), vec![2, 2, 1]);
    }

    #[test]
    fn slice_omits_only_default_inputs() {
        let args = SliceArgs {
            axes: vec![0],
            ranges: vec![(0, 3, 1)],
            omit_axes: true,
            omit_steps: true,
        };
        assert_eq!(args.inputs().len(), 2);
        let reversed = SliceArgs {
            ranges: vec![(2, i64::MIN, -1)],
            ..args
        };
        assert_eq!(reversed.inputs()[2].role, Role::Omitted);
        assert_eq!(reversed.inputs().len(), 4);
    }
}
