//! Reference kernel: Attention (opsets 23, 24), scaled dot-product attention with masks, a causal mask, grouped KV heads and a KV cache.

use ndarray::{Array4, ArrayD, Axis, IxDyn, concatenate};

use super::Registry;
use crate::context::OpContext;
use crate::error::OpError;
use crate::value::{Data, Value};

pub fn register(r: &mut Registry) {
    r.add("Attention", attention);
}

/// A 4-D `[batch, heads, sequence, head size]` view of Q, K or V: 4-D inputs as they are, 3-D
/// `[batch, sequence, heads · head size]` split into `heads` and transposed.
fn as_heads(a: &ArrayD<f64>, heads: Option<usize>, what: &str) -> Result<Array4<f64>, OpError> {
    match a.ndim() {
        4 => Ok(a.clone().into_dimensionality().expect("rank 4")),
        3 => {
            let (b, s, hidden) = (a.shape()[0], a.shape()[1], a.shape()[2]);
            let heads = heads.filter(|&h| h > 0 && hidden % h == 0).ok_or_else(|| {
                OpError::invalid(format!(
                    "Attention: 3-D {what} {:?} needs a head count dividing {hidden}",
                    a.shape()
                ))
            })?;
            let split = a
                .to_shape((b, s, heads, hidden / heads))
                .expect("same length")
                .to_owned();
            Ok(split.permuted_axes([0, 2, 1, 3]).as_standard_layout().into_owned())
        }
        n => Err(OpError::invalid(format!("Attention: {what} of rank {n}"))),
    }
}

/// An attention mask as an additive bias: booleans as 0 (attend) / −inf, floats as they are;
/// a mask shorter than the keys is padded with −inf (or false).
fn mask_bias(mask: &Value, keys: usize) -> ArrayD<f64> {
    let bias = match &mask.data {
        Data::B(b) => b.mapv(|keep| if keep { 0.0 } else { f64::NEG_INFINITY }),
        _ => mask.to_f64(),
    };
    let short = keys.saturating_sub(*bias.shape().last().unwrap_or(&keys));
    if short == 0 {
        return bias;
    }
    let mut pad_shape = bias.shape().to_vec();
    *pad_shape.last_mut().expect("rank >= 1") = short;
    let pad = ArrayD::from_elem(IxDyn(&pad_shape), f64::NEG_INFINITY);
    concatenate(Axis(bias.ndim() - 1), &[bias.view(), pad.view()]).expect("same rank")
}

