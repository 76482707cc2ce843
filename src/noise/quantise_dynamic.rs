//! INT8 post-training dynamic quantisation, as onnxruntime.quantization's `quantize_dynamic`
//! does it with its defaults: SysNoise's "INT8 dynamic" precision (the usual way language models
//! are quantised, no calibration data).
//!
//! Every MatMul whose B is a float32 rank-2 initialiser (ORT's `MatMulConstBOnly`, on by default
//! in dynamic mode) becomes
//!
//! ```text
//! A ─ DynamicQuantizeLinear ─┬ A_quantized ─┐
//!                            ├ A_zero_point ┼ MatMulInteger(·, B_quantized, ·, B_zero_point) ─ Cast(float) ─┐
//!                            └ A_scale ─ Mul(B_scale) ──────────────────────────────────────────────────── Mul ─ Y
//! ```
//!
//! with B symmetric int8 per tensor (`scale = max|B| / 127`, zero point 0, ties to even) and A
//! asymmetric uint8 with its range measured on every run. An A read by several MatMuls is
//! quantised once; a weight read by several, once. Biases (the Add after a MatMul) stay float.
//! Not covered: Conv (ORT makes ConvInteger of it), Gather of embedding tables, Attention and
//! LSTM (ORT contrib ops), per-channel weights (`per_channel=True`), `reduce_range`.

use std::collections::{HashMap, HashSet};

use ndarray::{ArrayD, IxDyn};
use sysnoise_boundary::model::names_read;
use sysnoise_boundary::onnx::NodeProto;
use sysnoise_boundary::{DType, Model, Tensor, attr};

use crate::error::EngineError;
use crate::noise::quantise::{self, Names};
use crate::noise::rewrite::Rewritten;

fn node(op_type: &str, name: String, inputs: &[&str], outputs: &[&str]) -> NodeProto {
    NodeProto {
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: outputs.iter().map(|s| s.to_string()).collect(),
        name,
        op_type: op_type.to_string(),
        ..Default::default()
    }
}

/// The per-run quantisation of one activation: its uint8 values, scale and zero point.
struct QuantisedActivation {
    values: String,
    scale: String,
    zero_point: String,
}

