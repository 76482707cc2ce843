//! Resize noise: exact reproductions of the resizers real pipelines use (Pillow, OpenCV),
//! verified against the real libraries by golden tests, and the ONNX Resize semantics run by
//! a real runtime.

pub mod onnx;
pub mod opencv;
pub mod pillow;
