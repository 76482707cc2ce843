//! `TorchSession`: runs a prepared graph node by node with eager tch ops.

use std::collections::HashMap;
use std::sync::Arc;

use sysnoise_boundary::{Model, NamedTensors, RuntimeError, Session, Tensor};

use crate::context::Ctx;
use crate::runtime::{node_label, registry};
use crate::value::{Env, Value};

pub struct TorchSession {
    pub(crate) name: String,
    pub(crate) model: Arc<Model>,
    /// Initialisers, already on the device in the compute precision.
    pub(crate) constants: HashMap<String, Value>,
    pub(crate) opset: i64,
    pub(crate) env: Env,
}

impl TorchSession {
    /// Runs every node and returns every value by name (inputs, constants, node outputs).
    fn evaluate(&self, inputs: &[(String, Tensor)]) -> Result<HashMap<String, Value>, RuntimeError> {
        let name = self.name.as_str();
        let mut values = self.constants.clone();
        for (input, tensor) in inputs {
            let value = self
                .env
                .import(tensor)
                .map_err(|e| e.into_runtime(name, "input").at(input.clone()))?;
            values.insert(input.clone(), value);
        }
        for node in &self.model.graph().node {
            let op = registry().get(&node.op_type).expect("checked in prepare");
            let args: Vec<Option<Value>> = node
                .input
                .iter()
                .map(|input| {
                    if input.is_empty() {
                        Ok(None)
                    } else {
                        values.get(input).cloned().map(Some).ok_or_else(|| {
                            RuntimeError::failed(name, format!("input '{input}' is not defined")).at(node_label(node))
                        })
                    }
                })
                .collect::<Result<_, _>>()?;
            let ctx = Ctx {
                node,
                opset: self.opset,
                env: &self.env,
            };
            let fail = |e: crate::error::OpError| e.into_runtime(name, &node.op_type).at(node_label(node));
            let outputs = (op.run)(&ctx, &args).map_err(fail)?;
            for (output, value) in node.output.iter().zip(outputs) {
                if !output.is_empty() {
                    // Keep the invariant: a value's kind is its dtype's compute kind.
                    let value = self.env.value(value.t, value.dtype).map_err(fail)?;
                    values.insert(output.clone(), value);
                }
            }
        }
        Ok(values)
    }
}

impl Session for TorchSession {
    fn run(&mut self, inputs: &[(String, Tensor)]) -> Result<NamedTensors, RuntimeError> {
        let _no_grad = tch::no_grad_guard();
        let values = self.evaluate(inputs)?;
        let declared = self.model.outputs();
        declared
            .iter()
            .map(|o| {
                let value = values
                    .get(&o.name)
                    .ok_or_else(|| RuntimeError::failed(&self.name, format!("output '{}' was not produced", o.name)))?;
                let tensor = self
                    .env
                    .export(value, o.dtype)
                    .map_err(|e| e.into_runtime(&self.name, "output").at(o.name.clone()))?;
                Ok((o.name.clone(), tensor))
            })
            .collect()
    }
}
