//! Reference kernels: normalisations along an axis (Softmax, LogSoftmax, Hardmax), with the pre-13 2-D coercion.

use ndarray::{ArrayD, IxDyn};

use super::Registry;
use crate::context::OpContext;
use crate::error::OpError;
use crate::value::Value;

pub fn register(r: &mut Registry) {
    r.add("Softmax", |c, i| along_axis(c, i, softmax));
    r.add("LogSoftmax", |c, i| along_axis(c, i, log_softmax));
    r.add("Hardmax", |c, i| along_axis(c, i, hardmax));
}

/// How the data splits into lanes: `outer` blocks of `n` lane elements, each `inner` apart.
#[derive(Debug, PartialEq)]
struct Lanes {
    outer: usize,
    n: usize,
    inner: usize,
}

/// Before opset 13 the input is coerced to 2-D `[prod(dims[..axis]), prod(dims[axis..])]` (default
/// axis 1) and each row is one lane; from 13 the lanes run along the single axis (default -1).
fn lanes(opset: i64, axis: usize, shape: &[usize]) -> Lanes {
    let outer = shape[..axis.min(shape.len())].iter().product();
    if opset < 13 {
        Lanes {
            outer,
            n: shape[axis.min(shape.len())..].iter().product(),
            inner: 1,
        }
    } else {
        Lanes {
            outer,
            n: shape.get(axis).copied().unwrap_or(1),
            inner: shape.get(axis + 1..).map_or(1, |s| s.iter().product()),
        }
    }
}

/// Applies `f` to every lane of a float tensor, in place of the lane.
fn along_axis(ctx: &OpContext, inputs: &[Option<Value>], f: fn(&mut [f64])) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    let a = x.as_float()?;
    let shape = a.shape().to_vec();
    let default_axis = if ctx.opset < 13 { 1 } else { -1 };
    let axis = ctx.axis(ctx.int("axis", default_axis), shape.len())?;
    let Lanes { outer, n, inner } = lanes(ctx.opset, axis, &shape);
    let mut data: Vec<f64> = a.iter().copied().collect();
    let mut lane = vec![0.0; n];
    for o in 0..outer {
        for i in 0..inner {
            let at = |k: usize| (o * n + k) * inner + i;
            lane.iter_mut().enumerate().for_each(|(k, v)| *v = data[at(k)]);
            f(&mut lane);
            lane.iter().enumerate().for_each(|(k, v)| data[at(k)] = *v);
        }
    }
    let out = ArrayD::from_shape_vec(IxDyn(&shape), data).expect("same element count");
    Ok(vec![Value::float(x.dtype, out)])
}

/// Subtracts the lane maximum (for stability) and returns the sum of the exponentials.
fn shift_and_sum_exp(lane: &mut [f64]) -> f64 {
    let max = lane.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    lane.iter_mut().for_each(|v| *v -= max);
    lane.iter().map(|v| v.exp()).sum()
}

fn softmax(lane: &mut [f64]) {
    let sum = shift_and_sum_exp(lane);
    lane.iter_mut().for_each(|v| *v = v.exp() / sum);
}

fn log_softmax(lane: &mut [f64]) {
    let log_sum = shift_and_sum_exp(lane).ln();
    lane.iter_mut().for_each(|v| *v -= log_sum);
}

/// 1 at the first maximum of the lane, 0 elsewhere.
fn hardmax(lane: &mut [f64]) {
    let first_max = (0..lane.len()).fold(0, |best, k| if lane[k] > lane[best] { k } else { best });
    lane.iter_mut()
        .enumerate()
        .for_each(|(k, v)| *v = if k == first_max { 1.0 } else { 0.0 });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opset_12_coerces_to_2d() {
        assert_eq!(
            lanes(12, 1, &[2, 3, 4]),
            Lanes {
                outer: 2,
                n: 12,
                inner: 1
            }
        );
        assert_eq!(
            lanes(12, 0, &[2, 3, 4]),
            Lanes {
                outer: 1,
                n: 24,
                inner: 1
            }
        );
        assert_eq!(
            lanes(13, 1, &[2, 3, 4]),
            Lanes {
                outer: 2,
                n: 3,
                inner: 4
            }
        );
        assert_eq!(
            lanes(13, 0, &[]),
            Lanes {
                outer: 1,
                n: 1,
                inner: 1
            }
        );
    }

    #[test]
    fn softmax_is_stable_and_hardmax_picks_first() {
        let mut lane = [1000.0, 1000.0];
        softmax(&mut lane);
        assert_eq!(lane, [0.5, 0.5]);
        let mut lane = [1.0, 3.0, 3.0];
        hardmax(&mut lane);
        assert_eq!(lane, [0.0, 1.0, 0.0]);
        let mut lane = [0.0, 0.0];
        log_softmax(&mut lane);
        approx::assert_relative_eq!(lane[0], -std::f64::consts::LN_2);
    }
}
