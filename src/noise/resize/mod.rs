//! Resize noise: exact reproductions of the resizers real pipelines use (Pillow today; OpenCV
//! and the ONNX Resize semantics next), verified against the real libraries by golden tests.

pub mod opencv;
pub mod pillow;
