//! INT8 post-training static quantisation in QDQ form with MinMax calibration: SysNoise's INT8 noise.
//!
//! As onnxruntime.quantization's `quantize_static(..., quant_format=QDQ)` does it, plus
//! [`expand_qdq`], the same model in plain float ops for runtimes without QuantizeLinear /
//! DequantizeLinear kernels (the reference).
//!
//! What is quantised (ORT's QDQ defaults: QUInt8 activations, QInt8 symmetric weights):
//!
//! - **Activations**: every float32 non-constant input of a Conv, Gemm or MatMul and each such
//!   node's first output, per tensor, asymmetric uint8: the calibrated range is widened to include
//!   0, `scale = (max − min) / 255`, `zero_point = round(−min / scale)` (ties to even). A
//!   QuantizeLinear → DequantizeLinear pair follows the tensor and every consumer reads the
//!   dequantised value. An output consumed only by a Relu or Clip is quantised after that
//!   activation instead (ORT removes the activation and quantises its output; the activation is
//!   kept here, which for Relu computes the same values).
//! - **Weights**: float32 initialisers read as Conv's W, Gemm's B and MatMul's inputs, symmetric
//!   int8 (`scale = max|w| / 127`, zero point 0, values rounded ties-to-even and clipped), stored
//!   as int8 initialisers followed by a DequantizeLinear. Per channel: Conv axis 0, Gemm axis 0
//!   when `transB` else 1, MatMul's B its last axis (MatMul's A and rank-1 weights stay per
//!   tensor).
//! - **Biases**: Conv's and Gemm's (`beta = 1`) float32 rank-1 bias initialisers used by that one
//!   node become int32 with `scale = input scale × weight scale` (per channel when the weight is)
//!   and zero point 0, as ORT does.
//!
//! Not covered: ORT's other QDQ ops (MaxPool, Resize, Reshape, Concat... sharing their input's
//! parameters, which MaxPool/Reshape-like ops do not change numerically), ConvTranspose, weights
//! in Constant nodes, and float16 models. Names follow ORT's (`T_QuantizeLinear_Output`,
//! `W_quantized`, `T_scale`, ...). On the Fashion-MNIST CNN, onnxruntime 1.32's `quantize_static`
//! on the same calibration images gives the same int8 weights, int32 biases and zero points,
//! scales within one f32 ulp, and the same predictions.

use std::collections::{HashMap, HashSet};

use ndarray::{ArrayD, Axis, IxDyn};
use serde::{Deserialize, Serialize};
use sysnoise_boundary::model::names_read;
use sysnoise_boundary::onnx::{AttributeProto, GraphProto, NodeProto, TensorProto, attribute_type, data_type};
use sysnoise_boundary::{Model, NamedTensors, Runtime, Tensor, attr};

use crate::error::EngineError;
use crate::noise::rewrite::Rewritten;

/// How weights are quantised (activations are always per tensor).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Granularity {
    /// One scale per weight tensor.
    PerTensor,
    /// One scale per output channel of each weight.
    PerChannel,
}

impl Granularity {
    /// The kebab-case name (as serialised).
    pub fn name(self) -> &'static str {
        match self {
            Granularity::PerTensor => "per-tensor",
            Granularity::PerChannel => "per-channel",
        }
    }
}

/// The ops whose inputs and outputs are quantised.
pub const QUANTISED_OPS: [&str; 3] = ["Conv", "Gemm", "MatMul"];

/// The default-domain opset the quantised model imports at least (per-axis DequantizeLinear).
pub const QDQ_OPSET: i64 = 13;

/// Scale and zero point of an asymmetric uint8 activation whose calibrated range is
/// `[rmin, rmax]` (ORT's `compute_scale_zp` for QUInt8: the range is widened to include 0,
/// computed in f64, the scale stored as f32; a zero range gives scale 1, zero point 0).
pub fn uint8_asymmetric(rmin: f32, rmax: f32) -> (f32, u8) {
    let rmin = f64::from(rmin.min(0.0));
    let rmax = f64::from(rmax.max(0.0));
    let scale = (rmax - rmin) / 255.0;
    if scale < f64::from(f32::MIN_POSITIVE) {
        return (1.0, 0);
    }
    let zero_point = (-rmin / scale).round_ties_even().clamp(0.0, 255.0) as u8;
    (scale as f32, zero_point)
}

/// Scale of a symmetric int8 weight (range `[-127, 127]`, zero point 0) whose largest magnitude
/// is `absmax` (ORT's `compute_scale_zp` for QInt8 with `symmetric`).
pub fn int8_symmetric(absmax: f32) -> f32 {
    let scale = 2.0 * f64::from(absmax) / 254.0;
    if scale < f64::from(f32::MIN_POSITIVE) {
        1.0
    } else {
        scale as f32
    }
}

