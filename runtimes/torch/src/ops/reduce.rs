//! Reductions (ReduceSum / Mean / Max / Min / Prod / L1 / L2 / LogSum / LogSumExp / SumSquare)
//! with keepdims, axes as attribute or input by opset and noop_with_empty_axes; ArgMax / ArgMin
//! (select_last_index).

use sysnoise_boundary::DType;
use tch::{Kind, Tensor};

use super::Registry;
use crate::context::{Ctx, axes, axis};
use crate::error::OpError;
use crate::value::Value;

/// A reduction over `dims` (never empty) keeping them as size 1.
type Reduce = fn(&Tensor, &[i64], &Value) -> Result<Tensor, OpError>;

pub fn register(r: &mut Registry) {
    r.add("ReduceSum", |c, i| reduce(c, i, 13, sum));
    r.add("ReduceMean", |c, i| reduce(c, i, 18, mean));
    r.add("ReduceMax", |c, i| reduce(c, i, 18, |t, d, _| Ok(t.f_amax(d, true)?)));
    r.add("ReduceMin", |c, i| reduce(c, i, 18, |t, d, _| Ok(t.f_amin(d, true)?)));
    r.add("ReduceProd", |c, i| reduce(c, i, 18, prod));
    r.add("ReduceL1", |c, i| reduce(c, i, 18, |t, d, x| sum(&t.f_abs()?, d, x)));
    r.add("ReduceL2", |c, i| {
        reduce(c, i, 18, |t, d, x| Ok(sum(&t.f_mul(t)?, d, x)?.f_sqrt()?))
    });
    r.add("ReduceLogSum", |c, i| {
        reduce(c, i, 18, |t, d, x| Ok(sum(t, d, x)?.f_log()?))
    });
    r.add("ReduceLogSumExp", |c, i| {
        reduce(c, i, 18, |t, d, _| Ok(t.f_logsumexp(d, true)?))
    });
    r.add("ReduceSumSquare", |c, i| {
        reduce(c, i, 18, |t, d, x| sum(&t.f_mul(t)?, d, x))
    });
    r.add("ArgMax", |c, i| arg(c, i, |t, d| t.f_argmax(d, true)));
    r.add("ArgMin", |c, i| arg(c, i, |t, d| t.f_argmin(d, true)));
}

/// A sum in the input's own kind (LibTorch would widen integers to int64).
fn sum(t: &Tensor, dims: &[i64], _: &Value) -> Result<Tensor, OpError> {
    Ok(t.f_sum_dim_intlist(dims, true, t.f_kind()?)?)
}

/// Floats average in their kind; integers in double, truncated back (as a C cast would).
fn mean(t: &Tensor, dims: &[i64], x: &Value) -> Result<Tensor, OpError> {
    if x.is_float() {
        Ok(t.f_mean_dim(dims, true, None::<Kind>)?)
    } else {
        Ok(t.f_to_kind(Kind::Double)?.f_mean_dim(dims, true, None::<Kind>)?)
    }
}

/// LibTorch's prod reduces one axis at a time.
fn prod(t: &Tensor, dims: &[i64], _: &Value) -> Result<Tensor, OpError> {
    let mut out = t.shallow_clone();
    for &d in dims {
        out = out.f_prod_dim_int(d, true, out.f_kind()?)?;
    }
    Ok(out)
}

fn reduce(ctx: &Ctx, inputs: &[Option<Value>], input_axes_from: i64, f: Reduce) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    if x.dtype == DType::Bool && !matches!(ctx.node.op_type.as_str(), "ReduceMax" | "ReduceMin") {
        return Err(OpError::invalid(format!("{} of bool", ctx.node.op_type)));
    }
    let rank = x.rank();
    let given = if ctx.opset >= input_axes_from {
        ctx.optional_input(inputs, 1).map(Value::to_i64s).transpose()?
    } else {
        ctx.ints("axes")
    }
    .filter(|a| !a.is_empty());
    let dims = match given {
        Some(a) => axes(&a, rank)?,
        None if ctx.opset >= input_axes_from && ctx.int("noop_with_empty_axes", 0) != 0 => {
            return Ok(vec![x.clone()]);
        }
        None => (0..rank as i64).collect(),
    };
    let shape = x.shape();
    let empty = dims.iter().any(|&d| shape[d as usize] == 0);
    if empty && matches!(ctx.node.op_type.as_str(), "ReduceMax" | "ReduceMin") {
        return Err(OpError::unsupported(
            "an empty reduction (ONNX's identity value): LibTorch's amax / amin refuse empty axes",
        ));
    }
    let keep = ctx.int("keepdims", 1) != 0;
    let mut t = if dims.is_empty() {
        // A rank-0 input: reducing nothing.
        f(&x.t.f_reshape([1])?, &[0], x)?.f_reshape([0i64; 0])?
    } else {
        f(&x.t, &dims, x)?
    };
    if !keep && !dims.is_empty() {
        t = t.f_squeeze_dims(&dims)?;
    }
    Ok(vec![ctx.env.like(t, x)?])
}

/// ArgMax / ArgMin: the first extreme index along `axis`, or the last with select_last_index.
fn arg(
    ctx: &Ctx,
    inputs: &[Option<Value>],
    f: fn(&Tensor, i64) -> Result<Tensor, tch::TchError>,
) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    let a = axis(ctx.int("axis", 0), x.rank())?;
    let mut t = if ctx.int("select_last_index", 0) != 0 {
        let len = x.shape()[a as usize];
        f(&x.t.f_flip([a])?, a)?.f_neg()?.f_add_scalar(len - 1)?
    } else {
        f(&x.t, a)?
    };
    if ctx.int("keepdims", 1) == 0 {
        t = t.f_squeeze_dims([a])?;
    }
    Ok(vec![ctx.env.value(t, DType::I64)?])
}
