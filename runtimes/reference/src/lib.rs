//! sysnoise's reference runtime: an f64 interpreter of ONNX graphs written from the ONNX
//! operator specification, one file per op family under `ops/`. It is the oracle that decides
//! which runtime is right when runtimes disagree.

pub mod broadcast;
pub mod context;
pub mod control_flow;
pub mod error;
pub mod interpreter;
pub mod ops;
pub mod value;

pub use error::OpError;
pub use interpreter::{Reference, prepare_rounded, prepare_with, registry};
pub use value::{Data, Value};
