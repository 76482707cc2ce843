//! Per-node attribution: re-run each node alone, fed the baseline's values for its inputs, and
//! name the first node whose output diverges (so error is measured per op, not accumulated).

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;
use sysnoise_boundary::onnx::{AttributeProto, NodeProto, attribute_type};
use sysnoise_boundary::{Model, NamedTensors, Runtime, RuntimeError, Tensor, tensor_value_info};

use crate::compare::run_one;
use crate::error::EngineError;
use crate::metrics::{Metrics, compare as measure};
use crate::tolerance::{Tolerance, ToleranceModel};

/// The first node that diverges on its own.
#[derive(Clone, Debug, Serialize)]
pub struct Culprit {
    pub node: String,
    pub op_type: String,
    /// Index of the node in the graph's (topological) node list.
    pub index: usize,
    pub attributes: BTreeMap<String, String>,
    /// Runtimes whose output of this node diverges (or that fail on it).
    pub runtimes: Vec<String>,
    pub inputs: Vec<TensorSummary>,
    pub outputs: Vec<NodeOutput>,
}

#[derive(Clone, Debug, Serialize)]
pub struct TensorSummary {
    pub name: String,
    pub dtype: String,
    pub shape: Vec<usize>,
    /// True when the value is a constant of the model (initialiser).
    pub constant: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct NodeOutput {
    pub name: String,
    pub tolerance: Tolerance,
    pub metrics: BTreeMap<String, Metrics>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub errors: BTreeMap<String, String>,
}

/// Every value the baseline computes: graph inputs and every node output.
pub fn baseline_values(
    baseline: &dyn Runtime,
    model: &Model,
    inputs: &NamedTensors,
) -> Result<HashMap<String, Tensor>, EngineError> {
    let outputs = baseline
        .prepare_with_intermediates(model)
        .and_then(|mut s| s.run(inputs))
        .map_err(EngineError::Runtime)?;
    Ok(inputs.iter().cloned().chain(outputs).collect())
}

/// A node's display name: its name, or `OpType#index` when it has none.
pub fn node_name(node: &NodeProto, index: usize) -> String {
    if node.name.is_empty() {
        format!("{}#{index}", node.op_type)
    } else {
        node.name.clone()
    }
}

/// The model made of `node` alone: constants it reads stay constants, every other input
/// becomes a graph input, its outputs become graph outputs typed like the baseline's values.
/// `None` when the node cannot stand alone (a subgraph attribute may read outer-scope values,
/// or a value it needs was not computed).
pub fn single_node_model(model: &Model, node: &NodeProto, values: &HashMap<String, Tensor>) -> Option<Model> {
    if sysnoise_boundary::model::subgraphs(node).next().is_some() {
        return None;
    }
    let mut single = model.clone();
    let source = model.graph();
    let graph = single.graph_mut();
    let initialisers: HashMap<&str, _> = source.initializer.iter().map(|t| (t.name.as_str(), t)).collect();
    let mut seen = HashSet::new();
    graph.node = vec![node.clone()];
    graph.input.clear();
    graph.initializer.clear();
    graph.value_info.clear();
    for name in node.input.iter().filter(|n| !n.is_empty()) {
        if !seen.insert(name.as_str()) {
            continue;
        }
        if let Some(init) = initialisers.get(name.as_str()) {
            graph.initializer.push((*init).clone());
        } else {
            let value = values.get(name)?;
            graph.input.push(tensor_value_info(name, value.dtype(), value.shape()));
        }
    }
    graph.output = node
        .output
        .iter()
        .filter(|n| !n.is_empty())
        .map(|n| values.get(n).map(|v| tensor_value_info(n, v.dtype(), v.shape())))
        .collect::<Option<Vec<_>>>()?;
    Some(single)
}

/// `node` alone (see [`single_node_model`]) with its feeds: the recorded values of the inputs
/// that are not constants.
pub fn single_node_case(
    model: &Model,
    node: &NodeProto,
    values: &HashMap<String, Tensor>,
) -> Option<(Model, NamedTensors)> {
    let single = single_node_model(model, node, values)?;
    let feeds = single
        .inputs()
        .iter()
        .map(|i| (i.name.clone(), values[&i.name].clone()))
        .collect();
    Some((single, feeds))
}

/// [`baseline_values`] with a panic in the runtime contained: `None` when it cannot run the model.
pub fn guarded_baseline_values(
    baseline: &dyn Runtime,
    model: &Model,
    inputs: &NamedTensors,
) -> Option<HashMap<String, Tensor>> {
    crate::guard::guarded(baseline.name(), || {
        baseline_values(baseline, model, inputs).map_err(|e| RuntimeError::failed(baseline.name(), e.to_string()))
    })
    .ok()
}

/// Re-runs each node of `model` alone on each suspect runtime, fed the baseline's values,
/// and returns the first node on which any suspect diverges or fails.
pub fn first_divergent_node(
    model: &Model,
    values: &HashMap<String, Tensor>,
    suspects: &[&dyn Runtime],
    tolerances: &ToleranceModel,
) -> Result<Option<Culprit>, EngineError> {
    let constants: HashSet<&str> = model.graph().initializer.iter().map(|t| t.name.as_str()).collect();
    for (index, node) in model.graph().node.iter().enumerate() {
        let Some((single, feeds)) = single_node_case(model, node, values) else {
            continue;
        };
        let mut outputs: Vec<NodeOutput> = single
            .outputs()
            .iter()
            .map(|o| {
                let want = &values[&o.name];
                NodeOutput {
                    name: o.name.clone(),
                    tolerance: tolerances.resolve(None, Some(&node.op_type), want.dtype()),
                    metrics: BTreeMap::new(),
                    errors: BTreeMap::new(),
                }
            })
            .collect();
        let mut diverging = Vec::new();
        for runtime in suspects {
            match run_one(*runtime, &single, &feeds) {
                Ok(got) => {
                    let mut bad = false;
                    for (out, (_, tensor)) in outputs.iter_mut().zip(&got) {
                        let m = measure(tensor, &values[&out.name], &out.tolerance);
                        bad |= !m.within_tolerance;
                        out.metrics.insert(runtime.name().to_string(), m);
                    }
                    if bad {
                        diverging.push(runtime.name().to_string());
                    }
                }
                Err(e) if e.is_unsupported() => {}
                Err(e) => {
                    for out in &mut outputs {
                        out.errors.insert(runtime.name().to_string(), e.to_string());
                    }
                    diverging.push(runtime.name().to_string());
                }
            }
        }
        if !diverging.is_empty() {
            let inputs = node
                .input
                .iter()
                .filter(|n| !n.is_empty())
                .filter_map(|n| {
                    let constant = constants.contains(n.as_str());
                    let value = values.get(n).cloned().or_else(|| {
                        model
                            .graph()
                            .initializer
                            .iter()
                            .find(|t| t.name == *n)
                            .and_then(|t| Tensor::from_proto(t).ok())
                    })?;
                    Some(TensorSummary {
                        name: n.clone(),
                        dtype: value.dtype().to_string(),
                        shape: value.shape().to_vec(),
                        constant,
                    })
                })
                .collect();
            return Ok(Some(Culprit {
                node: node_name(node, index),
                op_type: node.op_type.clone(),
                index,
                attributes: node
                    .attribute
                    .iter()
                    .map(|a| (a.name.clone(), format_attribute(a)))
                    .collect(),
                runtimes: diverging,
                inputs,
                outputs,
            }));
        }
    }
    Ok(None)
}

/// An attribute value as ONNX text would show it (`1`, `[0, 0, 1, 1]`, `"linear"`, ...).
pub fn format_attribute(a: &AttributeProto) -> String {
    let list = |items: Vec<String>| format!("[{}]", items.join(", "));
    match a.r#type {
        attribute_type::INT => a.i.to_string(),
        attribute_type::FLOAT => format!("{}", a.f),
        attribute_type::STRING => format!("{:?}", String::from_utf8_lossy(&a.s)),
        attribute_type::INTS => list(a.ints.iter().map(|v| v.to_string()).collect()),
        attribute_type::FLOATS => list(a.floats.iter().map(|v| format!("{v}")).collect()),
        attribute_type::STRINGS => list(
            a.strings
                .iter()
                .map(|s| format!("{:?}", String::from_utf8_lossy(s)))
                .collect(),
        ),
        attribute_type::TENSOR => a.t.as_ref().map_or("tensor".into(), |t| match Tensor::from_proto(t) {
            Ok(v) if v.len() <= 8 => format!("{}{:?}", v.dtype(), v.to_f64_vec()),
            Ok(v) => format!("{} tensor {:?}", v.dtype(), v.shape()),
            Err(_) => "tensor".into(),
        }),
        attribute_type::GRAPH => "graph".into(),
        other => format!("<attribute type {other}>"),
    }
}
