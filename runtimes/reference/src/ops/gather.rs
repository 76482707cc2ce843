//! Reference kernels: indexed reads and writes (Gather, GatherElements, GatherND, ScatterElements, ScatterND).

use ndarray::{ArrayD, Axis, Dimension, IxDyn};
use sysnoise_boundary::DType;

use super::Registry;
use super::reshape::reshape_value;
use crate::context::OpContext;
use crate::error::OpError;
use crate::value::{Data, Value};

pub fn register(r: &mut Registry) {
    r.add("Gather", gather);
    r.add("GatherElements", gather_elements);
    r.add("GatherND", gather_nd);
    r.add("ScatterElements", scatter_elements);
    r.add("Scatter", scatter_elements);
    r.add("ScatterND", scatter_nd);
}

/// A possibly negative index into an axis of length `dim`, checked.
fn index(i: i64, dim: usize) -> Result<usize, OpError> {
    let d = dim as i64;
    let j = if i < 0 { i + d } else { i };
    if (0..d).contains(&j) {
        Ok(j as usize)
    } else {
        Err(OpError::invalid(format!("index {i} out of range for a dim of {dim}")))
    }
}

/// The normalised indices of an indices tensor against an axis of length `dim`.
fn indices_array(indices: &Value, dim: usize) -> Result<ArrayD<usize>, OpError> {
    let flat = indices
        .to_i64_vec()
        .into_iter()
        .map(|i| index(i, dim))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ArrayD::from_shape_vec(IxDyn(indices.shape()), flat).expect("same element count"))
}

/// The axis attribute of a node normalised against `rank`, which must be at least 1.
fn axis_of(ctx: &OpContext, rank: usize) -> Result<usize, OpError> {
    if rank == 0 {
        return Err(OpError::invalid(format!("{} of a scalar", ctx.node.op_type)));
    }
    ctx.axis(ctx.int("axis", 0), rank)
}

/// Row-major strides of `shape`, in elements.
fn strides(shape: &[usize]) -> Vec<usize> {
    let mut out = vec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        out[i] = out[i + 1] * shape[i + 1];
    }
    out
}

fn gather(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    let indices = ctx.input(inputs, 1)?;
    let axis = axis_of(ctx, x.shape().len())?;
    let flat: Vec<usize> = indices_array(indices, x.shape()[axis])?.into_iter().collect();
    let picked = x.map_array(
        |a| a.select(Axis(axis), &flat),
        |a| a.select(Axis(axis), &flat),
        |a| a.select(Axis(axis), &flat),
    );
    let shape = [&x.shape()[..axis], indices.shape(), &x.shape()[axis + 1..]].concat();
    Ok(vec![reshape_value(&picked, &shape)?])
}

/// Checks that `indices` has the rank of `data` and fits inside it off `axis`.
fn check_element_indices(data: &[usize], indices: &[usize], axis: usize) -> Result<(), OpError> {
    let fits = data.len() == indices.len() && (0..data.len()).all(|i| i == axis || indices[i] <= data[i]);
    if fits {
        Ok(())
    } else {
        Err(OpError::invalid(format!(
            "indices {indices:?} do not fit data {data:?}"
        )))
    }
}

/// `data[ix with ix[axis] = indices[ix]]` for every position `ix` of `indices`.
fn elements_at<T: Clone>(a: &ArrayD<T>, indices: &ArrayD<usize>, axis: usize) -> ArrayD<T> {
    ArrayD::from_shape_fn(indices.raw_dim(), |ix| {
        let mut at = ix.slice().to_vec();
        at[axis] = indices[&ix];
        a[at.as_slice()].clone()
    })
}

fn gather_elements(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    let axis = axis_of(ctx, x.shape().len())?;
    let raw = ctx.input(inputs, 1)?;
    check_element_indices(x.shape(), raw.shape(), axis)?;
    let indices = indices_array(raw, x.shape()[axis])?;
    Ok(vec![x.map_array(
        |a| elements_at(a, &indices, axis),
        |a| elements_at(a, &indices, axis),
        |a| elements_at(a, &indices, axis),
    )])
}

