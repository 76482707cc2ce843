//! Errors of the boundary crate (model and tensor decoding) and of runtimes (`RuntimeError`).

use crate::tensor::DType;

/// A model or tensor that cannot be decoded or converted.
#[derive(Debug, thiserror::Error)]
pub enum BoundaryError {
    #[error("{0} tensors are not supported (sysnoise handles numeric, bool, float8 and string tensors)")]
    UnsupportedDType(String),
    #[error("tensor data has {actual} bytes/elements but shape {shape:?} of {dtype} needs {expected}")]
    DataLength {
        expected: usize,
        actual: usize,
        shape: Vec<usize>,
        dtype: DType,
    },
    #[error("negative dimension {0}")]
    NegativeDim(i64),
    #[error("external tensor data is not supported; re-save the model with all tensors inside it")]
    ExternalData,
    #[error("tensor '{name}': {source}")]
    InTensor {
        name: String,
        #[source]
        source: Box<BoundaryError>,
    },
    #[error("not a valid ONNX model ({0})")]
    Decode(#[from] prost::DecodeError),
    #[error("the model has no graph")]
    NoGraph,
    #[error("{0}")]
    Invalid(String),
}

/// Why a runtime did not produce outputs. `Unsupported` is not a divergence: the runtime
/// declined the model (an op, dtype or attribute it does not implement).
#[derive(Debug, Clone, thiserror::Error)]
pub enum RuntimeError {
    #[error("{runtime} cannot run this model{}: {reason}", at_node(.node))]
    Unsupported {
        runtime: String,
        node: Option<String>,
        reason: String,
    },
    #[error("{runtime} failed{}: {message}", at_node(.node))]
    Failed {
        runtime: String,
        node: Option<String>,
        message: String,
    },
    #[error("{runtime} is not available: {reason}\n  how to install: {install}")]
    Unavailable {
        runtime: String,
        reason: String,
        install: String,
    },
}

/// The text between the first `start` in `message` and the next `end` after it (used by
/// adapters to pull node names out of runtime messages).
pub fn text_between(message: &str, start: &str, end: char) -> Option<String> {
    let i = message.find(start)?;
    let rest = &message[i + start.len()..];
    rest.find(end).map(|j| rest[..j].to_string())
}

fn at_node(node: &Option<String>) -> String {
    node.as_ref().map(|n| format!(" at node '{n}'")).unwrap_or_default()
}

impl RuntimeError {
    pub fn failed(runtime: &str, message: impl Into<String>) -> Self {
        RuntimeError::Failed {
            runtime: runtime.to_string(),
            node: None,
            message: message.into(),
        }
    }

    pub fn unsupported(runtime: &str, reason: impl Into<String>) -> Self {
        RuntimeError::Unsupported {
            runtime: runtime.to_string(),
            node: None,
            reason: reason.into(),
        }
    }

    /// Attaches the offending node's name (when the runtime's message did not already).
    pub fn at(mut self, node_name: impl Into<String>) -> Self {
        match &mut self {
            RuntimeError::Unsupported { node, .. } | RuntimeError::Failed { node, .. } => {
                node.get_or_insert(node_name.into());
            }
            RuntimeError::Unavailable { .. } => {}
        }
        self
    }

    /// A runtime's own error message as `Unsupported` (when `unsupported`) or `Failed`, at
    /// `node` when the message named one.
    pub fn from_message(runtime: &str, message: String, unsupported: bool, node: Option<String>) -> Self {
        let err = if unsupported {
            RuntimeError::unsupported(runtime, message)
        } else {
            RuntimeError::failed(runtime, message)
        };
        match node {
            Some(node) => err.at(node),
            None => err,
        }
    }

    pub fn is_unsupported(&self) -> bool {
        matches!(self, RuntimeError::Unsupported { .. })
    }

    pub fn node(&self) -> Option<&str> {
        match self {
            RuntimeError::Unsupported { node, .. } | RuntimeError::Failed { node, .. } => node.as_deref(),
            RuntimeError::Unavailable { .. } => None,
        }
    }
}
