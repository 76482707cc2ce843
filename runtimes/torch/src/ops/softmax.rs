//! Softmax, LogSoftmax and Hardmax with their opset-dependent axis semantics: before opset 13
//! the input is coerced to 2-D at `axis` (default 1) and normalised over the flattened tail;
//! from opset 13 over the single `axis` (default -1).

use tch::{Kind, Tensor};

use super::Registry;
use crate::context::{Ctx, axis};
use crate::error::OpError;
use crate::value::Value;

pub fn register(r: &mut Registry) {
    r.add("Softmax", |c, i| normalise(c, i, |t, d| t.f_softmax(d, None::<Kind>)));
    r.add("LogSoftmax", |c, i| {
        normalise(c, i, |t, d| t.f_log_softmax(d, None::<Kind>))
    });
    r.add("Hardmax", |c, i| normalise(c, i, hardmax));
}

/// One-hot of the first largest element along `dim`.
fn hardmax(t: &Tensor, dim: i64) -> Result<Tensor, tch::TchError> {
    let first = t.f_argmax(dim, true)?;
    t.f_zeros_like()?.f_scatter_value(dim, &first, 1.0)
}

fn normalise(
    ctx: &Ctx,
    inputs: &[Option<Value>],
    f: fn(&Tensor, i64) -> Result<Tensor, tch::TchError>,
) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    if !x.is_float() {
        return Err(OpError::invalid(format!("{} of {}", ctx.node.op_type, x.dtype)));
    }
    let shape = x.shape();
    let t = if ctx.opset >= 13 {
        f(&x.t, axis(ctx.int("axis", -1), shape.len())?)?
    } else {
        // Axis may equal the rank here (an empty tail: every row of one element).
        let raw = ctx.int("axis", 1);
        let rank = shape.len() as i64;
        let a = if raw < 0 { raw + rank } else { raw };
        if a < 0 || a > rank {
            return Err(OpError::invalid(format!("axis {raw} out of range for rank {rank}")));
        }
        let outer: i64 = shape[..a as usize].iter().product();
        let inner: i64 = shape[a as usize..].iter().product();
        f(&x.t.f_reshape([outer, inner])?, 1)?.f_reshape(&shape)?
    };
    Ok(vec![ctx.env.like(t, x)?])
}