/// Attention: `softmax(softcap(Q·Kᵀ · scale) + bias) · V` per head, with `scale` (default
/// 1/√head size), the mask as an additive bias broadcast to `[B, heads, q, kv]`, `is_causal`
/// hiding keys after each query's position (offset by the cache), K and V grown by
/// past_key/past_value (returned as present_key/present_value), grouped KV heads repeated
/// (query head h reads KV head h / (q heads / kv heads)), a sliding window (opset 25:
/// `left_window_size` / `right_window_size` keys before / after each query), keys past
/// `nonpad_kv_seqlen` hidden, a row with every key masked giving zeros, and
/// `qk_matmul_output_mode` choosing the fourth output: Q·Kᵀ (0, 1), plus the bias (2), or the
/// softmax (3).
fn attention(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let q_in = ctx.input(inputs, 0)?;
    let heads_attr = |name: &str| usize::try_from(ctx.int(name, 0)).ok().filter(|&h| h > 0);
    let q = as_heads(&q_in.to_f64(), heads_attr("q_num_heads"), "Q")?;
    let k = as_heads(&ctx.input(inputs, 1)?.to_f64(), heads_attr("kv_num_heads"), "K")?;
    let v = as_heads(&ctx.input(inputs, 2)?.to_f64(), heads_attr("kv_num_heads"), "V")?;
    let past = |i: usize| {
        ctx.optional_input(inputs, i)
            .map(|p| as_heads(&p.to_f64(), None, "past"))
    };
    let k = match past(4) {
        Some(p) => {
            concatenate(Axis(2), &[p?.view(), k.view()]).map_err(|e| OpError::invalid(format!("past_key: {e}")))?
        }
        None => k,
    };
    let v = match past(5) {
        Some(p) => {
            concatenate(Axis(2), &[p?.view(), v.view()]).map_err(|e| OpError::invalid(format!("past_value: {e}")))?
        }
        None => v,
    };
    let past_len = ctx.optional_input(inputs, 4).map_or(0, |p| p.shape()[2]);
    let (batch, q_heads, q_len, head) = q.dim();
    let (kb, kv_heads, kv_len, k_head) = k.dim();
    let (vb, v_heads, v_len, v_head) = v.dim();
    if kb != batch
        || vb != batch
        || k_head != head
        || v_heads != kv_heads
        || v_len != kv_len
        || kv_heads == 0
        || q_heads % kv_heads != 0
    {
        return Err(OpError::invalid(format!(
            "Attention: Q {:?}, K {:?}, V {:?}",
            q.shape(),
            k.shape(),
            v.shape()
        )));
    }
    let group = q_heads / kv_heads;
    let scale = match ctx.attr("scale") {
        Some(_) => ctx.float("scale", 1.0),
        None => 1.0 / (head as f64).sqrt(),
    };
    let softcap = ctx.float("softcap", 0.0);
    let causal = ctx.int("is_causal", 0) != 0;
    let mode = ctx.int("qk_matmul_output_mode", 0);
    let full = IxDyn(&[batch, q_heads, q_len, kv_len]);
    let mask = ctx.optional_input(inputs, 3).map(|m| mask_bias(m, kv_len));
    let mask = match &mask {
        Some(m) => Some(m.broadcast(full.clone()).ok_or_else(|| {
            OpError::invalid(format!(
                "Attention: mask {:?} for scores {:?}",
                m.shape(),
                [batch, q_heads, q_len, kv_len]
            ))
        })?),
        None => None,
    };
    let nonpad = ctx.optional_input(inputs, 6).map(Value::to_i64);
    let has_past = ctx.optional_input(inputs, 4).is_some();
    let window = |name: &str| ctx.int(name, -1);
    let (left, right) = (window("left_window_size"), window("right_window_size"));
    let mut y = Array4::<f64>::zeros((batch, q_heads, q_len, v_head));
    let mut qk_out = ArrayD::<f64>::zeros(full.clone());
    let (mut scores, mut bias) = (vec![0.0; kv_len], vec![0.0; kv_len]);
    for b in 0..batch {
        let valid = nonpad
            .as_ref()
            .map(|n| n.iter().nth(b).copied().unwrap_or(kv_len as i64));
        // The absolute position of query 0: what the causal and window masks align to.
        let offset = match valid {
            Some(n) if !has_past => n - q_len as i64,
            _ => past_len as i64,
        };
        for h in 0..q_heads {
            let kvh = h / group;
            for i in 0..q_len {
                for j in 0..kv_len {
                    let dot: f64 = (0..head).map(|d| q[[b, h, i, d]] * k[[b, kvh, j, d]]).sum();
                    let mut s = dot * scale;
                    if softcap > 0.0 {
                        s = (s / softcap).tanh() * softcap;
                    }
                    if mode <= 1 {
                        qk_out[[b, h, i, j]] = s;
                    }
                    let distance = i as i64 + offset - j as i64;
                    let hidden = (causal && distance < 0)
                        || (left >= 0 && distance > left)
                        || (right >= 0 && -distance > right)
                        || valid.is_some_and(|n| j as i64 >= n);
                    bias[j] = if hidden {
                        f64::NEG_INFINITY
                    } else {
                        mask.as_ref().map_or(0.0, |m| m[[b, h, i, j]])
                    };
                    s += bias[j];
                    if mode == 2 {
                        qk_out[[b, h, i, j]] = s;
                    }
                    scores[j] = s;
                }
                // A row every key of which is masked attends to nothing: probabilities 0.
                let all_masked = bias.iter().all(|&v| v == f64::NEG_INFINITY);
                let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let max = if max == f64::NEG_INFINITY { 0.0 } else { max };
                let exps: Vec<f64> = scores.iter().map(|s| (s - max).exp()).collect();
                let total: f64 = exps.iter().sum();
                let total = if total == 0.0 { 1.0 } else { total };
                for (j, e) in exps.iter().enumerate() {
                    let p = if all_masked { 0.0 } else { e / total };
                    if mode == 3 {
                        qk_out[[b, h, i, j]] = p;
                    }
                    for d in 0..v_head {
                        y[[b, h, i, d]] += p * v[[b, kvh, j, d]];
                    }
                }
            }
        }
    }
    let y = if q_in.shape().len() == 3 {
        y.permuted_axes([0, 2, 1, 3])
            .as_standard_layout()
            .into_owned()
            .into_shape_with_order(IxDyn(&[batch, q_len, q_heads * v_head]))
            .expect("same length")
    } else {
        y.into_dyn()
    };
    let dtype = q_in.dtype;
    Ok(vec![
        Value::float(dtype, y),
        Value::float(dtype, k.into_dyn()),
        Value::float(dtype, v.into_dyn()),
        Value::float(dtype, qk_out),
    ])
}
