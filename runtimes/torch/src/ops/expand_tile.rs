//! Expand (bidirectional broadcasting to a shape) and Tile.

use super::Registry;
use crate::context::Ctx;
use crate::error::OpError;
use crate::value::Value;

pub fn register(r: &mut Registry) {
    r.add("Expand", expand);
    r.add("Tile", tile);
}

/// The numpy broadcast of two shapes.
fn broadcast(a: &[i64], b: &[i64]) -> Result<Vec<i64>, OpError> {
    let n = a.len().max(b.len());
    let at = |s: &[i64], i: usize| if i + s.len() < n { 1 } else { s[i + s.len() - n] };
    (0..n)
        .map(|i| match (at(a, i), at(b, i)) {
            (x, y) if x == y || y == 1 => Ok(x),
            (1, y) => Ok(y),
            (x, y) => Err(OpError::invalid(format!(
                "shapes {a:?} and {b:?} do not broadcast ({x} vs {y})"
            ))),
        })
        .collect()
}

fn expand(ctx: &Ctx, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    let shape = ctx.input(inputs, 1)?.to_i64s()?;
    let target = broadcast(&x.shape(), &shape)?;
    Ok(vec![ctx.env.like(x.t.f_expand(&target, false)?.f_contiguous()?, x)?])
}

fn tile(ctx: &Ctx, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    let repeats = ctx.input(inputs, 1)?.to_i64s()?;
    if repeats.len() != x.rank() || repeats.iter().any(|&r| r < 0) {
        return Err(OpError::invalid(format!(
            "Tile repeats {repeats:?} for rank {}",
            x.rank()
        )));
    }
    Ok(vec![ctx.env.like(x.t.f_repeat(&repeats)?, x)?])
}
