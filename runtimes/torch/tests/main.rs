//! The LibTorch adapter's tests, one test binary: one module per ONNX op family, each against
//! the reference interpreter.
#![cfg(feature = "libtorch")]

mod common;

mod elementwise;
mod nn;
mod resize;
mod rnn;
mod shape;
mod smoke;
