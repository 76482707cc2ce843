//! The `Runtime` / `Session` traits every adapter implements, and named tensor lists.

use crate::error::RuntimeError;
use crate::model::Model;
use crate::tensor::Tensor;

/// Tensors with their graph names, in graph order.
pub type NamedTensors = Vec<(String, Tensor)>;

/// An inference runtime that can prepare ONNX models.
///
/// Two required methods. A runtime that cannot run a model returns
/// [`RuntimeError::Unsupported`] from `prepare` (or from `Session::run`); the engine skips it
/// rather than counting a divergence.
pub trait Runtime: Send + Sync {
    /// The runtime's name as selected on the command line (`ort`, `ort-O0`, `tract`, ...).
    fn name(&self) -> &str;

    /// Compiles / plans the model for execution.
    fn prepare(&self, model: &Model) -> Result<Box<dyn Session>, RuntimeError>;

    /// Exact version string of the underlying library, for reports.
    fn version(&self) -> String {
        "unknown".to_string()
    }

    /// Prepares the model so that `run` returns every node output, not only the graph outputs
    /// (for per-node attribution). The default marks every node output as a graph output.
    fn prepare_with_intermediates(&self, model: &Model) -> Result<Box<dyn Session>, RuntimeError> {
        self.prepare(&model.with_intermediates_as_outputs())
    }
}

/// A prepared model, ready to run any number of times.
pub trait Session: Send {
    /// Runs the model. Returns the graph outputs by name, in graph order.
    fn run(&mut self, inputs: &[(String, Tensor)]) -> Result<NamedTensors, RuntimeError>;
}
