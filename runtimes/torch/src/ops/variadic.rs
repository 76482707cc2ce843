//! Variadic elementwise ops with numpy broadcasting: Max, Min, Sum, Mean.

use tch::{TchError, Tensor};

use super::Registry;
use crate::context::{Ctx, same_dtype};
use crate::error::OpError;
use crate::value::Value;

type TorchFn2 = fn(&Tensor, &Tensor) -> Result<Tensor, TchError>;

pub fn register(r: &mut Registry) {
    // maximum / minimum propagate NaN, as the reference does.
    r.add("Max", |c, i| fold(c, i, Tensor::f_maximum).map(|v| vec![v]));
    r.add("Min", |c, i| fold(c, i, Tensor::f_minimum).map(|v| vec![v]));
    r.add("Sum", |c, i| fold(c, i, Tensor::f_add).map(|v| vec![v]));
    r.add("Mean", mean);
}

/// Folds the inputs left to right with `f`.
fn fold(ctx: &Ctx, inputs: &[Option<Value>], f: TorchFn2) -> Result<Value, OpError> {
    let first = ctx.input(inputs, 0)?;
    let mut acc = first.t.shallow_clone();
    for i in 1..inputs.len() {
        let next = ctx.input(inputs, i)?;
        same_dtype(&ctx.node.op_type, first, next)?;
        acc = f(&acc, &next.t)?;
    }
    ctx.env.like(acc, first)
}

fn mean(ctx: &Ctx, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let sum = fold(ctx, inputs, Tensor::f_add)?;
    if !sum.is_float() {
        return Err(OpError::invalid(format!("Mean of {}", sum.dtype)));
    }
    let t = sum.t.f_div_scalar(inputs.len() as f64)?;
    Ok(vec![ctx.env.like(t, &sum)?])
}
