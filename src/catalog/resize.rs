//! Catalog: Resize — nearest/linear/cubic resampling by scales or sizes, every coordinate mode, opsets 11, 13, 19.

use ndarray::{ArrayD, IxDyn};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::strategy::BoxedStrategy;
use sysnoise_boundary::onnx::AttributeProto;
use sysnoise_boundary::{DType, Tensor};

use super::{InputDesc, OpCase, OpSpec, Role, attr};

/// Floats interpolate; integers resize by `nearest` only (interpolated integers round
/// unspecifiedly).
const RESIZE_TYPES: &[DType] = &[DType::F32, DType::F16, DType::F64, DType::I8, DType::U8, DType::I32];

/// Scales tried on a resized axis: integer and fractional, up and down.
const SCALES: &[f32] = &[2.0, 0.5, 3.0, 1.5, 0.75, 1.25, 0.6, 2.5, 1.7, 0.34, 0.8, 1.0];

/// Region-of-interest starts and ends for `tf_crop_and_resize` (some reach outside the input,
/// which extrapolates).
const ROI_STARTS: &[f32] = &[0.0, 0.1, 0.25, -0.2];
const ROI_ENDS: &[f32] = &[1.0, 0.9, 0.6, 1.2];

/// The most samples a `keep_aspect_ratio_policy` may ask for along an axis.
const MAX_KEPT_LEN: usize = 24;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    Nearest,
    Linear,
    Cubic,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Nearest => "nearest",
            Mode::Linear => "linear",
            Mode::Cubic => "cubic",
        }
    }
}

/// An input shape and the axes the mode may resize there. ONNX Runtime interpolates only 2-D
/// inputs and the spatial axes of NCHW inputs, and for linear also 3-D inputs and the spatial
/// axes of NHWC and NCDHW inputs (cubic NHWC only when upsampling or antialiasing, left out);
/// nearest resizes any axes.
#[derive(Clone, Debug)]
struct Layout {
    shape: Vec<usize>,
    resizable: Vec<usize>,
}

/// Every axis of a `rank`-D input resizable.
fn full(rank: usize) -> BoxedStrategy<Layout> {
    let max_dim: usize = [8, 8, 6, 5, 4][rank.min(4)];
    vec(1..=max_dim, rank)
        .prop_map(move |shape| Layout {
            shape,
            resizable: (0..rank).collect(),
        })
        .boxed()
}

/// `N x C x spatial...`, the spatial axes resizable.
fn channels_first(spatial: usize) -> BoxedStrategy<Layout> {
    let max_dim: usize = if spatial >= 3 { 4 } else { 6 };
    (1usize..=2, 1usize..=3, vec(1..=max_dim, spatial))
        .prop_map(move |(n, c, dims)| Layout {
            shape: [n, c].into_iter().chain(dims).collect(),
            resizable: (2..2 + spatial).collect(),
        })
        .boxed()
}

/// `N x H x W x C`, H and W resizable.
fn channels_last() -> BoxedStrategy<Layout> {
    (1usize..=2, vec(1usize..=6, 2), 1usize..=3)
        .prop_map(|(n, hw, c)| Layout {
            shape: [n, hw[0], hw[1], c].to_vec(),
            resizable: vec![1, 2],
        })
        .boxed()
}

fn layout(mode: Mode) -> BoxedStrategy<Layout> {
    match mode {
        Mode::Nearest => (1usize..=4).prop_flat_map(full).boxed(),
        Mode::Linear => prop_oneof![full(2), channels_first(2), full(3), channels_last(), channels_first(3)].boxed(),
        Mode::Cubic => prop_oneof![full(2), channels_first(2)].boxed(),
    }
}

/// What one resizable axis draws: whether it is resized, and by how much.
#[derive(Clone, Debug)]
struct AxisDraw {
    resized: bool,
    scale: f32,
    size: usize,
    roi: (f32, f32),
}

