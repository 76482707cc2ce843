//! Reference kernels: variadic broadcast reductions across inputs (Min, Max, Sum, Mean).

use sysnoise_boundary::DType;

use super::Registry;
use super::comparison::int_order;
use super::elementwise_binary::{IntOp, binary, int_div};
use crate::context::OpContext;
use crate::error::OpError;
use crate::value::{Data, Value};

pub fn register(r: &mut Registry) {
    r.add("Max", |c, i| Ok(vec![fold(c, i, nan_max, int_max)?]));
    r.add("Min", |c, i| Ok(vec![fold(c, i, nan_min, int_min)?]));
    r.add("Sum", |c, i| Ok(vec![fold(c, i, |a, b| a + b, int_add)?]));
    r.add("Mean", mean);
}

/// Combines all inputs left to right with broadcasting (one input is returned as is).
fn fold(ctx: &OpContext, inputs: &[Option<Value>], float: fn(f64, f64) -> f64, int: IntOp) -> Result<Value, OpError> {
    let mut values = inputs.iter().flatten();
    let first = values
        .next()
        .ok_or_else(|| OpError::invalid(format!("{} needs at least one input", ctx.node.op_type)))?;
    values.try_fold(first.clone(), |acc, v| binary(&acc, v, float, int))
}

/// Maximum that propagates NaN, as numpy's `maximum` does.
fn nan_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() { f64::NAN } else { a.max(b) }
}

/// Minimum that propagates NaN, as numpy's `minimum` does.
fn nan_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() { f64::NAN } else { a.min(b) }
}

fn int_max(dtype: DType, a: i64, b: i64) -> Option<i64> {
    Some(std::cmp::max_by(a, b, |x, y| int_order(dtype, *x, *y)))
}

fn int_min(dtype: DType, a: i64, b: i64) -> Option<i64> {
    Some(std::cmp::min_by(a, b, |x, y| int_order(dtype, *x, *y)))
}

fn int_add(_: DType, a: i64, b: i64) -> Option<i64> {
    Some(a.wrapping_add(b))
}

/// The sum divided by the input count (integers: wrapped sum, division truncated).
fn mean(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let sum = fold(ctx, inputs, |a, b| a + b, int_add)?;
    let n = inputs.iter().flatten().count();
    let out = match &sum.data {
        Data::F(a) => Value::float(sum.dtype, a.mapv(|v| v / n as f64)),
        Data::I(a) => Value::int(sum.dtype, a.mapv(|v| int_div(sum.dtype, v, n as i64).unwrap_or(0))),
        Data::B(_) => return Err(OpError::invalid("Mean of bool")),
    };
    Ok(vec![out])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn min_max_propagate_nan_and_order_u64() {
        assert!(nan_max(f64::NAN, 1.0).is_nan());
        assert!(nan_min(1.0, f64::NAN).is_nan());
        assert_eq!(int_max(DType::U64, -1, 1), Some(-1)); // u64::MAX > 1
        assert_eq!(int_min(DType::I64, -1, 1), Some(-1));
    }
}
