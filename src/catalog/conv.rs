//! Catalog: convolutions — Conv and ConvTranspose, 1-D to 3-D, with groups, strides, dilations, pads and auto_pad.

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::strategy::BoxedStrategy;
use sysnoise_boundary::DType;
use sysnoise_boundary::onnx::AttributeProto;

use super::{FLOATS_AND_HALVES, InputDesc, OpCase, OpSpec, attr};

/// How the spatial axes are padded.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Padding {
    /// Neither `pads` nor `auto_pad`: no padding.
    Default,
    /// Explicit `pads`: the begins of every axis, then the ends.
    Explicit(Vec<usize>),
    /// `auto_pad` SAME_UPPER, SAME_LOWER or VALID.
    Auto(&'static str),
}

/// The sliding-window attributes shared by convolutions and pools, one entry per spatial axis.
#[derive(Clone, Debug)]
pub(super) struct Window {
    pub kernel: Vec<usize>,
    pub strides: Option<Vec<usize>>,
    pub dilations: Option<Vec<usize>>,
    pub padding: Padding,
}

/// Size limits of a window strategy.
#[derive(Clone, Copy, Debug)]
pub(super) struct Limits {
    pub kernel: usize,
    pub stride: usize,
    /// 1 leaves `dilations` out.
    pub dilation: usize,
    pub pad: usize,
}

/// The largest input extent and the window limits for a spatial rank (3-D cases stay small).
pub(super) fn limits_for(rank: usize) -> (usize, Limits) {
    let small = rank >= 3;
    let limits = Limits {
        kernel: if small { 3 } else { 4 },
        stride: 3,
        dilation: if small { 2 } else { 3 },
        pad: 2,
    };
    ([10, 10, 8, 5][rank.min(3)], limits)
}

/// `None` (the attribute left out) or one value per axis in `1..=max`.
fn optional_per_axis(rank: usize, max: usize) -> BoxedStrategy<Option<Vec<usize>>> {
    if max <= 1 {
        return Just(None).boxed();
    }
    prop_oneof![Just(None), vec(1..=max, rank).prop_map(Some)].boxed()
}

/// No padding, explicit pads (possibly asymmetric), or one of the auto_pad modes (NOTSET
/// written out means no padding too).
fn padding(rank: usize, max_pad: usize) -> BoxedStrategy<Padding> {
    prop_oneof![
        Just(Padding::Default),
        vec(0..=max_pad, 2 * rank).prop_map(Padding::Explicit),
        Just(Padding::Auto("SAME_UPPER")),
        Just(Padding::Auto("SAME_LOWER")),
        Just(Padding::Auto("VALID")),
        Just(Padding::Auto("NOTSET")),
    ]
    .boxed()
}

pub(super) fn window(rank: usize, limits: Limits) -> BoxedStrategy<Window> {
    (
        vec(1..=limits.kernel, rank),
        optional_per_axis(rank, limits.stride),
        optional_per_axis(rank, limits.dilation),
        padding(rank, limits.pad),
    )
        .prop_map(|(kernel, strides, dilations, padding)| Window {
            kernel,
            strides,
            dilations,
            padding,
        })
        .boxed()
}

/// Integer attribute values.
pub(super) fn ints(v: &[usize]) -> Vec<i64> {
    v.iter().map(|&x| x as i64).collect()
}

impl Window {
    pub fn rank(&self) -> usize {
        self.kernel.len()
    }

    pub fn stride(&self, axis: usize) -> usize {
        self.strides.as_ref().map_or(1, |s| s[axis])
    }

    pub fn dilation(&self, axis: usize) -> usize {
        self.dilations.as_ref().map_or(1, |d| d[axis])
    }

    /// The span of the dilated kernel along `axis`.
    pub fn extent(&self, axis: usize) -> usize {
        (self.kernel[axis] - 1) * self.dilation(axis) + 1
    }

    /// Whether auto_pad SAME_* or VALID sets the output length (explicit and no padding do not).
    pub fn auto_sized(&self) -> bool {
        matches!(self.padding, Padding::Auto(mode) if mode != "NOTSET")
    }

    /// Explicit (begin, end) pads along `axis`; zero for the other paddings.
    pub fn pads(&self, axis: usize) -> (usize, usize) {
        match &self.padding {
            Padding::Explicit(p) => (p[axis], p[axis + self.rank()]),
            _ => (0, 0),
        }
    }

    /// Lowers every explicit pad below the kernel (pools, where ONNX Runtime requires it).
    pub fn with_pads_below_kernel(mut self) -> Window {
        let kernel = self.kernel.clone();
        if let Padding::Explicit(p) = &mut self.padding {
            let rank = kernel.len();
            for (i, pad) in p.iter_mut().enumerate() {
                *pad = (*pad).min(kernel[i % rank] - 1);
            }
        }
        self
    }

