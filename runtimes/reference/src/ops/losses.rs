//! Reference kernels: the classification losses (NegativeLogLikelihoodLoss, SoftmaxCrossEntropyLoss), forward only.

use ndarray::{ArrayD, Axis, IxDyn};

use super::Registry;
use crate::context::OpContext;
use crate::error::OpError;
use crate::value::Value;

pub fn register(r: &mut Registry) {
    r.add("NegativeLogLikelihoodLoss", nll_loss);
    r.add("SoftmaxCrossEntropyLoss", softmax_cross_entropy_loss);
}

/// How the per-element losses combine.
#[derive(Clone, Copy, PartialEq)]
enum Reduction {
    None,
    Sum,
    Mean,
}

/// The loss of log-probabilities `log_p` `[N, C, d...]` at classes `target` `[N, d...]`:
/// `−log_p[n, target, d] · weight[target]`, 0 where the target is `ignore_index`. `Mean`
/// divides by the summed weights of the targets counted — except that, as the specification's
/// reference has it, NegativeLogLikelihoodLoss without weights and with `ignore_index = −1`
/// divides by every element (`mean_over_all`).
fn nll(
    log_p: &ArrayD<f64>,
    target: &ArrayD<i64>,
    weight: Option<&ArrayD<f64>>,
    ignore: Option<i64>,
    reduction: Reduction,
    mean_over_all: bool,
) -> Result<ArrayD<f64>, OpError> {
    let shape = log_p.shape();
    if shape.len() < 2
        || target.shape().len() != shape.len() - 1
        || target.shape()[0] != shape[0]
        || target.shape()[1..] != shape[2..]
    {
        return Err(OpError::invalid(format!(
            "loss of input {shape:?} at targets {:?}",
            target.shape()
        )));
    }
    let classes = shape[1];
    let moved = log_p
        .view()
        .permuted_axes([0].into_iter().chain(2..shape.len()).chain([1]).collect::<Vec<_>>());
    let mut losses = ArrayD::<f64>::zeros(IxDyn(target.shape()));
    let mut weights = ArrayD::<f64>::zeros(IxDyn(target.shape()));
    for ((index, &t), row) in target.indexed_iter().zip(moved.lanes(Axis(moved.ndim() - 1))) {
        if ignore == Some(t) {
            continue;
        }
        let class = usize::try_from(t)
            .ok()
            .filter(|&c| c < classes)
            .ok_or_else(|| OpError::invalid(format!("target class {t} outside 0..{classes}")))?;
        let w = weight.map_or(1.0, |w| w.iter().nth(class).copied().unwrap_or(0.0));
        losses[&index] = -row[class] * w;
        weights[&index] = w;
    }
    Ok(match reduction {
        Reduction::None => losses,
        Reduction::Sum => ArrayD::from_elem(IxDyn(&[]), losses.sum()),
        Reduction::Mean => {
            let denominator = if mean_over_all {
                losses.len() as f64
            } else {
                weights.sum()
            };
            ArrayD::from_elem(IxDyn(&[]), losses.sum() / denominator)
        }
    })
}

fn reduction(ctx: &OpContext) -> Result<Reduction, OpError> {
    match ctx.string("reduction", "mean").as_str() {
        "none" => Ok(Reduction::None),
        "sum" => Ok(Reduction::Sum),
        "mean" => Ok(Reduction::Mean),
        other => Err(OpError::invalid(format!(
            "unknown reduction '{other}' (none, sum, mean)"
        ))),
    }
}

/// The `ignore_index` attribute, when present.
fn ignore_index(ctx: &OpContext) -> Option<i64> {
    ctx.attr("ignore_index").map(|_| ctx.int("ignore_index", 0))
}

/// NegativeLogLikelihoodLoss: the input holds log-probabilities already.
fn nll_loss(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    let target = ctx.input(inputs, 1)?.to_i64();
    let weight = ctx.optional_input(inputs, 2).map(Value::to_f64);
    let ignore = ignore_index(ctx);
    let mean_over_all = weight.is_none() && ignore == Some(-1);
    let loss = nll(
        &x.to_f64(),
        &target,
        weight.as_ref(),
        ignore,
        reduction(ctx)?,
        mean_over_all,
    )?;
    Ok(vec![Value::float(x.dtype, loss)])
}

/// SoftmaxCrossEntropyLoss: log-softmax over axis 1, then the NLL; the optional second output
/// is the log-probabilities.
fn softmax_cross_entropy_loss(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    let xa = x.to_f64();
    if xa.ndim() < 2 {
        return Err(OpError::invalid(format!(
            "SoftmaxCrossEntropyLoss of shape {:?}",
            xa.shape()
        )));
    }
    let mut log_p = xa.clone();
    for mut lane in log_p.lanes_mut(Axis(1)) {
        let max = lane.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let log_sum = lane.iter().map(|v| (v - max).exp()).sum::<f64>().ln();
        lane.mapv_inplace(|v| v - max - log_sum);
    }
    let target = ctx.input(inputs, 1)?.to_i64();
    let weight = ctx.optional_input(inputs, 2).map(Value::to_f64);
    let loss = nll(
        &log_p,
        &target,
        weight.as_ref(),
        ignore_index(ctx),
        reduction(ctx)?,
        false,
    )?;
    Ok(vec![Value::float(x.dtype, loss), Value::float(x.dtype, log_p)])
}
