//! Errors raised by reference kernels.

/// Why a kernel did not produce outputs.
#[derive(Debug, Clone, thiserror::Error)]
pub enum OpError {
    /// The op, an attribute value or a dtype the reference does not implement.
    #[error("{0}")]
    Unsupported(String),
    /// The node is not valid ONNX (wrong arity, incompatible shapes, out-of-range attribute).
    #[error("{0}")]
    Invalid(String),
}

impl OpError {
    pub fn unsupported(msg: impl Into<String>) -> OpError {
        OpError::Unsupported(msg.into())
    }

    pub fn invalid(msg: impl Into<String>) -> OpError {
        OpError::Invalid(msg.into())
    }
}
