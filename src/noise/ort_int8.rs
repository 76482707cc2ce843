//! ONNX Runtime's int8 arithmetic on a QDQ model, computed by the reference: the runtimes
//! `emulated-ort-avx2` (MLAS's `pmaddubsw` kernels: AVX2, AVX-512BW without VNNI) and
//! `emulated-ort-vnni` (VNNI, AMX, aarch64: exact accumulation).
//!
//! ORT fuses `DequantizeLinear → Conv / Gemm / MatMul / GlobalAveragePool → QuantizeLinear`
//! (a Relu in between too, when the output's zero point is the type's minimum) into integer
//! kernels: an int32 accumulation of the raw 8-bit values, the bias and the input zero point's
//! term added in int32, then one f32 multiply by `x_scale · w_scale / y_scale` (itself computed
//! in f32), rounding half to even, the output zero point and saturation. [`lower`] writes that
//! arithmetic in standard ONNX ops (ConvInteger / MatMulInteger / ReduceSum, Cast, Mul, Round,
//! Clip), and the reference runs it with the chosen u8 × s8 accumulation; every other Q/DQ node
//! becomes float arithmetic as in [`expand_qdq`]. Bit for bit equal to ORT 1.32's int8 outputs
//! on an AVX2 CPU and on an AVX512-VNNI CPU for the Fashion-MNIST CNN (tests/int8_isa.rs).

use std::collections::HashMap;

use ndarray::{ArrayD, IxDyn};
use sysnoise_boundary::onnx::{NodeProto, TensorProto, data_type};
use sysnoise_boundary::{Model, Runtime, RuntimeError, Session, Tensor, U8S8Accumulation, attr};

use crate::error::EngineError;
use crate::noise::quantise::{
    Names, declared_ranks, expand_qdq, float_attribute, int_attribute, is_default_domain, op,
};

/// The emulated ORT int8 runtimes, by registry name.
pub const RUNTIMES: [(&str, U8S8Accumulation); 2] = [
    ("emulated-ort-avx2", U8S8Accumulation::SaturatingPairs),
    ("emulated-ort-vnni", U8S8Accumulation::Exact),
];

/// The reference running a QDQ model as ONNX Runtime's CPU int8 kernels compute it.
#[derive(Clone, Debug)]
pub struct EmulatedOrtInt8 {
    name: String,
    accumulation: U8S8Accumulation,
}

impl EmulatedOrtInt8 {
    pub fn new(name: &str, accumulation: U8S8Accumulation) -> EmulatedOrtInt8 {
        EmulatedOrtInt8 {
            name: name.into(),
            accumulation,
        }
    }

    /// The emulation of ORT on this CPU (what `ort` should equal, level for level).
    pub fn for_cpu(cpu: &sysnoise_boundary::Cpu) -> EmulatedOrtInt8 {
        let accumulation = sysnoise_ort::u8s8_accumulation(cpu);
        let (name, _) = RUNTIMES
            .iter()
            .find(|(_, a)| *a == accumulation)
            .expect("both kinds listed");
        EmulatedOrtInt8::new(name, accumulation)
    }
}

impl Runtime for EmulatedOrtInt8 {
    fn name(&self) -> &str {
        &self.name
    }

    fn version(&self) -> String {
        let kernels = match self.accumulation {
            U8S8Accumulation::SaturatingPairs => "pmaddubsw",
            U8S8Accumulation::Exact => "exact",
        };
        format!(
            "sysnoise-reference {}, ORT 1.32 int8 {kernels}",
            env!("CARGO_PKG_VERSION")
        )
    }

    fn prepare(&self, model: &Model) -> Result<Box<dyn Session>, RuntimeError> {
        let lowered = lower(model).map_err(|e| RuntimeError::unsupported(&self.name, e.to_string()))?;
        sysnoise_reference::prepare_with(&lowered, &self.name, self.accumulation)
    }
}

/// One quantised tensor of a fusion: its name, scale and zero point.
struct Quantised<'a> {
    name: &'a str,
    scale: f32,
    zero_point: i64,
}

/// The fused pattern around one compute node.
struct Fusion<'a> {
    /// The quantised activation a DequantizeLinear feeds the compute node.
    x: Quantised<'a>,
    /// The uint8 output of the QuantizeLinear that ends the pattern.
    y: Quantised<'a>,
    /// Node indices the fusion replaces (compute node, Relu, Q).
    replaced: Vec<usize>,
}

