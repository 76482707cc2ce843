//! Inference noise as model rewrites: the same trained model deployed with a pooling
//! `ceil_mode` flipped, Resize's nearest and linear modes swapped, or converted to FP16 (weights
//! and activations; optionally keeping float32 inputs and outputs with Casts at the edges).

use serde::{Deserialize, Serialize};
use sysnoise_boundary::onnx::{AttributeProto, NodeProto, TensorProto, attribute_type, type_proto};
use sysnoise_boundary::{DType, Model, Tensor, attr};

use crate::error::EngineError;

/// One rewrite.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rewrite {
    /// MaxPool / AveragePool / LpPool: `ceil_mode` 0 ↔ 1.
    CeilModeFlip,
    /// Resize / Upsample: `mode` nearest ↔ linear.
    ResizeModeSwap,
    /// Every float32 weight and activation in float16; inputs and outputs too unless
    /// `keep_io_float` (then Casts convert at the edges).
    Fp16 { keep_io_float: bool },
}

/// What a rewrite changed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Rewritten {
    /// Nodes or tensors the rewrite touched (0: the rewrite does not apply to this model).
    pub changes: usize,
}

/// Applies `rewrite` to a copy of `model`.
pub fn apply(model: &Model, rewrite: Rewrite) -> Result<(Model, Rewritten), EngineError> {
    let mut out = model.clone();
    let changes = match rewrite {
        Rewrite::CeilModeFlip => flip_int_attribute(&mut out, &["MaxPool", "AveragePool", "LpPool"], "ceil_mode"),
        Rewrite::ResizeModeSwap => swap_resize_mode(&mut out),
        Rewrite::Fp16 { keep_io_float } => to_fp16(&mut out, keep_io_float)?,
    };
    Ok((out, Rewritten { changes }))
}

