//! Reference kernels: repeating a tensor to a larger shape (Expand by broadcasting, Tile by repetition).

use ndarray::{ArrayD, Dimension, IxDyn};

use super::Registry;
use crate::broadcast::broadcast_shape;
use crate::context::OpContext;
use crate::error::OpError;
use crate::value::Value;

pub fn register(r: &mut Registry) {
    r.add("Expand", expand);
    r.add("Tile", tile);
}

/// `a` broadcast to `shape` (already checked compatible), owned.
fn broadcast_to<T: Clone>(a: &ArrayD<T>, shape: &[usize]) -> ArrayD<T> {
    a.broadcast(IxDyn(shape)).expect("shape checked").to_owned()
}

/// Non-negative sizes from a 1-D int input.
fn sizes(v: &Value, what: &str) -> Result<Vec<usize>, OpError> {
    v.to_i64_vec()
        .into_iter()
        .map(|d| usize::try_from(d).map_err(|_| OpError::invalid(format!("negative {what} {d}"))))
        .collect()
}

fn expand(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    let requested = sizes(ctx.input(inputs, 1)?, "dim")?;
    let shape = broadcast_shape(&[x.shape(), &requested])?;
    Ok(vec![x.map_array(
        |a| broadcast_to(a, &shape),
        |a| broadcast_to(a, &shape),
        |a| broadcast_to(a, &shape),
    )])
}

/// `a` repeated `repeats[i]` times along each axis `i`.
fn tiled<T: Clone>(a: &ArrayD<T>, repeats: &[usize]) -> ArrayD<T> {
    let shape: Vec<usize> = a.shape().iter().zip(repeats).map(|(d, r)| d * r).collect();
    ArrayD::from_shape_fn(IxDyn(&shape), |ix| {
        let at: Vec<usize> = ix.slice().iter().zip(a.shape()).map(|(i, d)| i % d).collect();
        a[at.as_slice()].clone()
    })
}

fn tile(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    if ctx.opset < 6 {
        return Err(OpError::unsupported("Tile before opset 6 (tiles and axis inputs)"));
    }
    let x = ctx.input(inputs, 0)?;
    let repeats = sizes(ctx.input(inputs, 1)?, "repeat")?;
    if repeats.len() != x.shape().len() {
        return Err(OpError::invalid(format!(
            "Tile: {} repeats for rank {}",
            repeats.len(),
            x.shape().len()
        )));
    }
    Ok(vec![x.map_array(
        |a| tiled(a, &repeats),
        |a| tiled(a, &repeats),
        |a| tiled(a, &repeats),
    )])
}
