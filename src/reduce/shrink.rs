//! Shrinking a reduced model further: input shapes (prefix slices), attributes (back to their
//! defaults) and input values (small integers, then as few non-zero elements as possible).
//! Every step is kept only when the oracle still sees the target divergence.

use sysnoise_boundary::{Model, NamedTensors, Tensor, tensor_value_info};

use super::subgraph::ddmin;
use super::{Oracle, Target};
use crate::error::EngineError;

type Candidate = (Model, NamedTensors);

/// The model with its graph inputs declared at the shapes of `inputs`.
fn with_input_shapes(model: &Model, inputs: &NamedTensors) -> Model {
    let mut updated = model.clone();
    for declared in &mut updated.graph_mut().input {
        if let Some((_, value)) = inputs.iter().find(|(n, _)| *n == declared.name) {
            *declared = tensor_value_info(&declared.name, value.dtype(), value.shape());
        }
    }
    updated
}

/// Cuts each input's axes down (to 1, else to half), together with every input of the same
/// shape (operands that must agree), while the divergence persists.
pub fn shapes(
    oracle: &mut Oracle,
    target: &Target,
    (model, mut inputs): Candidate,
    steps: &mut Vec<String>,
) -> Result<Candidate, EngineError> {
    for k in 0..inputs.len() {
        for axis in 0..inputs[k].1.shape().len() {
            loop {
                let shape = inputs[k].1.shape().to_vec();
                let size = shape[axis];
                let mut sizes = vec![1, size / 2];
                sizes.dedup();
                let mut accepted = false;
                for new_size in sizes.into_iter().filter(|&s| s >= 1 && s < size) {
                    let candidate: NamedTensors = inputs
                        .iter()
                        .map(|(n, t)| {
                            let cut = if t.shape() == shape.as_slice() {
                                t.prefix_along(axis, new_size)
                            } else {
                                t.clone()
                            };
                            (n.clone(), cut)
                        })
                        .collect();
                    if oracle.keeps(target, &with_input_shapes(&model, &candidate), &candidate)? {
                        steps.push(format!("input {}: axis {axis} {size} -> {new_size}", inputs[k].0));
                        inputs = candidate;
                        accepted = true;
                        break;
                    }
                }
                if !accepted {
                    break;
                }
            }
        }
    }
    Ok((with_input_shapes(&model, &inputs), inputs))
}

/// Lowers ranks while the divergence persists: drops a leading size-1 axis from every input of
/// the highest rank that has one, and the matching leading `1` of 1-D constants as long as
/// that rank (Resize scales, Expand/Reshape shapes); attributes are not rewritten, so ops
/// whose attributes name axes usually refuse the candidate (the oracle decides).
pub fn ranks(
    oracle: &mut Oracle,
    target: &Target,
    (mut model, mut inputs): Candidate,
    steps: &mut Vec<String>,
) -> Result<Candidate, EngineError> {
    while let Some(rank) = inputs
        .iter()
        .filter(|(_, t)| t.shape().len() >= 2 && t.shape()[0] == 1)
        .map(|(_, t)| t.shape().len())
        .max()
    {
        let lowered: NamedTensors = inputs
            .iter()
            .map(|(n, t)| {
                let lower = t.shape().len() == rank && t.shape()[0] == 1;
                (
                    n.clone(),
                    if lower {
                        t.without_leading_unit_axis()
                    } else {
                        t.clone()
                    },
                )
            })
            .collect();
        let mut candidate = with_input_shapes(&model, &lowered);
        for init in &mut candidate.graph_mut().initializer {
            let Ok(t) = Tensor::from_proto(init) else { continue };
            if t.shape() == [rank] && t.to_f64_vec().first() == Some(&1.0) {
                *init = t.slice_along(0, 1, rank).to_proto(&init.name);
            }
        }
        if !oracle.keeps(target, &candidate, &lowered)? {
            break;
        }
        steps.push(format!("rank {rank} -> {}", rank - 1));
        model = candidate;
        inputs = lowered;
    }
    Ok((model, inputs))
}

/// Drops each attribute (its default applies) while the divergence persists.
pub fn attributes(
    oracle: &mut Oracle,
    target: &Target,
    (mut model, inputs): Candidate,
    steps: &mut Vec<String>,
) -> Result<Candidate, EngineError> {
    for node_index in 0..model.graph().node.len() {
        let mut a = 0;
        while a < model.graph().node[node_index].attribute.len() {
            let mut candidate = model.clone();
            let removed = candidate.graph_mut().node[node_index].attribute.remove(a);
            if oracle.keeps(target, &candidate, &inputs)? {
                steps.push(format!(
                    "{}: attribute {} back to its default",
                    model.graph().node[node_index].op_type,
                    removed.name
                ));
                model = candidate;
            } else {
                a += 1;
            }
        }
    }
    Ok((model, inputs))
}

/// Largest tensor whose elements are minimised one by one (ddmin over the non-zero ones).
const MAX_ELEMENTS_TO_ZERO: usize = 4096;

/// Simplifies each numeric input: rounded to integers (floats), then as many elements zeroed
/// as the divergence allows (ideally leaving the one element that diverges).
pub fn values(
    oracle: &mut Oracle,
    target: &Target,
    (model, mut inputs): Candidate,
    steps: &mut Vec<String>,
) -> Result<Candidate, EngineError> {
    for k in 0..inputs.len() {
        let (name, tensor) = inputs[k].clone();
        if !simplifiable(&tensor) {
            continue;
        }
        if tensor.dtype().is_float() {
            let rounded = Tensor::from_f64(tensor.dtype(), &tensor.to_f64_array().mapv(f64::round));
            if rounded != tensor && oracle.keeps(target, &model, &replaced(&inputs, k, rounded.clone()))? {
                steps.push(format!("input {name}: values rounded to integers"));
                inputs[k].1 = rounded;
            }
        }
        let current = inputs[k].1.clone();
        if current.len() > MAX_ELEMENTS_TO_ZERO {
            continue;
        }
        let original = current.to_f64_vec();
        let nonzero: Vec<usize> = (0..original.len()).filter(|&i| original[i] != 0.0).collect();
        let only = |keep: &[usize]| -> Tensor {
            let mut values = vec![0.0; original.len()];
            for &i in keep {
                values[i] = original[i];
            }
            let array = ndarray::ArrayD::from_shape_vec(current.shape(), values).expect("same length");
            Tensor::from_f64(current.dtype(), &array)
        };
        if nonzero.is_empty() {
            continue;
        }
        let mut test = |keep: &[usize]| oracle.keeps(target, &model, &replaced(&inputs, k, only(keep)));
        let kept = if test(&[])? {
            Vec::new()
        } else {
            ddmin(nonzero.clone(), &mut test)?
        };
        if kept.len() < nonzero.len() {
            steps.push(format!(
                "input {name}: {} of {} non-zero elements kept",
                kept.len(),
                nonzero.len()
            ));
            inputs[k].1 = only(&kept);
        }
    }
    Ok((model, inputs))
}

/// Numeric tensors whose values survive a trip through f64 (not huge 64-bit integers).
fn simplifiable(tensor: &Tensor) -> bool {
    use sysnoise_boundary::DType;
    match tensor.dtype() {
        DType::String | DType::Bool => false,
        DType::I64 | DType::U64 => tensor.to_f64_vec().iter().all(|v| v.abs() < 9.007_199_254_740_992e15),
        d => d.float8().is_none(),
    }
}

fn replaced(inputs: &NamedTensors, k: usize, value: Tensor) -> NamedTensors {
    let mut out = inputs.clone();
    out[k].1 = value;
    out
}
