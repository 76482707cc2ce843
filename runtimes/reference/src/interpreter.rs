//! The graph executor and the `reference` runtime: evaluates nodes in order with f64 kernels,
//! and the bodies of If / Loop / Scan with the enclosing graphs' values in scope.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, OnceLock};

use sysnoise_boundary::model::{names_read, normalise_domain, subgraphs};
use sysnoise_boundary::onnx::GraphProto;
use sysnoise_boundary::{Model, NamedTensors, Runtime, RuntimeError, Session, Tensor, U8S8Accumulation};

use crate::context::OpContext;
use crate::control_flow;
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
    prepare_session(model, runtime, u8s8, false)
}

/// A reference session that rounds every float value a node produces to its declared type
/// (f32, f16, bf16) before the next node reads it, as a runtime that stores its tensors in
/// those types must. The distance between its outputs and the plain reference's is the model's
/// sensitivity to rounding alone: large where rounding boundaries (quantisation, Floor, Cast to
/// integers) turn one-ulp differences into whole steps.
pub fn prepare_rounded(model: &Model, runtime: &str) -> Result<Box<dyn Session>, RuntimeError> {
    prepare_session(model, runtime, U8S8Accumulation::Exact, true)
}

fn prepare_session(
    model: &Model,
    runtime: &str,
    u8s8: U8S8Accumulation,
    round_intermediates: bool,
) -> Result<Box<dyn Session>, RuntimeError> {
    let name = runtime.to_string();
    let opset = model.opset("").unwrap_or(1);
    check_ops(model.graph(), &name)?;
    let mut session = ReferenceSession {
        model: Arc::new(model.clone()),
        constants: initialisers(model.graph(), &name)?,
        folded: HashSet::new(),
        opset,
        name,
        u8s8,
        round_intermediates,
    };
    session.fold_constants();
    Ok(Box::new(session))
}

/// Ops whose outputs are random draws: never computed ahead of a run.
fn is_random(op_type: &str) -> bool {
    op_type.starts_with("Random") || op_type == "Bernoulli" || op_type == "Multinomial"
}

/// Every node of `graph` and of its subgraphs has a kernel (ai.onnx, control flow, or a
/// registered com.microsoft op).
fn check_ops(graph: &GraphProto, runtime: &str) -> Result<(), RuntimeError> {
    for node in &graph.node {
        let at = || node_label(node);
        let domain = normalise_domain(&node.domain);
        let control_flow = domain.is_empty() && control_flow::OPS.contains(&node.op_type.as_str());
        if registry().get_in(domain, &node.op_type).is_none() && !control_flow {
            let what = if domain.is_empty() {
                format!("no reference kernel for {}", node.op_type)
            } else {
                format!("op domain '{}' ({})", node.domain, node.op_type)
            };
            return Err(RuntimeError::unsupported(runtime, what).at(at()));
        }
        for subgraph in subgraphs(node) {
            check_ops(subgraph, runtime)?;
        }
    }
    Ok(())
}

/// The initialisers of `graph` as values.
fn initialisers(graph: &GraphProto, runtime: &str) -> Result<HashMap<String, Value>, RuntimeError> {
    graph
        .initializer
        .iter()
        .map(|init| {
            let tensor = Tensor::from_proto(init).map_err(|e| RuntimeError::unsupported(runtime, e.to_string()))?;
            let value = Value::from_tensor(&tensor).map_err(|e| RuntimeError::unsupported(runtime, e.to_string()))?;
            Ok((init.name.clone(), value))
        })
        .collect()
}

/// A node's name, or `op_type#index`-style fallback when it has none.
fn node_label(node: &sysnoise_boundary::onnx::NodeProto) -> String {
    if node.name.is_empty() {
        format!("{} -> {}", node.op_type, node.output.join(","))
    } else {
        node.name.clone()
    }
}

/// The values a graph sees: its own, then its enclosing graphs' (outer-scope names).
struct Scope<'p> {
    values: HashMap<String, Value>,
    parent: Option<&'p Scope<'p>>,
}

