//! Input values for generated cases, by value regime; every draw comes from the case's seed.

use ndarray::{ArrayD, IxDyn};
use rand::Rng;
use serde::{Deserialize, Serialize};
use sysnoise_boundary::{DType, NamedTensors, Tensor};

use crate::catalog::{OpCase, Role};

/// How input values are drawn. The regime is part of a finding's description.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Regime {
    /// Floats uniform in [-1, 1) (weights likewise), small integers, fair bools.
    #[default]
    Typical,
    /// Mostly typical, with edge values mixed in: ±0, subnormals, ±max, halves (rounding ties),
    /// large magnitudes (large trig arguments), integer extremes.
    Edge,
    /// Typical values, searched (redrawn at shrinking magnitudes) until the reference's outputs
    /// are all finite, so no NaN/Inf hides a numeric divergence.
    Finite,
}

impl Regime {
    pub fn name(self) -> &'static str {
        match self {
            Regime::Typical => "typical",
            Regime::Edge => "edge",
            Regime::Finite => "finite",
        }
    }
}

fn typical(rng: &mut impl Rng, dtype: DType) -> f64 {
    if dtype.is_float() {
        rng.random_range(-1.0..1.0)
    } else if dtype == DType::Bool {
        f64::from(u8::from(rng.random_bool(0.5)))
    } else if dtype.is_signed_int() {
        f64::from(rng.random_range(-4i32..=4))
    } else {
        f64::from(rng.random_range(0u32..=8))
    }
}

/// Edge values of a dtype (all representable in it).
fn edges(dtype: DType) -> Vec<f64> {
    match dtype {
        DType::F32 => vec![
            0.0,
            -0.0,
            0.5,
            -0.5,
            1.5,
            2.5,
            f64::from(f32::MIN_POSITIVE) / 4.0,
            f64::from(f32::MAX),
            -1e4,
            1e4,
        ],
        DType::F16 => vec![0.0, -0.0, 0.5, -0.5, 1.5, 2.5, 6e-8, 65504.0, -1e3, 1e3],
        DType::BF16 => vec![0.0, -0.0, 0.5, -0.5, 1.5, 2.5, 1e-39, 3e38, -1e4, 1e4],
        DType::F64 => vec![0.0, -0.0, 0.5, -0.5, 1.5, 2.5, 1e-310, f64::MAX, -1e6, 1e6],
        DType::I8 => vec![0.0, -1.0, 127.0, -128.0],
        DType::I16 => vec![0.0, -1.0, 32767.0, -32768.0],
        DType::I32 => vec![0.0, -1.0, 2147483647.0, -2147483648.0],
        DType::I64 => vec![0.0, -1.0, 9.007199254740991e15, -9.007199254740991e15],
        DType::U8 => vec![0.0, 255.0],
        DType::U16 => vec![0.0, 65535.0],
        DType::U32 => vec![0.0, 4294967295.0],
        DType::U64 => vec![0.0, 9.007199254740991e15],
        _ => vec![0.0, 1.0],
    }
}

/// A tensor of `dtype` and `shape` in `regime`.
pub fn tensor(rng: &mut impl Rng, dtype: DType, shape: &[usize], regime: Regime) -> Tensor {
    let count: usize = shape.iter().product();
    let edge_values = edges(dtype);
    let values: Vec<f64> = (0..count)
        .map(|_| match regime {
            Regime::Edge if rng.random_bool(0.3) => edge_values[rng.random_range(0..edge_values.len())],
            _ => typical(rng, dtype),
        })
        .collect();
    Tensor::from_f64(
        dtype,
        &ArrayD::from_shape_vec(IxDyn(shape), values).expect("count matches shape"),
    )
}

/// The same tensor with `f` applied to its float values (other dtypes unchanged).
pub fn mapped(tensor: &Tensor, f: impl Fn(f64) -> f64) -> Tensor {
    if !tensor.dtype().is_float() {
        return tensor.clone();
    }
    Tensor::from_f64(tensor.dtype(), &tensor.to_f64_array().mapv(f))
}

/// Values for a case: `(graph inputs, weights)`. Weights are fed as graph inputs or become
/// constants of the model, as the case says.
pub fn for_case(case: &OpCase, rng: &mut impl Rng, regime: Regime) -> (NamedTensors, NamedTensors) {
    let mut inputs = Vec::new();
    let mut weights = Vec::new();
    for (desc, name) in case.inputs.iter().zip(case.input_names()) {
        match desc.role {
            Role::Data => inputs.push((name, tensor(rng, desc.dtype, &desc.shape, regime))),
            Role::Weight => {
                // Weights stay typical: the regime is about the data.
                let value = tensor(rng, desc.dtype, &desc.shape, Regime::Typical);
                if case.constant_weights {
                    weights.push((name, value));
                } else {
                    inputs.push((name, value));
                }
            }
            Role::Fixed(_) | Role::Omitted => {}
        }
    }
    (inputs, weights)
}