/// Where GatherND / ScatterND read or write: the flat offset of each addressed block of
/// `data`, the block length, and the shape of the index tuples' grid.
struct Blocks {
    offsets: Vec<usize>,
    block: usize,
    grid: Vec<usize>,
}

/// Resolves an indices tensor `[..., k]` against `data` with `batch_dims` leading batch axes.
fn blocks(indices: &Value, data: &[usize], batch_dims: usize) -> Result<Blocks, OpError> {
    let (&k, grid) = indices
        .shape()
        .split_last()
        .ok_or_else(|| OpError::invalid("indices must have rank >= 1"))?;
    if batch_dims > grid.len() || batch_dims + k > data.len() || grid[..batch_dims] != data[..batch_dims] {
        return Err(OpError::invalid(format!(
            "indices {:?} do not address data {data:?} with batch_dims {batch_dims}",
            indices.shape()
        )));
    }
    let strides = strides(data);
    let batch_len: usize = data[batch_dims..].iter().product();
    let per_batch: usize = grid[batch_dims..].iter().product();
    let flat = indices.to_i64_vec();
    let count: usize = grid.iter().product();
    let offsets = (0..count)
        .map(|j| {
            let tuple = &flat[j * k..(j + 1) * k];
            let axes = batch_dims..batch_dims + k;
            tuple
                .iter()
                .zip(axes)
                .try_fold((j / per_batch) * batch_len, |acc, (&i, axis)| {
                    Ok::<_, OpError>(acc + index(i, data[axis])? * strides[axis])
                })
        })
        .collect::<Result<_, _>>()?;
    Ok(Blocks {
        offsets,
        block: data[batch_dims + k..].iter().product(),
        grid: grid.to_vec(),
    })
}

/// Concatenates the addressed blocks of `a` (standard order) into an array of `shape`.
fn read_blocks<T: Clone>(a: &ArrayD<T>, b: &Blocks, shape: &[usize]) -> ArrayD<T> {
    let flat: Vec<T> = a.iter().cloned().collect();
    let out = b.offsets.iter().flat_map(|&o| flat[o..o + b.block].iter().cloned());
    ArrayD::from_shape_vec(IxDyn(shape), out.collect()).expect("block count matches shape")
}

fn gather_nd(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    let batch_dims = usize::try_from(ctx.int("batch_dims", 0)).map_err(|_| OpError::invalid("negative batch_dims"))?;
    let b = blocks(ctx.input(inputs, 1)?, x.shape(), batch_dims)?;
    let k = ctx.input(inputs, 1)?.shape().last().copied().unwrap_or(0);
    let shape = [&b.grid[..], &x.shape()[batch_dims + k..]].concat();
    Ok(vec![x.map_array(
        |a| read_blocks(a, &b, &shape),
        |a| read_blocks(a, &b, &shape),
        |a| read_blocks(a, &b, &shape),
    )])
}

/// How scattered updates combine with the values already there.
#[derive(Clone, Copy)]
enum Reduction {
    None,
    Add,
    Mul,
    Max,
    Min,
}

impl Reduction {
    fn of(ctx: &OpContext) -> Result<Reduction, OpError> {
        match ctx.string("reduction", "none").as_str() {
            "none" => Ok(Reduction::None),
            "add" => Ok(Reduction::Add),
            "mul" => Ok(Reduction::Mul),
            "max" => Ok(Reduction::Max),
            "min" => Ok(Reduction::Min),
            other => Err(OpError::invalid(format!("unknown reduction '{other}'"))),
        }
    }

    fn apply<T: Element>(self, old: &T, new: &T) -> T {
        match self {
            Reduction::None => new.clone(),
            Reduction::Add => old.add(new),
            Reduction::Mul => old.mul(new),
            Reduction::Max if new > old => new.clone(),
            Reduction::Min if new < old => new.clone(),
            Reduction::Max | Reduction::Min => old.clone(),
        }
    }
}

/// The arithmetic a scatter reduction needs, per storage kind.
trait Element: Clone + PartialOrd {
    fn add(&self, other: &Self) -> Self;
    fn mul(&self, other: &Self) -> Self;
}

impl Element for f64 {
    fn add(&self, other: &f64) -> f64 {
        self + other
    }
    fn mul(&self, other: &f64) -> f64 {
        self * other
    }
}