fn int_attribute(node: &NodeProto, name: &str) -> Option<i64> {
    node.attribute
        .iter()
        .find(|a| a.name == name && a.r#type == attribute_type::INT)
        .map(|a| a.i)
}

fn set_attribute(node: &mut NodeProto, value: AttributeProto) {
    node.attribute.retain(|a| a.name != value.name);
    node.attribute.push(value);
}

fn flip_int_attribute(model: &mut Model, ops: &[&str], name: &str) -> usize {
    let mut changes = 0;
    for node in &mut model.graph_mut().node {
        if ops.contains(&node.op_type.as_str()) {
            let current = int_attribute(node, name).unwrap_or(0);
            set_attribute(node, attr::int(name, 1 - current.clamp(0, 1)));
            changes += 1;
        }
    }
    changes
}

fn swap_resize_mode(model: &mut Model) -> usize {
    let mut changes = 0;
    for node in &mut model.graph_mut().node {
        if node.op_type != "Resize" && node.op_type != "Upsample" {
            continue;
        }
        let mode = node
            .attribute
            .iter()
            .find(|a| a.name == "mode")
            .map_or_else(|| "nearest".to_string(), |a| String::from_utf8_lossy(&a.s).into_owned());
        let swapped = match mode.as_str() {
            "nearest" => "linear",
            "linear" | "bilinear" => "nearest",
            _ => continue,
        };
        set_attribute(node, attr::string("mode", swapped));
        changes += 1;
    }
    changes
}

/// Inputs that the spec requires in float32 whatever the data type: Resize's scales (and
/// Upsample's), which must not be converted.
fn must_stay_float32(node: &NodeProto, input_index: usize) -> bool {
    match node.op_type.as_str() {
        "Resize" => input_index == 2,
        "Upsample" => input_index == 1,
        _ => false,
    }
}

fn tensor_to_fp16(proto: &TensorProto) -> Result<Option<TensorProto>, EngineError> {
    if proto.data_type != DType::F32.onnx_code() {
        return Ok(None);
    }
    let tensor = Tensor::from_proto(proto).map_err(|e| EngineError::Input(format!("{}: {e}", proto.name)))?;
    Ok(Some(tensor.cast(DType::F16).to_proto(&proto.name)))
}

fn to_fp16(model: &mut Model, keep_io_float: bool) -> Result<usize, EngineError> {
    let graph_inputs: Vec<String> = model.inputs().iter().map(|i| i.name.clone()).collect();
    let graph = model.graph_mut();
    let float32 = DType::F32.onnx_code();
    let float16 = DType::F16.onnx_code();
    // Values that must stay float32 (Resize scales and what produces them).
    let keep: std::collections::HashSet<String> = graph
        .node
        .iter()
        .flat_map(|n| {
            n.input
                .iter()
                .enumerate()
                .filter(|(i, _)| must_stay_float32(n, *i))
                .map(|(_, name)| name.clone())
        })
        .collect();
    let mut changes = 0;
    for init in &mut graph.initializer {
        if keep.contains(&init.name) {
            continue;
        }
        if let Some(converted) = tensor_to_fp16(init)? {
            *init = converted;
            changes += 1;
        }
    }
    for node in &mut graph.node {
        let produces_kept = node.output.iter().any(|o| keep.contains(o));
        for a in &mut node.attribute {
            if a.r#type == attribute_type::TENSOR
                && !produces_kept
                && let Some(t) = a.t.as_ref().map(tensor_to_fp16).transpose()?.flatten()
            {
                a.t = Some(t);
                changes += 1;
            }
            if node.op_type == "Cast" && a.name == "to" && a.i == i64::from(float32) && !produces_kept {
                a.i = i64::from(float16);
                changes += 1;
            }
        }
    }
    graph.value_info.clear();
    let set_elem = |v: &mut sysnoise_boundary::onnx::ValueInfoProto, code: i32| {
        if let Some(type_proto::Value::TensorType(t)) = v.r#type.as_mut().and_then(|t| t.value.as_mut())
            && t.elem_type == float32
        {
            t.elem_type = code;
            return true;
        }
        false
    };
    if !keep_io_float {
        for input in &mut graph.input {
            if graph_inputs.contains(&input.name) && set_elem(input, float16) {
                changes += 1;
            }
        }
        for output in &mut graph.output {
            if set_elem(output, float16) {
                changes += 1;
            }
        }
        return Ok(changes);
    }
    // Float32 at the edges: a Cast after each float input, one before each float output.
    let mut casts_in = Vec::new();
    for input in graph.input.iter().filter(|i| graph_inputs.contains(&i.name)) {
        let is_float = matches!(
            input.r#type.as_ref().and_then(|t| t.value.as_ref()),
            Some(type_proto::Value::TensorType(t)) if t.elem_type == float32
        );
        if is_float {
            casts_in.push(input.name.clone());
        }
    }
    for name in &casts_in {
        let internal = format!("{name}__fp16");
        for node in &mut graph.node {
            for i in node.input.iter_mut().filter(|i| *i == name) {
                *i = internal.clone();
            }
        }
        graph.node.insert(0, cast_node(name, &internal, float16));
        changes += 1;
    }
    let float_outputs: Vec<String> = graph
        .output
        .iter()
        .filter(|o| {
            matches!(
                o.r#type.as_ref().and_then(|t| t.value.as_ref()),
                Some(type_proto::Value::TensorType(t)) if t.elem_type == float32
            )
        })
        .map(|o| o.name.clone())
        .collect();
    for name in &float_outputs {
        let internal = format!("{name}__fp16");
        for node in &mut graph.node {
            for v in node
                .output
                .iter_mut()
                .chain(node.input.iter_mut())
                .filter(|v| *v == name)
            {
                *v = internal.clone();
            }
        }
        graph.node.push(cast_node(&internal, name, float32));
        changes += 1;
    }
    Ok(changes)
}

fn cast_node(input: &str, output: &str, to: i32) -> NodeProto {
    NodeProto {
        input: vec![input.to_string()],
        output: vec![output.to_string()],
        name: format!("sysnoise_cast_{output}"),
        op_type: "Cast".into(),
        attribute: vec![attr::int("to", i64::from(to))],
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceil_mode_and_resize_mode_flip_on_the_builtin_cnn() {
        let cnn = crate::demo::small_cnn();
        let (flipped, report) = apply(&cnn, Rewrite::CeilModeFlip).unwrap();
        assert_eq!(report.changes, 1);
        let pool = flipped.graph().node.iter().find(|n| n.op_type == "MaxPool").unwrap();
        let before = cnn.graph().node.iter().find(|n| n.op_type == "MaxPool").unwrap();
        assert_ne!(int_attribute(pool, "ceil_mode"), int_attribute(before, "ceil_mode"));
        let (swapped, report) = apply(&cnn, Rewrite::ResizeModeSwap).unwrap();
        assert_eq!(report.changes, 1);
        let twice = apply(&swapped, Rewrite::ResizeModeSwap).unwrap().0;
        let mode = |m: &Model| {
            let n = m.graph().node.iter().find(|n| n.op_type == "Resize").unwrap();
            n.attribute.iter().find(|a| a.name == "mode").map(|a| a.s.clone())
        };
        assert_ne!(mode(&swapped), mode(&twice));
    }
}