fn axis_draw() -> BoxedStrategy<AxisDraw> {
    (
        any::<bool>(),
        select(SCALES),
        1usize..=10,
        select(ROI_STARTS),
        select(ROI_ENDS),
    )
        .prop_map(|(resized, scale, size, start, end)| AxisDraw {
            resized,
            scale,
            size,
            roi: (start, end),
        })
        .boxed()
}

/// The sampling attributes; `None` leaves an attribute at its default.
#[derive(Clone, Debug)]
struct Sampling {
    transform: Option<&'static str>,
    nearest_mode: Option<&'static str>,
    cubic_coeff_a: Option<f32>,
    exclude_outside: bool,
    antialias: bool,
    extrapolation: Option<f32>,
}

/// The coordinate transformations of an opset (`None`: the default half_pixel).
fn transforms(opset: i64) -> Vec<Option<&'static str>> {
    let mut list = vec![
        None,
        Some("asymmetric"),
        Some("align_corners"),
        Some("pytorch_half_pixel"),
        Some("tf_crop_and_resize"),
        Some("half_pixel"),
    ];
    if opset >= 19 {
        list.push(Some("half_pixel_symmetric"));
    }
    if opset == 11 {
        list.push(Some("tf_half_pixel_for_nn"));
    }
    list
}

fn sampling(opset: i64) -> BoxedStrategy<Sampling> {
    (
        select(transforms(opset)),
        select(vec![None, Some("round_prefer_ceil"), Some("floor"), Some("ceil")]),
        select(vec![None, Some(-0.5f32), Some(-0.6)]),
        any::<bool>(),
        any::<bool>(),
        select(vec![None, Some(2.0f32), Some(-0.5)]),
    )
        .prop_map(
            |(transform, nearest_mode, cubic_coeff_a, exclude_outside, antialias, extrapolation)| Sampling {
                transform,
                nearest_mode,
                cubic_coeff_a,
                exclude_outside,
                antialias,
                extrapolation,
            },
        )
        .boxed()
}

impl Sampling {
    fn crop(&self) -> bool {
        self.transform == Some("tf_crop_and_resize")
    }

    /// The attributes that apply to `mode` at `opset` (the others would be ignored).
    fn attributes(&self, mode: Mode, opset: i64, dtype: DType) -> Vec<AttributeProto> {
        let mut attrs = Vec::new();
        if mode != Mode::Nearest {
            attrs.push(attr::string("mode", mode.name()));
        }
        attrs.extend(
            self.transform
                .map(|t| attr::string("coordinate_transformation_mode", t)),
        );
        if mode == Mode::Nearest {
            attrs.extend(self.nearest_mode.map(|m| attr::string("nearest_mode", m)));
        }
        if mode == Mode::Cubic {
            attrs.extend(self.cubic_coeff_a.map(|a| attr::float("cubic_coeff_a", a)));
        }
        let antialias = mode != Mode::Nearest && self.antialias && opset >= 18;
        if antialias {
            attrs.push(attr::int("antialias", 1));
        }
        // ONNX Runtime takes exclude_outside for cubic, and for linear only with antialias.
        if self.exclude_outside && (mode == Mode::Cubic || antialias) {
            attrs.push(attr::int("exclude_outside", 1));
        }
        let extrapolation = self
            .extrapolation
            .filter(|&v| self.crop() && (v >= 0.0 || dtype.is_float()));
        attrs.extend(extrapolation.map(|v| attr::float("extrapolation_value", v)));
        attrs
    }
}

/// How the resized axes are named: all axes implicitly, or the `axes` attribute (opset 18+)
/// listing the resized ones, in reverse order or counted from the back when asked.
#[derive(Clone, Copy, Debug)]
struct AxesStyle {
    attribute: bool,
    reversed: bool,
    negative: bool,
}

