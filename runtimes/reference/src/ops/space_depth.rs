//! Reference kernels: moving blocks between channels and space (DepthToSpace, SpaceToDepth).

use ndarray::{ArrayD, IxDyn};

use super::Registry;
use crate::context::OpContext;
use crate::error::OpError;
use crate::value::Value;

pub fn register(r: &mut Registry) {
    r.add("DepthToSpace", depth_to_space);
    r.add("SpaceToDepth", space_to_depth);
}

/// `a` reshaped to `split`, its axes permuted by `order`, reshaped to `merged`.
fn rearrange<T: Clone>(a: &ArrayD<T>, split: &[usize], order: &[usize], merged: &[usize]) -> ArrayD<T> {
    let split = a.to_shape(IxDyn(split)).expect("sizes checked").into_owned();
    let permuted = split.permuted_axes(order.to_vec());
    permuted
        .as_standard_layout()
        .into_owned()
        .into_shape_with_order(IxDyn(merged))
        .expect("same length")
}

fn nchw(x: &Value, op: &str) -> Result<[usize; 4], OpError> {
    match x.shape() {
        &[n, c, h, w] => Ok([n, c, h, w]),
        other => Err(OpError::invalid(format!(
            "{op} of shape {other:?} (needs [N, C, H, W])"
        ))),
    }
}

fn block_size(ctx: &OpContext) -> Result<usize, OpError> {
    usize::try_from(ctx.int("blocksize", 0))
        .ok()
        .filter(|b| *b > 0)
        .ok_or_else(|| OpError::invalid(format!("blocksize {}", ctx.int("blocksize", 0))))
}

/// DepthToSpace: `[N, C, H, W]` → `[N, C / b², H·b, W·b]`, channels read depth-column-row (DCR,
/// the default) or column-row-depth (CRD).
fn depth_to_space(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    let [n, c, h, w] = nchw(x, "DepthToSpace")?;
    let b = block_size(ctx)?;
    if c % (b * b) != 0 {
        return Err(OpError::invalid(format!(
            "DepthToSpace of {c} channels by blocks of {b}"
        )));
    }
    let depth = c / (b * b);
    let (split, order): (Vec<usize>, Vec<usize>) = match ctx.string("mode", "DCR").as_str() {
        "DCR" => (vec![n, b, b, depth, h, w], vec![0, 3, 4, 1, 5, 2]),
        "CRD" => (vec![n, depth, b, b, h, w], vec![0, 1, 4, 2, 5, 3]),
        other => return Err(OpError::invalid(format!("DepthToSpace mode '{other}'"))),
    };
    let merged = [n, depth, h * b, w * b];
    Ok(vec![x.map_array(
        |a| rearrange(a, &split, &order, &merged),
        |a| rearrange(a, &split, &order, &merged),
        |a| rearrange(a, &split, &order, &merged),
    )])
}

/// SpaceToDepth: `[N, C, H, W]` → `[N, C·b², H / b, W / b]`, the inverse of DepthToSpace in the
/// same mode (DCR, the default, or CRD).
fn space_to_depth(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    let [n, c, h, w] = nchw(x, "SpaceToDepth")?;
    let b = block_size(ctx)?;
    if h % b != 0 || w % b != 0 {
        return Err(OpError::invalid(format!("SpaceToDepth of {h}×{w} by blocks of {b}")));
    }
    let split = [n, c, h / b, b, w / b, b];
    let order = match ctx.string("mode", "DCR").as_str() {
        "DCR" => [0, 3, 5, 1, 2, 4],
        "CRD" => [0, 1, 3, 5, 2, 4],
        other => return Err(OpError::invalid(format!("SpaceToDepth mode '{other}'"))),
    };
    let merged = [n, c * b * b, h / b, w / b];
    Ok(vec![x.map_array(
        |a| rearrange(a, &split, &order, &merged),
        |a| rearrange(a, &split, &order, &merged),
        |a| rearrange(a, &split, &order, &merged),
    )])
}
