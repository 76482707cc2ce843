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

/// The values of `model`'s graph that no graph input decides: initialisers, Constant outputs,
/// and what nodes compute from those alone (random ops and nodes with subgraphs excepted).
pub fn constant_values(model: &Model) -> HashSet<String> {
    let graph = model.graph();
    let inputs: HashSet<&str> = graph.input.iter().map(|i| i.name.as_str()).collect();
    let mut constant: HashSet<String> = graph
        .initializer
        .iter()
        .map(|t| t.name.clone())
        .filter(|n| !inputs.contains(n.as_str()))
        .collect();
    for node in &graph.node {
        let reads: Vec<&String> = node.input.iter().filter(|n| !n.is_empty()).collect();
        let computed = node.op_type == "Constant"
            || (!reads.is_empty()
                && !node.op_type.starts_with("Random")
                && sysnoise_boundary::model::subgraphs(node).next().is_none()
                && reads.iter().all(|n| constant.contains(*n)));
        if computed {
            constant.extend(node.output.iter().filter(|n| !n.is_empty()).cloned());
        }
    }
    constant
}

/// The model made of `node` alone: constants it reads stay constants (initialisers of the
/// model, and values no graph input decides, as the baseline computed them — a runtime may need
/// a Slice's starts or a Reshape's shape to be constant, as they were in the whole model),
/// every other input becomes a graph input — so do the outer-scope values a subgraph (If, Loop,
/// Scan) reads — and its outputs become graph outputs typed like the baseline's values. `None`
/// when a value it needs was not computed.
/// `constants` is [`constant_values`] of `model`, computed once by the caller for all its nodes.
pub fn single_node_model(
    model: &Model,
    constants: &HashSet<String>,
    node: &NodeProto,
    values: &HashMap<String, Tensor>,
) -> Option<Model> {
    let mut single = model.clone();
    let source = model.graph();
    let graph = single.graph_mut();
    let initialisers: HashMap<&str, _> = source.initializer.iter().map(|t| (t.name.as_str(), t)).collect();
    let mut seen = HashSet::new();
    // What the node reads: its inputs, and the outer-scope values its subgraphs (If, Loop,
    // Scan bodies) read, which become inputs of the node's model like the others.
    let mut reads: Vec<&str> = node
        .input
        .iter()
        .map(String::as_str)
        .filter(|n| !n.is_empty())
        .collect();
    for subgraph in sysnoise_boundary::model::subgraphs(node) {
        let inner = defined_in(subgraph);
        reads.extend(
            sysnoise_boundary::model::names_read(subgraph)
                .into_iter()
                .filter(|n| !inner.contains(n) && (values.contains_key(*n) || initialisers.contains_key(n))),
        );
    }
    graph.node = vec![node.clone()];
    graph.input.clear();
    graph.initializer.clear();
    graph.value_info.clear();
    for name in reads {
        if !seen.insert(name) {
            continue;
        }
        if let Some(init) = initialisers.get(name) {
            graph.initializer.push((*init).clone());
        } else if constants.contains(name) {
            graph.initializer.push(values.get(name)?.to_proto(name));
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

/// Every name `graph` and its subgraphs define: inputs, initialisers, node outputs.
fn defined_in(graph: &sysnoise_boundary::onnx::GraphProto) -> HashSet<&str> {
    let mut names: HashSet<&str> = graph.input.iter().map(|i| i.name.as_str()).collect();
    names.extend(graph.initializer.iter().map(|t| t.name.as_str()));
    for node in &graph.node {
        names.extend(node.output.iter().map(String::as_str));
        for subgraph in sysnoise_boundary::model::subgraphs(node) {
            names.extend(defined_in(subgraph));
        }
    }
    names
}

/// `node` alone (see [`single_node_model`]) with its feeds: the recorded values of the inputs
/// that are not constants.
pub fn single_node_case(
    model: &Model,
    constants: &HashSet<String>,
    node: &NodeProto,
    values: &HashMap<String, Tensor>,
) -> Option<(Model, NamedTensors)> {
    let single = single_node_model(model, constants, node, values)?;
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
    let computed_constants = constant_values(model);
    for (index, node) in model.graph().node.iter().enumerate() {
        let Some((single, feeds)) = single_node_case(model, &computed_constants, node, values) else {
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

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{ArrayD, IxDyn};
    use sysnoise_boundary::onnx::{AttributeProto, attribute_type};
    use sysnoise_boundary::{DType, GraphBuilder, attr};

    fn f32s(values: &[f64]) -> Tensor {
        Tensor::from_f64(
            DType::F32,
            &ArrayD::from_shape_vec(IxDyn(&[values.len()]), values.to_vec()).unwrap(),
        )
    }

    fn i64s(values: &[f64]) -> Tensor {
        Tensor::from_f64(
            DType::I64,
            &ArrayD::from_shape_vec(IxDyn(&[values.len()]), values.to_vec()).unwrap(),
        )
    }

    fn branch(name: &str, op: &str, inputs: &[&str]) -> AttributeProto {
        let mut b = GraphBuilder::new(name, 17);
        b.node_with_outputs(op, name, inputs, &[&format!("{name}_out")], vec![]);
        b.output(&format!("{name}_out"), DType::F32);
        AttributeProto {
            name: format!("{name}_branch"),
            r#type: attribute_type::GRAPH,
            g: Some(b.build().graph().clone()),
            ..Default::default()
        }
    }

    #[test]
    fn a_node_with_subgraphs_stands_alone_with_the_outer_values_it_reads() {
        let mut b = GraphBuilder::new("g", 17);
        b.input("x", DType::F32, &[2]);
        b.input("cond", DType::Bool, &[]);
        b.node("Relu", "y", &["x"], vec![]);
        b.node("Constant", "c", &[], vec![attr::tensor("value", &f32s(&[1.0, 2.0]))]);
        let mut then_branch = branch("then", "Add", &["y", "c"]);
        then_branch.name = "then_branch".into();
        let mut else_branch = branch("else", "Identity", &["y"]);
        else_branch.name = "else_branch".into();
        b.node("If", "out", &["cond"], vec![then_branch, else_branch]);
        b.output("out", DType::F32);
        let model = b.build();
        let values: HashMap<String, Tensor> = [
            ("x", f32s(&[-1.0, 3.0])),
            ("y", f32s(&[0.0, 3.0])),
            ("c", f32s(&[1.0, 2.0])),
            ("out", f32s(&[1.0, 5.0])),
        ]
        .into_iter()
        .map(|(n, t)| (n.to_string(), t))
        .chain([(
            "cond".to_string(),
            Tensor::from_f64(DType::Bool, &ArrayD::from_elem(IxDyn(&[]), 1.0)),
        )])
        .collect();
        let node = &model.graph().node[2];
        let single = single_node_model(&model, &constant_values(&model), node, &values).expect("an If stands alone");
        let inputs: Vec<&str> = single.graph().input.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(inputs, ["cond", "y"]);
        let constants: Vec<&str> = single.graph().initializer.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(constants, ["c"], "a Constant the branch reads stays a constant");
    }

    #[test]
    fn values_no_input_decides_stay_constants() {
        let mut b = GraphBuilder::new("g", 17);
        b.input("x", DType::F32, &[4]);
        b.node("Constant", "starts", &[], vec![attr::tensor("value", &i64s(&[1.0]))]);
        b.node("Constant", "ends", &[], vec![attr::tensor("value", &i64s(&[3.0]))]);
        b.node("Identity", "ends2", &["ends"], vec![]);
        b.node("Slice", "s", &["x", "starts", "ends2"], vec![]);
        b.output("s", DType::F32);
        let model = b.build();
        let constants = constant_values(&model);
        assert!(constants.contains("starts") && constants.contains("ends2") && !constants.contains("s"));
        let values: HashMap<String, Tensor> = [
            ("x", f32s(&[1.0, 2.0, 3.0, 4.0])),
            ("starts", i64s(&[1.0])),
            ("ends", i64s(&[3.0])),
            ("ends2", i64s(&[3.0])),
            ("s", f32s(&[2.0, 3.0])),
        ]
        .into_iter()
        .map(|(n, t)| (n.to_string(), t))
        .collect();
        let single = single_node_model(&model, &constants, &model.graph().node[3], &values).unwrap();
        let inputs: Vec<&str> = single.graph().input.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(inputs, ["x"]);
    }
}
