//! The operator catalog: for each ONNX op sysnoise generates, its dtypes and a proptest
//! strategy over its attribute space and input shapes. One file per op family; each exposes
//! `specs()`. A strategy yields an [`OpCase`] (a single-op graph description); its shrinking
//! goes toward smaller shapes and default attributes.

mod conv;
mod elementwise;
mod matmul;
mod normalization;
mod pool;
mod recurrent;
mod reduce;
mod resize;
mod shape_ops;
mod softmax;

use std::fmt::Write as _;

use proptest::prelude::*;
use proptest::strategy::BoxedStrategy;
use sysnoise_boundary::onnx::{AttributeProto, attribute_type};
use sysnoise_boundary::{DType, GraphBuilder, Model, Tensor};

/// What an input of a generated case holds.
#[derive(Clone, Debug, PartialEq)]
pub enum Role {
    /// Data filled by the value regime; always a graph input.
    Data,
    /// Parameters with random values (weights, biases, scales): a graph input or a constant,
    /// as [`OpCase::constant_weights`] says.
    Weight,
    /// A value fixed by the op's semantics (a Reshape shape, axes, pads, Resize scales, Gather
    /// indices): always a constant.
    Fixed(Tensor),
    /// An optional input left out (empty name in the node).
    Omitted,
}

/// One input position of a generated case.
#[derive(Clone, Debug, PartialEq)]
pub struct InputDesc {
    pub dtype: DType,
    pub shape: Vec<usize>,
    pub role: Role,
}

impl InputDesc {
    pub fn data(dtype: DType, shape: Vec<usize>) -> InputDesc {
        InputDesc {
            dtype,
            shape,
            role: Role::Data,
        }
    }

    pub fn weight(dtype: DType, shape: Vec<usize>) -> InputDesc {
        InputDesc {
            dtype,
            shape,
            role: Role::Weight,
        }
    }

    pub fn fixed(tensor: Tensor) -> InputDesc {
        InputDesc {
            dtype: tensor.dtype(),
            shape: tensor.shape().to_vec(),
            role: Role::Fixed(tensor),
        }
    }

    pub fn omitted() -> InputDesc {
        InputDesc {
            dtype: DType::F32,
            shape: vec![],
            role: Role::Omitted,
        }
    }
}

/// A single-op test case: everything but the input values.
#[derive(Clone, Debug, PartialEq)]
pub struct OpCase {
    pub op_type: &'static str,
    pub opset: i64,
    /// The element type the case is about (the signature's dtype).
    pub dtype: DType,
    pub inputs: Vec<InputDesc>,
    pub attributes: Vec<AttributeProto>,
    pub num_outputs: usize,
    /// Weights as initialisers (true) or as graph inputs (false).
    pub constant_weights: bool,
}

impl OpCase {
    /// A case with one output, opset 17, weights as constants.
    pub fn new(op_type: &'static str, dtype: DType, inputs: Vec<InputDesc>, attributes: Vec<AttributeProto>) -> OpCase {
        OpCase {
            op_type,
            opset: 17,
            dtype,
            inputs,
            attributes,
            num_outputs: 1,
            constant_weights: true,
        }
    }

    /// The coarse class of the attribute choices, for finding signatures: categorical values
    /// verbatim (`ceil_mode=1`, `mode=linear`), padding as zero/nonzero, strides and
    /// dilations as 1/>1, group as 1/>1; sizes (kernel_shape, perm, axes, hidden_size...)
    /// and floats left out, so one bug seen at many sizes is one finding.
    pub fn attribute_class(&self) -> String {
        let mut parts: Vec<String> = self.attributes.iter().filter_map(attribute_class_of).collect();
        parts.sort();
        parts.join(",")
    }

    /// Input names in node order (`""` for omitted inputs).
    pub fn input_names(&self) -> Vec<String> {
        self.inputs
            .iter()
            .enumerate()
            .map(|(i, d)| {
                if d.role == Role::Omitted {
                    String::new()
                } else {
                    format!("in{i}")
                }
            })
            .collect()
    }

    /// The single-node model. `values` must hold a tensor for each weight when weights are
    /// constants (see [`crate::values`]); fixed inputs are always constants.
    pub fn model(&self, weights: &[(String, Tensor)]) -> Model {
        let mut g = GraphBuilder::new(&format!("sysnoise_{}", self.op_type), self.opset);
        let names = self.input_names();
        for (desc, name) in self.inputs.iter().zip(&names) {
            match &desc.role {
                Role::Data => {
                    g.input(name, desc.dtype, &desc.shape);
                }
                Role::Weight if !self.constant_weights => {
                    g.input(name, desc.dtype, &desc.shape);
                }
                Role::Weight => {
                    let value = weights.iter().find(|(n, _)| n == name).map(|(_, t)| t.clone());
                    g.constant(name, &value.unwrap_or_else(|| Tensor::zeros(desc.dtype, &desc.shape)));
                }
                Role::Fixed(t) => {
                    g.constant(name, t);
                }
                Role::Omitted => {}
            }
        }
        let outputs: Vec<String> = (0..self.num_outputs).map(|i| format!("out{i}")).collect();
        let inputs: Vec<&str> = names.iter().map(String::as_str).collect();
        let output_refs: Vec<&str> = outputs.iter().map(String::as_str).collect();
        g.node_with_outputs(self.op_type, "op", &inputs, &output_refs, self.attributes.clone());
        let mut model = g.build();
        // Output types are left to the runtimes' inference (no ValueInfo type), as exporters do.
        model.graph_mut().output = outputs
            .iter()
            .map(|n| sysnoise_boundary::onnx::ValueInfoProto {
                name: n.clone(),
                ..Default::default()
            })
            .collect();
        model
    }

