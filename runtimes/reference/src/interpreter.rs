//! The graph executor and the `reference` runtime: evaluates nodes in order with f64 kernels.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use sysnoise_boundary::model::normalise_domain;
use sysnoise_boundary::{Model, NamedTensors, Runtime, RuntimeError, Session, Tensor, U8S8Accumulation};

use crate::context::OpContext;
use crate::error::OpError;
use crate::ops::Registry;
use crate::value::Value;

const NAME: &str = "reference";

/// The shared kernel registry (built once).
pub fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(Registry::standard)
}

/// The f64 reference interpreter as a [`Runtime`].
#[derive(Clone, Copy, Debug, Default)]
pub struct Reference;

impl Runtime for Reference {
    fn name(&self) -> &str {
        NAME
    }

    fn version(&self) -> String {
        format!("sysnoise-reference {}", env!("CARGO_PKG_VERSION"))
    }

    fn prepare(&self, model: &Model) -> Result<Box<dyn Session>, RuntimeError> {
        prepare_with(model, NAME, U8S8Accumulation::Exact)
    }
}

/// A reference session that reports errors as `runtime` and accumulates the u8 × s8 products
/// of ConvInteger / MatMulInteger as `u8s8` says: the exact arithmetic of the specification,
/// or a CPU kernel's (sysnoise's emulations of ONNX Runtime's int8 kernels use this).
pub fn prepare_with(model: &Model, runtime: &str, u8s8: U8S8Accumulation) -> Result<Box<dyn Session>, RuntimeError> {
    let name = runtime.to_string();
    let opset = model.opset("").unwrap_or(1);
    for node in &model.graph().node {
        let at = || node_label(node);
        if !normalise_domain(&node.domain).is_empty() {
            return Err(
                RuntimeError::unsupported(&name, format!("op domain '{}' ({})", node.domain, node.op_type)).at(at()),
            );
        }
        if registry().get(&node.op_type).is_none() {
            return Err(RuntimeError::unsupported(&name, format!("no reference kernel for {}", node.op_type)).at(at()));
        }
    }
    let mut constants = HashMap::new();
    for init in &model.graph().initializer {
        let tensor = Tensor::from_proto(init).map_err(|e| RuntimeError::unsupported(&name, e.to_string()))?;
        let value = Value::from_tensor(&tensor).map_err(|e| RuntimeError::unsupported(&name, e.to_string()))?;
        constants.insert(init.name.clone(), value);
    }
    Ok(Box::new(ReferenceSession {
        model: Arc::new(model.clone()),
        constants,
        opset,
        name,
        u8s8,
    }))
}

/// A node's name, or `op_type#index`-style fallback when it has none.
fn node_label(node: &sysnoise_boundary::onnx::NodeProto) -> String {
    if node.name.is_empty() {
        format!("{} -> {}", node.op_type, node.output.join(","))
    } else {
        node.name.clone()
    }
}

struct ReferenceSession {
    model: Arc<Model>,
    constants: HashMap<String, Value>,
    opset: i64,
    /// The runtime name errors carry.
    name: String,
    u8s8: U8S8Accumulation,
}

impl ReferenceSession {
    /// Evaluates the graph and returns the graph outputs by name. A value is dropped after the
    /// last node that reads it (f64 intermediates of a large model at batch 16 would otherwise
    /// fill memory: EfficientNet-Lite0's lowered INT8 graph needed over 20 GB).
    fn evaluate(&self, inputs: &[(String, Tensor)]) -> Result<HashMap<String, Value>, RuntimeError> {
        let graph = self.model.graph();
        let graph_outputs: std::collections::HashSet<&str> = graph.output.iter().map(|o| o.name.as_str()).collect();
        let mut last_use: HashMap<&str, usize> = HashMap::new();
        for (index, node) in graph.node.iter().enumerate() {
            for input in &node.input {
                last_use.insert(input.as_str(), index);
            }
        }
        let mut dead_after: Vec<Vec<&str>> = vec![Vec::new(); graph.node.len()];
        for (name, index) in &last_use {
            if !graph_outputs.contains(name) {
                dead_after[*index].push(name);
            }
        }
        let mut values = self.constants.clone();
        for (name, tensor) in inputs {
            let value = Value::from_tensor(tensor).map_err(|e| RuntimeError::unsupported(&self.name, e.to_string()))?;
            values.insert(name.clone(), value);
        }
        for (index, node) in graph.node.iter().enumerate() {
            let kernel = registry().get(&node.op_type).expect("checked in prepare");
            let args: Vec<Option<Value>> = node
                .input
                .iter()
                .map(|name| {
                    if name.is_empty() {
                        return Ok(None);
                    }
                    // Its last reader takes the value (it is dropped after this node anyway).
                    let last_reader = dead_after[index].contains(&name.as_str())
                        && node.input.iter().filter(|i| *i == name).count() == 1;
                    let value = if last_reader {
                        values.remove(name)
                    } else {
                        values.get(name).cloned()
                    };
                    value.map(Some).ok_or_else(|| {
                        RuntimeError::failed(&self.name, format!("input '{name}' is not defined")).at(node_label(node))
                    })
                })
                .collect::<Result<_, _>>()?;
            let ctx = OpContext {
                node,
                opset: self.opset,
                u8s8: self.u8s8,
            };
            let outputs = kernel(&ctx, &args).map_err(|e| {
                let err = match e {
                    OpError::Unsupported(m) => RuntimeError::unsupported(&self.name, format!("{}: {m}", node.op_type)),
                    OpError::Invalid(m) => RuntimeError::failed(&self.name, format!("{}: {m}", node.op_type)),
                };
                err.at(node_label(node))
            })?;
            for (name, value) in node.output.iter().zip(outputs) {
                // Outputs nothing reads (and the graph does not return) are not kept.
                if !name.is_empty() && (last_use.contains_key(name.as_str()) || graph_outputs.contains(name.as_str())) {
                    values.insert(name.clone(), value);
                }
            }
            for name in &dead_after[index] {
                values.remove(*name);
            }
        }
        Ok(values)
    }
}

impl Session for ReferenceSession {
    fn run(&mut self, inputs: &[(String, Tensor)]) -> Result<NamedTensors, RuntimeError> {
        let mut values = self.evaluate(inputs)?;
        self.model
            .graph()
            .output
            .iter()
            .map(|o| {
                let value = values
                    .remove(&o.name)
                    .ok_or_else(|| RuntimeError::failed(&self.name, format!("output '{}' was not produced", o.name)))?;
                Ok((o.name.clone(), value.to_tensor()))
            })
            .collect()
    }
}
