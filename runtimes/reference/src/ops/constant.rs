//! Reference kernels: ops that make tensors from attributes or shapes (Constant, ConstantOfShape, EyeLike, Range).

use ndarray::{ArrayD, IxDyn};
use sysnoise_boundary::{DType, Tensor};

use super::Registry;
use crate::context::OpContext;
use crate::error::OpError;
use crate::value::{Data, Value};

pub fn register(r: &mut Registry) {
    r.add("Constant", constant);
    r.add("ConstantOfShape", constant_of_shape);
    r.add("EyeLike", eye_like);
    r.add("Range", range);
}

/// A 0-d (`None`) or 1-D value of `dtype` from f64 numbers.
fn list_value(dtype: DType, values: Vec<f64>, one_d: bool) -> Value {
    let shape: &[usize] = if one_d { &[values.len()] } else { &[] };
    Value::from_f64(
        dtype,
        ArrayD::from_shape_vec(IxDyn(shape), values).expect("length matches"),
    )
}

fn constant(ctx: &OpContext, _inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let value = if let Some(t) = ctx.tensor("value")? {
        Value::from_tensor(&t)?
    } else if let Some(a) = ctx.attr("value_float") {
        list_value(DType::F32, vec![f64::from(a.f)], false)
    } else if let Some(v) = ctx.floats("value_floats") {
        list_value(DType::F32, v, true)
    } else if let Some(a) = ctx.attr("value_int") {
        Value::int(DType::I64, ArrayD::from_elem(IxDyn(&[]), a.i))
    } else if let Some(v) = ctx.ints("value_ints") {
        Value::i64s(v)
    } else {
        return Err(unsupported_constant(ctx));
    };
    Ok(vec![value])
}

/// Why a Constant could not be evaluated: a string or sparse value, or no value at all.
fn unsupported_constant(ctx: &OpContext) -> OpError {
    let other = ["value_string", "value_strings", "sparse_value"]
        .into_iter()
        .find(|name| ctx.attr(name).is_some());
    match other {
        Some(name) => OpError::unsupported(format!("Constant with {name}")),
        None => OpError::invalid("Constant without a value attribute"),
    }
}

/// Non-negative dims from a 1-D shape input.
fn dims_of(shape: &Value) -> Result<Vec<usize>, OpError> {
    shape
        .to_i64_vec()
        .into_iter()
        .map(|d| usize::try_from(d).map_err(|_| OpError::invalid(format!("negative dim {d}"))))
        .collect()
}

fn constant_of_shape(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let dims = dims_of(ctx.input(inputs, 0)?)?;
    let fill = match ctx.tensor("value")? {
        Some(t) => Value::from_tensor(&t)?,
        None => Value::from_tensor(&Tensor::zeros(DType::F32, &[1]))?,
    };
    if fill.len() != 1 {
        return Err(OpError::invalid("ConstantOfShape value must have one element"));
    }
    Ok(vec![fill.map_array(
        |a| filled_like(a, &dims),
        |a| filled_like(a, &dims),
        |a| filled_like(a, &dims),
    )])
}

/// An array of `dims` holding the first element of `a` everywhere.
fn filled_like<T: Clone>(a: &ArrayD<T>, dims: &[usize]) -> ArrayD<T> {
    ArrayD::from_elem(IxDyn(dims), a.iter().next().cloned().expect("one element"))
}

fn eye_like(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    let &[rows, cols] = x.shape() else {
        return Err(OpError::invalid(format!(
            "EyeLike needs a 2-D input, got {:?}",
            x.shape()
        )));
    };
    let dtype = match ctx.attr("dtype") {
        Some(a) => DType::from_onnx_code(a.i as i32).map_err(|e| OpError::unsupported(e.to_string()))?,
        None => x.dtype,
    };
    let k = ctx.int("k", 0);
    let eye = ArrayD::from_shape_fn(IxDyn(&[rows, cols]), |ix| {
        if ix[1] as i64 - ix[0] as i64 == k { 1.0 } else { 0.0 }
    });
    Ok(vec![Value::from_f64(dtype, eye)])
}

/// The single element of a scalar (or one-element) input.
fn scalar<'v>(ctx: &OpContext, inputs: &'v [Option<Value>], i: usize) -> Result<&'v Value, OpError> {
    let v = ctx.input(inputs, i)?;
    if v.len() != 1 {
        return Err(OpError::invalid(format!(
            "Range input {i} must be a scalar, got {:?}",
            v.shape()
        )));
    }
    Ok(v)
}

fn range(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let (start, limit, delta) = (
        scalar(ctx, inputs, 0)?,
        scalar(ctx, inputs, 1)?,
        scalar(ctx, inputs, 2)?,
    );
    let value = match &start.data {
        Data::I(_) => {
            let (s, l, d) = (first_i64(start), first_i64(limit), first_i64(delta));
            if d == 0 {
                return Err(OpError::invalid("Range with delta 0"));
            }
            let n = ceil_div(l - s, d).max(0) as usize;
            Value::int(
                start.dtype,
                ArrayD::from_shape_fn(IxDyn(&[n]), |ix| s + ix[0] as i64 * d),
            )
        }
        Data::F(_) => {
            let (s, l, d) = (first_f64(start), first_f64(limit), first_f64(delta));
            let n = ((l - s) / d).ceil().max(0.0) as usize;
            Value::from_f64(
                start.dtype,
                ArrayD::from_shape_fn(IxDyn(&[n]), |ix| s + ix[0] as f64 * d),
            )
        }
        Data::B(_) => return Err(OpError::invalid("Range of bool")),
    };
    Ok(vec![value])
}

/// `ceil(a / b)` for integers, `b != 0`.
fn ceil_div(a: i64, b: i64) -> i64 {
    let (a, b) = if b < 0 { (-a, -b) } else { (a, b) };
    -(-a).div_euclid(b)
}

fn first_i64(v: &Value) -> i64 {
    v.to_i64_vec()[0]
}

fn first_f64(v: &Value) -> f64 {
    v.to_f64().iter().next().copied().expect("scalar")
}
