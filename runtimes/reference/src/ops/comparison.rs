//! Reference kernels: broadcast comparisons to bool (Equal, Less, Greater, LessOrEqual, GreaterOrEqual) and Where.

use std::cmp::Ordering;

use sysnoise_boundary::DType;

use super::Registry;
use crate::broadcast::{zip2, zip3};
use crate::context::OpContext;
use crate::error::OpError;
use crate::value::{Data, Value};

pub fn register(r: &mut Registry) {
    r.add("Equal", |c, i| compare(c, i, |o| o == Some(Ordering::Equal)));
    r.add("Less", |c, i| compare(c, i, |o| o == Some(Ordering::Less)));
    r.add("Greater", |c, i| compare(c, i, |o| o == Some(Ordering::Greater)));
    r.add("LessOrEqual", |c, i| {
        compare(c, i, |o| matches!(o, Some(Ordering::Less | Ordering::Equal)))
    });
    r.add("GreaterOrEqual", |c, i| {
        compare(c, i, |o| matches!(o, Some(Ordering::Greater | Ordering::Equal)))
    });
    r.add("Where", where_op);
}

/// Orders two integers held for `dtype` (u64 values are stored as their bit pattern).
pub(super) fn int_order(dtype: DType, a: i64, b: i64) -> Ordering {
    if dtype == DType::U64 {
        (a as u64).cmp(&(b as u64))
    } else {
        a.cmp(&b)
    }
}

/// Compares two broadcast values; `test` sees `None` for unordered (NaN) pairs.
fn compare(
    ctx: &OpContext,
    inputs: &[Option<Value>],
    test: fn(Option<Ordering>) -> bool,
) -> Result<Vec<Value>, OpError> {
    let (a, b) = (ctx.input(inputs, 0)?, ctx.input(inputs, 1)?);
    if a.dtype != b.dtype {
        return Err(OpError::invalid(format!("comparing {} with {}", a.dtype, b.dtype)));
    }
    let out = match (&a.data, &b.data) {
        (Data::F(x), Data::F(y)) => zip2(x, y, |p, q| test(p.partial_cmp(&q)))?,
        (Data::I(x), Data::I(y)) => zip2(x, y, |p, q| test(Some(int_order(a.dtype, p, q))))?,
        (Data::B(x), Data::B(y)) => zip2(x, y, |p, q| test(Some(p.cmp(&q))))?,
        _ => return Err(OpError::invalid(format!("{} data does not match its dtype", a.dtype))),
    };
    Ok(vec![Value::boolean(out)])
}

fn where_op(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let cond = ctx.input(inputs, 0)?;
    let (x, y) = (ctx.input(inputs, 1)?, ctx.input(inputs, 2)?);
    if cond.dtype != DType::Bool || x.dtype != y.dtype {
        return Err(OpError::invalid(format!(
            "Where({}, {}, {})",
            cond.dtype, x.dtype, y.dtype
        )));
    }
    let c = cond.to_bool();
    let data = match (&x.data, &y.data) {
        (Data::F(p), Data::F(q)) => Data::F(zip3(&c, p, q, pick)?),
        (Data::I(p), Data::I(q)) => Data::I(zip3(&c, p, q, pick)?),
        (Data::B(p), Data::B(q)) => Data::B(zip3(&c, p, q, pick)?),
        _ => return Err(OpError::invalid(format!("{} data does not match its dtype", x.dtype))),
    };
    Ok(vec![Value { dtype: x.dtype, data }])
}

fn pick<T>(c: bool, x: T, y: T) -> T {
    if c { x } else { y }
}
