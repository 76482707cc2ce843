//! Reference kernels: distinct elements or slices (Unique).

use std::cmp::Ordering;

use ndarray::{ArrayD, Axis, IxDyn};
use sysnoise_boundary::DType;

use super::Registry;
use crate::context::OpContext;
use crate::error::OpError;
use crate::value::Value;

pub fn register(r: &mut Registry) {
    r.add("Unique", unique);
}

fn lexicographic(a: &[f64], b: &[f64]) -> Ordering {
    a.iter()
        .zip(b)
        .map(|(x, y)| x.total_cmp(y))
        .find(|o| o.is_ne())
        .unwrap_or(Ordering::Equal)
}

/// Unique: the distinct elements (or, with `axis`, the distinct slices along it), sorted
/// ascending (`sorted = 1`, lexicographically for slices) or in order of first occurrence;
/// with the index of each one's first occurrence, the inverse indices and the counts.
fn unique(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    let values = x.to_f64();
    let axis = match ctx.attr("axis") {
        Some(_) => Some(ctx.axis(ctx.int("axis", 0), values.ndim())?),
        None => None,
    };
    let slices: Vec<Vec<f64>> = match axis {
        Some(axis) => values
            .axis_iter(Axis(axis))
            .map(|s| s.iter().copied().collect())
            .collect(),
        None => values.iter().map(|v| vec![*v]).collect(),
    };
    // Distinct slices in order of first occurrence.
    let mut firsts: Vec<usize> = Vec::new();
    let mut inverse_first: Vec<usize> = Vec::with_capacity(slices.len());
    for (i, slice) in slices.iter().enumerate() {
        match firsts.iter().position(|&f| lexicographic(&slices[f], slice).is_eq()) {
            Some(k) => inverse_first.push(k),
            None => {
                inverse_first.push(firsts.len());
                firsts.push(i);
            }
        }
    }
    let mut order: Vec<usize> = (0..firsts.len()).collect();
    if ctx.int("sorted", 1) != 0 {
        order.sort_by(|&a, &b| lexicographic(&slices[firsts[a]], &slices[firsts[b]]));
    }
    let mut rank_of = vec![0usize; firsts.len()];
    for (position, &k) in order.iter().enumerate() {
        rank_of[k] = position;
    }
    let picked: Vec<usize> = order.iter().map(|&k| firsts[k]).collect();
    let mut counts = vec![0i64; order.len()];
    let inverse: Vec<i64> = inverse_first
        .iter()
        .map(|&k| {
            counts[rank_of[k]] += 1;
            rank_of[k] as i64
        })
        .collect();
    let y = match axis {
        Some(axis) => x.map_array(
            |a| a.select(Axis(axis), &picked),
            |a| a.select(Axis(axis), &picked),
            |a| a.select(Axis(axis), &picked),
        ),
        None => {
            let flat: Vec<f64> = picked.iter().map(|&i| slices[i][0]).collect();
            Value::from_f64(
                x.dtype,
                ArrayD::from_shape_vec(IxDyn(&[flat.len()]), flat).expect("1-D"),
            )
        }
    };
    let list = |v: Vec<i64>| Value::int(DType::I64, ArrayD::from_shape_vec(IxDyn(&[v.len()]), v).expect("1-D"));
    Ok(vec![
        y,
        list(picked.iter().map(|&i| i as i64).collect()),
        list(inverse),
        list(counts),
    ])
}