fn axes_style() -> BoxedStrategy<AxesStyle> {
    (any::<bool>(), any::<bool>(), any::<bool>())
        .prop_map(|(attribute, reversed, negative)| AxesStyle {
            attribute,
            reversed,
            negative,
        })
        .boxed()
}

/// Everything a Resize case draws before it is made consistent.
#[derive(Clone, Debug)]
struct ResizeDraw {
    opset: i64,
    mode: Mode,
    layout: Layout,
    /// One per resizable axis (extra ones unused).
    axes: Vec<AxisDraw>,
    by_sizes: bool,
    style: AxesStyle,
    policy: Option<&'static str>,
    sampling: Sampling,
}

fn opset() -> BoxedStrategy<i64> {
    prop_oneof![3 => Just(19i64), 1 => Just(13i64), 1 => Just(11i64)].boxed()
}

fn mode(dtype: DType) -> BoxedStrategy<Mode> {
    if dtype.is_float() {
        prop_oneof![Just(Mode::Nearest), Just(Mode::Linear), Just(Mode::Cubic)].boxed()
    } else {
        Just(Mode::Nearest).boxed()
    }
}

fn resize_draw(dtype: DType) -> BoxedStrategy<ResizeDraw> {
    (opset(), mode(dtype))
        .prop_flat_map(|(opset, mode)| {
            (
                layout(mode),
                vec(axis_draw(), 4),
                any::<bool>(),
                axes_style(),
                select(vec![None, Some("stretch"), Some("not_larger"), Some("not_smaller")]),
                sampling(opset),
            )
                .prop_map(move |(layout, axes, by_sizes, style, policy, sampling)| ResizeDraw {
                    opset,
                    mode,
                    layout,
                    axes,
                    by_sizes,
                    style,
                    policy,
                    sampling,
                })
        })
        .boxed()
}

/// One axis listed in scales / sizes (and roi): its index and what it asks for.
#[derive(Clone, Debug)]
struct Listed {
    axis: usize,
    scale: f32,
    size: usize,
    roi: (f32, f32),
}

impl ResizeDraw {
    /// The resized axes with their draws; at least one (the last resizable axis by default).
    fn resized(&self) -> Vec<(usize, AxisDraw)> {
        let mut pairs = self.layout.resizable.iter().copied().zip(self.axes.iter().cloned());
        let mut resized: Vec<(usize, AxisDraw)> = pairs.clone().filter(|(_, a)| a.resized).collect();
        if resized.is_empty() {
            resized.extend(pairs.next_back());
        }
        resized
    }

    fn axes_attribute(&self) -> bool {
        self.style.attribute && self.opset >= 18
    }

    /// The axes listed in scales / sizes, in order: the resized ones under an `axes` attribute,
    /// else every axis (the others unchanged: scale 1, their own size, the whole roi).
    fn listed(&self) -> Vec<Listed> {
        let shape = &self.layout.shape;
        let fit = |axis: usize, a: &AxisDraw| Listed {
            axis,
            scale: fitted_scale(shape[axis], a.scale),
            size: a.size,
            roi: a.roi,
        };
        let resized = self.resized();
        if self.axes_attribute() {
            let mut listed: Vec<Listed> = resized.iter().map(|(d, a)| fit(*d, a)).collect();
            if self.style.reversed {
                listed.reverse();
            }
            return listed;
        }
        (0..shape.len())
            .map(|d| match resized.iter().find(|(r, _)| *r == d) {
                Some((_, a)) => fit(d, a),
                None => Listed {
                    axis: d,
                    scale: 1.0,
                    size: shape[d],
                    roi: (0.0, 1.0),
                },
            })
            .collect()
    }

