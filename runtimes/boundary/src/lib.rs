//! The boundary shared by sysnoise's engine and every runtime adapter: `Tensor`/`DType`, ONNX
//! protobuf types, `Model`, the `Runtime`/`Session` traits and their errors.
//!
//! Adapters depend on this crate only; this crate depends on no runtime and not on the engine.

pub mod builder;
pub mod cpu;
pub mod error;
pub mod float8;
pub mod model;
pub mod onnx;
pub mod resize_coordinates;
pub mod runtime;
pub mod tensor;
pub mod testkit;

pub use builder::{GraphBuilder, attr};
pub use cpu::{Cpu, U8S8Accumulation};
pub use error::{BoundaryError, RuntimeError};
pub use float8::Float8Format;
pub use model::{IoSpec, Model, tensor_from_pb, tensor_value_info};
pub use runtime::{NamedTensors, Runtime, Session};
pub use tensor::{DType, Element, Tensor};
