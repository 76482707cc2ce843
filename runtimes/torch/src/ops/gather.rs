//! Gather, GatherElements, GatherND, ScatterElements (and the old Scatter) and ScatterND
//! (negative indices count from the end of the axis), with reductions none / add / mul / max /
//! min. Scatters without a reduction decline repeated targets (ONNX leaves their order to the
//! runtime; LibTorch does not promise the last write).

use sysnoise_boundary::DType;
use tch::{Kind, Tensor};

use super::Registry;
use crate::context::{Ctx, axis};
use crate::error::OpError;
use crate::value::Value;

pub fn register(r: &mut Registry) {
    r.add("Gather", gather);
    r.add("GatherElements", gather_elements);
    r.add("GatherND", gather_nd);
    r.add_checked("ScatterElements", scatter_elements, check_reduction);
    r.add_checked("Scatter", scatter_elements, check_reduction);
    r.add_checked("ScatterND", scatter_nd, check_reduction);
}

/// Indices as i64 with negative ones resolved against an axis of length `len`.
fn resolved(indices: &Value, len: i64) -> Result<Tensor, OpError> {
    if !matches!(indices.dtype, DType::I32 | DType::I64) {
        return Err(OpError::invalid(format!("indices of {}", indices.dtype)));
    }
    let i = indices.t.f_to_kind(Kind::Int64)?;
    Ok(i.f_add_scalar(len)?.f_where_self(&i.f_lt(0)?, &i)?)
}

/// Output shape data.shape[..axis] + indices.shape + data.shape[axis + 1..].
fn gather(ctx: &Ctx, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let (data, indices) = (ctx.input(inputs, 0)?, ctx.input(inputs, 1)?);
    let a = axis(ctx.int("axis", 0), data.rank())?;
    let shape = data.shape();
    let index = resolved(indices, shape[a as usize])?;
    let picked = data.t.f_index_select(a, &index.f_reshape([-1])?)?;
    let mut out = shape[..a as usize].to_vec();
    out.extend(indices.shape());
    out.extend(&shape[a as usize + 1..]);
    Ok(vec![ctx.env.like(picked.f_reshape(&out)?, data)?])
}

fn gather_elements(ctx: &Ctx, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let (data, indices) = (ctx.input(inputs, 0)?, ctx.input(inputs, 1)?);
    let a = axis(ctx.int("axis", 0), data.rank())?;
    if indices.rank() != data.rank() {
        return Err(OpError::invalid("GatherElements indices and data differ in rank"));
    }
    let index = resolved(indices, data.shape()[a as usize])?;
    Ok(vec![ctx.env.like(data.t.f_gather(a, &index, false)?, data)?])
}

/// The flat position, within the `prod(dims)` elements of a `dims`-shaped block, of each index
/// tuple of `indices` (`[..., k]` with `k == dims.len()`), negative entries resolved per axis;
/// shaped like `indices` without its last axis.
fn linear_positions(indices: &Value, dims: &[i64]) -> Result<Tensor, OpError> {
    if !matches!(indices.dtype, DType::I32 | DType::I64) {
        return Err(OpError::invalid(format!("indices of {}", indices.dtype)));
    }
    let shape = indices.shape();
    let grid = &shape[..shape.len() - 1];
    let i = indices.t.f_to_kind(Kind::Int64)?;
    let mut linear = Tensor::f_zeros(grid, (Kind::Int64, i.device()))?;
    let mut stride = 1;
    for (axis, &dim) in dims.iter().enumerate().rev() {
        let column = i.f_select(-1, axis as i64)?;
        let column = column.f_add_scalar(dim)?.f_where_self(&column.f_lt(0)?, &column)?;
        let inside = column.f_ge(0)?.f_logical_and(&column.f_lt(dim)?)?;
        if !truth(&inside.f_all()?)? {
            return Err(OpError::invalid(format!("index out of range for a dim of {dim}")));
        }
        linear = linear.f_add(&column.f_mul_scalar(stride)?)?;
        stride *= dim;
    }
    Ok(linear)
}

/// The value of a one-element bool tensor.
fn truth(t: &Tensor) -> Result<bool, OpError> {
    Ok(t.f_int64_value(&[])? != 0)
}