    /// Drops `dilations` under SAME auto_pad: ONNX Runtime's Conv refuses them ("Dilation not
    /// supported for AutoPadType::SAME_UPPER or AutoPadType::SAME_LOWER") and its pools pad for
    /// the undilated kernel (then fail on a negative output length).
    pub fn without_same_dilations(mut self) -> Window {
        if matches!(self.padding, Padding::Auto("SAME_UPPER" | "SAME_LOWER")) {
            self.dilations = None;
        }
        self
    }

    /// Lowers every stride to the kernel extent under SAME auto_pad, whose total padding
    /// `(ceil(in / stride) - 1) * stride + extent - in` would otherwise be negative.
    pub fn with_same_strides_within_extent(mut self) -> Window {
        let extents: Vec<usize> = (0..self.rank()).map(|i| self.extent(i)).collect();
        if let (Padding::Auto("SAME_UPPER" | "SAME_LOWER"), Some(strides)) = (&self.padding, &mut self.strides) {
            strides.iter_mut().zip(extents).for_each(|(s, e)| *s = (*s).min(e));
        }
        self
    }

    /// Input extents from `raw`, raised where needed so the dilated kernel fits the padded input.
    pub fn fit_input(&self, raw: &[usize]) -> Vec<usize> {
        (0..self.rank())
            .map(|i| {
                let (begin, end) = self.pads(i);
                let needed = match self.padding {
                    Padding::Auto("SAME_UPPER" | "SAME_LOWER") => 1,
                    _ => self.extent(i).saturating_sub(begin + end),
                };
                raw[i].max(needed).max(1)
            })
            .collect()
    }

    /// `kernel_shape` (when `with_kernel`), `strides`, `dilations`, and `pads` or `auto_pad`.
    pub fn attributes(&self, with_kernel: bool) -> Vec<AttributeProto> {
        let mut attrs = Vec::new();
        if with_kernel {
            attrs.push(attr::ints("kernel_shape", &ints(&self.kernel)));
        }
        if let Some(s) = &self.strides {
            attrs.push(attr::ints("strides", &ints(s)));
        }
        if let Some(d) = &self.dilations {
            attrs.push(attr::ints("dilations", &ints(d)));
        }
        match &self.padding {
            Padding::Default => {}
            Padding::Explicit(p) => attrs.push(attr::ints("pads", &ints(p))),
            Padding::Auto(mode) => attrs.push(attr::string("auto_pad", mode)),
        }
        attrs
    }
}

/// `(group, input channels, output channels)`: plain, grouped, or depthwise (with a channel
/// multiplier).
fn channels() -> BoxedStrategy<(usize, usize, usize)> {
    prop_oneof![
        (1usize..=4, 1usize..=4).prop_map(|(c, m)| (1, c, m)),
        (2usize..=3, 1usize..=2, 1usize..=2).prop_map(|(g, cg, mg)| (g, g * cg, g * mg)),
        (2usize..=4, 1usize..=2).prop_map(|(c, multiplier)| (c, c, c * multiplier)),
    ]
    .boxed()
}

/// Everything a convolution case draws before its geometry is made consistent.
#[derive(Clone, Debug)]
struct ConvDraw {
    window: Window,
    raw_input: Vec<usize>,
    /// `(group, input channels, output channels)`.
    channels: (usize, usize, usize),
    batch: usize,
    bias: bool,
    /// Whether `kernel_shape` is written (it defaults to W's spatial shape).
    kernel_attr: bool,
}

fn conv_draw() -> BoxedStrategy<ConvDraw> {
    (1usize..=3)
        .prop_flat_map(|rank| {
            let (max_input, limits) = limits_for(rank);
            (
                window(rank, limits),
                vec(1..=max_input, rank),
                channels(),
                1usize..=2,
                any::<bool>(),
                any::<bool>(),
            )
        })
        .prop_map(|(window, raw_input, channels, batch, bias, kernel_attr)| ConvDraw {
            window,
            raw_input,
            channels,
            batch,
            bias,
            kernel_attr,
        })
        .boxed()
}

