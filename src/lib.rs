//! sysnoise: differential testing of deep-learning inference runtimes.
//!
//! The engine: run one ONNX model on several runtimes behind [`sysnoise_boundary::Runtime`],
//! measure each output against the f64 reference, vote verdicts, attribute divergences to a
//! node, and run the ONNX backend node tests as a conformance suite. Concrete runtimes are
//! named only in [`registry`].

pub mod atomic;
pub mod availability;
pub mod campaign_report;
pub mod catalog;
pub mod compare;
pub mod conformance;
pub mod demo;
pub mod error;
pub mod fonts;
pub mod fuzz;
pub mod guard;
pub mod inputs;
pub mod machine;
pub mod metrics;
pub mod model_bench;
pub mod noise;
pub mod npy;
pub mod pernode;
pub mod reduce;
pub mod registry;
pub mod report;
pub mod sensitivity;
pub mod strategy;
pub mod support;
pub mod tolerance;
pub mod values;
pub mod worker;

pub use error::EngineError;
pub use sysnoise_boundary as boundary;
