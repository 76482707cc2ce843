//! Catalog: pooling — MaxPool (with Indices), AveragePool, LpPool and the Global pools over 1-D to 3-D inputs.

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::strategy::BoxedStrategy;
use sysnoise_boundary::DType;
use sysnoise_boundary::onnx::AttributeProto;

use super::conv::{Window, limits_for, window};
use super::{FLOATS_AND_HALVES, InputDesc, OpCase, OpSpec, attr};

const FAMILY: &str = "pool";

/// MaxPool also takes 8-bit integers (opset 12).
const MAX_POOL_TYPES: &[DType] = &[DType::F32, DType::F16, DType::F64, DType::I8, DType::U8];

/// A windowed pool's geometry and input shape.
#[derive(Clone, Debug)]
struct PoolDraw {
    window: Window,
    raw_input: Vec<usize>,
    batch: usize,
    channels: usize,
    ceil_mode: bool,
}

/// A pool geometry ONNX Runtime accepts: explicit pads below the kernel, no dilations under
/// SAME (it pads for the undilated kernel, giving negative output lengths) and strides within
/// the kernel extent under SAME (it refuses the negative padding). `ceil_mode` comes only with
/// explicit or default padding (auto_pad fixes the output length). Every windowed pool takes
/// dilations (MaxPool from opset 10, LpPool 18, AveragePool 19).
fn pool_draw() -> BoxedStrategy<PoolDraw> {
    (1usize..=3)
        .prop_flat_map(|rank| {
            let (max_input, limits) = limits_for(rank);
            (
                window(rank, limits),
                vec(1..=max_input, rank),
                1usize..=2,
                1usize..=3,
                any::<bool>(),
            )
        })
        .prop_map(|(window, raw_input, batch, channels, ceil_mode)| PoolDraw {
            window: window
                .with_pads_below_kernel()
                .without_same_dilations()
                .with_same_strides_within_extent(),
            raw_input,
            batch,
            channels,
            ceil_mode,
        })
        .boxed()
}

impl PoolDraw {
    /// X, each spatial extent at least the dilation: with pads below the kernel, every window
    /// then holds an input element (an all-padding window's mean would be 0 / 0).
    fn x(&self, dtype: DType) -> InputDesc {
        let spatial = self.window.fit_input(&self.raw_input);
        let spatial = spatial.iter().enumerate().map(|(i, &d)| d.max(self.window.dilation(i)));
        InputDesc::data(dtype, [self.batch, self.channels].into_iter().chain(spatial).collect())
    }

    /// The window attributes (`kernel_shape` is required) and `ceil_mode`.
    fn attributes(&self) -> Vec<AttributeProto> {
        let mut attrs = self.window.attributes(true);
        if self.ceil_mode && !self.window.auto_sized() {
            attrs.push(attr::int("ceil_mode", 1));
        }
        attrs
    }
}

fn max_pool(dtype: DType) -> BoxedStrategy<OpCase> {
    (pool_draw(), any::<bool>(), any::<bool>())
        .prop_map(move |(d, indices, column_major)| {
            let mut attrs = d.attributes();
            if indices && column_major {
                attrs.push(attr::int("storage_order", 1));
            }
            let mut case = OpCase::new("MaxPool", dtype, vec![d.x(dtype)], attrs);
            case.num_outputs = if indices { 2 } else { 1 };
            case
        })
        .boxed()
}

fn average_pool(dtype: DType) -> BoxedStrategy<OpCase> {
    (pool_draw(), any::<bool>())
        .prop_map(move |(d, include_pad)| {
            let mut attrs = d.attributes();
            if include_pad {
                attrs.push(attr::int("count_include_pad", 1));
            }
            let mut case = OpCase::new("AveragePool", dtype, vec![d.x(dtype)], attrs);
            case.opset = 19;
            case
        })
        .boxed()
}

/// LpPool's `p`: the default 2, or 1 or 3.
fn lp_order() -> BoxedStrategy<Option<i64>> {
    prop_oneof![Just(None), Just(Some(1)), Just(Some(3))].boxed()
}

fn lp_pool(dtype: DType) -> BoxedStrategy<OpCase> {
    (pool_draw(), lp_order())
        .prop_map(move |(d, p)| {
            let mut attrs = d.attributes();
            attrs.extend(p.map(|p| attr::int("p", p)));
            let mut case = OpCase::new("LpPool", dtype, vec![d.x(dtype)], attrs);
            case.opset = 18;
            case
        })
        .boxed()
}

/// An `N x C x D1 ... Dn` input for the Global pools, n from 1 to 3.
fn global_input() -> BoxedStrategy<Vec<usize>> {
    (1usize..=3)
        .prop_flat_map(|rank| (1usize..=2, 1usize..=3, vec(1usize..=[8, 8, 6, 4][rank], rank)))
        .prop_map(|(n, c, spatial)| [n, c].into_iter().chain(spatial).collect())
        .boxed()
}

fn global(op: &'static str, dtype: DType) -> BoxedStrategy<OpCase> {
    global_input()
        .prop_map(move |s| OpCase::new(op, dtype, vec![InputDesc::data(dtype, s)], vec![]))
        .boxed()
}

fn global_lp_pool(dtype: DType) -> BoxedStrategy<OpCase> {
    (global_input(), lp_order())
        .prop_map(move |(s, p)| {
            let attrs = p.map(|p| vec![attr::int("p", p)]).unwrap_or_default();
            OpCase::new("GlobalLpPool", dtype, vec![InputDesc::data(dtype, s)], attrs)
        })
        .boxed()
}

pub fn specs() -> Vec<OpSpec> {
    vec![
        OpSpec::new(FAMILY, "MaxPool", MAX_POOL_TYPES, max_pool),
        OpSpec::new(FAMILY, "AveragePool", FLOATS_AND_HALVES, average_pool),
        OpSpec::new(FAMILY, "LpPool", FLOATS_AND_HALVES, lp_pool),
        OpSpec::new(FAMILY, "GlobalMaxPool", FLOATS_AND_HALVES, |d| {
            global("GlobalMaxPool", d)
        }),
        OpSpec::new(FAMILY, "GlobalAveragePool", FLOATS_AND_HALVES, |d| {
            global("GlobalAveragePool", d)
        }),
        OpSpec::new(FAMILY, "GlobalLpPool", FLOATS_AND_HALVES, global_lp_pool),
    ]
}