/// GatherND: data `[B..., D..., rest...]` (batch_dims leading batch axes), indices
/// `[B..., grid..., k]` address blocks `rest` of the `D` (k axes) of each batch.
fn gather_nd(ctx: &Ctx, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let (data, indices) = (ctx.input(inputs, 0)?, ctx.input(inputs, 1)?);
    let b = usize::try_from(ctx.int("batch_dims", 0)).map_err(|_| OpError::invalid("negative batch_dims"))?;
    let (shape, ishape) = (data.shape(), indices.shape());
    let Some((&k, grid)) = ishape.split_last() else {
        return Err(OpError::invalid("GatherND indices must have rank >= 1"));
    };
    let k = usize::try_from(k).map_err(|_| OpError::invalid("negative index tuple length"))?;
    if b > grid.len() || b + k > shape.len() || grid[..b] != shape[..b] {
        return Err(OpError::invalid(format!(
            "indices {ishape:?} do not address data {shape:?} with batch_dims {b}"
        )));
    }
    let batches: i64 = shape[..b].iter().product();
    let addressed: i64 = shape[b..b + k].iter().product();
    let per_batch: i64 = grid[b..].iter().product();
    let linear = linear_positions(indices, &shape[b..b + k])?.f_reshape([batches, per_batch])?;
    let mut flat_shape = vec![batches, addressed];
    flat_shape.extend(&shape[b + k..]);
    let flat = data.t.f_reshape(&flat_shape)?;
    let batch_index = Tensor::f_arange(batches, (Kind::Int64, flat.device()))?.f_unsqueeze(1)?;
    let picked = flat.f_index(&[Some(batch_index), Some(linear)])?;
    let mut out = grid.to_vec();
    out.extend(&shape[b + k..]);
    Ok(vec![ctx.env.like(picked.f_reshape(&out)?, data)?])
}

#[derive(Clone, Copy, PartialEq)]
enum Reduction {
    None,
    Add,
    Mul,
    Max,
    Min,
}

fn reduction(ctx: &Ctx) -> Result<Reduction, OpError> {
    match ctx.string("reduction", "none").as_str() {
        "none" => Ok(Reduction::None),
        "add" => Ok(Reduction::Add),
        "mul" => Ok(Reduction::Mul),
        "max" => Ok(Reduction::Max),
        "min" => Ok(Reduction::Min),
        other => Err(OpError::invalid(format!("unknown reduction '{other}'"))),
    }
}

fn check_reduction(ctx: &Ctx) -> Result<(), OpError> {
    reduction(ctx).map(|_| ())
}

/// Scatters `src` into `data` along `dim` at `index` (LibTorch's scatter shapes), combined by
/// `reduction`; without one, repeated targets are declined.
fn scatter_with(
    op: &str,
    red: Reduction,
    data: &Tensor,
    dim: i64,
    index: &Tensor,
    src: &Tensor,
) -> Result<Tensor, OpError> {
    Ok(match red {
        Reduction::None => {
            let hits = Tensor::f_zeros(data.size(), (Kind::Int64, data.device()))?.f_scatter_add(
                dim,
                index,
                &index.f_ones_like()?,
            )?;
            if truth(&hits.f_gt(1)?.f_any()?)? {
                return Err(OpError::unsupported(format!(
                    "{op} writing one element twice without a reduction (the order of the writes is not defined in LibTorch)"
                )));
            }
            data.f_scatter(dim, index, src)?
        }
        Reduction::Add => data.f_scatter_add(dim, index, src)?,
        red => combine_into(data, dim, index, src, red)?,
    })
}

