//! Reference kernels: running sums and products along an axis (CumSum, CumProd).

use ndarray::Axis;

use super::Registry;
use crate::context::OpContext;
use crate::error::OpError;
use crate::value::{Data, Value};

pub fn register(r: &mut Registry) {
    r.add("CumSum", |c, i| cumulative(c, i, 0.0, |a, b| a + b));
    r.add("CumProd", |c, i| cumulative(c, i, 1.0, |a, b| a * b));
}

/// The running `combine` of x along `axis` (an input), `exclusive` (each output leaves its own
/// element out) and `reverse` (from the end) as the attributes say.
fn cumulative(
    ctx: &OpContext,
    inputs: &[Option<Value>],
    identity: f64,
    combine: fn(f64, f64) -> f64,
) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    let axis = ctx.input(inputs, 1)?.to_i64_vec().first().copied().unwrap_or(0);
    let axis = ctx.axis(axis, x.shape().len())?;
    let (exclusive, reverse) = (ctx.int("exclusive", 0) != 0, ctx.int("reverse", 0) != 0);
    let mut values = x.to_f64();
    for mut lane in values.lanes_mut(Axis(axis)) {
        let n = lane.len();
        let mut running = identity;
        for step in 0..n {
            let i = if reverse { n - 1 - step } else { step };
            let own = lane[i];
            let next = combine(running, own);
            lane[i] = if exclusive { running } else { next };
            running = next;
        }
    }
    Ok(vec![match &x.data {
        Data::F(_) => Value::float(x.dtype, values),
        _ => Value::int(x.dtype, values.mapv(|v| v as i64)),
    }])
}
