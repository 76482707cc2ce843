//! A "system configuration": one choice for every knob between the JPEG bytes and the logits
//! (decoder, resize kernel, colour round trip, model rewrites, precision, runtime) and, for
//! detectors, after them (box decoding, NMS). The training system is one configuration; each
//! SysNoise noise is the training system with one knob turned.

use std::fmt;
use std::sync::OnceLock;

use ndarray::{Array3, ArrayView3, s};
use serde::{Deserialize, Serialize};

use super::colour::{self, Arithmetic, ColourPipeline, Range, Subsample, Upsample};
use super::decode::{self, Decoder};
use super::postprocess::{CoordinateRounding, PixelConvention, Suppress};
use super::quantise::Granularity;
use super::resize::onnx::{self, OnnxResize};
use super::resize::opencv::{self, OpenCvInterpolation};
use super::resize::pillow::{self, PillowFilter};
use super::rewrite::Rewrite;
use crate::error::EngineError;
use crate::registry;
use sysnoise_boundary::Runtime;

/// A resize implementation: a library and its kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "library", content = "kernel")]
pub enum ResizeKernel {
    Pillow(PillowFilter),
    OpenCv(OpenCvInterpolation),
    /// ONNX Resize executed by ONNX Runtime.
    Onnx(OnnxResize),
}

/// The runtime that executes [`ResizeKernel::Onnx`], built once.
fn onnx_resize_runtime() -> Result<&'static dyn Runtime, EngineError> {
    static RUNTIME: OnceLock<Result<Box<dyn Runtime>, String>> = OnceLock::new();
    match RUNTIME.get_or_init(|| registry::build("ort").map_err(|e| e.to_string())) {
        Ok(runtime) => Ok(runtime.as_ref()),
        Err(e) => Err(EngineError::Input(format!(
            "ONNX Resize pre-processing needs ONNX Runtime: {e}"
        ))),
    }
}

impl ResizeKernel {
    /// Resizes `image` (height × width × channels) to `width` × `height`; only the ONNX kernel
    /// can fail (its runtime may be missing).
    pub fn resize(self, image: ArrayView3<u8>, width: usize, height: usize) -> Result<Array3<u8>, EngineError> {
        Ok(match self {
            ResizeKernel::Pillow(filter) => pillow::resize(image, width, height, filter),
            ResizeKernel::OpenCv(interpolation) => opencv::resize(image, width, height, interpolation),
            ResizeKernel::Onnx(mode) => onnx::resize(image, width, height, mode, onnx_resize_runtime()?)?,
        })
    }
}

impl fmt::Display for ResizeKernel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResizeKernel::Pillow(filter) => write!(f, "pillow-{}", filter.name()),
            ResizeKernel::OpenCv(interpolation) => write!(f, "opencv-{}", interpolation.name()),
            ResizeKernel::Onnx(mode) => write!(f, "onnx-{}", mode.name()),
        }
    }
}

/// The numeric format the model is deployed in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Precision {
    Fp32,
    /// Weights and activations in FP16; `keep_io_float`: inputs and outputs stay FP32.
    Fp16 {
        keep_io_float: bool,
    },
    /// Post-training static INT8 quantisation (QDQ, min/max calibration).
    Int8(Granularity),
    /// Post-training dynamic INT8 quantisation of MatMuls (activation ranges measured per run,
    /// no calibration), as ORT's `quantize_dynamic`.
    Int8Dynamic,
}

impl fmt::Display for Precision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Precision::Fp32 => f.write_str("fp32"),
            Precision::Fp16 { keep_io_float: false } => f.write_str("fp16"),
            Precision::Fp16 { keep_io_float: true } => f.write_str("fp16-keep-io"),
            Precision::Int8(granularity) => write!(f, "int8-{}", granularity.name()),
            Precision::Int8Dynamic => f.write_str("int8-dynamic"),
        }
    }
}

/// The SysNoise noise families (the paper's taxonomy, plus the runtime swap).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Family {
    Decoder,
    Resize,
    Colour,
    CeilMode,
    Upsample,
    Precision,
    /// The CPU's instruction set: the same INT8 model on emulations of ONNX Runtime's int8
    /// kernels of two CPU kinds (AVX2 `pmaddubsw`, VNNI), so it shows on any machine.
    Isa,
    Runtime,
    PostProcess,
}

