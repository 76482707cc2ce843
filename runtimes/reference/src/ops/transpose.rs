//! Reference kernels: axis permutation (Transpose).

use ndarray::{ArrayD, IxDyn};

use super::Registry;
use crate::context::OpContext;
use crate::error::OpError;
use crate::value::Value;

pub fn register(r: &mut Registry) {
    r.add("Transpose", transpose);
}

/// `a` with its axes permuted by `perm`, in standard layout.
fn permuted<T: Clone>(a: &ArrayD<T>, perm: &[usize]) -> ArrayD<T> {
    a.view().permuted_axes(IxDyn(perm)).as_standard_layout().into_owned()
}

/// Checks that `perm` is a permutation of `0..rank` (default: the reversed axes).
fn permutation(perm: Option<Vec<i64>>, rank: usize) -> Result<Vec<usize>, OpError> {
    let Some(perm) = perm else {
        return Ok((0..rank).rev().collect());
    };
    let mut seen = vec![false; rank];
    let mut out = Vec::with_capacity(rank);
    for p in perm {
        match usize::try_from(p).ok().filter(|&p| p < rank && !seen[p]) {
            Some(p) => {
                seen[p] = true;
                out.push(p);
            }
            None => {
                return Err(OpError::invalid(format!(
                    "Transpose: bad perm entry {p} for rank {rank}"
                )));
            }
        }
    }
    if out.len() != rank {
        return Err(OpError::invalid(format!(
            "Transpose: perm of length {} for rank {rank}",
            out.len()
        )));
    }
    Ok(out)
}

fn transpose(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    let perm = permutation(ctx.ints("perm"), x.shape().len())?;
    Ok(vec![x.map_array(
        |a| permuted(a, &perm),
        |a| permuted(a, &perm),
        |a| permuted(a, &perm),
    )])
}