/// A weight value quantised with `scale` (f32 division, ties to even, clipped to int8).
fn quantise_weight_value(value: f32, scale: f32) -> i8 {
    (value / scale).round_ties_even().clamp(-128.0, 127.0) as i8
}

/// Ops whose signature or meaning changes between `version` and [`QDQ_OPSET`], so that bumping
/// the opset import would change the model.
fn changed_before_qdq_opset(op_type: &str, version: i64) -> bool {
    match op_type {
        "Clip" | "Pad" | "Resize" | "Scatter" | "Upsample" => version < 11,
        "Dropout" => version < 12,
        "Squeeze" | "Unsqueeze" | "Split" | "ReduceSum" | "Softmax" | "LogSoftmax" | "Hardmax" => version < 13,
        _ => false,
    }
}

pub(crate) fn is_default_domain(node: &NodeProto) -> bool {
    node.domain.is_empty() || node.domain == "ai.onnx"
}

/// Raises the default-domain opset import to [`QDQ_OPSET`] (and the IR version to 7) when lower;
/// refuses when a node's op changed meaning in between.
pub(crate) fn raise_opset(model: &mut Model) -> Result<(), EngineError> {
    let version = model
        .opset("")
        .ok_or_else(|| EngineError::Input("quantisation: the model imports no default-domain opset".into()))?;
    if version >= QDQ_OPSET {
        return Ok(());
    }
    if version < 10 {
        return Err(EngineError::Input(format!(
            "quantisation: the model imports opset {version}; QuantizeLinear needs 10 and per-channel \
             weights {QDQ_OPSET}: convert it first (onnx.version_converter)"
        )));
    }
    if let Some((index, node)) = model
        .graph()
        .node
        .iter()
        .enumerate()
        .find(|(_, n)| is_default_domain(n) && changed_before_qdq_opset(&n.op_type, version))
    {
        return Err(EngineError::Input(format!(
            "quantisation: node '{}' ({}) changes meaning between opset {version} and {QDQ_OPSET}, \
             which QDQ quantisation needs: convert the model first (onnx.version_converter)",
            crate::pernode::node_name(node, index),
            node.op_type
        )));
    }
    for import in &mut model.proto.opset_import {
        if sysnoise_boundary::model::normalise_domain(&import.domain).is_empty() {
            import.version = QDQ_OPSET;
        }
    }
    model.proto.ir_version = model.proto.ir_version.max(7);
    Ok(())
}

/// A weight initialiser to quantise and the node inputs that read it.
struct WeightPlan {
    name: String,
    /// Per-channel axis; `None`: per tensor.
    axis: Option<usize>,
    uses: Vec<(usize, usize)>,
}

/// A bias initialiser to quantise: read by input `input` of node `node`, whose activation
/// input and weight give its scale.
struct BiasPlan {
    name: String,
    node: usize,
    input: usize,
    activation: String,
    weight: String,
}

/// What to quantise, read off the graph.
#[derive(Default)]
struct Plan {
    /// Activation tensors, in graph order, with the node that made each one a target.
    activations: Vec<(String, String)>,
    weights: Vec<WeightPlan>,
    biases: Vec<BiasPlan>,
}

