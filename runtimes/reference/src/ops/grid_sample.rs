//! Reference kernels: GridSample (opsets 16, 20, 22), sampling an N-D input at normalised grid coordinates, and AffineGrid, which makes such grids.

use ndarray::{ArrayD, IxDyn};

use super::Registry;
use crate::context::OpContext;
use crate::error::OpError;
use crate::value::Value;

pub fn register(r: &mut Registry) {
    r.add("GridSample", grid_sample);
    r.add("AffineGrid", affine_grid);
}

/// AffineGrid (opset 20): for `theta` `[N, 2, 3]` (2-D) or `[N, 3, 4]` (3-D) and `size`
/// `[N, C, (D,) H, W]`, the grid `[N, (D,) H, W, 2 | 3]` of `theta · (x, y, (z,) 1)` over the
/// normalised coordinates of the output positions (x along W first), centres of the cells or,
/// with `align_corners`, their corners.
fn affine_grid(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let theta_value = ctx.input(inputs, 0)?;
    let theta = theta_value.to_f64();
    let size = ctx.input(inputs, 1)?.to_i64_vec();
    let align_corners = ctx.int("align_corners", 0) != 0;
    let spatial: Vec<usize> = size
        .iter()
        .skip(2)
        .map(|&d| usize::try_from(d).ok().filter(|&d| d > 0))
        .collect::<Option<_>>()
        .ok_or_else(|| OpError::invalid(format!("AffineGrid: size {size:?}")))?;
    let rank = spatial.len();
    let batch = theta.shape().first().copied().unwrap_or(0);
    if !(rank == 2 || rank == 3) || theta.shape() != [batch, rank, rank + 1] || size[0] != batch as i64 {
        return Err(OpError::invalid(format!(
            "AffineGrid: theta {:?} for size {size:?}",
            theta.shape()
        )));
    }
    let coordinate = |i: usize, n: usize| -> f64 {
        if align_corners {
            if n == 1 {
                -1.0
            } else {
                -1.0 + 2.0 * i as f64 / (n - 1) as f64
            }
        } else {
            (2 * i + 1) as f64 / n as f64 - 1.0
        }
    };
    let points: usize = spatial.iter().product();
    let mut out = Vec::with_capacity(batch * points * rank);
    for b in 0..batch {
        for position in ndarray::indices(IxDyn(&spatial)) {
            // (x, y[, z]): the last spatial axis first.
            let homogeneous: Vec<f64> = (0..rank)
                .map(|k| coordinate(position[rank - 1 - k], spatial[rank - 1 - k]))
                .chain([1.0])
                .collect();
            for row in 0..rank {
                out.push((0..=rank).map(|k| theta[[b, row, k]] * homogeneous[k]).sum());
            }
        }
    }
    let shape: Vec<usize> = [batch].into_iter().chain(spatial).chain([rank]).collect();
    let grid = ArrayD::from_shape_vec(IxDyn(&shape), out).expect("one point per position");
    Ok(vec![Value::float(theta_value.dtype, grid)])
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Nearest,
    Linear,
    Cubic,
}

#[derive(Clone, Copy, PartialEq)]
enum Padding {
    Zeros,
    Border,
    Reflection,
}

/// One spatial axis: its length and the coordinate bounds outside which padding applies
/// (`[0, len − 1]` with align_corners, `[−0.5, len − 0.5]` without).
struct Axis {
    len: usize,
    low: f64,
    high: f64,
}

impl Axis {
    /// A normalised coordinate in [−1, 1] as a position on this axis.
    fn denormalise(&self, n: f64, align_corners: bool) -> f64 {
        let len = self.len as f64;
        if align_corners {
            (n + 1.0) / 2.0 * (len - 1.0)
        } else {
            ((n + 1.0) * len - 1.0) / 2.0
        }
    }

    /// `x` folded back into `[low, high]` by reflection at both ends.
    fn reflect(&self, x: f64) -> f64 {
        let range = self.high - self.low;
        if range <= 0.0 {
            return self.low.max(0.0);
        }
        let (distance, from_low) = if x < self.low {
            (self.low - x, true)
        } else if x > self.high {
            (x - self.high, false)
        } else {
            return x;
        };
        let flips = (distance / range).trunc();
        let rest = distance - flips * range;
        let even = flips as i64 % 2 == 0;
        match (from_low, even) {
            (true, true) | (false, false) => self.low + rest,
            _ => self.high - rest,
        }
    }

    /// A coordinate outside the bounds, brought in as `padding` says (zeros leave it: the
    /// taps outside read 0).
    fn pad_coordinate(&self, x: f64, padding: Padding) -> f64 {
        if x >= self.low && x <= self.high {
            return x;
        }
        match padding {
            Padding::Zeros => x,
            Padding::Border => x.clamp(0.0, self.len as f64 - 1.0),
            Padding::Reflection => self.reflect(x),
        }
    }

    /// The element a tap at integer position `i` reads, or `None` for a zero.
    fn tap(&self, i: i64, padding: Padding) -> Option<usize> {
        let last = self.len as i64 - 1;
        match padding {
            Padding::Zeros => (0..=last).contains(&i).then_some(i as usize),
            Padding::Border => Some(i.clamp(0, last) as usize),
            Padding::Reflection => Some((self.reflect(i as f64).trunc() as i64).clamp(0, last) as usize),
        }
    }
}

