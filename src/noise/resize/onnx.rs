//! The ONNX Resize semantics as an image resizer: a one-node Resize model (opset 18) run by a
//! real runtime on the image as float NCHW, rounded half to even and clamped back to 8 bits —
//! what a deployment that folds pre-processing into the graph computes.

use ndarray::{Array3, ArrayView3, Axis};
use serde::{Deserialize, Serialize};
use sysnoise_boundary::{DType, GraphBuilder, Model, Runtime, Tensor, attr};

use crate::error::EngineError;

/// The Resize attribute sets tried as pre-processing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OnnxResize {
    /// `mode=linear`, `half_pixel`, no antialiasing (PyTorch `interpolate(bilinear)`).
    Linear,
    /// `mode=linear`, `half_pixel`, `antialias=1` (Pillow-like on downscaling).
    LinearAntialias,
    /// `mode=cubic`, `half_pixel`, `cubic_coeff_a=-0.75` (PyTorch bicubic).
    Cubic,
    /// `mode=nearest`, `asymmetric`, `nearest_mode=floor` (PyTorch `interpolate(nearest)`).
    Nearest,
}

impl OnnxResize {
    pub const ALL: [OnnxResize; 4] = [
        OnnxResize::Linear,
        OnnxResize::LinearAntialias,
        OnnxResize::Cubic,
        OnnxResize::Nearest,
    ];

    pub fn name(self) -> &'static str {
        match self {
            OnnxResize::Linear => "linear",
            OnnxResize::LinearAntialias => "linear-antialias",
            OnnxResize::Cubic => "cubic",
            OnnxResize::Nearest => "nearest",
        }
    }

    /// The one-node model resizing `[1, channels, height, width]` to `out_h` × `out_w`.
    pub fn model(self, channels: usize, height: usize, width: usize, out_h: usize, out_w: usize) -> Model {
        let mut g = GraphBuilder::new("onnx_resize", 18);
        g.input("image", DType::F32, &[1, channels, height, width]);
        let sizes = Tensor::I64(
            ndarray::ArrayD::from_shape_vec(vec![4], vec![1, channels as i64, out_h as i64, out_w as i64])
                .expect("four sizes"),
        );
        g.constant("sizes", &sizes);
        let mut attributes = match self {
            OnnxResize::Linear | OnnxResize::LinearAntialias => vec![attr::string("mode", "linear")],
            OnnxResize::Cubic => vec![attr::string("mode", "cubic"), attr::float("cubic_coeff_a", -0.75)],
            OnnxResize::Nearest => vec![attr::string("mode", "nearest"), attr::string("nearest_mode", "floor")],
        };
        attributes.push(attr::string(
            "coordinate_transformation_mode",
            if self == OnnxResize::Nearest {
                "asymmetric"
            } else {
                "half_pixel"
            },
        ));
        if self == OnnxResize::LinearAntialias {
            attributes.push(attr::int("antialias", 1));
        }
        g.node("Resize", "resized", &["image", "", "", "sizes"], attributes);
        g.output("resized", DType::F32);
        g.build()
    }
}

/// Resizes `image` (height × width × channels, u8) to `width` × `height` with `runtime`
/// executing ONNX Resize.
pub fn resize(
    image: ArrayView3<u8>,
    width: usize,
    height: usize,
    mode: OnnxResize,
    runtime: &dyn Runtime,
) -> Result<Array3<u8>, EngineError> {
    let (in_h, in_w, channels) = image.dim();
    let model = mode.model(channels, in_h, in_w, height, width);
    let nchw = image
        .permuted_axes([2, 0, 1])
        .mapv(f32::from)
        .insert_axis(Axis(0))
        .as_standard_layout()
        .to_owned()
        .into_dyn();
    let outputs = runtime
        .prepare(&model)
        .and_then(|mut session| session.run(&[("image".into(), Tensor::F32(nchw))]))
        .map_err(EngineError::Runtime)?;
    let resized = outputs
        .into_iter()
        .next()
        .ok_or_else(|| EngineError::Input("ONNX Resize returned nothing".into()))?
        .1
        .to_f64_array();
    let chw = resized
        .into_shape_with_order((channels, height, width))
        .map_err(|e| EngineError::Input(format!("ONNX Resize output: {e}")))?;
    Ok(chw
        .permuted_axes([1, 2, 0])
        .mapv(|v| v.round_ties_even().clamp(0.0, 255.0) as u8)
        .as_standard_layout()
        .to_owned())
}