pub(crate) fn float_attribute(node: &NodeProto, name: &str, default: f32) -> f32 {
    node.attribute
        .iter()
        .find(|a| a.name == name && a.r#type == attribute_type::FLOAT)
        .map_or(default, |a| a.f)
}

pub(crate) fn int_attribute(node: &NodeProto, name: &str, default: i64) -> i64 {
    node.attribute
        .iter()
        .find(|a| a.name == name && a.r#type == attribute_type::INT)
        .map_or(default, |a| a.i)
}

/// Every tensor name a graph (and its subgraphs) reads, as owned names.
fn read_names(graph: &GraphProto, into: &mut HashSet<String>) {
    into.extend(names_read(graph).into_iter().map(str::to_string));
}

fn plan(model: &Model, granularity: Granularity) -> Plan {
    let graph = model.graph();
    let initialisers: HashMap<&str, &TensorProto> = graph.initializer.iter().map(|t| (t.name.as_str(), t)).collect();
    let fed: HashSet<String> = model.inputs().into_iter().map(|i| i.name).collect();
    let outputs: HashSet<&str> = graph.output.iter().map(|o| o.name.as_str()).collect();
    let mut consumers: HashMap<&str, Vec<usize>> = HashMap::new();
    for (index, node) in graph.node.iter().enumerate() {
        for input in node.input.iter().filter(|n| !n.is_empty()) {
            consumers.entry(input.as_str()).or_default().push(index);
        }
    }
    let float_weight = |name: &str| {
        initialisers
            .get(name)
            .filter(|t| t.data_type == data_type::FLOAT && !fed.contains(name))
            .copied()
    };
    let mut plan = Plan::default();
    let mut seen = HashSet::new();
    let mut activation = |plan: &mut Plan, tensor: &str, node: &str| {
        if !tensor.is_empty() && !initialisers.contains_key(tensor) && seen.insert(tensor.to_string()) {
            plan.activations.push((tensor.to_string(), node.to_string()));
        }
    };
    let weight = |plan: &mut Plan, name: &str, axis: Option<usize>, at: (usize, usize)| {
        let rank = float_weight(name).map_or(0, |t| t.dims.len());
        let axis = match granularity {
            Granularity::PerChannel => axis.filter(|&a| a < rank),
            Granularity::PerTensor => None,
        };
        match plan.weights.iter_mut().find(|w| w.name == name) {
            Some(existing) => {
                if existing.axis != axis {
                    existing.axis = None;
                }
                existing.uses.push(at);
            }
            None => plan.weights.push(WeightPlan {
                name: name.to_string(),
                axis,
                uses: vec![at],
            }),
        }
    };
    for (index, node) in graph.node.iter().enumerate() {
        if !is_default_domain(node) || !QUANTISED_OPS.contains(&node.op_type.as_str()) {
            continue;
        }
        let display = crate::pernode::node_name(node, index);
        let input = |i: usize| node.input.get(i).map(String::as_str).unwrap_or("");
        // (input index, per-channel axis) of the weight; the other inputs are activations.
        let weight_input = match node.op_type.as_str() {
            "Conv" => Some((1, Some(0))),
            "Gemm" => Some((1, Some(if int_attribute(node, "transB", 0) != 0 { 0 } else { 1 }))),
            _ => {
                let rank = float_weight(input(1)).map_or(0, |t| t.dims.len());
                Some((1, rank.checked_sub(1).filter(|_| rank >= 2)))
            }
        };
        let data_inputs = if node.op_type == "MatMul" { 2 } else { 1 };
        for i in 0..data_inputs {
            if node.op_type == "MatMul" && i == 0 && float_weight(input(0)).is_some() {
                weight(&mut plan, input(0), None, (index, 0));
            } else if weight_input.is_some_and(|(w, _)| w == i) {
                // Handled below.
            } else {
                activation(&mut plan, input(i), &display);
            }
        }
        if let Some((w, axis)) = weight_input {
            if float_weight(input(w)).is_some() {
                weight(&mut plan, input(w), axis, (index, w));
            } else {
                activation(&mut plan, input(w), &display);
            }
        }
        let bias = input(2);
        let bias_ok = match node.op_type.as_str() {
            "Conv" => true,
            "Gemm" => float_attribute(node, "beta", 1.0) == 1.0,
            _ => false,
        };
        if bias_ok
            && float_weight(bias).is_some_and(|t| t.dims.len() == 1)
            && float_weight(input(1)).is_some()
            && !initialisers.contains_key(input(0))
            && consumers.get(bias).is_some_and(|c| c.len() == 1)
        {
            plan.biases.push(BiasPlan {
                name: bias.to_string(),
                node: index,
                input: 2,
                activation: input(0).to_string(),
                weight: input(1).to_string(),
            });
        }
        // The output, or the output of the Relu / Clip that alone consumes it.
        let output = node.output.first().map(String::as_str).unwrap_or("");
        let folded = match consumers.get(output).map(Vec::as_slice) {
            Some(&[only])
                if !outputs.contains(output)
                    && is_default_domain(&graph.node[only])
                    && matches!(graph.node[only].op_type.as_str(), "Relu" | "Clip")
                    && graph.node[only].input.first().map(String::as_str) == Some(output) =>
            {
                graph.node[only].output.first().map_or(output, String::as_str)
            }
            _ => output,
        };
        activation(&mut plan, folded, &display);
    }
    plan
}

/// Per-tensor `[min, max]` of each activation over the calibration inputs (`None`: not float32,
/// left unquantised).
fn calibrate(
    model: &Model,
    activations: &[(String, String)],
    calibration: &[NamedTensors],
    runtime: &dyn Runtime,
) -> Result<Vec<Option<(f32, f32)>>, EngineError> {
    if calibration.is_empty() {
        return Err(EngineError::Usage(
            "quantisation: no calibration inputs (MinMax calibration needs at least one)".into(),
        ));
    }
    let mut session = runtime
        .prepare_with_intermediates(model)
        .map_err(EngineError::Runtime)?;
    let mut ranges: Vec<Option<(f32, f32)>> = vec![Some((f32::INFINITY, f32::NEG_INFINITY)); activations.len()];
    for (k, inputs) in calibration.iter().enumerate() {
        let outputs = session.run(inputs).map_err(EngineError::Runtime)?;
        let values: HashMap<&str, &Tensor> = inputs.iter().chain(&outputs).map(|(n, t)| (n.as_str(), t)).collect();
        for ((tensor, node), range) in activations.iter().zip(&mut ranges) {
            let value = values.get(tensor.as_str()).ok_or_else(|| {
                EngineError::Input(format!(
                    "quantisation: {} returned no value for tensor '{tensor}' (of node '{node}') \
                     on calibration input {k}",
                    runtime.name()
                ))
            })?;
            let Tensor::F32(array) = value else {
                *range = None;
                continue;
            };
            let Some((lo, hi)) = range else { continue };
            for &v in array {
                if !v.is_finite() {
                    return Err(EngineError::Input(format!(
                        "quantisation: tensor '{tensor}' (of node '{node}') holds {v} on calibration \
                         input {k}; MinMax calibration needs finite values"
                    )));
                }
                *lo = lo.min(v);
                *hi = hi.max(v);
            }
        }
    }
    // A tensor with no elements gets the empty range [0, 0].
    Ok(ranges
        .into_iter()
        .map(|r| r.map(|(lo, hi)| if lo > hi { (0.0, 0.0) } else { (lo, hi) }))
        .collect())
}

fn qdq_node(op_type: &str, name: String, inputs: [&str; 3], output: &str, axis: Option<usize>) -> NodeProto {
    NodeProto {
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: vec![output.to_string()],
        name,
        op_type: op_type.to_string(),
        attribute: axis.map(|a| attr::int("axis", a as i64)).into_iter().collect(),
        ..Default::default()
    }
}

/// Names already used in the graph; new ones must not collide.
pub(crate) struct Names(HashSet<String>);

impl Names {
    pub(crate) fn of(graph: &GraphProto) -> Names {
        let mut names = HashSet::new();
        read_names(graph, &mut names);
        names.extend(
            graph
                .node
                .iter()
                .flat_map(|n| n.output.iter().cloned().chain([n.name.clone()])),
        );
        names.extend(graph.input.iter().map(|v| v.name.clone()));
        names.extend(graph.initializer.iter().map(|t| t.name.clone()));
        names.extend(graph.value_info.iter().map(|v| v.name.clone()));
        Names(names)
    }

    pub(crate) fn fresh(&mut self, name: String) -> Result<String, EngineError> {
        if self.0.insert(name.clone()) {
            Ok(name)
        } else {
            Err(EngineError::Input(format!(
                "quantisation: the model already has a tensor or node named '{name}'"
            )))
        }
    }
}

/// The weight as f32 values (decoded from its initialiser).
pub(crate) fn weight_values(init: &TensorProto) -> Result<ArrayD<f32>, EngineError> {
    match Tensor::from_proto(init) {
        Ok(Tensor::F32(a)) => Ok(a),
        Ok(other) => Err(EngineError::Input(format!(
            "quantisation: weight '{}' is {}, not float32",
            init.name,
            other.dtype().name()
        ))),
        Err(e) => Err(EngineError::Input(format!("quantisation: weight '{}': {e}", init.name))),
    }
}

/// Symmetric int8 quantisation of `weights`: the int8 values and one scale per channel along
/// `axis` (one scale overall when `None`).
pub(crate) fn quantise_weight(weights: &ArrayD<f32>, axis: Option<usize>) -> (ArrayD<i8>, Vec<f32>) {
    let absmax = |values: &mut dyn Iterator<Item = &f32>| values.fold(0.0f32, |m, v| m.max(v.abs()));
    match axis {
        None => {
            let scale = int8_symmetric(absmax(&mut weights.iter()));
            (weights.mapv(|v| quantise_weight_value(v, scale)), vec![scale])
        }
        Some(axis) => {
            let scales: Vec<f32> = weights
                .axis_iter(Axis(axis))
                .map(|lane| int8_symmetric(absmax(&mut lane.iter())))
                .collect();
            let mut quantised = ArrayD::<i8>::zeros(weights.raw_dim());
            for ((mut q, lane), &scale) in quantised
                .axis_iter_mut(Axis(axis))
                .zip(weights.axis_iter(Axis(axis)))
                .zip(&scales)
            {
                q.zip_mut_with(&lane, |q, &v| *q = quantise_weight_value(v, scale));
            }
            (quantised, scales)
        }
    }
}

fn scales_tensor(scales: &[f32], per_channel: bool) -> Tensor {
    if per_channel {
        Tensor::F32(ArrayD::from_shape_vec(IxDyn(&[scales.len()]), scales.to_vec()).expect("1-D"))
    } else {
        Tensor::F32(ArrayD::from_elem(IxDyn(&[]), scales[0]))
    }
}

/// `model` with every `Constant` node that holds a tensor (`value` attribute) turned into an
/// initialiser of the same name, so weights exported as Constant nodes (paddle2onnx, some
/// torch exports) are quantised like initialisers.
pub fn constants_as_initialisers(model: &Model) -> Model {
    constants_named_as_initialisers(model, |_| true)
}

/// [`constants_as_initialisers`] for the Constant nodes whose output `wanted` accepts only.
pub fn constants_named_as_initialisers(model: &Model, wanted: impl Fn(&str) -> bool) -> Model {
    let mut out = model.clone();
    let graph = out.graph_mut();
    let mut kept = Vec::with_capacity(graph.node.len());
    for node in std::mem::take(&mut graph.node) {
        let tensor = (node.op_type == "Constant"
            && is_default_domain(&node)
            && node.output.len() == 1
            && wanted(&node.output[0]))
        .then(|| {
            node.attribute
                .iter()
                .find(|a| a.name == "value")
                .and_then(|a| a.t.clone())
        })
        .flatten();
        match tensor {
            Some(mut tensor) => {
                tensor.name = node.output[0].clone();
                graph.initializer.push(tensor);
            }
            None => kept.push(node),
        }
    }
    graph.node = kept;
    out
}

/// Quantises `model` to INT8 in QDQ form, calibrated on `calibration` run through `runtime`
/// (MinMax: per tensor, the smallest and largest value over every calibration input).
///
/// `changes` counts the quantised tensors (activations, weights and biases). The model's
/// default-domain opset import is raised to [`QDQ_OPSET`] when lower.
pub fn quantise_static(
    model: &Model,
    calibration: &[NamedTensors],
    runtime: &dyn Runtime,
    granularity: Granularity,
) -> Result<(Model, Rewritten), EngineError> {
    let model = &constants_as_initialisers(model);
    let mut out = model.clone();
    raise_opset(&mut out)?;
    let plan = plan(model, granularity);
    let ranges = calibrate(model, &plan.activations, calibration, runtime)?;
    let graph = out.graph_mut();
    let mut names = Names::of(graph);
    let producers: HashMap<String, usize> = graph
        .node
        .iter()
        .enumerate()
        .flat_map(|(i, n)| n.output.iter().map(move |o| (o.clone(), i)))
        .collect();
    let graph_outputs: HashSet<String> = graph.output.iter().map(|o| o.name.clone()).collect();
    let mut initialisers: Vec<TensorProto> = Vec::new();
    let mut front: Vec<NodeProto> = Vec::new();
    let mut after: HashMap<usize, Vec<NodeProto>> = HashMap::new();
    let mut activation_scales: HashMap<String, f32> = HashMap::new();
    let mut changes = 0;

    for ((tensor, _), range) in plan.activations.iter().zip(&ranges) {
        let Some((lo, hi)) = *range else { continue };
        let (scale, zero_point) = uint8_asymmetric(lo, hi);
        activation_scales.insert(tensor.clone(), scale);
        let scale_name = names.fresh(format!("{tensor}_scale"))?;
        let zp_name = names.fresh(format!("{tensor}_zero_point"))?;
        initialisers.push(Tensor::F32(ArrayD::from_elem(IxDyn(&[]), scale)).to_proto(&scale_name));
        initialisers.push(Tensor::U8(ArrayD::from_elem(IxDyn(&[]), zero_point)).to_proto(&zp_name));
        let quantised = names.fresh(format!("{tensor}_QuantizeLinear_Output"))?;
        let producer = producers.get(tensor).copied();
        let (q_input, dq_output) = match producer {
            Some(index) if graph_outputs.contains(tensor) => {
                // The graph output keeps its name, now on the DequantizeLinear.
                let renamed = names.fresh(format!("{tensor}_QuantizeLinear_Input"))?;
                for o in graph.node[index].output.iter_mut().filter(|o| *o == tensor) {
                    *o = renamed.clone();
                }
                (renamed, tensor.clone())
            }
            _ => {
                let dequantised = names.fresh(format!("{tensor}_DequantizeLinear_Output"))?;
                for node in &mut graph.node {
                    for i in node.input.iter_mut().filter(|i| *i == tensor) {
                        *i = dequantised.clone();
                    }
                }
                (tensor.clone(), dequantised)
            }
        };
        let q_node = names.fresh(format!("{tensor}_QuantizeLinear"))?;
        let dq_node = names.fresh(format!("{tensor}_DequantizeLinear"))?;
        let pair = [
            qdq_node(
                "QuantizeLinear",
                q_node,
                [&q_input, &scale_name, &zp_name],
                &quantised,
                None,
            ),
            qdq_node(
                "DequantizeLinear",
                dq_node,
                [&quantised, &scale_name, &zp_name],
                &dq_output,
                None,
            ),
        ];
        match producer {
            Some(index) => after.entry(index).or_default().extend(pair),
            None => front.extend(pair),
        }
        changes += 1;
    }

    let mut weight_scales: HashMap<String, (Vec<f32>, bool)> = HashMap::new();
    for weight in &plan.weights {
        let init = graph
            .initializer
            .iter()
            .find(|t| t.name == weight.name)
            .expect("planned weights are initialisers");
        let (quantised, scales) = quantise_weight(&weight_values(init)?, weight.axis);
        let per_channel = weight.axis.is_some();
        let q_name = names.fresh(format!("{}_quantized", weight.name))?;
        let scale_name = names.fresh(format!("{}_scale", weight.name))?;
        let zp_name = names.fresh(format!("{}_zero_point", weight.name))?;
        let dq_output = names.fresh(format!("{}_DequantizeLinear_Output", weight.name))?;
        initialisers.push(Tensor::I8(quantised).to_proto(&q_name));
        initialisers.push(scales_tensor(&scales, per_channel).to_proto(&scale_name));
        let zeros = if per_channel {
            Tensor::I8(ArrayD::zeros(IxDyn(&[scales.len()])))
        } else {
            Tensor::I8(ArrayD::zeros(IxDyn(&[])))
        };
        initialisers.push(zeros.to_proto(&zp_name));
        front.push(qdq_node(
            "DequantizeLinear",
            names.fresh(format!("{}_DequantizeLinear", weight.name))?,
            [&q_name, &scale_name, &zp_name],
            &dq_output,
            weight.axis,
        ));
        for &(node, input) in &weight.uses {
            graph.node[node].input[input] = dq_output.clone();
        }
        weight_scales.insert(weight.name.clone(), (scales, per_channel));
        changes += 1;
    }

    for bias in &plan.biases {
        let (Some(&input_scale), Some((weight_scale, per_channel))) =
            (activation_scales.get(&bias.activation), weight_scales.get(&bias.weight))
        else {
            continue;
        };
        let init = graph
            .initializer
            .iter()
            .find(|t| t.name == bias.name)
            .expect("planned biases are initialisers");
        let values = weight_values(init)?;
        if *per_channel && weight_scale.len() != values.len() {
            continue;
        }
        let scales: Vec<f32> = weight_scale.iter().map(|w| input_scale * w).collect();
        if scales.iter().any(|&s| s == 0.0 || !s.is_finite()) {
            continue;
        }
        let quantised: ArrayD<i32> = ArrayD::from_shape_fn(values.raw_dim(), |i| {
            let scale = scales[if *per_channel { i[0] } else { 0 }];
            (f64::from(values[&i]) / f64::from(scale))
                .round_ties_even()
                .clamp(f64::from(i32::MIN), f64::from(i32::MAX)) as i32
        });
        let q_name = names.fresh(format!("{}_quantized", bias.name))?;
        let scale_name = names.fresh(format!("{}_quantized_scale", bias.name))?;
        let zp_name = names.fresh(format!("{}_quantized_zero_point", bias.name))?;
        let dq_output = names.fresh(format!("{}_DequantizeLinear_Output", bias.name))?;
        initialisers.push(Tensor::I32(quantised).to_proto(&q_name));
        initialisers.push(scales_tensor(&scales, *per_channel).to_proto(&scale_name));
        let zeros = if *per_channel {
            Tensor::I32(ArrayD::zeros(IxDyn(&[scales.len()])))
        } else {
            Tensor::I32(ArrayD::zeros(IxDyn(&[])))
        };
        initialisers.push(zeros.to_proto(&zp_name));
        front.push(qdq_node(
            "DequantizeLinear",
            names.fresh(format!("{}_DequantizeLinear", bias.name))?,
            [&q_name, &scale_name, &zp_name],
            &dq_output,
            per_channel.then_some(0),
        ));
        graph.node[bias.node].input[bias.input] = dq_output;
        changes += 1;
    }

    // Assemble: constants' DequantizeLinear first, each Q/DQ pair right after its producer.
    let mut nodes = front;
    for (index, node) in std::mem::take(&mut graph.node).into_iter().enumerate() {
        nodes.push(node);
        nodes.extend(after.remove(&index).unwrap_or_default());
    }
    graph.node = nodes;
    // Float weights and biases nothing reads any more go.
    let mut read = HashSet::new();
    read_names(graph, &mut read);
    let replaced: HashSet<&str> = plan
        .weights
        .iter()
        .map(|w| w.name.as_str())
        .chain(plan.biases.iter().map(|b| b.name.as_str()))
        .filter(|n| !read.contains(*n))
        .collect();
    graph.initializer.retain(|t| !replaced.contains(t.name.as_str()));
    graph.input.retain(|i| !replaced.contains(i.name.as_str()));
    graph.initializer.extend(initialisers);
    Ok((out, Rewritten { changes }))
}

/// A copy of `model` where every QuantizeLinear and DequantizeLinear (top-level graph, default
/// domain) is written as the float ops of its definition, for runtimes without those kernels
/// (sysnoise's reference):
///
/// - QuantizeLinear: `Cast(Clip(Round(x / scale) + float(zero_point), qmin, qmax), to=zero_point's type)`
///   (Round rounds ties to even, as QuantizeLinear does);
/// - DequantizeLinear: `(float(x) − float(zero_point)) × scale`.
///
/// Scales and zero points must be initialisers; per-axis ones are reshaped to broadcast along
/// their axis, which needs the rank of `x` (an initialiser, a graph input or a value_info).
/// The rank of every tensor whose rank the graph declares: initialisers, and the inputs,
/// outputs and value_info entries with a shape.
pub(crate) fn declared_ranks(graph: &GraphProto) -> HashMap<String, usize> {
    graph
        .initializer
        .iter()
        .map(|t| (t.name.clone(), t.dims.len()))
        .chain(
            graph
                .input
                .iter()
                .chain(&graph.value_info)
                .chain(&graph.output)
                .filter_map(|v| {
                    let sysnoise_boundary::onnx::type_proto::Value::TensorType(t) =
                        v.r#type.as_ref()?.value.as_ref()?
                    else {
                        return None;
                    };
                    Some((v.name.clone(), t.shape.as_ref()?.dim.len()))
                }),
        )
        .collect()
}

pub fn expand_qdq(model: &Model) -> Result<Model, EngineError> {
    let opset = model.opset("").unwrap_or(0);
    let mut out = model.clone();
    let graph = out.graph_mut();
    if !graph
        .node
        .iter()
        .any(|n| is_default_domain(n) && matches!(n.op_type.as_str(), "QuantizeLinear" | "DequantizeLinear"))
    {
        return Ok(out);
    }
    if opset < 11 {
        return Err(EngineError::Input(format!(
            "expanding QuantizeLinear/DequantizeLinear needs opset 11 (Round, Clip's inputs); the model imports {opset}"
        )));
    }
    let mut names = Names::of(graph);
    let ranks = declared_ranks(graph);
    let initialisers: HashMap<String, TensorProto> =
        graph.initializer.iter().map(|t| (t.name.clone(), t.clone())).collect();
    let mut added: Vec<TensorProto> = Vec::new();
    let mut nodes = Vec::with_capacity(graph.node.len());
    let float = i64::from(data_type::FLOAT);
    for (index, node) in std::mem::take(&mut graph.node).into_iter().enumerate() {
        let quantise = match node.op_type.as_str() {
            "QuantizeLinear" if is_default_domain(&node) => true,
            "DequantizeLinear" if is_default_domain(&node) => false,
            _ => {
                nodes.push(node);
                continue;
            }
        };
        let display = crate::pernode::node_name(&node, index);
        let input = |i: usize| node.input.get(i).map(String::as_str).unwrap_or("");
        let constant = |i: usize| {
            initialisers.get(input(i)).ok_or_else(|| {
                EngineError::Input(format!(
                    "expanding node '{display}': its {} '{}' is not an initialiser",
                    ["input", "scale", "zero point"][i],
                    input(i)
                ))
            })
        };
        let scale = constant(1)?;
        let zero_point = if input(2).is_empty() { None } else { Some(constant(2)?) };
        let zp_type = zero_point.map_or(data_type::UINT8, |z| z.data_type);
        let (qmin, qmax) = match zp_type {
            data_type::UINT8 => (0.0, 255.0),
            data_type::INT8 => (-128.0, 127.0),
            data_type::UINT16 => (0.0, 65535.0),
            data_type::INT16 => (-32768.0, 32767.0),
            data_type::INT32 => (f64::from(i32::MIN), f64::from(i32::MAX)),
            other => {
                return Err(EngineError::Input(format!(
                    "expanding node '{display}': zero point of type {} is not supported",
                    sysnoise_boundary::tensor::onnx_type_name(other)
                )));
            }
        };
        let output = node.output.first().cloned().unwrap_or_default();
        let tmp = |names: &mut Names, what: &str| names.fresh(format!("{output}__{what}"));
        // Per-axis parameters broadcast along `axis` of x.
        let broadcast =
            |names: &mut Names, added: &mut Vec<TensorProto>, t: &TensorProto| -> Result<String, EngineError> {
                if t.dims.len() != 1 {
                    return Ok(t.name.clone());
                }
                let rank = *ranks.get(input(0)).ok_or_else(|| {
                    EngineError::Input(format!(
                        "expanding node '{display}': per-axis parameters need the rank of '{}', which is not declared",
                        input(0)
                    ))
                })?;
                let axis = int_attribute(&node, "axis", 1);
                let axis = if axis < 0 { axis + rank as i64 } else { axis };
                if axis < 0 || axis as usize >= rank {
                    return Err(EngineError::Input(format!(
                        "expanding node '{display}': axis {axis} is out of range for rank {rank}"
                    )));
                }
                let mut reshaped = t.clone();
                reshaped.name = names.fresh(format!("{}__axis{axis}_rank{rank}", t.name))?;
                reshaped.dims = (0..rank)
                    .map(|d| if d == axis as usize { t.dims[0] } else { 1 })
                    .collect();
                let name = reshaped.name.clone();
                added.push(reshaped);
                Ok(name)
            };
        let scale_b = broadcast(&mut names, &mut added, scale)?;
        let zero_float = match zero_point {
            Some(z) => {
                let zp_b = broadcast(&mut names, &mut added, z)?;
                let cast = tmp(&mut names, "zero_point_float")?;
                nodes.push(op("Cast", &[&zp_b], &cast, vec![attr::int("to", float)]));
                Some(cast)
            }
            None => None,
        };
        if quantise {
            let divided = tmp(&mut names, "div")?;
            let rounded = tmp(&mut names, "round")?;
            nodes.push(op("Div", &[input(0), &scale_b], &divided, vec![]));
            nodes.push(op("Round", &[&divided], &rounded, vec![]));
            let shifted = match &zero_float {
                Some(z) => {
                    let shifted = tmp(&mut names, "add")?;
                    nodes.push(op("Add", &[&rounded, z], &shifted, vec![]));
                    shifted
                }
                None => rounded,
            };
            let lo = names.fresh(format!("{output}__qmin"))?;
            let hi = names.fresh(format!("{output}__qmax"))?;
            added.push(Tensor::F32(ArrayD::from_elem(IxDyn(&[]), qmin as f32)).to_proto(&lo));
            added.push(Tensor::F32(ArrayD::from_elem(IxDyn(&[]), qmax as f32)).to_proto(&hi));
            let clipped = tmp(&mut names, "clip")?;
            nodes.push(op("Clip", &[&shifted, &lo, &hi], &clipped, vec![]));
            let mut last = op("Cast", &[&clipped], &output, vec![attr::int("to", i64::from(zp_type))]);
            last.name.clone_from(&node.name);
            nodes.push(last);
        } else {
            let as_float = tmp(&mut names, "float")?;
            nodes.push(op("Cast", &[input(0)], &as_float, vec![attr::int("to", float)]));
            let centred = match &zero_float {
                Some(z) => {
                    let centred = tmp(&mut names, "sub")?;
                    nodes.push(op("Sub", &[&as_float, z], &centred, vec![]));
                    centred
                }
                None => as_float,
            };
            let mut last = op("Mul", &[&centred, &scale_b], &output, vec![]);
            last.name.clone_from(&node.name);
            nodes.push(last);
        }
    }
    graph.node = nodes;
    graph.initializer.extend(added);
    Ok(out)
}

pub(crate) fn op(op_type: &str, inputs: &[&str], output: &str, attribute: Vec<AttributeProto>) -> NodeProto {
    NodeProto {
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: vec![output.to_string()],
        name: output.to_string(),
        op_type: op_type.to_string(),
        attribute,
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_and_zero_points_follow_onnxruntime() {
        // Range [-1, 3]: scale 4/255, zero point round(63.75) = 64.
        let (scale, zp) = uint8_asymmetric(-1.0, 3.0);
        assert_eq!(scale, (4.0f64 / 255.0) as f32);
        assert_eq!(zp, 64);
        // The range always includes 0.
        assert_eq!(uint8_asymmetric(2.0, 5.1), uint8_asymmetric(0.0, 5.1));
        assert_eq!(uint8_asymmetric(0.0, 0.0), (1.0, 0));
        assert_eq!(int8_symmetric(2.0), (2.0f64 / 127.0) as f32);
        assert_eq!(int8_symmetric(0.0), 1.0);
        // Ties go to even: 2.5 → 2, -3.5 → -4; out of range saturates.
        assert_eq!(quantise_weight_value(2.5, 1.0), 2);
        assert_eq!(quantise_weight_value(-3.5, 1.0), -4);
        assert_eq!(quantise_weight_value(1000.0, 1.0), 127);
        assert_eq!(Granularity::PerChannel.name(), "per-channel");
    }

    #[test]
    fn per_channel_weights_get_one_scale_per_lane() {
        let w = ArrayD::from_shape_vec(IxDyn(&[2, 3]), vec![0.5, -1.2, 0.25, 2.0, 0.1, -0.3]).unwrap();
        let (q, scales) = quantise_weight(&w, Some(0));
        assert_eq!(scales, vec![int8_symmetric(1.2), int8_symmetric(2.0)]);
        assert_eq!(q.iter().copied().collect::<Vec<_>>(), vec![53, -127, 26, 127, 6, -19]);
        let (q, scales) = quantise_weight(&w, None);
        assert_eq!(scales, vec![int8_symmetric(2.0)]);
        assert_eq!(q.iter().copied().collect::<Vec<_>>(), vec![32, -76, 16, 127, 6, -19]);
    }
}
