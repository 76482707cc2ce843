//! Reference kernels: Dropout at inference (the identity, and an all-true mask).

use ndarray::ArrayD;

use super::Registry;
use crate::context::OpContext;
use crate::error::OpError;
use crate::value::Value;

pub fn register(r: &mut Registry) {
    r.add("Dropout", dropout);
}

/// Dropout: outside training (`training_mode` false or omitted, or `is_test` before opset 7) it
/// returns its input and a mask of ones. Training mode drops random elements — a draw no oracle
/// can reproduce — so it is unsupported unless the ratio is 0.
fn dropout(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let data = ctx.input(inputs, 0)?;
    let training = ctx
        .optional_input(inputs, 2)
        .map(|t| t.to_f64().iter().any(|v| *v != 0.0))
        .unwrap_or(false);
    let ratio = match ctx.optional_input(inputs, 1) {
        Some(r) => r.to_f64().iter().next().copied().unwrap_or(0.5),
        None => ctx.float("ratio", 0.5),
    };
    if training && ratio != 0.0 {
        return Err(OpError::unsupported(
            "Dropout in training mode draws random elements to drop: not reproducible",
        ));
    }
    let mut outputs = vec![data.clone()];
    if ctx.node.output.len() > 1 {
        // The mask is bool from opset 10 on; earlier it had the data's type.
        let ones = ArrayD::from_elem(data.shape().to_vec(), true);
        outputs.push(if ctx.opset >= 10 {
            Value::boolean(ones)
        } else {
            Value::from_f64(data.dtype, ones.mapv(|_| 1.0))
        });
    }
    Ok(outputs)
}
