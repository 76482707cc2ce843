//! Reference kernels: the common `com.microsoft` contrib ops that ONNX Runtime's transformer
//! optimizer and converters write into models (Gelu, FastGelu, BiasGelu, QuickGelu, FusedMatMul,
//! SkipLayerNormalization), from ORT's operator documentation.

use ndarray::{ArrayD, IxDyn};

use super::Registry;
use super::elementwise_unary::erf;
use crate::broadcast::zip2;
use crate::context::OpContext;
use crate::error::OpError;
use crate::value::Value;

pub fn register(r: &mut Registry) {
    r.add_microsoft("Gelu", |c, i| gelu_of(c, i, exact_gelu));
    r.add_microsoft("BiasGelu", |c, i| gelu_of(c, i, exact_gelu));
    r.add_microsoft("FastGelu", |c, i| gelu_of(c, i, tanh_gelu));
    r.add_microsoft("QuickGelu", quick_gelu);
    r.add_microsoft("FusedMatMul", fused_matmul);
    r.add_microsoft("SkipLayerNormalization", skip_layer_norm);
}

fn exact_gelu(x: f64) -> f64 {
    0.5 * x * (1.0 + erf(x / std::f64::consts::SQRT_2))
}

/// The tanh approximation: `0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))`.
fn tanh_gelu(x: f64) -> f64 {
    let c = (2.0 / std::f64::consts::PI).sqrt();
    0.5 * x * (1.0 + (c * (x + 0.044715 * x * x * x)).tanh())
}

/// `gelu(x + bias)`, the bias (input 1) optional and broadcast along the last axis.
fn gelu_of(ctx: &OpContext, inputs: &[Option<Value>], gelu: fn(f64) -> f64) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    let mut values = x.as_float()?.clone();
    if let Some(bias) = ctx.optional_input(inputs, 1) {
        values = zip2(&values, &bias.to_f64(), |a, b| a + b)?;
    }
    Ok(vec![Value::float(x.dtype, values.mapv(gelu))])
}

/// QuickGelu: `x · sigmoid(alpha · x)`, alpha 1.702 by default.
fn quick_gelu(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    let alpha = ctx.float("alpha", 1.702);
    let y = x.as_float()?.mapv(|v| v / (1.0 + (-alpha * v).exp()));
    Ok(vec![Value::float(x.dtype, y)])
}

/// The last two axes of `v` swapped.
fn transposed(v: &Value) -> Result<Value, OpError> {
    let rank = v.shape().len();
    if rank < 2 {
        return Err(OpError::invalid(format!(
            "FusedMatMul transposes a tensor of rank {rank}"
        )));
    }
    let mut order: Vec<usize> = (0..rank).collect();
    order.swap(rank - 1, rank - 2);
    let swap = |a: &ArrayD<f64>| a.view().permuted_axes(order.clone()).as_standard_layout().into_owned();
    Ok(v.map_array(
        swap,
        |a| a.view().permuted_axes(order.clone()).as_standard_layout().into_owned(),
        |a| a.view().permuted_axes(order.clone()).as_standard_layout().into_owned(),
    ))
}

/// FusedMatMul: `alpha · op(A) × op(B)`, op a transpose of the last two axes when `transA` /
/// `transB`; the batch transposes (`transBatchA/B`) are not implemented.
fn fused_matmul(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    if ctx.int("transBatchA", 0) != 0 || ctx.int("transBatchB", 0) != 0 {
        return Err(OpError::unsupported("FusedMatMul with transBatchA / transBatchB"));
    }
    let mut a = ctx.input(inputs, 0)?.clone();
    let mut b = ctx.input(inputs, 1)?.clone();
    if ctx.int("transA", 0) != 0 {
        a = transposed(&a)?;
    }
    if ctx.int("transB", 0) != 0 {
        b = transposed(&b)?;
    }
    let mut product = super::matmul::matmul(ctx, &[Some(a), Some(b)])?.remove(0);
    let alpha = ctx.float("alpha", 1.0);
    if alpha != 1.0 {
        product = Value::float(product.dtype, product.as_float()?.mapv(|v| v * alpha));
    }
    Ok(vec![product])
}

/// SkipLayerNormalization: `s = input + skip (+ bias)`, then LayerNorm over the last axis with
/// `gamma` (and `beta`); outputs the normalised value, the mean, the inverse standard deviation
/// and `s` (the optional outputs when asked for).
fn skip_layer_norm(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let input = ctx.input(inputs, 0)?;
    let mut sum = zip2(input.as_float()?, &ctx.input(inputs, 1)?.to_f64(), |a, b| a + b)?;
    if let Some(bias) = ctx.optional_input(inputs, 4) {
        sum = zip2(&sum, &bias.to_f64(), |a, b| a + b)?;
    }
    let axis = sum
        .ndim()
        .checked_sub(1)
        .ok_or_else(|| OpError::invalid("SkipLayerNormalization of a scalar"))?;
    let (normalized, stats) = super::normalization::standardize(&sum, axis, ctx.float("epsilon", 1e-12));
    let gamma = ctx.input(inputs, 2)?.to_f64();
    let mut y = zip2(&normalized, &gamma, |n, g| n * g)?;
    if let Some(beta) = ctx.optional_input(inputs, 3) {
        y = zip2(&y, &beta.to_f64(), |v, b| v + b)?;
    }
    let mut stat_shape = sum.shape().to_vec();
    stat_shape[axis] = 1;
    let stat = |v: Vec<f64>| {
        Value::float(
            sysnoise_boundary::DType::F32,
            ArrayD::from_shape_vec(IxDyn(&stat_shape), v).expect("one per row"),
        )
    };
    Ok(vec![
        Value::float(input.dtype, y),
        stat(stats.mean),
        stat(stats.inv_std),
        Value::float(input.dtype, sum),
    ])
}
