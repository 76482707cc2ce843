//! Shared helpers of the LibTorch adapter's tests: one-node models, seeded inputs and the
//! comparison of LibTorch's outputs with the reference interpreter's.
#![allow(dead_code)]

use ndarray::{ArrayD, IxDyn};
use sysnoise_boundary::onnx::AttributeProto;
use sysnoise_boundary::{DType, GraphBuilder, Model, NamedTensors, Runtime, RuntimeError, Tensor};
use sysnoise_reference::Reference;
use sysnoise_torch::{Precision, TorchDevice, TorchOptions, TorchRuntime};

pub use sysnoise_boundary::attr;

/// The `torch` runtime (CPU, the model's dtypes), or one in a reduced precision.
pub fn torch(precision: Precision) -> TorchRuntime {
    TorchRuntime::new(
        "torch",
        TorchOptions {
            device: TorchDevice::Cpu,
            precision,
        },
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

pub fn tensor<T>(shape: &[usize], values: Vec<T>) -> Tensor
where
    Tensor: From<ArrayD<T>>,
{
    Tensor::from(ArrayD::from_shape_vec(IxDyn(shape), values).expect("values fit the shape"))
}

pub fn f32s(shape: &[usize], values: &[f32]) -> Tensor {
    tensor(shape, values.to_vec())
}

pub fn i64s(shape: &[usize], values: &[i64]) -> Tensor {
    tensor(shape, values.to_vec())
}

pub fn i32s(shape: &[usize], values: &[i32]) -> Tensor {
    tensor(shape, values.to_vec())
}

pub fn bools(shape: &[usize], values: &[bool]) -> Tensor {
    tensor(shape, values.to_vec())
}

/// A 1-D i64 tensor.
pub fn ints(values: &[i64]) -> Tensor {
    i64s(&[values.len()], values)
}

/// Deterministic values in [-4, 4) (a 64-bit LCG seeded by `seed`).
pub fn seeded(shape: &[usize], seed: u64) -> Tensor {
    let n: usize = shape.iter().product();
    let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    let values = (0..n)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 40) as f32 / (1u64 << 24) as f32) * 8.0 - 4.0
        })
        .collect();
    tensor(shape, values)
}

/// A one-node model under construction, with its fed inputs.
pub struct Case {
    op: String,
    opset: i64,
    graph_inputs: Vec<(String, Tensor)>,
    constants: Vec<(String, Tensor)>,
    node_inputs: Vec<String>,
    attributes: Vec<AttributeProto>,
    outputs: Vec<(String, DType)>,
}

pub fn case(op: &str, opset: i64) -> Case {
    Case {
        op: op.to_string(),
        opset,
        graph_inputs: Vec::new(),
        constants: Vec::new(),
        node_inputs: Vec::new(),
        attributes: Vec::new(),
        outputs: Vec::new(),
    }
}

impl Case {
    /// A graph input, fed at run time.
    pub fn input(mut self, name: &str, t: Tensor) -> Case {
        self.node_inputs.push(name.to_string());
        self.graph_inputs.push((name.to_string(), t));
        self
    }

    /// An initialiser.
    pub fn constant(mut self, name: &str, t: Tensor) -> Case {
        self.node_inputs.push(name.to_string());
        self.constants.push((name.to_string(), t));
        self
    }

    /// An omitted optional input.
    pub fn omitted(mut self) -> Case {
        self.node_inputs.push(String::new());
        self
    }

    pub fn attr(mut self, a: AttributeProto) -> Case {
        self.attributes.push(a);
        self
    }

    pub fn output(mut self, name: &str, dtype: DType) -> Case {
        self.outputs.push((name.to_string(), dtype));
        self
    }

    pub fn model(&self) -> Model {
        let mut g = GraphBuilder::new(&format!("{}_case", self.op), self.opset);
        for (name, t) in &self.graph_inputs {
            g.input(name, t.dtype(), t.shape());
        }
        for (name, t) in &self.constants {
            g.constant(name, t);
        }
        let inputs: Vec<&str> = self.node_inputs.iter().map(String::as_str).collect();
        let outputs: Vec<&str> = self.outputs.iter().map(|(n, _)| n.as_str()).collect();
        g.node_with_outputs(&self.op, "node", &inputs, &outputs, self.attributes.clone());
        for (name, dtype) in &self.outputs {
            g.output(name, *dtype);
        }
        g.build()
    }

    pub fn run(&self, runtime: &dyn Runtime) -> Result<NamedTensors, RuntimeError> {
        runtime.prepare(&self.model())?.run(&self.graph_inputs)
    }

    /// Asserts LibTorch agrees with the reference within `atol + rtol * |reference|` (floats;
    /// integers and bools exactly; NaN where the reference has NaN).
    pub fn agrees(&self, atol: f64, rtol: f64) {
        self.agrees_in(Precision::Native, atol, rtol);
    }

    /// Asserts bit-for-bit agreement (data movement, integer arithmetic).
    pub fn exact(&self) {
        self.agrees(0.0, 0.0);
    }

    pub fn agrees_in(&self, precision: Precision, atol: f64, rtol: f64) {
        let label = format!("{} (opset {})", self.op, self.opset);
        let expected = self
            .run(&Reference)
            .unwrap_or_else(|e| panic!("{label}: reference: {e}"));
        let actual = self
            .run(&torch(precision))
            .unwrap_or_else(|e| panic!("{label}: torch: {e}"));
        assert_eq!(actual.len(), expected.len(), "{label}");
        for ((name, want), (got_name, got)) in expected.iter().zip(&actual) {
            assert_eq!(name, got_name, "{label}");
            assert_eq!(got.dtype(), want.dtype(), "{label}: {name}");
            assert_eq!(got.shape(), want.shape(), "{label}: {name}");
            let (w, g) = (want.to_f64_vec(), got.to_f64_vec());
            for (i, (a, b)) in w.iter().zip(&g).enumerate() {
                let close = (a.is_nan() && b.is_nan()) || a == b || (a - b).abs() <= atol + rtol * a.abs();
                assert!(
                    close,
                    "{label}: {name}[{i}]: reference {a}, torch {b}\nreference {w:?}\ntorch     {g:?}"
                );
            }
        }
    }

    /// Asserts LibTorch declines the node (at prepare or run time) as `Unsupported`, naming
    /// the node; returns the reason.
    pub fn unsupported(&self) -> String {
        let label = format!("{} (opset {})", self.op, self.opset);
        match self.run(&torch(Precision::Native)) {
            Ok(out) => panic!("{label}: expected Unsupported, got {out:?}"),
            Err(e) => {
                assert!(e.is_unsupported(), "{label}: {e}");
                assert_eq!(e.node(), Some("node"), "{label}: {e}");
                e.to_string()
            }
        }
    }

    /// Asserts LibTorch declines the node already at prepare time.
    pub fn unsupported_at_prepare(&self) -> String {
        match torch(Precision::Native).prepare(&self.model()) {
            Ok(_) => panic!("{}: expected Unsupported at prepare", self.op),
            Err(e) => {
                assert!(e.is_unsupported(), "{}: {e}", self.op);
                assert_eq!(e.node(), Some("node"), "{e}");
                e.to_string()
            }
        }
    }
}
