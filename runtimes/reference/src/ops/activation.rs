//! Reference kernels: activation functions (Relu family, sigmoids, Gelu, Clip, Softplus, Elu family, Mish, Shrink).

use std::f64::consts::{FRAC_1_SQRT_2, FRAC_2_SQRT_PI};

use half::{bf16, f16};
use ndarray::ArrayD;
use sysnoise_boundary::DType;

use super::Registry;
use super::comparison::int_order;
use super::elementwise_unary::erf;
use crate::broadcast::zip2;
use crate::context::OpContext;
use crate::error::OpError;
use crate::value::{Data, Value};

pub fn register(r: &mut Registry) {
    r.add("SwiGLU", swiglu);
    r.add("Relu", relu);
    r.add("LeakyRelu", |c, i| {
        let alpha = attr(c, "alpha", 0.01);
        float_map(c, i, |x| if x < 0.0 { alpha * x } else { x })
    });
    r.add("PRelu", prelu);
    r.add("Sigmoid", |c, i| float_map(c, i, sigmoid));
    r.add("Tanh", |c, i| float_map(c, i, f64::tanh));
    r.add("Gelu", gelu);
    r.add("HardSigmoid", |c, i| {
        let (alpha, beta) = (attr(c, "alpha", 0.2), attr(c, "beta", 0.5));
        float_map(c, i, |x| (alpha * x + beta).clamp(0.0, 1.0))
    });
    r.add("HardSwish", |c, i| {
        float_map(c, i, |x| x * (x / 6.0 + 0.5).clamp(0.0, 1.0))
    });
    r.add("Clip", clip);
    r.add("Softplus", |c, i| float_map(c, i, softplus));
    r.add("Softsign", |c, i| float_map(c, i, |x| x / (1.0 + x.abs())));
    r.add("Elu", |c, i| {
        let alpha = attr(c, "alpha", 1.0);
        float_map(c, i, |x| if x < 0.0 { alpha * x.exp_m1() } else { x })
    });
    r.add("Selu", selu);
    r.add("Celu", |c, i| {
        let alpha = attr(c, "alpha", 1.0);
        float_map(c, i, |x| if x < 0.0 { alpha * (x / alpha).exp_m1() } else { x })
    });
    r.add("ThresholdedRelu", |c, i| {
        let alpha = attr(c, "alpha", 1.0);
        float_map(c, i, |x| if x > alpha { x } else { 0.0 })
    });
    r.add("Mish", |c, i| float_map(c, i, |x| x * softplus(x).tanh()));
    r.add("Shrink", shrink);
    r.add("Swish", |c, i| {
        let alpha = attr(c, "alpha", 1.0);
        float_map(c, i, |x| x * sigmoid(alpha * x))
    });
}

/// A float attribute; the default is given as the f32 an exporter would have stored.
fn attr(ctx: &OpContext, name: &str, default: f32) -> f64 {
    ctx.float(name, f64::from(default))
}

/// Applies `f` to a float tensor, keeping its dtype.
fn float_map(ctx: &OpContext, inputs: &[Option<Value>], f: impl Fn(f64) -> f64) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    Ok(vec![Value::float(x.dtype, x.as_float()?.mapv(f))])
}

/// `1 / (1 + e^-x)`, without overflow for large |x| (shared with the recurrent ops).
pub(super) fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// `ln(1 + e^x)` without overflow for large x.
fn softplus(x: f64) -> f64 {
    if x > 0.0 {
        x + (-x).exp().ln_1p()
    } else {
        x.exp().ln_1p()
    }
}

fn relu(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    Ok(vec![match &x.data {
        Data::F(a) => Value::float(x.dtype, a.mapv(|v| if v < 0.0 { 0.0 } else { v })),
        Data::I(a) if x.dtype.is_signed_int() => Value::int(x.dtype, a.mapv(|v| v.max(0))),
        Data::I(_) => x.clone(),
        Data::B(_) => return Err(OpError::invalid("Relu of bool")),
    }])
}

/// `x < 0 ? slope * x : x` with the slope broadcast against x.
fn prelu(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let (x, slope) = (ctx.input(inputs, 0)?, ctx.input(inputs, 1)?);
    let out = match (&x.data, &slope.data) {
        (Data::F(a), Data::F(s)) => Value::float(x.dtype, zip2(a, s, |v, s| if v < 0.0 { s * v } else { v })?),
        (Data::I(a), Data::I(s)) if x.dtype.is_signed_int() => {
            Value::int(x.dtype, zip2(a, s, |v, s| if v < 0 { s.wrapping_mul(v) } else { v })?)
        }
        (Data::I(a), Data::I(s)) => Value::int(x.dtype, zip2(a, s, |v, _| v)?),
        _ => {
            return Err(OpError::invalid(format!(
                "PRelu of {} with slope {}",
                x.dtype, slope.dtype
            )));
        }
    };
    Ok(vec![out])
}

fn gelu(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    match ctx.string("approximate", "none").as_str() {
        "none" => float_map(ctx, inputs, |x| 0.5 * x * (1.0 + erf(x * FRAC_1_SQRT_2))),
        "tanh" => {
            let k = FRAC_2_SQRT_PI * FRAC_1_SQRT_2; // sqrt(2 / pi)
            float_map(ctx, inputs, |x| {
                0.5 * x * (1.0 + (k * (x + 0.044715 * x * x * x)).tanh())
            })
        }
        other => Err(OpError::invalid(format!("Gelu approximate '{other}'"))),
    }
}

