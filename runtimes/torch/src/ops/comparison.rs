//! Comparisons (Equal, Less, Greater, LessOrEqual, GreaterOrEqual) and Where, with numpy broadcasting.

use sysnoise_boundary::DType;
use tch::{TchError, Tensor};

use super::Registry;
use crate::context::{Ctx, same_dtype};
use crate::error::OpError;
use crate::value::Value;

type TorchFn2 = fn(&Tensor, &Tensor) -> Result<Tensor, TchError>;

pub fn register(r: &mut Registry) {
    r.add("Equal", |c, i| compare(c, i, Tensor::f_eq_tensor));
    r.add("Less", |c, i| compare(c, i, Tensor::f_lt_tensor));
    r.add("Greater", |c, i| compare(c, i, Tensor::f_gt_tensor));
    r.add("LessOrEqual", |c, i| compare(c, i, Tensor::f_le_tensor));
    r.add("GreaterOrEqual", |c, i| compare(c, i, Tensor::f_ge_tensor));
    r.add("Where", where_);
}

fn compare(ctx: &Ctx, inputs: &[Option<Value>], f: TorchFn2) -> Result<Vec<Value>, OpError> {
    let (a, b) = (ctx.input(inputs, 0)?, ctx.input(inputs, 1)?);
    same_dtype(&ctx.node.op_type, a, b)?;
    Ok(vec![ctx.env.native(f(&a.t, &b.t)?)?])
}

fn where_(ctx: &Ctx, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let (cond, x, y) = (ctx.input(inputs, 0)?, ctx.input(inputs, 1)?, ctx.input(inputs, 2)?);
    if cond.dtype != DType::Bool {
        return Err(OpError::invalid(format!("Where condition of {}", cond.dtype)));
    }
    same_dtype("Where", x, y)?;
    Ok(vec![ctx.env.like(x.t.f_where_self(&cond.t, &y.t)?, x)?])
}
