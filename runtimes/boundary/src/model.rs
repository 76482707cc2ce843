//! `Model`: a decoded ONNX ModelProto plus the queries and rewrites every layer needs.

use std::collections::HashSet;
use std::path::Path;

use prost::Message;

use crate::error::BoundaryError;
use crate::onnx::{
    GraphProto, ModelProto, NodeProto, TensorProto, TypeProto, ValueInfoProto, tensor_shape_proto::dimension,
    type_proto,
};
use crate::tensor::{DType, Tensor};

/// The declared type of a graph input or output.
#[derive(Clone, Debug, PartialEq)]
pub struct IoSpec {
    pub name: String,
    /// `None` when the type is not a numeric/bool tensor (or not declared).
    pub dtype: Option<DType>,
    /// One entry per dimension: `Some(n)` fixed, `None` symbolic/unknown. `None` overall when
    /// the rank is unknown.
    pub shape: Option<Vec<Option<usize>>>,
    /// True for sequences, maps and optionals.
    pub non_tensor: bool,
}

/// A decoded ONNX model.
#[derive(Clone, Debug, PartialEq)]
pub struct Model {
    pub proto: ModelProto,
}

impl Model {
    /// Decodes a serialised ModelProto and checks that it has a graph.
    pub fn from_bytes(bytes: &[u8]) -> Result<Model, BoundaryError> {
        let proto = ModelProto::decode(bytes)?;
        if proto.graph.is_none() {
            return Err(BoundaryError::NoGraph);
        }
        Ok(Model { proto })
    }

    pub fn from_proto(proto: ModelProto) -> Model {
        Model { proto }
    }

    /// Reads and decodes a `.onnx` file; errors name the file.
    pub fn load(path: &Path) -> Result<Model, BoundaryError> {
        let bytes =
            std::fs::read(path).map_err(|e| BoundaryError::Invalid(format!("cannot read {}: {e}", path.display())))?;
        Model::from_bytes(&bytes).map_err(|e| BoundaryError::Invalid(format!("{}: {e}", path.display())))
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        self.proto.encode_to_vec()
    }

    /// The whole ModelProto (opset imports, metadata, the graph).
    pub fn proto(&self) -> &ModelProto {
        &self.proto
    }

    pub fn graph(&self) -> &GraphProto {
        self.proto.graph.as_ref().expect("Model always has a graph")
    }

    pub fn graph_mut(&mut self) -> &mut GraphProto {
        self.proto.graph.get_or_insert_with(Default::default)
    }

    /// The opset version imported for a domain (`""` and `"ai.onnx"` are the default domain).
    pub fn opset(&self, domain: &str) -> Option<i64> {
        let wanted = normalise_domain(domain);
        self.proto
            .opset_import
            .iter()
            .find(|o| normalise_domain(&o.domain) == wanted)
            .map(|o| o.version)
    }

    /// Graph inputs that are fed at run time (initialisers with the same name excluded).
    pub fn inputs(&self) -> Vec<IoSpec> {
        let init: HashSet<&str> = self.graph().initializer.iter().map(|t| t.name.as_str()).collect();
        self.graph()
            .input
            .iter()
            .filter(|v| !init.contains(v.name.as_str()))
            .map(io_spec)
            .collect()
    }

    pub fn outputs(&self) -> Vec<IoSpec> {
        self.graph().output.iter().map(io_spec).collect()
    }

    /// The node that produces `tensor`, if any.
    pub fn producer(&self, tensor: &str) -> Option<&NodeProto> {
        self.graph().node.iter().find(|n| n.output.iter().any(|o| o == tensor))
    }

    /// A copy whose graph outputs are the original outputs followed by every other node output
    /// (used to read intermediates out of runtimes that only return graph outputs).
    pub fn with_intermediates_as_outputs(&self) -> Model {
        let mut model = self.clone();
        let graph = model.graph_mut();
        let mut seen: HashSet<String> = graph.output.iter().map(|o| o.name.clone()).collect();
        let typed: std::collections::HashMap<String, ValueInfoProto> =
            graph.value_info.iter().map(|v| (v.name.clone(), v.clone())).collect();
        let mut extra = Vec::new();
        for node in &graph.node {
            for out in &node.output {
                if !out.is_empty() && seen.insert(out.clone()) {
                    extra.push(typed.get(out).cloned().unwrap_or_else(|| ValueInfoProto {
                        name: out.clone(),
                        ..Default::default()
                    }));
                }
            }
        }
        graph.output.extend(extra);
        model
    }

