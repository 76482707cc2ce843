//! Engine errors: what went wrong, naming the file, input, node or runtime involved.

use sysnoise_boundary::{BoundaryError, RuntimeError};

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// A bad command line or option value.
    #[error("{0}")]
    Usage(String),
    /// A model, input or config file that cannot be read or does not fit the model.
    #[error("{0}")]
    Input(String),
    #[error(transparent)]
    Model(#[from] BoundaryError),
    #[error(transparent)]
    Runtime(RuntimeError),
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

impl EngineError {
    pub fn io(path: &std::path::Path, source: std::io::Error) -> EngineError {
        EngineError::Io {
            path: path.display().to_string(),
            source,
        }
    }
}