/// `model` with every fusable Q/DQ pattern lowered to ORT's integer arithmetic and the other
/// Q/DQ nodes expanded to float ops: a model the reference runs.
pub fn lower(model: &Model) -> Result<Model, EngineError> {
    let graph = model.graph();
    let initialisers: HashMap<&str, &TensorProto> = graph.initializer.iter().map(|t| (t.name.as_str(), t)).collect();
    let producers: HashMap<&str, usize> = graph
        .node
        .iter()
        .enumerate()
        .flat_map(|(i, n)| n.output.iter().map(move |o| (o.as_str(), i)))
        .collect();
    let mut consumers: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, n) in graph.node.iter().enumerate() {
        for input in &n.input {
            consumers.entry(input.as_str()).or_default().push(i);
        }
    }
    let outputs: Vec<&str> = graph.output.iter().map(|o| o.name.as_str()).collect();
    let only_consumer = |tensor: &str| -> Option<usize> {
        match consumers.get(tensor).map(Vec::as_slice) {
            Some([one]) if !outputs.contains(&tensor) => Some(*one),
            _ => None,
        }
    };
    let scalar = |name: &str| -> Option<f64> {
        let t = initialisers.get(name)?;
        let v = Tensor::from_proto(t).ok()?.to_f64_vec();
        (v.len() == 1).then(|| v[0])
    };
    // A DequantizeLinear of a non-constant 8-bit tensor with scalar parameters.
    let activation_dq = |tensor: &str| -> Option<Quantised> {
        let node = &graph.node[*producers.get(tensor)?];
        if node.op_type != "DequantizeLinear"
            || !is_default_domain(node)
            || initialisers.contains_key(node.input[0].as_str())
        {
            return None;
        }
        let scale = scalar(node.input.get(1)?)? as f32;
        let zero_point = node
            .input
            .get(2)
            .filter(|z| !z.is_empty())
            .map_or(Some(0.0), |z| scalar(z))? as i64;
        Some(Quantised {
            name: node.input[0].as_str(),
            scale,
            zero_point,
        })
    };
    // A DequantizeLinear of a constant with zero points 0: (quantised initialiser, scales).
    let constant_dq = |tensor: &str| -> Option<(&TensorProto, Vec<f32>)> {
        let node = &graph.node[*producers.get(tensor)?];
        if node.op_type != "DequantizeLinear" || !is_default_domain(node) {
            return None;
        }
        let q = *initialisers.get(node.input[0].as_str())?;
        let scales = Tensor::from_proto(initialisers.get(node.input.get(1)?.as_str())?)
            .ok()?
            .to_f64_vec();
        if let Some(zp) = node.input.get(2).filter(|z| !z.is_empty()) {
            let zps = Tensor::from_proto(initialisers.get(zp.as_str())?).ok()?.to_f64_vec();
            if zps.iter().any(|&z| z != 0.0) {
                return None; // asymmetric weights: other kernels
            }
        }
        Some((q, scales.iter().map(|&s| s as f32).collect()))
    };
    // The QuantizeLinear after `index` (through a Relu when the zero point is the minimum).
    let output_q = |index: usize| -> Option<(Quantised, Vec<usize>)> {
        let mut replaced = vec![index];
        let mut next = only_consumer(graph.node[index].output.first()?)?;
        let through_relu = graph.node[next].op_type == "Relu";
        if through_relu {
            replaced.push(next);
            next = only_consumer(graph.node[next].output.first()?)?;
        }
        let q = &graph.node[next];
        if q.op_type != "QuantizeLinear" || !is_default_domain(q) {
            return None;
        }
        let scale = scalar(q.input.get(1)?)? as f32;
        let zp_name = q.input.get(2).filter(|z| !z.is_empty())?;
        let zp_type = initialisers.get(zp_name.as_str())?.data_type;
        let zero_point = scalar(zp_name)? as i64;
        if zp_type != data_type::UINT8 || (through_relu && zero_point != 0) {
            return None;
        }
        replaced.push(next);
        let y = Quantised {
            name: q.output.first()?.as_str(),
            scale,
            zero_point,
        };
        Some((y, replaced))
    };

    let ranks = declared_ranks(graph);
    let mut names = Names::of(graph);
    let mut added: Vec<TensorProto> = Vec::new();
    let mut replacement: HashMap<usize, Vec<NodeProto>> = HashMap::new();
    let mut removed: Vec<usize> = Vec::new();
    for (index, node) in graph.node.iter().enumerate() {
        if !is_default_domain(node)
            || !matches!(node.op_type.as_str(), "Conv" | "Gemm" | "MatMul" | "GlobalAveragePool")
        {
            continue;
        }
        let Some(x) = node.input.first().and_then(|t| activation_dq(t)) else {
            continue;
        };
        let Some((y, replaced)) = output_q(index) else {
            continue;
        };
        let fusion = Fusion { x, y, replaced };
        let base = fusion.y.name.to_string();
        let mut fresh = |what: &str| names.fresh(format!("{base}__ort_{what}"));
        let lowered = match node.op_type.as_str() {
            "Conv" => {
                let Some((w, w_scales)) = node.input.get(1).and_then(|t| constant_dq(t)) else {
                    continue;
                };
                let bias = node.input.get(2).filter(|b| !b.is_empty()).map(|b| constant_dq(b));
                if matches!(bias, Some(None)) {
                    continue;
                }
                let maps = w.dims.first().copied().unwrap_or(1) as usize;
                let rank = w.dims.len();
                let mut conv = op(
                    "ConvInteger",
                    &[
                        fusion.x.name,
                        &w.name,
                        &zero_point_name(&mut fresh, &mut added, fusion.x.zero_point)?,
                    ],
                    &fresh("acc")?,
                    vec![],
                );
                conv.attribute = node.attribute.clone();
                let multiplier: Vec<f32> = w_scales
                    .iter()
                    .map(|ws| (fusion.x.scale * ws) / fusion.y.scale)
                    .collect();
                let per_map_shape: Vec<usize> = (0..rank).map(|d| if d == 1 { maps } else { 1 }).collect();
                let bias = bias.flatten().map(|(b, _)| b);
                requantise(
                    conv,
                    bias,
                    &multiplier,
                    &per_map_shape,
                    maps,
                    &fusion,
                    &mut fresh,
                    &mut added,
                )?
            }
            "Gemm" | "MatMul" => {
                let Some((w, w_scales)) = node.input.get(1).and_then(|t| constant_dq(t)) else {
                    continue;
                };
                let gemm = node.op_type == "Gemm";
                if w.dims.len() != 2
                    || (gemm && (int_attribute(node, "transA", 0) != 0 || float_attribute(node, "beta", 1.0) != 1.0))
                {
                    continue;
                }
                let bias = if gemm {
                    node.input.get(2).filter(|b| !b.is_empty()).map(|b| constant_dq(b))
                } else {
                    None
                };
                if matches!(bias, Some(None)) {
                    continue;
                }
                let alpha = if gemm { float_attribute(node, "alpha", 1.0) } else { 1.0 };
                let transposed_b = gemm && int_attribute(node, "transB", 0) != 0;
                // B as [K, N]: a transposed Gemm weight is transposed once here.
                let b_kn = if transposed_b {
                    let Ok(Tensor::I8(t)) = Tensor::from_proto(w) else {
                        continue;
                    };
                    let transposed = Tensor::I8(t.reversed_axes().as_standard_layout().into_owned());
                    let name = fresh("weight_kn")?;
                    added.push(transposed.to_proto(&name));
                    name
                } else {
                    w.name.clone()
                };
                let n = if transposed_b { w.dims[0] } else { w.dims[1] } as usize;
                let product = op(
                    "MatMulInteger",
                    &[
                        fusion.x.name,
                        &b_kn,
                        &zero_point_name(&mut fresh, &mut added, fusion.x.zero_point)?,
                    ],
                    &fresh("acc")?,
                    vec![],
                );
                let multiplier: Vec<f32> = w_scales
                    .iter()
                    .map(|ws| ((alpha * fusion.x.scale) * ws) / fusion.y.scale)
                    .collect();
                let bias = bias.flatten().map(|(b, _)| b);
                requantise(product, bias, &multiplier, &[n], n, &fusion, &mut fresh, &mut added)?
            }
            _ => {
                // GlobalAveragePool: Σ (x − x_zp) in int32, times f32(x_scale / f32(y_scale · N)),
                // N the spatial size (read from the shape at run time).
                let Some(&rank) = ranks.get(node.input[0].as_str()) else {
                    continue;
                };
                let int32 = i64::from(data_type::INT32);
                let float = i64::from(data_type::FLOAT);
                let [
                    wide,
                    centred,
                    acc,
                    shape,
                    spatial,
                    count,
                    count_f,
                    denominator,
                    denominator_f,
                    multiplier,
                    multiplier_f,
                ] = [
                    "int32", "centred", "acc", "shape", "spatial", "count", "count_f", "den", "den_f", "mult", "mult_f",
                ]
                .map(&mut fresh);
                let (wide, centred, acc, shape, spatial, count) = (wide?, centred?, acc?, shape?, spatial?, count?);
                let (count_f, denominator, denominator_f, multiplier, multiplier_f) =
                    (count_f?, denominator?, denominator_f?, multiplier?, multiplier_f?);
                let [zp, axes, start, end, xs, ys] =
                    ["x_zero_point_i32", "axes", "start", "end", "x_scale", "y_scale"].map(&mut fresh);
                let (zp, axes, start, end, xs, ys) = (zp?, axes?, start?, end?, xs?, ys?);
                added.push(Tensor::I32(ArrayD::from_elem(IxDyn(&[]), fusion.x.zero_point as i32)).to_proto(&zp));
                let axes_values: Vec<i64> = (2..rank as i64).collect();
                added.push(
                    Tensor::I64(ArrayD::from_shape_vec(IxDyn(&[axes_values.len()]), axes_values.clone()).expect("1-D"))
                        .to_proto(&axes),
                );
                added.push(Tensor::I64(ArrayD::from_elem(IxDyn(&[1]), 2)).to_proto(&start));
                added.push(Tensor::I64(ArrayD::from_elem(IxDyn(&[1]), rank as i64)).to_proto(&end));
                added.push(Tensor::F32(ArrayD::from_elem(IxDyn(&[]), fusion.x.scale)).to_proto(&xs));
                added.push(Tensor::F32(ArrayD::from_elem(IxDyn(&[]), fusion.y.scale)).to_proto(&ys));
                let mut nodes = vec![
                    op("Cast", &[fusion.x.name], &wide, vec![attr::int("to", int32)]),
                    op("Sub", &[&wide, &zp], &centred, vec![]),
                ];
                if model.opset("").unwrap_or(13) >= 13 {
                    nodes.push(op(
                        "ReduceSum",
                        &[&centred, &axes],
                        &acc,
                        vec![attr::int("keepdims", 1)],
                    ));
                } else {
                    nodes.push(op(
                        "ReduceSum",
                        &[&centred],
                        &acc,
                        vec![attr::ints("axes", &axes_values), attr::int("keepdims", 1)],
                    ));
                }
                nodes.extend([
                    op("Shape", &[fusion.x.name], &shape, vec![]),
                    op("Slice", &[&shape, &start, &end], &spatial, vec![]),
                    op("ReduceProd", &[&spatial], &count, vec![attr::int("keepdims", 0)]),
                    op("Cast", &[&count], &count_f, vec![attr::int("to", float)]),
                    op("Mul", &[&ys, &count_f], &denominator, vec![]),
                    op("Cast", &[&denominator], &denominator_f, vec![attr::int("to", float)]),
                    op("Div", &[&xs, &denominator_f], &multiplier, vec![]),
                    op("Cast", &[&multiplier], &multiplier_f, vec![attr::int("to", float)]),
                ]);
                nodes.extend(requantise_from(&acc, &multiplier_f, &fusion, &mut fresh, &mut added)?);
                nodes
            }
        };
        replacement.insert(fusion.replaced[0], lowered);
        removed.extend(&fusion.replaced[1..]);
    }
    let mut out = model.clone();
    let g = out.graph_mut();
    let old = std::mem::take(&mut g.node);
    for (index, node) in old.into_iter().enumerate() {
        if let Some(nodes) = replacement.remove(&index) {
            g.node.extend(nodes);
        } else if !removed.contains(&index) {
            g.node.push(node);
        }
    }
    g.initializer.extend(added);
    // The activations' DequantizeLinear nodes that fed only fused nodes are dead now; the
    // reference evaluates them anyway (harmless), and the remaining Q/DQ become float ops.
    expand_qdq(&out)
}