impl Family {
    pub const ALL: [Family; 9] = [
        Family::Decoder,
        Family::Resize,
        Family::Colour,
        Family::CeilMode,
        Family::Upsample,
        Family::Precision,
        Family::Isa,
        Family::Runtime,
        Family::PostProcess,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Family::Decoder => "decoder",
            Family::Resize => "resize",
            Family::Colour => "colour",
            Family::CeilMode => "ceil-mode",
            Family::Upsample => "upsample",
            Family::Precision => "precision",
            Family::Isa => "isa",
            Family::Runtime => "runtime",
            Family::PostProcess => "post-process",
        }
    }

    /// Pre-processing families change the model's input; the others change the model or the
    /// runtime.
    pub fn is_preprocessing(self) -> bool {
        matches!(self, Family::Decoder | Family::Resize | Family::Colour)
    }

    pub fn parse(name: &str) -> Result<Family, EngineError> {
        Family::ALL.into_iter().find(|f| f.name() == name).ok_or_else(|| {
            let known: Vec<&str> = Family::ALL.iter().map(|f| f.name()).collect();
            EngineError::Usage(format!("unknown noise family `{name}` (known: {})", known.join(", ")))
        })
    }
}

/// The pre-processing half of a system: JPEG bytes → RGB → (colour round trip) → resized.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Preprocess {
    pub decoder: Decoder,
    pub resize: ResizeKernel,
    /// A YUV 4:2:0 round trip after decoding (a camera/video pipeline), or none.
    pub colour: Option<ColourPipeline>,
}

impl Preprocess {
    /// Decodes `jpeg` (named `what` in errors) and applies the colour round trip: the image the
    /// resize sees.
    pub fn decode(&self, jpeg: &[u8], what: &str) -> Result<Array3<u8>, EngineError> {
        let rgb = decode::decode_rgb(jpeg, self.decoder, what)?;
        Ok(match &self.colour {
            Some(pipeline) => colour::round_trip(rgb.view(), pipeline),
            None => rgb,
        })
    }

    /// torchvision's `Resize(short)` + `CenterCrop(crop)`: the short side scaled to `short`
    /// (the long side rounded), then the centre `crop` × `crop` square.
    pub fn resize_and_crop(&self, rgb: ArrayView3<u8>, short: usize, crop: usize) -> Result<Array3<u8>, EngineError> {
        let (height, width, _) = rgb.dim();
        let scale = short as f64 / height.min(width) as f64;
        let (new_w, new_h) = if width <= height {
            (short, (height as f64 * scale).round() as usize)
        } else {
            ((width as f64 * scale).round() as usize, short)
        };
        let resized = self.resize.resize(rgb, new_w, new_h)?;
        let top = (new_h.saturating_sub(crop)) / 2;
        let left = (new_w.saturating_sub(crop)) / 2;
        Ok(resized
            .slice(s![top..top + crop.min(new_h), left..left + crop.min(new_w), ..])
            .to_owned())
    }
}

/// A detector's post-processing: box decoding and non-maximum suppression choices.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostProcess {
    /// Box sizes from decoded coordinates: continuous, or the legacy inclusive `+1`.
    pub decode_pixels: PixelConvention,
    pub rounding: CoordinateRounding,
    /// IoU with or without the `+1`.
    pub iou_pixels: PixelConvention,
    pub suppress: Suppress,
    pub class_aware: bool,
    /// Keep the top-k candidates by score before the score threshold (instead of after).
    pub top_k_before_threshold: bool,
}

impl Default for PostProcess {
    /// The training system's: continuous coordinates, no rounding, IoU > threshold, class-aware,
    /// score threshold before top-k.
    fn default() -> PostProcess {
        PostProcess {
            decode_pixels: PixelConvention::Continuous,
            rounding: CoordinateRounding::None,
            iou_pixels: PixelConvention::Continuous,
            suppress: Suppress::Above,
            class_aware: true,
            top_k_before_threshold: false,
        }
    }
}

/// One change to the training system's post-processing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PostProcessChange {
    DecodePlusOne,
    RoundNearest,
    RoundFloor,
    IouPlusOne,
    SuppressAtOrAbove,
    ClassAgnostic,
    TopKBeforeThreshold,
}

impl PostProcessChange {
    pub const ALL: [PostProcessChange; 7] = [
        PostProcessChange::DecodePlusOne,
        PostProcessChange::RoundNearest,
        PostProcessChange::RoundFloor,
        PostProcessChange::IouPlusOne,
        PostProcessChange::SuppressAtOrAbove,
        PostProcessChange::ClassAgnostic,
        PostProcessChange::TopKBeforeThreshold,
    ];