    /// The `keep_aspect_ratio_policy`, kept only when resizing by sizes at opset 18+, where every
    /// listed axis may change (the policy scales them all) and every output length stays in
    /// `1..=MAX_KEPT_LEN`.
    fn policy(&self, listed: &[Listed]) -> Option<&'static str> {
        let policy = self.policy.filter(|_| self.by_sizes && self.opset >= 18)?;
        let shape = &self.layout.shape;
        if policy == "stretch" {
            return Some(policy);
        }
        if listed.iter().any(|l| !self.layout.resizable.contains(&l.axis)) {
            return None;
        }
        let ratios = listed.iter().map(|l| l.size as f64 / shape[l.axis] as f64);
        let scale = if policy == "not_larger" {
            ratios.fold(f64::INFINITY, f64::min)
        } else {
            ratios.fold(0.0, f64::max)
        };
        let mut lens = listed.iter().map(|l| (shape[l.axis] as f64 * scale).round() as usize);
        lens.all(|n| (1..=MAX_KEPT_LEN).contains(&n)).then_some(policy)
    }

    /// Attributes: the sampling ones, `axes` and the policy.
    fn attributes(&self, dtype: DType, listed: &[Listed]) -> Vec<AttributeProto> {
        let mut attrs = self.sampling.attributes(self.mode, self.opset, dtype);
        if self.axes_attribute() {
            let rank = self.layout.shape.len() as i64;
            let axes: Vec<i64> = listed
                .iter()
                .map(|l| l.axis as i64 - if self.style.negative { rank } else { 0 })
                .collect();
            attrs.push(attr::ints("axes", &axes));
        }
        attrs.extend(self.policy(listed).map(|p| attr::string("keep_aspect_ratio_policy", p)));
        attrs
    }

    /// X, roi, scales, sizes. Opset 11 needs roi and scales present (empty when unused); later
    /// opsets leave unused ones out.
    fn inputs(&self, dtype: DType, listed: &[Listed]) -> Vec<InputDesc> {
        let unused = || {
            if self.opset == 11 {
                InputDesc::fixed(floats(&[]))
            } else {
                InputDesc::omitted()
            }
        };
        let roi = if self.sampling.crop() {
            let starts = listed.iter().map(|l| l.roi.0);
            InputDesc::fixed(floats(
                &starts.chain(listed.iter().map(|l| l.roi.1)).collect::<Vec<_>>(),
            ))
        } else {
            unused()
        };
        let mut inputs = vec![InputDesc::data(dtype, self.layout.shape.clone()), roi];
        if self.by_sizes {
            let sizes: Vec<i64> = listed.iter().map(|l| l.size as i64).collect();
            inputs.push(unused());
            inputs.push(InputDesc::fixed(Tensor::I64(
                ArrayD::from_shape_vec(IxDyn(&[sizes.len()]), sizes).expect("1-D"),
            )));
        } else {
            inputs.push(InputDesc::fixed(floats(
                &listed.iter().map(|l| l.scale).collect::<Vec<_>>(),
            )));
        }
        while inputs.last().is_some_and(|d| d.role == Role::Omitted) {
            inputs.pop();
        }
        inputs
    }
}

/// `scale`, or 1 where it would leave no sample of a `len`-long axis (`floor(len * scale)`, in
/// f32 as the runtimes compute it).
fn fitted_scale(len: usize, scale: f32) -> f32 {
    if (len as f32 * scale).floor() >= 1.0 {
        scale
    } else {
        1.0
    }
}

/// A 1-D f32 tensor.
fn floats(values: &[f32]) -> Tensor {
    Tensor::F32(ArrayD::from_shape_vec(IxDyn(&[values.len()]), values.to_vec()).expect("1-D"))
}

fn resize(dtype: DType) -> BoxedStrategy<OpCase> {
    resize_draw(dtype)
        .prop_map(move |d| {
            let listed = d.listed();
            let mut case = OpCase::new("Resize", dtype, d.inputs(dtype, &listed), d.attributes(dtype, &listed));
            case.opset = d.opset;
            case
        })
        .boxed()
}

pub fn specs() -> Vec<OpSpec> {
    vec![OpSpec {
        op_type: "Resize",
        family: "resize",
        dtypes: RESIZE_TYPES,
        strategy: resize,
    }]
}