/// Quantises every MatMul with a constant 2-D float32 weight (see the module docs). `changes`
/// counts the quantised MatMuls; 0 means the precision does not apply to this model.
pub fn quantise_dynamic(model: &Model) -> Result<(Model, Rewritten), EngineError> {
    // Weights exported as Constant nodes become initialisers; other Constants stay as they are
    // (ORT's fusions look at them).
    let weight_names: HashSet<&str> = model
        .graph()
        .node
        .iter()
        .filter(|n| n.op_type == "MatMul" && n.input.len() == 2)
        .map(|n| n.input[1].as_str())
        .collect();
    let mut out = quantise::constants_named_as_initialisers(model, |name| weight_names.contains(name));
    quantise::raise_opset(&mut out)?;
    let graph = out.graph_mut();
    let mut names = Names::of(graph);
    let fed: HashSet<String> = graph.input.iter().map(|i| i.name.clone()).collect();
    let weights: HashMap<String, ArrayD<f32>> = graph
        .initializer
        .iter()
        .filter(|t| !fed.contains(&t.name) && t.data_type == DType::F32.onnx_code() && t.dims.len() == 2)
        .map(|t| Ok((t.name.clone(), quantise::weight_values(t)?)))
        .collect::<Result<_, EngineError>>()?;
    let mut activations: HashMap<String, QuantisedActivation> = HashMap::new();
    let mut quantised_weights: HashMap<String, (String, String, String)> = HashMap::new();
    let mut initialisers = Vec::new();
    let mut nodes = Vec::with_capacity(graph.node.len());
    let mut changes = 0;
    for matmul in std::mem::take(&mut graph.node) {
        let weight = (matmul.op_type == "MatMul" && matmul.domain.is_empty() && matmul.input.len() == 2)
            .then(|| weights.get(&matmul.input[1]))
            .flatten();
        let Some(weight) = weight else {
            nodes.push(matmul);
            continue;
        };
        let (a, b, y) = (
            matmul.input[0].clone(),
            matmul.input[1].clone(),
            matmul.output[0].clone(),
        );
        if !activations.contains_key(&a) {
            let q = QuantisedActivation {
                values: names.fresh(format!("{a}_quantized"))?,
                scale: names.fresh(format!("{a}_scale"))?,
                zero_point: names.fresh(format!("{a}_zero_point"))?,
            };
            nodes.push(node(
                "DynamicQuantizeLinear",
                names.fresh(format!("{a}_QuantizeLinear"))?,
                &[&a],
                &[&q.values, &q.scale, &q.zero_point],
            ));
            activations.insert(a.clone(), q);
        }
        if !quantised_weights.contains_key(&b) {
            let (values, scales) = quantise::quantise_weight(weight, None);
            let names_of = (
                names.fresh(format!("{b}_quantized"))?,
                names.fresh(format!("{b}_scale"))?,
                names.fresh(format!("{b}_zero_point"))?,
            );
            initialisers.push(Tensor::I8(values).to_proto(&names_of.0));
            initialisers.push(Tensor::F32(ArrayD::from_elem(IxDyn(&[]), scales[0])).to_proto(&names_of.1));
            initialisers.push(Tensor::I8(ArrayD::zeros(IxDyn(&[]))).to_proto(&names_of.2));
            quantised_weights.insert(b.clone(), names_of);
        }
        let q = &activations[&a];
        let (b_values, b_scale, b_zero_point) = &quantised_weights[&b];
        let base = if matmul.name.is_empty() {
            y.clone()
        } else {
            matmul.name.clone()
        };
        let integer = names.fresh(format!("{y}_output_quantized"))?;
        let float = names.fresh(format!("{y}_output_quantized_cast_output"))?;
        let scale = names.fresh(format!("{base}_scales_mul_output"))?;
        nodes.push(node(
            "MatMulInteger",
            names.fresh(format!("{base}_quant"))?,
            &[&q.values, b_values, &q.zero_point, b_zero_point],
            &[&integer],
        ));
        let mut cast = node(
            "Cast",
            names.fresh(format!("{y}_output_quantized_cast"))?,
            &[&integer],
            &[&float],
        );
        cast.attribute.push(attr::int("to", i64::from(DType::F32.onnx_code())));
        nodes.push(cast);
        nodes.push(node(
            "Mul",
            names.fresh(format!("{base}_scales_mul"))?,
            &[&q.scale, b_scale],
            &[&scale],
        ));
        nodes.push(node(
            "Mul",
            names.fresh(format!("{base}_output_scale_mul"))?,
            &[&float, &scale],
            &[&y],
        ));
        changes += 1;
    }
    graph.node = nodes;
    // Float weights nothing reads any more go.
    // (subgraphs included: a body that reads the float weight keeps it.)
    let read: HashSet<&str> = names_read(graph).into_iter().collect();
    let replaced: HashSet<String> = quantised_weights
        .keys()
        .filter(|w| !read.contains(w.as_str()))
        .cloned()
        .collect();
    graph.initializer.retain(|t| !replaced.contains(&t.name));
    graph.initializer.extend(initialisers);
    Ok((out, Rewritten { changes }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sysnoise_boundary::GraphBuilder;

    #[test]
    fn a_matmul_with_a_constant_weight_becomes_matmul_integer_and_shares_the_activation() {
        let w = Tensor::F32(ArrayD::from_shape_vec(vec![2, 2], vec![0.5, -1.0, 0.25, 2.0]).unwrap());
        let mut g = GraphBuilder::new("g", 13);
        g.input("x", DType::F32, &[1, 2]);
        g.constant("w", &w);
        g.node("MatMul", "y", &["x", "w"], vec![]);
        g.node("MatMul", "z", &["x", "w"], vec![]);
        g.node("MatMul", "t", &["y", "z"], vec![]);
        g.output("t", DType::F32);
        let model = g.build();
        let (quantised, what) = quantise_dynamic(&model).unwrap();
        assert_eq!(what.changes, 2, "the activation x activation MatMul stays float");
        let ops: Vec<&str> = quantised.graph().node.iter().map(|n| n.op_type.as_str()).collect();
        assert_eq!(ops.iter().filter(|o| **o == "DynamicQuantizeLinear").count(), 1);
        assert_eq!(ops.iter().filter(|o| **o == "MatMulInteger").count(), 2);
        assert_eq!(ops.last(), Some(&"MatMul"));
        let inits: Vec<&str> = quantised.graph().initializer.iter().map(|t| t.name.as_str()).collect();
        assert!(inits.contains(&"w_quantized") && !inits.contains(&"w"), "{inits:?}");
    }
}