    /// One line for humans: `MaxPool f32 in0[1,3,8,8] ceil_mode=1,pads:mixed`.
    pub fn describe(&self) -> String {
        let mut s = format!("{} {}", self.op_type, self.dtype);
        for (i, d) in self.inputs.iter().enumerate() {
            if d.role != Role::Omitted {
                let _ = write!(s, " in{i}{:?}", d.shape);
            }
        }
        let class = self.attribute_class();
        if !class.is_empty() {
            let _ = write!(s, " {class}");
        }
        s
    }
}

/// The class of one attribute (see [`OpCase::attribute_class`]); `None` when it does not matter.
fn attribute_class_of(a: &AttributeProto) -> Option<String> {
    const SIZES: &[&str] = &[
        "kernel_shape",
        "output_shape",
        "perm",
        "axes",
        "split",
        "shape",
        "hidden_size",
        "num_outputs",
    ];
    if SIZES.contains(&a.name.as_str()) {
        return None;
    }
    match a.r#type {
        attribute_type::STRING => Some(format!("{}={}", a.name, String::from_utf8_lossy(&a.s))),
        attribute_type::INT if a.name == "group" => Some(format!("group{}", if a.i > 1 { ">1" } else { "=1" })),
        attribute_type::INT => Some(format!("{}={}", a.name, a.i)),
        attribute_type::INTS if a.name.contains("pad") => Some(format!(
            "{}:{}",
            a.name,
            if a.ints.iter().all(|&v| v == 0) {
                "zero"
            } else {
                "nonzero"
            }
        )),
        attribute_type::INTS => Some(format!(
            "{}{}",
            a.name,
            if a.ints.iter().all(|&v| v == 1) { "=1" } else { ">1" }
        )),
        _ => None,
    }
}

/// One op the catalog can generate.
pub struct OpSpec {
    pub op_type: &'static str,
    pub family: &'static str,
    pub dtypes: &'static [DType],
    /// Cases of this op for one of its dtypes.
    pub strategy: fn(DType) -> BoxedStrategy<OpCase>,
}

impl OpSpec {
    /// A catalog entry (a non-capturing closure coerces to the `strategy` function pointer).
    pub fn new(
        family: &'static str,
        op_type: &'static str,
        dtypes: &'static [DType],
        strategy: fn(DType) -> BoxedStrategy<OpCase>,
    ) -> OpSpec {
        OpSpec {
            op_type,
            family,
            dtypes,
            strategy,
        }
    }
}

impl std::fmt::Debug for OpSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpSpec")
            .field("op_type", &self.op_type)
            .field("family", &self.family)
            .field("dtypes", &self.dtypes)
            .finish()
    }
}

/// Every op the catalog generates, sorted by op type.
pub fn catalog() -> Vec<OpSpec> {
    let mut specs: Vec<OpSpec> = [
        conv::specs(),
        elementwise::specs(),
        matmul::specs(),
        normalization::specs(),
        pool::specs(),
        recurrent::specs(),
        reduce::specs(),
        resize::specs(),
        shape_ops::specs(),
        softmax::specs(),
    ]
    .into_iter()
    .flatten()
    .collect();
    specs.sort_by_key(|s| s.op_type);
    specs
}

/// Float dtypes every runtime has kernels for.
pub const FLOATS: &[DType] = &[DType::F32];
/// Float dtypes including the half precisions.
pub const FLOATS_AND_HALVES: &[DType] = &[DType::F32, DType::F16, DType::F64];

/// A shape of rank in `ranks` with dims in `dims` (shrinks toward rank and dims at the low end).
pub fn shape(
    ranks: std::ops::RangeInclusive<usize>,
    dims: std::ops::RangeInclusive<usize>,
) -> BoxedStrategy<Vec<usize>> {
    ranks
        .prop_flat_map(move |r| proptest::collection::vec(dims.clone(), r))
        .boxed()
}

/// A shape that broadcasts against `shape`: same rank or shorter, each dim equal or 1.
pub fn broadcastable_to(shape: Vec<usize>) -> BoxedStrategy<Vec<usize>> {
    let rank = shape.len();
    (0..=rank)
        .prop_flat_map(move |drop| {
            let tail = shape[drop..].to_vec();
            proptest::collection::vec(any::<bool>(), tail.len()).prop_map(move |ones| {
                tail.iter()
                    .zip(&ones)
                    .map(|(&d, &one)| if one { 1 } else { d })
                    .collect()
            })
        })
        .prop_map(|s: Vec<usize>| s)
        .boxed()
}

/// Attribute constructors re-exported for family files.
pub use sysnoise_boundary::attr;

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::test_runner::TestRunner;

    #[test]
    fn every_spec_builds_models_the_reference_accepts() {
        let mut runner = TestRunner::deterministic();
        for spec in catalog() {
            for &dtype in spec.dtypes {
                for _ in 0..5 {
                    let case = (spec.strategy)(dtype).new_tree(&mut runner).unwrap().current();
                    assert_eq!(case.op_type, spec.op_type);
                    let model = case.model(&[]);
                    assert_eq!(model.graph().node.len(), 1, "{}", case.describe());
                }
            }
        }
    }

    #[test]
    fn attribute_classes_are_coarse() {
        let case = OpCase::new(
            "MaxPool",
            DType::F32,
            vec![],
            vec![
                attr::int("ceil_mode", 1),
                attr::ints("pads", &[0, 1, 0, 1]),
                attr::ints("kernel_shape", &[3, 3]),
                attr::ints("strides", &[2, 1]),
                attr::float("alpha", 0.3),
            ],
        );
        assert_eq!(case.attribute_class(), "ceil_mode=1,pads:nonzero,strides>1");
    }
}