impl ConvDraw {
    /// X, W and the optional bias, with W shaped `[w0, w1, kernel...]`.
    fn inputs(&self, dtype: DType, spatial: Vec<usize>, w0: usize, w1: usize, maps: usize) -> Vec<InputDesc> {
        let (_, c, _) = self.channels;
        let x = [self.batch, c].into_iter().chain(spatial).collect();
        let w = [w0, w1].into_iter().chain(self.window.kernel.iter().copied()).collect();
        let mut inputs = vec![InputDesc::data(dtype, x), InputDesc::weight(dtype, w)];
        if self.bias {
            inputs.push(InputDesc::weight(dtype, vec![maps]));
        }
        inputs
    }

    /// The window attributes plus `group` when it is not 1.
    fn attributes(&self, window: &Window) -> Vec<AttributeProto> {
        let mut attrs = window.attributes(self.kernel_attr);
        let (group, _, _) = self.channels;
        if group > 1 {
            attrs.push(attr::int("group", group as i64));
        }
        attrs
    }
}

fn conv(dtype: DType) -> BoxedStrategy<OpCase> {
    conv_draw()
        .prop_map(move |d| {
            let (group, c, m) = d.channels;
            let window = d.window.clone().without_same_dilations();
            let spatial = window.fit_input(&d.raw_input);
            let inputs = d.inputs(dtype, spatial, m, c / group, m);
            OpCase::new("Conv", dtype, inputs, d.attributes(&window))
        })
        .boxed()
}

/// ConvTranspose's own attributes: `output_padding` (below the stride) and `output_shape`
/// (given as how far below the natural output length each axis is asked to be).
#[derive(Clone, Debug)]
struct TransposeExtras {
    output_padding: Option<Vec<usize>>,
    output_shape: Option<Vec<usize>>,
}

fn transpose_extras(rank: usize) -> BoxedStrategy<TransposeExtras> {
    (
        prop_oneof![Just(None), vec(0usize..=2, rank).prop_map(Some)],
        prop_oneof![Just(None), vec(0usize..=3, rank).prop_map(Some)],
    )
        .prop_map(|(output_padding, output_shape)| TransposeExtras {
            output_padding,
            output_shape,
        })
        .boxed()
}

/// A ConvTranspose geometry made consistent: strides no larger than the kernel extent under
/// SAME (whose total padding would otherwise be negative), output padding below the stride,
/// explicit pads leaving at least one output, and `output_shape` (only without pads and
/// auto_pad, which it would contradict) at most the natural output length.
fn transpose_geometry(mut window: Window, input: &[usize], extras: &TransposeExtras) -> (Window, Vec<AttributeProto>) {
    let rank = window.rank();
    window = window.with_same_strides_within_extent();
    let out_pad: Vec<usize> = (0..rank)
        .map(|i| extras.output_padding.as_ref().map_or(0, |p| p[i] % window.stride(i)))
        .collect();
    let natural: Vec<usize> = (0..rank)
        .map(|i| window.stride(i) * (input[i] - 1) + out_pad[i] + window.extent(i))
        .collect();
    if let Padding::Explicit(p) = &mut window.padding {
        for i in 0..rank {
            p[i] = p[i].min(natural[i] - 1);
            p[i + rank] = p[i + rank].min(natural[i] - 1 - p[i]);
        }
    }
    let mut attrs = Vec::new();
    if extras.output_padding.is_some() {
        attrs.push(attr::ints("output_padding", &ints(&out_pad)));
    }
    if let Some(below) = extras
        .output_shape
        .as_ref()
        .filter(|_| window.padding == Padding::Default)
    {
        let shape: Vec<usize> = (0..rank).map(|i| natural[i].saturating_sub(below[i]).max(1)).collect();
        attrs.push(attr::ints("output_shape", &ints(&shape)));
    }
    (window, attrs)
}

fn conv_transpose(dtype: DType) -> BoxedStrategy<OpCase> {
    conv_draw()
        .prop_flat_map(|d| {
            let rank = d.window.rank();
            (Just(d), transpose_extras(rank))
        })
        .prop_map(move |(d, extras)| {
            let (group, c, m) = d.channels;
            let spatial = d.raw_input.clone();
            let (window, extra_attrs) = transpose_geometry(d.window.clone(), &spatial, &extras);
            let inputs = d.inputs(dtype, spatial, c, m / group, m);
            let mut attrs = d.attributes(&window);
            attrs.extend(extra_attrs);
            OpCase::new("ConvTranspose", dtype, inputs, attrs)
        })
        .boxed()
}

pub fn specs() -> Vec<OpSpec> {
    vec![
        OpSpec {
            op_type: "Conv",
            family: "conv",
            dtypes: FLOATS_AND_HALVES,
            strategy: conv,
        },
        OpSpec {
            op_type: "ConvTranspose",
            family: "conv",
            dtypes: FLOATS_AND_HALVES,
            strategy: conv_transpose,
        },
    ]
}