fn zero_point_name(
    fresh: &mut impl FnMut(&str) -> Result<String, EngineError>,
    added: &mut Vec<TensorProto>,
    zero_point: i64,
) -> Result<String, EngineError> {
    let name = fresh("x_zero_point")?;
    added.push(Tensor::U8(ArrayD::from_elem(IxDyn(&[]), zero_point as u8)).to_proto(&name));
    Ok(name)
}

/// `compute` (an int32 accumulator), plus the int32 bias, requantised.
#[allow(clippy::too_many_arguments)]
fn requantise(
    compute: NodeProto,
    bias: Option<&TensorProto>,
    multiplier: &[f32],
    shape: &[usize],
    channels: usize,
    fusion: &Fusion,
    fresh: &mut impl FnMut(&str) -> Result<String, EngineError>,
    added: &mut Vec<TensorProto>,
) -> Result<Vec<NodeProto>, EngineError> {
    let mut acc = compute.output[0].clone();
    let mut nodes = vec![compute];
    if let Some(bias) = bias {
        let mut reshaped = bias.clone();
        reshaped.name = fresh("bias")?;
        reshaped.dims = shape.iter().map(|&d| d as i64).collect();
        if reshaped.data_type != data_type::INT32 || bias.dims.iter().product::<i64>() != channels as i64 {
            return Err(EngineError::Input(format!(
                "bias '{}' is not int32 of {channels}",
                bias.name
            )));
        }
        let with_bias = fresh("acc_bias")?;
        nodes.push(op("Add", &[&acc, &reshaped.name], &with_bias, vec![]));
        added.push(reshaped);
        acc = with_bias;
    }
    if multiplier.len() != 1 && multiplier.len() != channels {
        return Err(EngineError::Input(format!(
            "{} scales for {channels} channels",
            multiplier.len()
        )));
    }
    let multiplier = multiplier.to_vec();
    let shape: Vec<usize> = if multiplier.len() == 1 { vec![] } else { shape.to_vec() };
    let m = fresh("multiplier")?;
    added.push(
        Tensor::F32(ArrayD::from_shape_vec(IxDyn(&shape), multiplier).expect("shape of the scales")).to_proto(&m),
    );
    nodes.extend(requantise_from(&acc, &m, fusion, fresh, added)?);
    Ok(nodes)
}

