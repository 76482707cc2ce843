//! Transpose (`perm`, reversed axes by default).

use super::Registry;
use crate::context::{Ctx, axes};
use crate::error::OpError;
use crate::value::Value;

pub fn register(r: &mut Registry) {
    r.add("Transpose", transpose);
}

fn transpose(ctx: &Ctx, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    let rank = x.rank();
    let perm = match ctx.ints("perm") {
        Some(p) if p.len() == rank => axes(&p, rank)?,
        Some(p) => return Err(OpError::invalid(format!("perm {p:?} for rank {rank}"))),
        None => (0..rank as i64).rev().collect(),
    };
    Ok(vec![ctx.env.like(x.t.f_permute(&perm)?, x)?])
}