fn selu(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let alpha = attr(ctx, "alpha", 1.673_263_2);
    let gamma = attr(ctx, "gamma", 1.050_701);
    float_map(ctx, inputs, |x| {
        if x > 0.0 { gamma * x } else { gamma * alpha * x.exp_m1() }
    })
}

/// `x < -lambd ? x + bias : x > lambd ? x - bias : 0`; integers are computed in f64 and cast back.
fn shrink(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let (lambd, bias) = (attr(ctx, "lambd", 0.5), attr(ctx, "bias", 0.0));
    let x = ctx.input(inputs, 0)?;
    let f = |v: f64| {
        if v < -lambd {
            v + bias
        } else if v > lambd {
            v - bias
        } else {
            0.0
        }
    };
    Ok(vec![match &x.data {
        Data::F(a) => Value::float(x.dtype, a.mapv(f)),
        Data::I(_) => Value::from_f64(x.dtype, x.to_f64().mapv(f)),
        Data::B(_) => return Err(OpError::invalid("Shrink of bool")),
    }])
}

/// The lowest and highest finite values of a float dtype: Clip's default bounds.
fn float_limits(dtype: DType) -> (f64, f64) {
    match dtype {
        DType::F32 => (f64::from(f32::MIN), f64::from(f32::MAX)),
        DType::F16 => (f16::MIN.to_f64(), f16::MAX.to_f64()),
        DType::BF16 => (bf16::MIN.to_f64(), bf16::MAX.to_f64()),
        _ => (f64::MIN, f64::MAX),
    }
}

/// `min(max(x, lo), hi)`, so that lo > hi gives hi and NaN stays NaN.
fn clamp_float(x: f64, lo: f64, hi: f64) -> f64 {
    let x = if x < lo { lo } else { x };
    if x > hi { hi } else { x }
}

/// The bounds come from attributes before opset 11 and from optional scalar inputs since.
fn clip(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    let bound = |i: usize| ctx.optional_input(inputs, i).filter(|b| !b.is_empty());
    let out = match &x.data {
        Data::F(a) => {
            let (lowest, highest) = float_limits(x.dtype);
            let (lo, hi) = if ctx.opset < 11 {
                (ctx.float("min", lowest), ctx.float("max", highest))
            } else {
                (float_bound(bound(1), lowest), float_bound(bound(2), highest))
            };
            Value::float(x.dtype, a.mapv(|v| clamp_float(v, lo, hi)))
        }
        Data::I(a) => {
            let (lo, hi) = (int_bound(bound(1)), int_bound(bound(2)));
            Value::int(x.dtype, clamp_ints(x.dtype, a, lo, hi))
        }
        Data::B(_) => return Err(OpError::invalid("Clip of bool")),
    };
    Ok(vec![out])
}

fn float_bound(b: Option<&Value>, default: f64) -> f64 {
    b.and_then(|b| b.to_f64().iter().next().copied()).unwrap_or(default)
}

fn int_bound(b: Option<&Value>) -> Option<i64> {
    b.and_then(|b| b.to_i64().iter().next().copied())
}

fn clamp_ints(dtype: DType, a: &ArrayD<i64>, lo: Option<i64>, hi: Option<i64>) -> ArrayD<i64> {
    a.mapv(|v| {
        let v = lo.map_or(v, |lo| std::cmp::max_by(v, lo, |p, q| int_order(dtype, *p, *q)));
        hi.map_or(v, |hi| std::cmp::min_by(v, hi, |p, q| int_order(dtype, *p, *q)))
    })
}

/// SwiGLU (opset 26): `a · sigmoid(alpha · a) · b`, for A and B of one shape (no broadcasting).
fn swiglu(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let a = ctx.input(inputs, 0)?;
    let b = ctx.input(inputs, 1)?;
    if a.shape() != b.shape() {
        return Err(OpError::invalid(format!(
            "SwiGLU: A {:?} and B {:?} differ (no broadcasting)",
            a.shape(),
            b.shape()
        )));
    }
    let alpha = attr(ctx, "alpha", 1.0);
    let y = ndarray::Zip::from(a.as_float()?)
        .and(b.as_float()?)
        .map_collect(|&x, &g| x / (1.0 + (-alpha * x).exp()) * g);
    Ok(vec![Value::float(a.dtype, y)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_bounds_on_ints_and_floats() {
        let a = ArrayD::from_shape_vec(ndarray::IxDyn(&[4]), vec![-128, -3, 5, 127]).unwrap();
        let clipped = clamp_ints(DType::I8, &a, Some(-4), Some(4));
        assert_eq!(clipped.iter().copied().collect::<Vec<_>>(), vec![-4, -3, 4, 4]);
        let only_min = clamp_ints(DType::I8, &a, Some(0), None);
        assert_eq!(only_min.iter().copied().collect::<Vec<_>>(), vec![0, 0, 5, 127]);
        // u64 bit patterns order as unsigned: u64::MAX is clipped by hi.
        let u = ArrayD::from_shape_vec(ndarray::IxDyn(&[1]), vec![-1]).unwrap();
        assert_eq!(clamp_ints(DType::U64, &u, Some(1), Some(10))[[0]], 10);
        assert_eq!(clamp_float(0.0, 2.0, 1.0), 1.0);
        assert!(clamp_float(f64::NAN, 0.0, 1.0).is_nan());
    }

    #[test]
    fn stable_sigmoid_and_softplus() {
        assert_eq!(sigmoid(-1000.0), 0.0);
        assert_eq!(sigmoid(1000.0), 1.0);
        assert_eq!(softplus(1000.0), 1000.0);
        approx::assert_relative_eq!(softplus(0.0), std::f64::consts::LN_2);
    }
}