/// `y = saturate(round_half_even(f32(f32(acc) · multiplier)) + y_zp)` ending in the fused Q's
/// output name.
fn requantise_from(
    acc: &str,
    multiplier: &str,
    fusion: &Fusion,
    fresh: &mut impl FnMut(&str) -> Result<String, EngineError>,
    added: &mut Vec<TensorProto>,
) -> Result<Vec<NodeProto>, EngineError> {
    let float = i64::from(data_type::FLOAT);
    let m = multiplier;
    let (zp, lo, hi) = (fresh("y_zero_point")?, fresh("qmin")?, fresh("qmax")?);
    added.push(Tensor::F32(ArrayD::from_elem(IxDyn(&[]), fusion.y.zero_point as f32)).to_proto(&zp));
    added.push(Tensor::F32(ArrayD::from_elem(IxDyn(&[]), 0.0)).to_proto(&lo));
    added.push(Tensor::F32(ArrayD::from_elem(IxDyn(&[]), 255.0)).to_proto(&hi));
    let names: Vec<String> = ["float", "scaled", "scaled_f32", "rounded", "shifted", "clipped"]
        .into_iter()
        .map(&mut *fresh)
        .collect::<Result<_, _>>()?;
    let mut last = op(
        "Cast",
        &[&names[5]],
        fusion.y.name,
        vec![attr::int("to", i64::from(data_type::UINT8))],
    );
    last.name = format!("{}__ort_requantised", fusion.y.name);
    Ok(vec![
        op("Cast", &[acc], &names[0], vec![attr::int("to", float)]),
        op("Mul", &[&names[0], m], &names[1], vec![]),
        // The reference multiplies in f64; MLAS in f32: round the product to f32.
        op("Cast", &[&names[1]], &names[2], vec![attr::int("to", float)]),
        op("Round", &[&names[2]], &names[3], vec![]),
        op("Add", &[&names[3], &zp], &names[4], vec![]),
        op("Clip", &[&names[4], &lo, &hi], &names[5], vec![]),
        last,
    ])
}
