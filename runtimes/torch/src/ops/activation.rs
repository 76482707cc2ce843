//! Activations. LibTorch's own kernels where the ONNX op has no parameters or LibTorch's match
//! (Relu, Sigmoid, Tanh, Gelu, HardSwish, Softplus, Mish, Clip); ops whose parameters tch does not
//! expose (LeakyRelu's slope, Elu's alpha, ...) are their ONNX formulas in tch ops.

use sysnoise_boundary::DType;
use tch::{TchError, Tensor};

use super::Registry;
use crate::context::Ctx;
use crate::error::OpError;
use crate::value::Value;

type TorchFn = fn(&Tensor) -> Result<Tensor, TchError>;

pub fn register(r: &mut Registry) {
    r.add("Relu", |c, i| numeric(c, i, Tensor::f_relu));
    r.add("Sigmoid", |c, i| float(c, i, |x, _| Ok(x.f_sigmoid()?)));
    r.add("Tanh", |c, i| float(c, i, |x, _| Ok(x.f_tanh()?)));
    r.add_checked("Gelu", |c, i| float(c, i, gelu), check_gelu);
    r.add("HardSwish", |c, i| float(c, i, |x, _| Ok(x.f_hardswish()?)));
    r.add("Softplus", |c, i| float(c, i, |x, _| Ok(x.f_softplus()?)));
    r.add("Mish", |c, i| float(c, i, |x, _| Ok(x.f_mish()?)));
    r.add("Softsign", |c, i| float(c, i, softsign));
    r.add("LeakyRelu", |c, i| float(c, i, leaky_relu));
    r.add("PRelu", prelu);
    r.add("HardSigmoid", |c, i| float(c, i, hard_sigmoid));
    r.add("Elu", |c, i| float(c, i, elu));
    r.add("Selu", |c, i| float(c, i, selu));
    r.add("Celu", |c, i| float(c, i, celu));
    r.add("ThresholdedRelu", |c, i| float(c, i, thresholded_relu));
    r.add("Shrink", |c, i| float(c, i, shrink));
    r.add("Swish", |c, i| float(c, i, swish));
    r.add("Clip", clip);
}

/// An op on any numeric dtype with a LibTorch kernel.
fn numeric(ctx: &Ctx, inputs: &[Option<Value>], f: TorchFn) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    if x.dtype == DType::Bool {
        return Err(OpError::invalid(format!("{} of bool", ctx.node.op_type)));
    }
    Ok(vec![ctx.env.like(f(&x.t)?, x)?])
}

/// An op on floats: `f` gets the tensor and the node.
fn float(
    ctx: &Ctx,
    inputs: &[Option<Value>],
    f: fn(&Tensor, &Ctx) -> Result<Tensor, OpError>,
) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    if !x.is_float() {
        return Err(OpError::invalid(format!("{} of {}", ctx.node.op_type, x.dtype)));
    }
    Ok(vec![ctx.env.like(f(&x.t, ctx)?, x)?])
}

fn check_gelu(ctx: &Ctx) -> Result<(), OpError> {
    match ctx.string("approximate", "none").as_str() {
        "none" | "tanh" => Ok(()),
        other => Err(OpError::invalid(format!("Gelu approximate '{other}'"))),
    }
}

fn gelu(x: &Tensor, ctx: &Ctx) -> Result<Tensor, OpError> {
    Ok(x.f_gelu(&ctx.string("approximate", "none"))?)
}

/// x / (1 + |x|).
fn softsign(x: &Tensor, _: &Ctx) -> Result<Tensor, OpError> {
    Ok(x.f_div(&x.f_abs()?.f_add_scalar(1.0)?)?)
}

/// x for x >= 0, alpha * x otherwise.
fn leaky_relu(x: &Tensor, ctx: &Ctx) -> Result<Tensor, OpError> {
    let alpha = ctx.float("alpha", 0.01);
    Ok(x.f_mul_scalar(alpha)?.f_where_self(&x.f_lt(0.0)?, x)?)
}

/// x for x >= 0, slope * x otherwise, the slope broadcast to x.
fn prelu(ctx: &Ctx, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let (x, slope) = (ctx.input(inputs, 0)?, ctx.input(inputs, 1)?);
    crate::context::same_dtype("PRelu", x, slope)?;
    if x.dtype == DType::Bool {
        return Err(OpError::invalid("PRelu of bool"));
    }
    let t = x.t.f_mul(&slope.t)?.f_where_self(&x.t.f_lt(0)?, &x.t)?;
    // The product broadcast x up when the slope has more dimensions: not unidirectional.
    if t.size() != x.shape() {
        return Err(OpError::invalid(format!(
            "PRelu slope {:?} does not broadcast to {:?}",
            slope.shape(),
            x.shape()
        )));
    }
    Ok(vec![ctx.env.like(t, x)?])
}