    pub fn name(self) -> &'static str {
        match self {
            PostProcessChange::DecodePlusOne => "decode-plus-one",
            PostProcessChange::RoundNearest => "round-nearest",
            PostProcessChange::RoundFloor => "round-floor",
            PostProcessChange::IouPlusOne => "iou-plus-one",
            PostProcessChange::SuppressAtOrAbove => "suppress-at-or-above",
            PostProcessChange::ClassAgnostic => "class-agnostic",
            PostProcessChange::TopKBeforeThreshold => "top-k-before-threshold",
        }
    }

    pub fn apply(self, post: &mut PostProcess) {
        match self {
            PostProcessChange::DecodePlusOne => post.decode_pixels = PixelConvention::PlusOne,
            PostProcessChange::RoundNearest => post.rounding = CoordinateRounding::Nearest,
            PostProcessChange::RoundFloor => post.rounding = CoordinateRounding::Floor,
            PostProcessChange::IouPlusOne => post.iou_pixels = PixelConvention::PlusOne,
            PostProcessChange::SuppressAtOrAbove => post.suppress = Suppress::AtOrAbove,
            PostProcessChange::ClassAgnostic => post.class_aware = false,
            PostProcessChange::TopKBeforeThreshold => post.top_k_before_threshold = true,
        }
    }
}

/// A whole system configuration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SystemConfig {
    pub preprocess: Preprocess,
    /// Structural model rewrites (ceil_mode flip, Resize mode swap).
    pub rewrites: Vec<Rewrite>,
    pub precision: Precision,
    /// A runtime name of the registry (`ort`, `tract`, `ort-O0`, ...).
    pub runtime: String,
    /// Detectors only.
    pub postprocess: PostProcess,
}

impl SystemConfig {
    /// The training system of the SysNoise paper: Pillow (libjpeg-turbo) decoding, Pillow
    /// bilinear resize, no colour round trip, the model as trained, FP32, on ONNX Runtime.
    pub fn training() -> SystemConfig {
        SystemConfig {
            preprocess: Preprocess {
                decoder: decode::TRAINING,
                resize: ResizeKernel::Pillow(PillowFilter::Bilinear),
                colour: None,
            },
            rewrites: Vec::new(),
            precision: Precision::Fp32,
            runtime: "ort".into(),
            postprocess: PostProcess::default(),
        }
    }

    /// This configuration with `knob` turned.
    pub fn with(&self, knob: &Knob) -> SystemConfig {
        let mut config = self.clone();
        match knob {
            Knob::Decoder(decoder) => config.preprocess.decoder = *decoder,
            Knob::Resize(kernel) => config.preprocess.resize = *kernel,
            Knob::Colour(pipeline) => config.preprocess.colour = Some(*pipeline),
            Knob::Rewrite(rewrite) => {
                if !config.rewrites.contains(rewrite) {
                    config.rewrites.push(*rewrite);
                }
            }
            Knob::Precision(precision) => config.precision = *precision,
            Knob::Int8Kernels(precision, runtime) => {
                config.precision = *precision;
                config.runtime = runtime.clone();
            }
            Knob::Runtime(runtime) => config.runtime = runtime.clone(),
            Knob::PostProcess(change) => change.apply(&mut config.postprocess),
        }
        config
    }
}

/// One turned knob: a noise option.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Knob {
    Decoder(Decoder),
    Resize(ResizeKernel),
    Colour(ColourPipeline),
    Rewrite(Rewrite),
    Precision(Precision),
    /// An INT8 precision on an emulation of ORT's int8 kernels (a registry runtime:
    /// `emulated-ort-avx2`, `emulated-ort-vnni`).
    Int8Kernels(Precision, String),
    Runtime(String),
    PostProcess(PostProcessChange),
}

impl Knob {
    pub fn family(&self) -> Family {
        match self {
            Knob::Decoder(_) => Family::Decoder,
            Knob::Resize(_) => Family::Resize,
            Knob::Colour(_) => Family::Colour,
            Knob::Rewrite(Rewrite::CeilModeFlip) => Family::CeilMode,
            Knob::Rewrite(Rewrite::ResizeModeSwap) => Family::Upsample,
            Knob::Rewrite(Rewrite::Fp16 { .. }) | Knob::Precision(_) => Family::Precision,
            Knob::Int8Kernels(..) => Family::Isa,
            Knob::Runtime(_) => Family::Runtime,
            Knob::PostProcess(_) => Family::PostProcess,
        }
    }