    /// Initialisers decoded as tensors, by name.
    pub fn initializers(&self) -> Result<Vec<(String, Tensor)>, BoundaryError> {
        self.graph()
            .initializer
            .iter()
            .map(|t| Ok((t.name.clone(), Tensor::from_proto(t)?)))
            .collect()
    }

    /// Every op type the graph uses (top-level graph only), sorted and deduplicated.
    pub fn op_types(&self) -> Vec<String> {
        let mut ops: Vec<String> = self.graph().node.iter().map(|n| n.op_type.clone()).collect();
        ops.sort();
        ops.dedup();
        ops
    }
}

/// The subgraphs a node holds in its attributes (If's branches, Loop's and Scan's bodies).
pub fn subgraphs(node: &NodeProto) -> impl Iterator<Item = &GraphProto> {
    node.attribute.iter().flat_map(|a| a.g.iter().chain(&a.graphs))
}

/// Every tensor name `graph` and its subgraphs read (node inputs and graph outputs; omitted
/// optional inputs, the empty name, left out): what a subgraph needs of the scopes around it.
pub fn names_read(graph: &GraphProto) -> Vec<&str> {
    fn collect<'g>(graph: &'g GraphProto, into: &mut Vec<&'g str>) {
        for node in &graph.node {
            into.extend(node.input.iter().map(String::as_str).filter(|n| !n.is_empty()));
            for subgraph in subgraphs(node) {
                collect(subgraph, into);
            }
        }
        into.extend(graph.output.iter().map(|o| o.name.as_str()));
    }
    let mut names = Vec::new();
    collect(graph, &mut names);
    names
}

/// `""` and `"ai.onnx"` name the same (default) domain.
pub fn normalise_domain(domain: &str) -> &str {
    if domain == "ai.onnx" { "" } else { domain }
}

fn io_spec(v: &ValueInfoProto) -> IoSpec {
    match v.r#type.as_ref().and_then(|t| t.value.as_ref()) {
        Some(type_proto::Value::TensorType(t)) => IoSpec {
            name: v.name.clone(),
            dtype: DType::from_onnx_code(t.elem_type).ok(),
            shape: t.shape.as_ref().map(|s| {
                s.dim
                    .iter()
                    .map(|d| match d.value {
                        Some(dimension::Value::DimValue(n)) if n >= 0 => Some(n as usize),
                        _ => None,
                    })
                    .collect()
            }),
            non_tensor: false,
        },
        Some(_) => IoSpec {
            name: v.name.clone(),
            dtype: None,
            shape: None,
            non_tensor: true,
        },
        None => IoSpec {
            name: v.name.clone(),
            dtype: None,
            shape: None,
            non_tensor: false,
        },
    }
}

/// A `ValueInfoProto` for a tensor of `dtype` and fixed `shape`.
pub fn tensor_value_info(name: &str, dtype: DType, shape: &[usize]) -> ValueInfoProto {
    use crate::onnx::{TensorShapeProto, tensor_shape_proto::Dimension};
    ValueInfoProto {
        name: name.to_string(),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: dtype.onnx_code(),
                shape: Some(TensorShapeProto {
                    dim: shape
                        .iter()
                        .map(|&d| Dimension {
                            value: Some(dimension::Value::DimValue(d as i64)),
                            ..Default::default()
                        })
                        .collect(),
                }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Decodes a serialised TensorProto (`.pb` file).
pub fn tensor_from_pb(bytes: &[u8]) -> Result<(String, Tensor), BoundaryError> {
    let proto = TensorProto::decode(bytes)?;
    let tensor = Tensor::from_proto(&proto)?;
    Ok((proto.name, tensor))
}