/// max(0, min(1, alpha * x + beta)).
fn hard_sigmoid(x: &Tensor, ctx: &Ctx) -> Result<Tensor, OpError> {
    let (alpha, beta) = (ctx.float("alpha", 0.2), ctx.float("beta", 0.5));
    Ok(x.f_mul_scalar(alpha)?.f_add_scalar(beta)?.f_clamp(0.0, 1.0)?)
}

/// x for x > 0, alpha * (exp(x) - 1) otherwise (exp(x) - 1 as LibTorch's elu computes it, expm1).
fn elu(x: &Tensor, ctx: &Ctx) -> Result<Tensor, OpError> {
    let alpha = ctx.float("alpha", 1.0);
    Ok(x.f_expm1()?.f_mul_scalar(alpha)?.f_where_self(&x.f_le(0.0)?, x)?)
}

/// gamma * x for x > 0, gamma * alpha * (exp(x) - 1) otherwise.
fn selu(x: &Tensor, ctx: &Ctx) -> Result<Tensor, OpError> {
    let alpha = ctx.float("alpha", 1.673_263_2);
    let gamma = ctx.float("gamma", 1.050_701);
    let negative = x.f_expm1()?.f_mul_scalar(alpha)?;
    Ok(negative.f_where_self(&x.f_le(0.0)?, x)?.f_mul_scalar(gamma)?)
}

/// max(0, x) + min(0, alpha * (exp(x / alpha) - 1)).
fn celu(x: &Tensor, ctx: &Ctx) -> Result<Tensor, OpError> {
    let alpha = ctx.float("alpha", 1.0);
    let negative = x.f_div_scalar(alpha)?.f_expm1()?.f_mul_scalar(alpha)?;
    Ok(negative.f_where_self(&x.f_le(0.0)?, x)?)
}

/// x for x > alpha, 0 otherwise.
fn thresholded_relu(x: &Tensor, ctx: &Ctx) -> Result<Tensor, OpError> {
    let alpha = ctx.float("alpha", 1.0);
    Ok(x.f_where_self(&x.f_gt(alpha)?, &x.f_zeros_like()?)?)
}

/// x + bias for x < -lambd, x - bias for x > lambd, 0 otherwise.
fn shrink(x: &Tensor, ctx: &Ctx) -> Result<Tensor, OpError> {
    let (bias, lambd) = (ctx.float("bias", 0.0), ctx.float("lambd", 0.5));
    let zero = x.f_zeros_like()?;
    let above = x.f_sub_scalar(bias)?.f_where_self(&x.f_gt(lambd)?, &zero)?;
    Ok(x.f_add_scalar(bias)?.f_where_self(&x.f_lt(-lambd)?, &above)?)
}

/// x * sigmoid(alpha * x).
fn swish(x: &Tensor, ctx: &Ctx) -> Result<Tensor, OpError> {
    let alpha = ctx.float("alpha", 1.0);
    Ok(x.f_mul(&x.f_mul_scalar(alpha)?.f_sigmoid()?)?)
}

/// Clip: bounds from attributes (opset < 11) or optional scalar inputs; LibTorch's clamp (the
/// upper bound wins when min > max, NaN propagates).
fn clip(ctx: &Ctx, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    if x.dtype == DType::Bool {
        return Err(OpError::invalid("Clip of bool"));
    }
    let t = if ctx.opset < 11 {
        x.t.f_clamp(ctx.float("min", f32::MIN), ctx.float("max", f32::MAX))?
    } else {
        let bound = |i: usize| -> Result<Option<Tensor>, OpError> {
            match ctx.optional_input(inputs, i) {
                Some(b) => {
                    crate::context::same_dtype("Clip", x, b)?;
                    Ok(Some(b.t.shallow_clone()))
                }
                None => Ok(None),
            }
        };
        let (min, max) = (bound(1)?, bound(2)?);
        if min.is_none() && max.is_none() {
            x.t.shallow_clone()
        } else {
            x.t.f_clamp_tensor(min.as_ref(), max.as_ref())?
        }
    };
    Ok(vec![ctx.env.like(t, x)?])
}
