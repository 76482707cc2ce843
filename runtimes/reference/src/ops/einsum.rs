//! Reference kernels: Einstein summation (Einsum), explicit and implicit outputs, ellipses,
//! diagonals and broadcasting.

use std::collections::BTreeMap;

use ndarray::{ArrayD, Dimension, IxDyn};

use super::Registry;
use crate::context::OpContext;
use crate::error::OpError;
use crate::value::Value;

pub fn register(r: &mut Registry) {
    r.add("Einsum", einsum);
}

/// The labels of one operand (or the output), the ellipsis expanded into labels `0`, `1`, ...
/// (`'0'` is the leftmost broadcast dimension of the widest ellipsis).
fn parse_term(term: &str, rank: Option<usize>, ellipsis_rank: usize) -> Result<Vec<char>, OpError> {
    let term = term.trim();
    let letters = term.replace("...", "").chars().filter(|c| !c.is_whitespace()).count();
    let Some(at) = term.find("...") else {
        if term.chars().any(|c| !c.is_ascii_alphabetic() && !c.is_whitespace()) {
            return Err(OpError::invalid(format!("Einsum term '{term}'")));
        }
        return Ok(term.chars().filter(|c| !c.is_whitespace()).collect());
    };
    let own = match rank {
        Some(rank) => rank
            .checked_sub(letters)
            .ok_or_else(|| OpError::invalid(format!("Einsum term '{term}' has more labels than the rank {rank}")))?,
        None => ellipsis_rank,
    };
    let mut labels: Vec<char> = term[..at].chars().filter(|c| !c.is_whitespace()).collect();
    // This operand's ellipsis covers the rightmost `own` of the broadcast dimensions.
    labels.extend((ellipsis_rank - own..ellipsis_rank).map(|k| char::from_u32(0x2460 + k as u32).expect("valid")));
    labels.extend(term[at + 3..].chars().filter(|c| !c.is_whitespace()));
    if labels.iter().any(|c| c.is_ascii() && !c.is_ascii_alphabetic()) {
        return Err(OpError::invalid(format!("Einsum term '{term}'")));
    }
    Ok(labels)
}

/// Einsum: every output element is the sum, over the labels that are not in the output, of the
/// product of the operands at those labels. Computed in f64, element by element (diagonals and
/// broadcast size-1 dimensions fall out of the indexing).
fn einsum(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let equation = ctx.string("equation", "");
    let operands: Vec<&Value> = (0..inputs.len())
        .map(|i| ctx.input(inputs, i))
        .collect::<Result<_, _>>()?;
    let (lhs, rhs) = match equation.split_once("->") {
        Some((l, r)) => (l.to_string(), Some(r.to_string())),
        None => (equation.clone(), None),
    };
    let terms: Vec<&str> = lhs.split(',').collect();
    if terms.len() != operands.len() {
        return Err(OpError::invalid(format!(
            "Einsum '{equation}' names {} operands, {} given",
            terms.len(),
            operands.len()
        )));
    }
    // The widest ellipsis over the operands.
    let ellipsis_rank = terms
        .iter()
        .zip(&operands)
        .filter(|(t, _)| t.contains("..."))
        .map(|(t, v)| v.shape().len().saturating_sub(t.replace("...", "").trim().len()))
        .max()
        .unwrap_or(0);
    let labels: Vec<Vec<char>> = terms
        .iter()
        .zip(&operands)
        .map(|(t, v)| parse_term(t, Some(v.shape().len()), ellipsis_rank))
        .collect::<Result<_, _>>()?;
    let mut sizes: BTreeMap<char, usize> = BTreeMap::new();
    for (term, value) in labels.iter().zip(&operands) {
        if term.len() != value.shape().len() {
            return Err(OpError::invalid(format!(
                "Einsum '{equation}': a term of {} labels for an operand of rank {}",
                term.len(),
                value.shape().len()
            )));
        }
        for (label, &size) in term.iter().zip(value.shape()) {
            let known = sizes.entry(*label).or_insert(size);
            if *known != size && size != 1 {
                if *known == 1 {
                    *known = size;
                } else {
                    return Err(OpError::invalid(format!(
                        "Einsum '{equation}': label '{label}' is {known} and {size}"
                    )));
                }
            }
        }
    }
    let output: Vec<char> = match &rhs {
        Some(r) => parse_term(r, None, ellipsis_rank)?,
        None => {
            // Implicit: the ellipsis, then the labels used once, alphabetically.
            let mut once: Vec<char> = sizes
                .keys()
                .copied()
                .filter(|c| c.is_ascii_alphabetic() && labels.iter().flatten().filter(|l| *l == c).count() == 1)
                .collect();
            once.sort_unstable();
            let mut out: Vec<char> = sizes.keys().copied().filter(|c| !c.is_ascii()).collect();
            out.extend(once);
            out
        }
    };
    if let Some(missing) = output.iter().find(|c| !sizes.contains_key(c)) {
        return Err(OpError::invalid(format!(
            "Einsum '{equation}': output label '{missing}' is in no operand"
        )));
    }
    let summed: Vec<char> = sizes.keys().copied().filter(|c| !output.contains(c)).collect();
    let values: Vec<ArrayD<f64>> = operands.iter().map(|v| v.to_f64()).collect();
    let out_shape: Vec<usize> = output.iter().map(|c| sizes[c]).collect();
    let summed_sizes: Vec<usize> = summed.iter().map(|c| sizes[c]).collect();
    let summed_count: usize = summed_sizes.iter().product();
    let mut at: BTreeMap<char, usize> = BTreeMap::new();
    let y = ArrayD::from_shape_fn(IxDyn(&out_shape), |index| {
        for (label, &i) in output.iter().zip(index.slice()) {
            at.insert(*label, i);
        }
        let mut total = 0.0;
        for flat in 0..summed_count {
            let mut rest = flat;
            for (label, &size) in summed.iter().zip(&summed_sizes).rev() {
                at.insert(*label, rest % size);
                rest /= size;
            }
            let mut product = 1.0;
            for (term, value) in labels.iter().zip(&values) {
                let position: Vec<usize> = term
                    .iter()
                    .zip(value.shape())
                    .map(|(label, &size)| if size == 1 { 0 } else { at[label] })
                    .collect();
                product *= value[IxDyn(&position)];
            }
            total += product;
        }
        total
    });
    let dtype = operands
        .first()
        .map(|v| v.dtype)
        .unwrap_or(sysnoise_boundary::DType::F32);
    Ok(vec![if dtype.is_float() {
        Value::float(dtype, y)
    } else {
        Value::from_f64(dtype, y)
    }])
}
