//! Errors raised by the adapter's kernels, and their translation into `RuntimeError`.

use sysnoise_boundary::RuntimeError;

/// Why a kernel did not produce outputs.
#[derive(Debug, thiserror::Error)]
pub enum OpError {
    /// An op, attribute value or dtype LibTorch has no exact equivalent for.
    #[error("{0}")]
    Unsupported(String),
    /// The node is not valid ONNX (wrong arity, bad attribute, incompatible shapes).
    #[error("{0}")]
    Invalid(String),
    /// LibTorch raised an error.
    #[error("LibTorch: {}", torch_message(.0))]
    Torch(#[from] tch::TchError),
}

impl OpError {
    pub fn unsupported(msg: impl Into<String>) -> OpError {
        OpError::Unsupported(msg.into())
    }

    pub fn invalid(msg: impl Into<String>) -> OpError {
        OpError::Invalid(msg.into())
    }

    /// The error as the runtime's error for `op_type`: missing LibTorch kernels (`"... not
    /// implemented for 'Long'"`) and refusals are `Unsupported`, everything else `Failed`.
    pub fn into_runtime(self, runtime: &str, op_type: &str) -> RuntimeError {
        let unsupported = match &self {
            OpError::Unsupported(_) => true,
            OpError::Invalid(_) => false,
            OpError::Torch(e) => torch_message(e).contains("not implemented for"),
        };
        let message = format!("{op_type}: {self}");
        if unsupported {
            RuntimeError::unsupported(runtime, message)
        } else {
            RuntimeError::failed(runtime, message)
        }
    }
}

/// LibTorch's message without the C++ backtrace that follows it.
pub fn torch_message(e: &tch::TchError) -> String {
    let text = match e {
        tch::TchError::Torch(m) => m.clone(),
        other => other.to_string(),
    };
    let cut = text.find("\nException raised from").unwrap_or(text.len());
    text[..cut].trim().to_string()
}
