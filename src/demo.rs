//! Built-in models (`builtin:NAME`): made in code, so the main job runs with no download.

use ndarray::{ArrayD, IxDyn};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sysnoise_boundary::{DType, GraphBuilder, Model, Tensor, attr};

use crate::error::EngineError;

/// Names accepted after `builtin:`, with a description.
pub const BUILTINS: &[(&str, &str)] = &[
    (
        "cnn",
        "small image classifier: Conv/Relu, MaxPool(ceil_mode), Conv, Resize, GlobalAveragePool, Gemm, Softmax",
    ),
    (
        "matmul",
        "one MatMul of a 64x512 input by a 512x256 weight: the precision probe (compare torch with torch-bf16 / torch-cuda-bf16)",
    ),
];

/// Builds the built-in model `name`.
pub fn builtin(name: &str) -> Result<Model, EngineError> {
    match name {
        "cnn" => Ok(small_cnn()),
        "matmul" => Ok(matmul()),
        _ => {
            let names: Vec<&str> = BUILTINS.iter().map(|(n, _)| *n).collect();
            Err(EngineError::Usage(format!(
                "unknown built-in model '{name}' (known: {})",
                names.join(", ")
            )))
        }
    }
}

/// Weights drawn from a fixed seed, scaled like He initialisation.
fn weights(rng: &mut ChaCha8Rng, shape: &[usize], fan_in: usize) -> Tensor {
    let scale = (2.0 / fan_in as f64).sqrt();
    let count = shape.iter().product();
    let values: Vec<f32> = (0..count)
        .map(|_| (rng.random_range(-1.0..1.0) * scale) as f32)
        .collect();
    Tensor::F32(ArrayD::from_shape_vec(IxDyn(shape), values).expect("shape"))
}

/// A 9-node CNN on 1×3×16×16 images with 10 classes; every runtime should agree on it.
pub fn small_cnn() -> Model {
    let mut rng = ChaCha8Rng::seed_from_u64(20230601);
    let mut g = GraphBuilder::new("sysnoise_small_cnn", 17);
    g.input("image", DType::F32, &[1, 3, 16, 16]);
    let w1 = g.constant("conv1.weight", &weights(&mut rng, &[8, 3, 3, 3], 27));
    let b1 = g.constant("conv1.bias", &weights(&mut rng, &[8], 27));
    let w2 = g.constant("conv2.weight", &weights(&mut rng, &[8, 8, 3, 3], 72));
    let w3 = g.constant("fc.weight", &weights(&mut rng, &[10, 8], 8));
    let b3 = g.constant("fc.bias", &weights(&mut rng, &[10], 8));
    let scales = g.constant(
        "upsample.scales",
        &Tensor::F32(ArrayD::from_shape_vec(IxDyn(&[4]), vec![1.0, 1.0, 2.0, 2.0]).expect("4")),
    );
    let c1 = g.node(
        "Conv",
        "conv1",
        &["image", &w1, &b1],
        vec![attr::ints("pads", &[1, 1, 1, 1])],
    );
    let r1 = g.node("Relu", "relu1", &[&c1], vec![]);
    let p1 = g.node(
        "MaxPool",
        "pool1",
        &[&r1],
        vec![
            attr::ints("kernel_shape", &[3, 3]),
            attr::ints("strides", &[2, 2]),
            attr::int("ceil_mode", 1),
        ],
    );
    let c2 = g.node("Conv", "conv2", &[&p1, &w2], vec![attr::ints("pads", &[1, 1, 1, 1])]);
    let up = g.node(
        "Resize",
        "upsample",
        &[&c2, "", &scales],
        vec![
            attr::string("mode", "linear"),
            attr::string("coordinate_transformation_mode", "half_pixel"),
        ],
    );
    let gap = g.node("GlobalAveragePool", "gap", &[&up], vec![]);
    let flat = g.node("Flatten", "flatten", &[&gap], vec![]);
    let fc = g.node("Gemm", "fc", &[&flat, &w3, &b3], vec![attr::int("transB", 1)]);
    g.node("Softmax", "probs", &[&fc], vec![attr::int("axis", 1)]);
    g.output("probs", DType::F32);
    g.build()
}

/// `input[64×512] · weight[512×256]`: long dot products, where a narrower accumulation or
/// input rounding (f16, bf16, TF32) shows.
pub fn matmul() -> Model {
    let mut rng = ChaCha8Rng::seed_from_u64(20230602);
    let mut g = GraphBuilder::new("sysnoise_matmul", 17);
    g.input("input", DType::F32, &[64, 512]);
    let w = g.constant("weight", &weights(&mut rng, &[512, 256], 512));
    g.node("MatMul", "product", &["input", &w], vec![]);
    g.output("product", DType::F32);
    g.build()
}
