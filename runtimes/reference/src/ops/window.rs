//! Reference kernels: signal windows (HannWindow, HammingWindow, BlackmanWindow).

use std::f64::consts::PI;

use ndarray::{ArrayD, IxDyn};
use sysnoise_boundary::DType;

use super::Registry;
use crate::context::OpContext;
use crate::error::OpError;
use crate::value::Value;

pub fn register(r: &mut Registry) {
    r.add("HannWindow", |c, i| window(c, i, |x| 0.5 - 0.5 * x.cos()));
    r.add("HammingWindow", |c, i| {
        window(c, i, |x| 25.0 / 46.0 - 21.0 / 46.0 * x.cos())
    });
    r.add("BlackmanWindow", |c, i| {
        window(c, i, |x| 0.42 - 0.5 * x.cos() + 0.08 * (2.0 * x).cos())
    });
}

/// A window of `size` samples, `shape(2π·n / N)` with N = size (periodic, the default) or
/// size − 1 (symmetric), in `output_datatype` (float by default).
fn window(ctx: &OpContext, inputs: &[Option<Value>], shape: fn(f64) -> f64) -> Result<Vec<Value>, OpError> {
    let size = ctx.input(inputs, 0)?.to_i64_vec().first().copied().unwrap_or(0);
    let size = usize::try_from(size).map_err(|_| OpError::invalid(format!("window size {size}")))?;
    let periodic = ctx.int("periodic", 1) != 0;
    let dtype =
        DType::from_onnx_code(ctx.int("output_datatype", 1) as i32).map_err(|e| OpError::invalid(e.to_string()))?;
    let denominator = if periodic {
        size as f64
    } else {
        size.saturating_sub(1) as f64
    };
    let values = ArrayD::from_shape_fn(IxDyn(&[size]), |i| {
        if denominator == 0.0 {
            1.0
        } else {
            shape(2.0 * PI * i[0] as f64 / denominator)
        }
    });
    Ok(vec![Value::from_f64(dtype, values)])
}
