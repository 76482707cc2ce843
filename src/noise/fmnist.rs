//! The labelled-accuracy task: Fashion-MNIST's test set from Debian's `dataset-fashion-mnist`
//! and the small ceil-mode CNN `scripts/train_fmnist.py` trained once (`models/fmnist_cnn.onnx`),
//! so a configuration's accuracy drop is measured against real labels.

use std::io::Read;
use std::path::{Path, PathBuf};

use ndarray::{ArrayD, IxDyn, s};
use sysnoise_boundary::{Model, Runtime, Tensor};

use crate::error::EngineError;

/// Where Debian's package puts the data.
pub const DEBIAN_DIR: &str = "/usr/share/datasets/fashion-mnist";

/// The committed model (trained by scripts/train_fmnist.py).
pub fn model_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("models/fmnist_cnn.onnx")
}

/// The test set: images `[N, 1, 28, 28]` scaled to [0, 1] (as the model was trained) and labels.
pub struct TestSet {
    pub images: ArrayD<f32>,
    pub labels: Vec<u8>,
}

fn read_gz(path: &Path) -> Result<Vec<u8>, EngineError> {
    let file = std::fs::File::open(path).map_err(|e| {
        EngineError::Input(format!(
            "{}: {e} — install Debian's Fashion-MNIST: sudo apt-get install dataset-fashion-mnist \
             (scripts/setup.sh does it)",
            path.display()
        ))
    })?;
    let mut bytes = Vec::new();
    flate2::read::GzDecoder::new(file)
        .read_to_end(&mut bytes)
        .map_err(|e| EngineError::io(path, e))?;
    Ok(bytes)
}

/// Reads at most `limit` test images and labels from `dir` (idx files, gzipped).
pub fn load_test_set(dir: &Path, limit: usize) -> Result<TestSet, EngineError> {
    let images_path = dir.join("t10k-images-idx3-ubyte.gz");
    let labels_path = dir.join("t10k-labels-idx1-ubyte.gz");
    let images = read_gz(&images_path)?;
    let labels = read_gz(&labels_path)?;
    let bad = |p: &Path, what: &str| EngineError::Input(format!("{}: {what}", p.display()));
    if images.len() < 16 || images[..4] != [0, 0, 8, 3] {
        return Err(bad(&images_path, "not an idx3 image file"));
    }
    if labels.len() < 8 || labels[..4] != [0, 0, 8, 1] {
        return Err(bad(&labels_path, "not an idx1 label file"));
    }
    let count = (u32::from_be_bytes(images[4..8].try_into().expect("4 bytes")) as usize).min(limit);
    if images.len() < 16 + count * 784 || labels.len() < 8 + count {
        return Err(bad(&images_path, "shorter than its header says"));
    }
    let pixels: Vec<f32> = images[16..16 + count * 784]
        .iter()
        .map(|&v| f32::from(v) / 255.0)
        .collect();
    Ok(TestSet {
        images: ArrayD::from_shape_vec(IxDyn(&[count, 1, 28, 28]), pixels).expect("count × 784"),
        labels: labels[8..8 + count].to_vec(),
    })
}

/// Predicted class of every image, in batches of `batch`.
pub fn predict(
    runtime: &dyn Runtime,
    model: &Model,
    images: &ArrayD<f32>,
    batch: usize,
) -> Result<Vec<usize>, EngineError> {
    let input = model
        .inputs()
        .first()
        .map(|i| i.name.clone())
        .ok_or_else(|| EngineError::Input("the model has no input".into()))?;
    let mut session = runtime.prepare(model).map_err(EngineError::Runtime)?;
    let mut predictions = Vec::with_capacity(images.shape()[0]);
    for start in (0..images.shape()[0]).step_by(batch.max(1)) {
        let end = (start + batch.max(1)).min(images.shape()[0]);
        let chunk = images.slice(s![start..end, .., .., ..]).to_owned().into_dyn();
        let outputs = session
            .run(&[(input.clone(), Tensor::F32(chunk))])
            .map_err(EngineError::Runtime)?;
        let logits = outputs[0].1.to_f64_array();
        for row in logits.outer_iter() {
            let best = row
                .iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .map_or(0, |(i, _)| i);
            predictions.push(best);
        }
    }
    Ok(predictions)
}

/// Share of predictions equal to the labels.
pub fn accuracy(predictions: &[usize], labels: &[u8]) -> f64 {
    let right = predictions
        .iter()
        .zip(labels)
        .filter(|(p, l)| **p == usize::from(**l))
        .count();
    right as f64 / labels.len().max(1) as f64
}
