//! `GraphBuilder`: builds small ONNX models in code (tests, demo models, per-node extraction).

use crate::model::{Model, tensor_value_info};
use crate::onnx::{
    AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, TypeProto, ValueInfoProto, attribute_type,
    type_proto,
};
use crate::tensor::{DType, Tensor};

/// ONNX IR version written by the builder (IR 8 is read by every runtime sysnoise drives).
pub const IR_VERSION: i64 = 8;

/// Builds a single-graph model node by node.
pub struct GraphBuilder {
    graph: GraphProto,
    opset: i64,
}

impl GraphBuilder {
    /// A new graph importing the default ONNX domain at `opset`.
    pub fn new(name: &str, opset: i64) -> GraphBuilder {
        GraphBuilder {
            graph: GraphProto {
                name: name.to_string(),
                ..Default::default()
            },
            opset,
        }
    }

    /// Declares a graph input; returns its name.
    pub fn input(&mut self, name: &str, dtype: DType, shape: &[usize]) -> String {
        self.graph.input.push(tensor_value_info(name, dtype, shape));
        name.to_string()
    }

    /// Adds a constant initialiser; returns its name.
    pub fn constant(&mut self, name: &str, tensor: &Tensor) -> String {
        self.graph.initializer.push(tensor.to_proto(name));
        name.to_string()
    }

    /// Adds a node named `name` with one output (also called `name`); returns the output.
    pub fn node(&mut self, op_type: &str, name: &str, inputs: &[&str], attributes: Vec<AttributeProto>) -> String {
        self.node_with_outputs(op_type, name, inputs, &[name], attributes);
        name.to_string()
    }

    /// Adds a node with explicit output names.
    pub fn node_with_outputs(
        &mut self,
        op_type: &str,
        name: &str,
        inputs: &[&str],
        outputs: &[&str],
        attributes: Vec<AttributeProto>,
    ) {
        self.graph.node.push(NodeProto {
            op_type: op_type.to_string(),
            name: name.to_string(),
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: outputs.iter().map(|s| s.to_string()).collect(),
            attribute: attributes,
            ..Default::default()
        });
    }

    /// Declares a graph output of `dtype` (shape left for the runtime to infer).
    pub fn output(&mut self, name: &str, dtype: DType) {
        self.graph.output.push(ValueInfoProto {
            name: name.to_string(),
            r#type: Some(TypeProto {
                value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                    elem_type: dtype.onnx_code(),
                    shape: None,
                })),
                ..Default::default()
            }),
            ..Default::default()
        });
    }

    pub fn build(self) -> Model {
        Model::from_proto(ModelProto {
            ir_version: IR_VERSION,
            producer_name: "sysnoise".to_string(),
            opset_import: vec![OperatorSetIdProto {
                domain: String::new(),
                version: self.opset,
            }],
            graph: Some(self.graph),
            ..Default::default()
        })
    }
}

/// Attribute constructors.
pub mod attr {
    use super::*;

    fn named(name: &str, r#type: i32) -> AttributeProto {
        AttributeProto {
            name: name.to_string(),
            r#type,
            ..Default::default()
        }
    }

    pub fn int(name: &str, value: i64) -> AttributeProto {
        AttributeProto {
            i: value,
            ..named(name, attribute_type::INT)
        }
    }

    pub fn ints(name: &str, values: &[i64]) -> AttributeProto {
        AttributeProto {
            ints: values.to_vec(),
            ..named(name, attribute_type::INTS)
        }
    }

    pub fn float(name: &str, value: f32) -> AttributeProto {
        AttributeProto {
            f: value,
            ..named(name, attribute_type::FLOAT)
        }
    }

    pub fn floats(name: &str, values: &[f32]) -> AttributeProto {
        AttributeProto {
            floats: values.to_vec(),
            ..named(name, attribute_type::FLOATS)
        }
    }

    pub fn string(name: &str, value: &str) -> AttributeProto {
        AttributeProto {
            s: value.as_bytes().to_vec(),
            ..named(name, attribute_type::STRING)
        }
    }

    pub fn tensor(name: &str, value: &Tensor) -> AttributeProto {
        AttributeProto {
            t: Some(value.to_proto("")),
            ..named(name, attribute_type::TENSOR)
        }
    }
}