impl Element for i64 {
    fn add(&self, other: &i64) -> i64 {
        self.wrapping_add(*other)
    }
    fn mul(&self, other: &i64) -> i64 {
        self.wrapping_mul(*other)
    }
}

impl Element for bool {
    fn add(&self, other: &bool) -> bool {
        *self || *other
    }
    fn mul(&self, other: &bool) -> bool {
        *self && *other
    }
}

/// Applies `write(data, updates)` in the storage kind of `data` (updates converted to it).
fn scatter_into(
    data: &Value,
    updates: &Value,
    write_f: impl Fn(&mut ArrayD<f64>, &ArrayD<f64>),
    write_i: impl Fn(&mut ArrayD<i64>, &ArrayD<i64>),
    write_b: impl Fn(&mut ArrayD<bool>, &ArrayD<bool>),
) -> Result<Value, OpError> {
    if updates.dtype != data.dtype {
        return Err(OpError::invalid("updates and data differ in dtype"));
    }
    let mut out = data.clone();
    match &mut out.data {
        Data::F(a) => write_f(a, &updates.to_f64()),
        Data::I(a) => write_i(a, &updates.to_i64()),
        Data::B(a) => write_b(a, &updates.to_bool()),
    }
    Ok(match out.data {
        Data::I(a) if out.dtype != DType::I64 => Value::int(out.dtype, a),
        _ => out,
    })
}

/// Writes `updates[ix]` to `data[ix with ix[axis] = indices[ix]]`, combined by `reduction`.
fn write_elements<T: Element>(
    data: &mut ArrayD<T>,
    updates: &ArrayD<T>,
    indices: &ArrayD<usize>,
    axis: usize,
    reduction: Reduction,
) {
    for (ix, &i) in indices.indexed_iter() {
        let mut at = ix.slice().to_vec();
        at[axis] = i;
        let slot = &mut data[at.as_slice()];
        *slot = reduction.apply(slot, &updates[&ix]);
    }
}

fn scatter_elements(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    let axis = axis_of(ctx, x.shape().len())?;
    let (raw, updates) = (ctx.input(inputs, 1)?, ctx.input(inputs, 2)?);
    check_element_indices(x.shape(), raw.shape(), axis)?;
    if raw.shape() != updates.shape() {
        return Err(OpError::invalid("indices and updates differ in shape"));
    }
    let indices = indices_array(raw, x.shape()[axis])?;
    let red = Reduction::of(ctx)?;
    Ok(vec![scatter_into(
        x,
        updates,
        |d, u| write_elements(d, u, &indices, axis, red),
        |d, u| write_elements(d, u, &indices, axis, red),
        |d, u| write_elements(d, u, &indices, axis, red),
    )?])
}

/// Writes the blocks of `updates` (standard order) to the addressed blocks of `data`.
fn write_blocks<T: Element>(data: &mut ArrayD<T>, updates: &ArrayD<T>, b: &Blocks, reduction: Reduction) {
    let mut flat: Vec<T> = data.iter().cloned().collect();
    let new: Vec<&T> = updates.iter().collect();
    for (j, &o) in b.offsets.iter().enumerate() {
        for e in 0..b.block {
            flat[o + e] = reduction.apply(&flat[o + e], new[j * b.block + e]);
        }
    }
    *data = ArrayD::from_shape_vec(data.raw_dim(), flat).expect("same shape");
}

fn scatter_nd(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    let (raw, updates) = (ctx.input(inputs, 1)?, ctx.input(inputs, 2)?);
    let b = blocks(raw, x.shape(), 0)?;
    let k = raw.shape().last().copied().unwrap_or(0);
    let expected = [&b.grid[..], &x.shape()[k..]].concat();
    if updates.shape() != expected.as_slice() {
        return Err(OpError::invalid(format!(
            "updates {:?}, expected {expected:?}",
            updates.shape()
        )));
    }
    let red = Reduction::of(ctx)?;
    Ok(vec![scatter_into(
        x,
        updates,
        |d, u| write_blocks(d, u, &b, red),
        |d, u| write_blocks(d, u, &b, red),
        |d, u| write_blocks(d, u, &b, red),
    )?])
}