    /// A short unique label (`resize:opencv-area`, `precision:int8-per-channel`).
    pub fn label(&self) -> String {
        let option = match self {
            Knob::Decoder(decoder) => decoder.name().to_string(),
            Knob::Resize(kernel) => kernel.to_string(),
            Knob::Colour(pipeline) => colour_label(pipeline),
            Knob::Rewrite(Rewrite::CeilModeFlip) => "flip".into(),
            Knob::Rewrite(Rewrite::ResizeModeSwap) => "nearest<->linear".into(),
            Knob::Rewrite(Rewrite::Fp16 { keep_io_float }) => Precision::Fp16 {
                keep_io_float: *keep_io_float,
            }
            .to_string(),
            Knob::Precision(precision) => precision.to_string(),
            Knob::Int8Kernels(precision, runtime) => format!("{precision}@{runtime}"),
            Knob::Runtime(runtime) => runtime.clone(),
            Knob::PostProcess(change) => change.name().to_string(),
        };
        format!("{}:{option}", self.family().name())
    }
}

fn colour_label(p: &ColourPipeline) -> String {
    let range = match p.range {
        Range::Full => "full",
        Range::Limited => "limited",
    };
    let arithmetic = match p.arithmetic {
        Arithmetic::Float => "float",
        Arithmetic::Integer => "int",
    };
    let subsample = match p.subsample {
        Subsample::Average => "avg",
        Subsample::TopLeft => "topleft",
    };
    let upsample = match p.upsample {
        Upsample::Replicate => "replicate",
        Upsample::Bilinear => "bilinear",
    };
    format!("yuv420-{range}-{arithmetic}-{subsample}-{upsample}")
}

/// Every option of every family, as the benchmark tries them against the training system.
pub fn default_knobs() -> Vec<Knob> {
    let training = SystemConfig::training();
    let mut knobs = Vec::new();
    knobs.extend(
        Decoder::ALL
            .into_iter()
            .filter(|d| *d != training.preprocess.decoder)
            .map(Knob::Decoder),
    );
    let resizes = PillowFilter::ALL
        .into_iter()
        .map(ResizeKernel::Pillow)
        .chain(OpenCvInterpolation::ALL.into_iter().map(ResizeKernel::OpenCv))
        .chain(OnnxResize::ALL.into_iter().map(ResizeKernel::Onnx));
    knobs.extend(resizes.filter(|k| *k != training.preprocess.resize).map(Knob::Resize));
    for (range, arithmetic, subsample, upsample) in [
        (Range::Full, Arithmetic::Float, Subsample::Average, Upsample::Bilinear),
        (
            Range::Full,
            Arithmetic::Integer,
            Subsample::Average,
            Upsample::Replicate,
        ),
        (
            Range::Limited,
            Arithmetic::Float,
            Subsample::Average,
            Upsample::Bilinear,
        ),
        (
            Range::Limited,
            Arithmetic::Integer,
            Subsample::TopLeft,
            Upsample::Replicate,
        ),
    ] {
        knobs.push(Knob::Colour(ColourPipeline {
            range,
            arithmetic,
            subsample,
            upsample,
        }));
    }
    knobs.push(Knob::Rewrite(Rewrite::CeilModeFlip));
    knobs.push(Knob::Rewrite(Rewrite::ResizeModeSwap));
    knobs.extend(
        [
            Precision::Fp16 { keep_io_float: false },
            Precision::Fp16 { keep_io_float: true },
            Precision::Int8(Granularity::PerTensor),
            Precision::Int8(Granularity::PerChannel),
            Precision::Int8Dynamic,
        ]
        .map(Knob::Precision),
    );
    // The instruction set: INT8 per channel (per tensor saturates too rarely to matter) and INT8
    // dynamic on ORT's int8 kernels of an AVX2 CPU and of a VNNI one, both emulated, whatever
    // this CPU is.
    for precision in [Precision::Int8(Granularity::PerChannel), Precision::Int8Dynamic] {
        knobs.extend(
            crate::noise::ort_int8::RUNTIMES
                .iter()
                .map(|(name, _)| Knob::Int8Kernels(precision, name.to_string())),
        );
    }
    // Other runtimes (tract, LibTorch, the f64 reference), ORT without graph optimisations, ORT
    // with 4 intra-op threads, and the GPU runtimes (LibTorch CUDA, ORT CUDA, TensorRT FP32 and
    // FP16, all without TF32): a runtime that is not available here (the `torch` feature, a GPU)
    // is skipped with the reason.
    knobs.extend(
        [
            "tract",
            "torch",
            "reference",
            "ort-O0",
            "ort-mt",
            "torch-cuda",
            "ort-cuda",
            "ort-trt",
            "ort-trt-fp16",
        ]
        .map(|r| Knob::Runtime(r.into())),
    );
    knobs.extend(PostProcessChange::ALL.map(Knob::PostProcess));
    knobs
}