/// Combines `src` (shaped like `index`) into `data` at scatter positions by `red` (mul: the
/// product; max / min: the new value where it is greater / less, so a NaN update is ignored
/// and a NaN already there stays), repeated targets in the order of the index elements
/// (row-major) like a sequential loop: the k-th occurrence of each target in round k.
fn combine_into(data: &Tensor, dim: i64, index: &Tensor, src: &Tensor, red: Reduction) -> Result<Tensor, OpError> {
    let (size, ishape) = (data.size(), index.size());
    let device = data.device();
    // The flat offset in `data` of each index element.
    let mut offsets = Tensor::f_zeros(&ishape, (Kind::Int64, device))?;
    let mut stride = 1;
    for a in (0..size.len()).rev() {
        let coord = if a as i64 == dim {
            index.shallow_clone()
        } else {
            let mut view = vec![1; size.len()];
            view[a] = ishape[a];
            Tensor::f_arange(ishape[a], (Kind::Int64, device))?.f_reshape(&view)?
        };
        offsets = offsets.f_add(&coord.f_mul_scalar(stride)?)?;
        stride *= size[a];
    }
    let offsets = offsets.f_reshape([-1])?;
    let src = src.f_contiguous()?.f_reshape([-1])?;
    let m = offsets.size()[0];
    if m == 0 {
        return Ok(data.shallow_clone());
    }
    // Occurrence number of each element among those with its offset (stable sort: in order).
    let (sorted, perm) = offsets.f_sort_stable(true, 0, false)?;
    let changed = sorted
        .f_narrow(0, 1, m - 1)?
        .f_ne_tensor(&sorted.f_narrow(0, 0, m - 1)?)?;
    let first = Tensor::f_ones([1], (Kind::Bool, device))?;
    let starts = Tensor::f_cat(&[first, changed], 0)?;
    let positions = Tensor::f_arange(m, (Kind::Int64, device))?;
    let (run_start, _) = positions
        .f_where_self(&starts, &positions.f_zeros_like()?)?
        .f_cummax(0)?;
    let occurrence = positions
        .f_zeros_like()?
        .f_scatter(0, &perm, &positions.f_sub(&run_start)?)?;
    let rounds = occurrence.f_max()?.f_int64_value(&[])?;
    let mut flat = data.f_reshape([-1])?;
    for round in 0..=rounds {
        let picked = occurrence.f_eq(round)?.f_nonzero()?.f_squeeze_dims([1])?;
        let at = offsets.f_index_select(0, &picked)?;
        let (old, new) = (flat.f_index_select(0, &at)?, src.f_index_select(0, &picked)?);
        let combined = match red {
            Reduction::Max => new.f_where_self(&new.f_gt_tensor(&old)?, &old)?,
            Reduction::Min => new.f_where_self(&new.f_lt_tensor(&old)?, &old)?,
            _ => old.f_mul(&new)?,
        };
        flat = flat.f_index_put(&[Some(at)], &combined, false)?;
    }
    Ok(flat.f_reshape(&size)?)
}

fn scatter_elements(ctx: &Ctx, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let (data, indices, updates) = (ctx.input(inputs, 0)?, ctx.input(inputs, 1)?, ctx.input(inputs, 2)?);
    let op = ctx.node.op_type.as_str();
    if updates.dtype != data.dtype {
        return Err(OpError::invalid(format!("{op} updates and data differ in dtype")));
    }
    let a = axis(ctx.int("axis", 0), data.rank())?;
    let (shape, ishape) = (data.shape(), indices.shape());
    let fits = ishape.len() == shape.len() && (0..shape.len()).all(|i| i == a as usize || ishape[i] <= shape[i]);
    if !fits || updates.shape() != ishape {
        return Err(OpError::invalid(format!(
            "{op} indices {ishape:?} and updates {:?} do not fit data {shape:?}",
            updates.shape()
        )));
    }
    let len = shape[a as usize];
    let index = resolved(indices, len)?;
    if !truth(&index.f_ge(0)?.f_logical_and(&index.f_lt(len)?)?.f_all()?)? {
        return Err(OpError::invalid(format!("{op} index out of range for a dim of {len}")));
    }
    let t = scatter_with(op, reduction(ctx)?, &data.t, a, &index, &updates.t)?;
    Ok(vec![ctx.env.like(t, data)?])
}

/// ScatterND: data `[D..., rest...]` viewed as `[prod(D), prod(rest)]`, each index tuple a row.
fn scatter_nd(ctx: &Ctx, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let (data, indices, updates) = (ctx.input(inputs, 0)?, ctx.input(inputs, 1)?, ctx.input(inputs, 2)?);
    if updates.dtype != data.dtype {
        return Err(OpError::invalid("ScatterND updates and data differ in dtype"));
    }
    let (shape, ishape) = (data.shape(), indices.shape());
    let Some((&k, grid)) = ishape.split_last() else {
        return Err(OpError::invalid("ScatterND indices must have rank >= 1"));
    };
    let k = usize::try_from(k).map_err(|_| OpError::invalid("negative index tuple length"))?;
    if k > shape.len() {
        return Err(OpError::invalid(format!(
            "ScatterND indices {ishape:?} do not address data {shape:?}"
        )));
    }
    let mut expected = grid.to_vec();
    expected.extend(&shape[k..]);
    if updates.shape() != expected {
        return Err(OpError::invalid(format!(
            "ScatterND updates {:?}, expected {expected:?}",
            updates.shape()
        )));
    }
    let rows: i64 = shape[..k].iter().product();
    let block: i64 = shape[k..].iter().product();
    let count: i64 = grid.iter().product();
    let linear = linear_positions(indices, &shape[..k])?.f_reshape([count, 1])?;
    let index = linear.f_expand([count, block], false)?.f_contiguous()?;
    let flat = data.t.f_reshape([rows, block])?;
    let src = updates.t.f_reshape([count, block])?;
    let t = scatter_with("ScatterND", reduction(ctx)?, &flat, 0, &index, &src)?;
    Ok(vec![ctx.env.like(t.f_reshape(&shape)?, data)?])
}
