//! Reference kernel: RotaryEmbedding (opset 23), rotary position embeddings of attention heads.

use ndarray::{ArrayD, IxDyn};

use super::Registry;
use crate::context::OpContext;
use crate::error::OpError;
use crate::value::Value;

pub fn register(r: &mut Registry) {
    r.add("RotaryEmbedding", rotary_embedding);
}

/// RotaryEmbedding: X is `[B, heads, S, D]`, or `[B, S, heads·D]` with the `num_heads`
/// attribute. The first `rotary_embedding_dim` (default D) features of each head are rotated in
/// pairs — halves `(x[j], x[j + R/2])`, or neighbours `(x[2j], x[2j+1])` when `interleaved` —
/// by the angle whose cosine and sine are `cos_cache[p, j]`, `sin_cache[p, j]` at position `p`
/// (`position_ids[b, s]`; without them the caches are `[B, S, ·]`): `(c·x1 − s·x2, s·x1 + c·x2)`.
/// The other features pass through.
fn rotary_embedding(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    let xa = x.as_float()?.as_standard_layout().into_owned();
    let cos = ctx.input(inputs, 1)?.to_f64();
    let sin = ctx.input(inputs, 2)?.to_f64();
    let positions = ctx.optional_input(inputs, 3).map(Value::to_i64);
    let shape = xa.shape().to_vec();
    let (batch, seq, heads, head) = match shape.len() {
        4 => (shape[0], shape[2], shape[1], shape[3]),
        3 => {
            let heads = usize::try_from(ctx.int("num_heads", 0)).unwrap_or(0);
            if heads == 0 || shape[2] % heads != 0 {
                return Err(OpError::invalid(format!(
                    "RotaryEmbedding: 3-D input {shape:?} needs num_heads dividing its last dim"
                )));
            }
            (shape[0], shape[1], heads, shape[2] / heads)
        }
        _ => {
            return Err(OpError::invalid(format!(
                "RotaryEmbedding: input of rank {}",
                shape.len()
            )));
        }
    };
    let rotary = match ctx.int("rotary_embedding_dim", 0) {
        0 => head,
        r => usize::try_from(r).unwrap_or(usize::MAX),
    };
    if rotary > head || rotary % 2 != 0 {
        return Err(OpError::invalid(format!(
            "RotaryEmbedding: rotary_embedding_dim {rotary} for heads of {head}"
        )));
    }
    let half = rotary / 2;
    let interleaved = ctx.int("interleaved", 0) != 0;
    // The cache row of (b, s): a position id, or (b, s) itself.
    let cache_index = |b: usize, s: usize, j: usize| -> Result<IxDyn, OpError> {
        Ok(match &positions {
            Some(p) => {
                let pos = p[[b, s].as_slice()];
                let rows = cos.shape()[0] as i64;
                if !(0..rows).contains(&pos) {
                    return Err(OpError::invalid(format!(
                        "RotaryEmbedding: position id {pos} outside a cache of {rows}"
                    )));
                }
                IxDyn(&[pos as usize, j])
            }
            None => IxDyn(&[b, s, j]),
        })
    };
    let expected_cache = match &positions {
        Some(_) => cos.ndim() == 2 && cos.shape()[1] >= half,
        None => cos.ndim() == 3 && cos.shape()[..2] == [batch, seq] && cos.shape()[2] >= half,
    };
    if !expected_cache || cos.shape() != sin.shape() {
        return Err(OpError::invalid(format!(
            "RotaryEmbedding: caches {:?} / {:?} for input {shape:?}",
            cos.shape(),
            sin.shape()
        )));
    }
    // The flat offset of feature d of head h at (b, s) in X's layout.
    let offset = |b: usize, s: usize, h: usize, d: usize| match shape.len() {
        4 => ((b * heads + h) * seq + s) * head + d,
        _ => (b * seq + s) * heads * head + h * head + d,
    };
    let src = xa.as_slice().expect("standard layout");
    let mut out = src.to_vec();
    for b in 0..batch {
        for s in 0..seq {
            for j in 0..half {
                let index = cache_index(b, s, j)?;
                let (c, sn) = (cos[&index], sin[&index]);
                for h in 0..heads {
                    let (i1, i2) = if interleaved {
                        (offset(b, s, h, 2 * j), offset(b, s, h, 2 * j + 1))
                    } else {
                        (offset(b, s, h, j), offset(b, s, h, j + half))
                    };
                    let (x1, x2) = (src[i1], src[i2]);
                    out[i1] = c * x1 - sn * x2;
                    out[i2] = sn * x1 + c * x2;
                }
            }
        }
    }
    let y = ArrayD::from_shape_vec(IxDyn(&shape), out).expect("same shape");
    Ok(vec![Value::float(x.dtype, y)])
}
