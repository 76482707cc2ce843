//! Graph reduction: the subgraph a set of nodes induces (cut edges fed recorded values), and
//! delta debugging (ddmin) over node sets for divergences no single node shows.

use std::collections::{HashMap, HashSet};

use sysnoise_boundary::onnx::{TypeProto, ValueInfoProto, type_proto};
use sysnoise_boundary::{Model, NamedTensors, Tensor, tensor_value_info};

use super::{Oracle, Target};
use crate::error::EngineError;

/// The model made of the nodes at `keep` (original order): constants they read stay
/// constants; every other value they read but do not make becomes a graph input fed its
/// recorded value; values they make that no kept node reads (or that were graph outputs)
/// become outputs. `None` when a needed value was not recorded.
pub fn induced(model: &Model, keep: &[usize], values: &HashMap<String, Tensor>) -> Option<(Model, NamedTensors)> {
    let source = model.graph();
    let nodes: Vec<_> = keep.iter().map(|&i| source.node[i].clone()).collect();
    let produced: HashSet<&str> = nodes.iter().flat_map(|n| n.output.iter().map(String::as_str)).collect();
    let consumed: HashSet<&str> = nodes.iter().flat_map(|n| n.input.iter().map(String::as_str)).collect();
    let initialisers: HashMap<&str, _> = source.initializer.iter().map(|t| (t.name.as_str(), t)).collect();
    let graph_outputs: HashSet<&str> = source.output.iter().map(|o| o.name.as_str()).collect();
    let mut induced = model.clone();
    let graph = induced.graph_mut();
    graph.node = nodes.clone();
    graph.input.clear();
    graph.initializer.clear();
    graph.value_info.clear();
    graph.output.clear();
    let mut feeds = Vec::new();
    let mut seen = HashSet::new();
    for name in nodes.iter().flat_map(|n| &n.input) {
        if name.is_empty() || produced.contains(name.as_str()) || !seen.insert(name.clone()) {
            continue;
        }
        if let Some(init) = initialisers.get(name.as_str()) {
            graph.initializer.push((*init).clone());
        } else {
            let value = values.get(name)?;
            graph.input.push(tensor_value_info(name, value.dtype(), value.shape()));
            feeds.push((name.clone(), value.clone()));
        }
    }
    for name in nodes.iter().flat_map(|n| &n.output) {
        if !name.is_empty() && (!consumed.contains(name.as_str()) || graph_outputs.contains(name.as_str())) {
            graph.output.push(untyped_shape_output(name, values.get(name)?));
        }
    }
    Some((induced, feeds))
}

/// An output declared with its dtype only, so shrinking inputs needs no shape bookkeeping.
fn untyped_shape_output(name: &str, value: &Tensor) -> ValueInfoProto {
    ValueInfoProto {
        name: name.to_string(),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: value.dtype().onnx_code(),
                shape: None,
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The same model with every output's shape left undeclared (dtypes kept).
pub fn loosen_output_shapes(model: &Model) -> Model {
    let mut loose = model.clone();
    for output in &mut loose.graph_mut().output {
        if let Some(type_proto::Value::TensorType(t)) = output.r#type.as_mut().and_then(|t| t.value.as_mut()) {
            t.shape = None;
        }
    }
    loose
}

/// ddmin over the model's nodes: the smallest node set (1-minimal) whose induced subgraph
/// still shows `target`.
pub fn minimise_nodes(
    oracle: &mut Oracle,
    target: &Target,
    model: &Model,
    values: &HashMap<String, Tensor>,
    steps: &mut Vec<String>,
) -> Result<(Model, NamedTensors), EngineError> {
    let all: Vec<usize> = (0..model.graph().node.len()).collect();
    let mut test = |keep: &[usize]| -> Result<bool, EngineError> {
        match induced(model, keep, values) {
            Some((candidate, feeds)) => oracle.keeps(target, &candidate, &feeds),
            None => Ok(false),
        }
    };
    let kept = ddmin(all.clone(), &mut test)?;
    if kept.len() < all.len() {
        steps.push(format!("kept {} of {} nodes (delta debugging)", kept.len(), all.len()));
    }
    Ok(induced(model, &kept, values).expect("the kept set was tested"))
}

/// Zeller's ddmin: a 1-minimal subset of `items` that passes `test` (which `items` passes).
pub fn ddmin<T: Clone>(
    items: Vec<T>,
    test: &mut impl FnMut(&[T]) -> Result<bool, EngineError>,
) -> Result<Vec<T>, EngineError> {
    let mut current = items;
    let mut granularity = 2;
    while current.len() >= 2 {
        let chunk = current.len().div_ceil(granularity);
        let chunks: Vec<Vec<T>> = current.chunks(chunk).map(<[T]>::to_vec).collect();
        let mut progressed = false;
        for c in &chunks {
            if test(c)? {
                current = c.clone();
                granularity = 2;
                progressed = true;
                break;
            }
        }
        if !progressed && chunks.len() > 2 {
            for i in 0..chunks.len() {
                let complement: Vec<T> = chunks
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| *j != i)
                    .flat_map(|(_, c)| c.iter().cloned())
                    .collect();
                if test(&complement)? {
                    current = complement;
                    granularity = (granularity - 1).max(2);
                    progressed = true;
                    break;
                }
            }
        }
        if !progressed {
            if granularity >= current.len() {
                break;
            }
            granularity = (granularity * 2).min(current.len());
        }
    }
    Ok(current)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ddmin_finds_the_two_items_that_matter() {
        let items: Vec<u32> = (0..37).collect();
        let mut calls = 0;
        let kept = ddmin(items, &mut |s: &[u32]| {
            calls += 1;
            Ok(s.contains(&5) && s.contains(&30))
        })
        .unwrap();
        assert_eq!(kept, vec![5, 30]);
        assert!(calls < 100, "{calls} tests");
    }

    #[test]
    fn ddmin_keeps_a_single_culprit() {
        let kept = ddmin((0..50).collect::<Vec<u32>>(), &mut |s: &[u32]| Ok(s.contains(&17))).unwrap();
        assert_eq!(kept, vec![17]);
    }
}
