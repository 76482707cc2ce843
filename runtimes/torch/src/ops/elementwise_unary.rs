//! Unary elementwise ops (Abs, Neg, Sign, rounding, exp/log/sqrt, trigonometry, Not, IsNaN, IsInf).

use tch::{TchError, Tensor};

use super::Registry;
use crate::context::Ctx;
use crate::error::OpError;
use crate::value::Value;

type TorchFn = fn(&Tensor) -> Result<Tensor, TchError>;

pub fn register(r: &mut Registry) {
    r.add("Abs", |c, i| numeric(c, i, Tensor::f_abs));
    r.add("Neg", |c, i| numeric(c, i, Tensor::f_neg));
    r.add("Sign", |c, i| numeric(c, i, Tensor::f_sign));
    r.add("Floor", |c, i| float(c, i, Tensor::f_floor));
    r.add("Ceil", |c, i| float(c, i, Tensor::f_ceil));
    // LibTorch rounds half to even, as ONNX Round does.
    r.add("Round", |c, i| float(c, i, Tensor::f_round));
    r.add("Exp", |c, i| float(c, i, Tensor::f_exp));
    r.add("Log", |c, i| float(c, i, Tensor::f_log));
    r.add("Sqrt", |c, i| float(c, i, Tensor::f_sqrt));
    r.add("Reciprocal", |c, i| float(c, i, Tensor::f_reciprocal));
    r.add("Erf", |c, i| float(c, i, Tensor::f_erf));
    r.add("Sin", |c, i| float(c, i, Tensor::f_sin));
    r.add("Cos", |c, i| float(c, i, Tensor::f_cos));
    r.add("Tan", |c, i| float(c, i, Tensor::f_tan));
    r.add("Asin", |c, i| float(c, i, Tensor::f_asin));
    r.add("Acos", |c, i| float(c, i, Tensor::f_acos));
    r.add("Atan", |c, i| float(c, i, Tensor::f_atan));
    r.add("Sinh", |c, i| float(c, i, Tensor::f_sinh));
    r.add("Cosh", |c, i| float(c, i, Tensor::f_cosh));
    r.add("Asinh", |c, i| float(c, i, Tensor::f_asinh));
    r.add("Acosh", |c, i| float(c, i, Tensor::f_acosh));
    r.add("Atanh", |c, i| float(c, i, Tensor::f_atanh));
    r.add("Not", not);
    r.add("IsNaN", is_nan);
    r.add("IsInf", is_inf);
}

/// An op on any numeric dtype; the result keeps it.
fn numeric(ctx: &Ctx, inputs: &[Option<Value>], f: TorchFn) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    if x.dtype == sysnoise_boundary::DType::Bool {
        return Err(OpError::invalid(format!("{} of bool", ctx.node.op_type)));
    }
    Ok(vec![ctx.env.like(f(&x.t)?, x)?])
}

/// An op defined on floats only (LibTorch would promote integers to float).
fn float(ctx: &Ctx, inputs: &[Option<Value>], f: TorchFn) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    if !x.is_float() {
        return Err(OpError::invalid(format!("{} of {}", ctx.node.op_type, x.dtype)));
    }
    Ok(vec![ctx.env.like(f(&x.t)?, x)?])
}

fn not(ctx: &Ctx, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    if x.dtype != sysnoise_boundary::DType::Bool {
        return Err(OpError::invalid(format!("Not of {}", x.dtype)));
    }
    Ok(vec![ctx.env.native(x.t.f_logical_not()?)?])
}

fn is_nan(ctx: &Ctx, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    Ok(vec![ctx.env.native(x.t.f_isnan()?)?])
}

fn is_inf(ctx: &Ctx, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    let t = match (ctx.int("detect_positive", 1) != 0, ctx.int("detect_negative", 1) != 0) {
        (true, true) => x.t.f_isinf()?,
        (true, false) => x.t.f_isposinf()?,
        (false, true) => x.t.f_isneginf()?,
        (false, false) => x.t.f_isinf()?.f_zeros_like()?,
    };
    Ok(vec![ctx.env.native(t)?])
}