impl Scope<'_> {
    fn get(&self, name: &str) -> Option<&Value> {
        self.values.get(name).or_else(|| self.parent.and_then(|p| p.get(name)))
    }
}

struct ReferenceSession {
    model: Arc<Model>,
    constants: HashMap<String, Value>,
    opset: i64,
    /// The runtime name errors carry.
    name: String,
    u8s8: U8S8Accumulation,
    /// Round every float a node produces to its dtype ([`prepare_rounded`]).
    round_intermediates: bool,
    /// Top-level nodes computed once at prepare time (every input a constant): their outputs
    /// are in `constants`, and runs skip them.
    folded: HashSet<usize>,
}

impl ReferenceSession {
    /// Computes once the top-level nodes that read only constants (initialisers that are not
    /// also graph inputs, Constant outputs, and what is computed from them) — weights a model
    /// dequantises or casts on every run, shapes — and keeps of the constants only what the
    /// other nodes read. The arithmetic is the same as at run time, done once. A node whose
    /// kernel fails here is left to the run, which reports it.
    fn fold_constants(&mut self) {
        let model = Arc::clone(&self.model);
        let graph = model.graph();
        let inputs: HashSet<&str> = graph.input.iter().map(|i| i.name.as_str()).collect();
        let mut known: HashSet<String> = self
            .constants
            .keys()
            .filter(|k| !inputs.contains(k.as_str()))
            .cloned()
            .collect();
        for (index, node) in graph.node.iter().enumerate() {
            let domain = normalise_domain(&node.domain);
            let reads: Vec<&String> = node.input.iter().filter(|n| !n.is_empty()).collect();
            let computable =
                node.op_type == "Constant" || (!reads.is_empty() && reads.iter().all(|n| known.contains(*n)));
            let plain = subgraphs(node).next().is_none()
                && !(domain.is_empty() && control_flow::OPS.contains(&node.op_type.as_str()))
                && !is_random(&node.op_type);
            let Some(kernel) = registry().get_in(domain, &node.op_type).filter(|_| computable && plain) else {
                continue;
            };
            let args: Vec<Option<Value>> = node
                .input
                .iter()
                .map(|n| {
                    if n.is_empty() {
                        None
                    } else {
                        self.constants.get(n).cloned()
                    }
                })
                .collect();
            let ctx = OpContext {
                node,
                opset: self.opset,
                u8s8: self.u8s8,
            };
            let Ok(outputs) = kernel(&ctx, &args) else { continue };
            for (name, value) in node.output.iter().zip(outputs) {
                if !name.is_empty() {
                    let value = if self.round_intermediates {
                        value.rounded_to_dtype()
                    } else {
                        value
                    };
                    self.constants.insert(name.clone(), value);
                    known.insert(name.clone());
                }
            }
            self.folded.insert(index);
        }
        let mut needed: HashSet<&str> = graph.output.iter().map(|o| o.name.as_str()).collect();
        needed.extend(inputs.iter().copied());
        for (index, node) in graph.node.iter().enumerate() {
            if !self.folded.contains(&index) {
                needed.extend(node.input.iter().map(String::as_str));
                needed.extend(subgraphs(node).flat_map(names_read));
            }
        }
        self.constants.retain(|name, _| needed.contains(name.as_str()));
    }