/// The cubic convolution weights (A = −0.75) of the four taps around a position whose
/// fractional part is `t`.
fn cubic_weights(t: f64) -> [f64; 4] {
    let a = -0.75;
    let far = |x: f64| ((a * x - 5.0 * a) * x + 8.0 * a) * x - 4.0 * a;
    let near = |x: f64| ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
    [far(t + 1.0), near(t), near(1.0 - t), far(2.0 - t)]
}

/// The integer taps and weights of one axis at position `x`.
fn taps(x: f64, mode: Mode) -> Vec<(i64, f64)> {
    match mode {
        Mode::Nearest => vec![(x.round_ties_even() as i64, 1.0)],
        Mode::Linear => {
            let x0 = x.floor();
            let t = x - x0;
            vec![(x0 as i64, 1.0 - t), (x0 as i64 + 1, t)]
        }
        Mode::Cubic => {
            let x0 = x.floor();
            let w = cubic_weights(x - x0);
            (0..4).map(|k| (x0 as i64 - 1 + k, w[k as usize])).collect()
        }
    }
}

/// GridSample: X `[N, C, D1..Dr]`, grid `[N, O1..Or, r]` whose last axis holds normalised
/// coordinates in reverse axis order (x for the last axis first); Y `[N, C, O1..Or]`.
fn grid_sample(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    let xa = x.as_float()?.as_standard_layout().into_owned();
    let grid = ctx.input(inputs, 1)?.to_f64().as_standard_layout().into_owned();
    let mode = match ctx
        .string("mode", if ctx.opset < 20 { "bilinear" } else { "linear" })
        .as_str()
    {
        "nearest" => Mode::Nearest,
        "linear" | "bilinear" => Mode::Linear,
        "cubic" | "bicubic" => Mode::Cubic,
        other => return Err(OpError::invalid(format!("GridSample: unknown mode '{other}'"))),
    };
    let padding = match ctx.string("padding_mode", "zeros").as_str() {
        "zeros" => Padding::Zeros,
        "border" => Padding::Border,
        "reflection" => Padding::Reflection,
        other => return Err(OpError::invalid(format!("GridSample: unknown padding_mode '{other}'"))),
    };
    let align_corners = ctx.int("align_corners", 0) != 0;
    let (xs, gs) = (xa.shape().to_vec(), grid.shape().to_vec());
    let rank = xs.len().saturating_sub(2);
    if rank == 0 || gs.len() != rank + 2 || gs[0] != xs[0] || gs[rank + 1] != rank {
        return Err(OpError::invalid(format!("GridSample: X {xs:?} with grid {gs:?}")));
    }
    let axes: Vec<Axis> = xs[2..]
        .iter()
        .map(|&len| {
            let (low, high) = if align_corners {
                (0.0, len as f64 - 1.0)
            } else {
                (-0.5, len as f64 - 0.5)
            };
            Axis { len, low, high }
        })
        .collect();
    let (batch, channels) = (xs[0], xs[1]);
    let in_size: usize = xs[2..].iter().product();
    let out_dims = &gs[1..=rank];
    let out_size: usize = out_dims.iter().product();
    let mut in_strides = vec![1usize; rank];
    for i in (0..rank.saturating_sub(1)).rev() {
        in_strides[i] = in_strides[i + 1] * xs[3 + i];
    }
    let src = xa.as_slice().expect("standard layout");
    let coords = grid.as_slice().expect("standard layout");
    let mut out = vec![0.0; batch * channels * out_size];
    for n in 0..batch {
        for o in 0..out_size {
            let point = &coords[(n * out_size + o) * rank..][..rank];
            // Per axis: taps and weights; the grid lists axes last first.
            let per_axis: Vec<Vec<(Option<usize>, f64)>> = axes
                .iter()
                .enumerate()
                .map(|(i, axis)| {
                    let position = axis.pad_coordinate(axis.denormalise(point[rank - 1 - i], align_corners), padding);
                    taps(position, mode)
                        .into_iter()
                        .map(|(t, w)| (axis.tap(t, padding), w))
                        .collect()
                })
                .collect();
            // Every combination of one tap per axis: an element offset (None: a zero) and the
            // product of the weights.
            let mut combos: Vec<(Option<usize>, f64)> = vec![(Some(0), 1.0)];
            for (axis_taps, &stride) in per_axis.iter().zip(&in_strides) {
                combos = combos
                    .iter()
                    .flat_map(|&(offset, weight)| {
                        axis_taps
                            .iter()
                            .map(move |&(tap, w)| (offset.zip(tap).map(|(a, t)| a + t * stride), weight * w))
                    })
                    .collect();
            }
            for c in 0..channels {
                let plane = &src[(n * channels + c) * in_size..][..in_size];
                out[(n * channels + c) * out_size + o] = combos
                    .iter()
                    .map(|&(offset, w)| offset.map_or(0.0, |k| w * plane[k]))
                    .sum();
            }
        }
    }
    let shape: Vec<usize> = [batch, channels].into_iter().chain(out_dims.iter().copied()).collect();
    let y = ArrayD::from_shape_vec(IxDyn(&shape), out).expect("one value per output");
    Ok(vec![Value::float(x.dtype, y)])
}