    /// Evaluates `graph` on `values` (its inputs and initialisers) inside `parent`, and returns
    /// its outputs in order. A value is dropped after the last node that reads it (f64
    /// intermediates of a large model at batch 16 would otherwise fill memory: EfficientNet-Lite0's
    /// lowered INT8 graph needed over 20 GB); a control-flow node reads every name its bodies read.
    fn run_graph(
        &self,
        graph: &GraphProto,
        values: HashMap<String, Value>,
        parent: Option<&Scope>,
    ) -> Result<Vec<Value>, RuntimeError> {
        let graph_outputs: HashSet<&str> = graph.output.iter().map(|o| o.name.as_str()).collect();
        let mut last_use: HashMap<&str, usize> = HashMap::new();
        for (index, node) in graph.node.iter().enumerate() {
            for input in &node.input {
                last_use.insert(input.as_str(), index);
            }
            for name in subgraphs(node).flat_map(names_read) {
                last_use.insert(name, index);
            }
        }
        let mut dead_after: Vec<Vec<&str>> = vec![Vec::new(); graph.node.len()];
        for (name, index) in &last_use {
            if !graph_outputs.contains(name) {
                dead_after[*index].push(name);
            }
        }
        let mut scope = Scope { values, parent };
        for (index, node) in graph.node.iter().enumerate() {
            if parent.is_none() && self.folded.contains(&index) {
                // Computed at prepare time: its outputs are among the constants.
                for name in &dead_after[index] {
                    scope.values.remove(*name);
                }
                continue;
            }
            let has_bodies = subgraphs(node).next().is_some();
            let args: Vec<Option<Value>> = node
                .input
                .iter()
                .map(|name| {
                    if name.is_empty() {
                        return Ok(None);
                    }
                    // Its last reader takes the value (it is dropped after this node anyway),
                    // unless the node's bodies read it too.
                    let last_reader = !has_bodies
                        && dead_after[index].contains(&name.as_str())
                        && node.input.iter().filter(|i| *i == name).count() == 1;
                    let value = match scope.values.remove(name) {
                        Some(v) if last_reader => Some(v),
                        Some(v) => {
                            let copy = v.clone();
                            scope.values.insert(name.clone(), v);
                            Some(copy)
                        }
                        None => scope.get(name).cloned(),
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
            let attributed = |e: OpError| {
                let err = match e {
                    OpError::Unsupported(m) => RuntimeError::unsupported(&self.name, format!("{}: {m}", node.op_type)),
                    OpError::Invalid(m) => RuntimeError::failed(&self.name, format!("{}: {m}", node.op_type)),
                };
                err.at(node_label(node))
            };
            let domain = normalise_domain(&node.domain);
            let outputs = if domain.is_empty() && control_flow::OPS.contains(&node.op_type.as_str()) {
                let run_body = |body: &GraphProto, feeds: Vec<(String, Value)>| {
                    let mut values = initialisers(body, &self.name).map_err(control_flow::ControlFlowError::Body)?;
                    values.extend(feeds);
                    self.run_graph(body, values, Some(&scope))
                        .map_err(control_flow::ControlFlowError::Body)
                };
                control_flow::run(&ctx, &args, &run_body).map_err(|e| match e {
                    control_flow::ControlFlowError::Body(err) => err,
                    control_flow::ControlFlowError::Op(op) => attributed(op),
                })?
            } else {
                let kernel = registry().get_in(domain, &node.op_type).expect("checked in prepare");
                kernel(&ctx, &args).map_err(attributed)?
            };
            for (name, mut value) in node.output.iter().zip(outputs) {
                if self.round_intermediates {
                    value = value.rounded_to_dtype();
                }
                // Outputs nothing reads (and the graph does not return) are not kept.
                if !name.is_empty() && (last_use.contains_key(name.as_str()) || graph_outputs.contains(name.as_str())) {
                    scope.values.insert(name.clone(), value);
                }
            }
            for name in &dead_after[index] {
                scope.values.remove(*name);
            }
        }
        graph
            .output
            .iter()
            .map(|o| {
                scope
                    .values
                    .remove(&o.name)
                    .or_else(|| scope.get(&o.name).cloned())
                    .ok_or_else(|| RuntimeError::failed(&self.name, format!("output '{}' was not produced", o.name)))
            })
            .collect()
    }
}

impl Session for ReferenceSession {
    fn run(&mut self, inputs: &[(String, Tensor)]) -> Result<NamedTensors, RuntimeError> {
        let mut values = self.constants.clone();
        for (name, tensor) in inputs {
            let value = Value::from_tensor(tensor).map_err(|e| RuntimeError::unsupported(&self.name, e.to_string()))?;
            values.insert(name.clone(), value);
        }
        let graph = self.model.graph();
        let outputs = self.run_graph(graph, values, None)?;
        Ok(graph
            .output
            .iter()
            .zip(outputs)
            .map(|(o, value)| (o.name.clone(), value.to_tensor()))
            .collect())
    }
}
