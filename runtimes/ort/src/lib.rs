//! sysnoise adapter for ONNX Runtime through the `ort` crate (`load-dynamic`: the shared
//! library comes from the PyPI `onnxruntime` wheel and is found at run time).

mod convert;
mod library;

use std::sync::Mutex;

use ort::session::builder::GraphOptimizationLevel;
use sysnoise_boundary::{Model, NamedTensors, Runtime, RuntimeError, Session, Tensor};

pub use library::{INSTALL_HINT, find_library, loaded_path};

/// ORT's graph optimisation levels (a SysNoise knob: `ort` vs `ort-O0` may disagree).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OptLevel {
    /// `ORT_DISABLE_ALL`
    Disabled,
    /// `ORT_ENABLE_BASIC`
    Basic,
    /// `ORT_ENABLE_EXTENDED`
    Extended,
    /// `ORT_ENABLE_ALL` (ORT's default)
    All,
}

impl OptLevel {
    fn to_ort(self) -> GraphOptimizationLevel {
        match self {
            OptLevel::Disabled => GraphOptimizationLevel::Disable,
            OptLevel::Basic => GraphOptimizationLevel::Level1,
            OptLevel::Extended => GraphOptimizationLevel::Level2,
            OptLevel::All => GraphOptimizationLevel::All,
        }
    }
}

/// Session options that identify an ORT configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrtOptions {
    pub opt_level: OptLevel,
    /// Intra-op threads; 1 makes results independent of the machine's core count.
    pub intra_threads: usize,
}

impl Default for OrtOptions {
    fn default() -> Self {
        OrtOptions {
            opt_level: OptLevel::All,
            intra_threads: 1,
        }
    }
}

/// ONNX Runtime (CPU execution provider) as a sysnoise [`Runtime`].
pub struct OrtRuntime {
    name: String,
    options: OrtOptions,
}

impl OrtRuntime {
    /// A runtime called `name` with the given session options. Fails (with install
    /// instructions) when the ONNX Runtime library cannot be found or loaded.
    pub fn new(name: &str, options: OrtOptions) -> Result<OrtRuntime, RuntimeError> {
        library::load(name)?;
        Ok(OrtRuntime {
            name: name.to_string(),
            options,
        })
    }
}

impl Runtime for OrtRuntime {
    fn name(&self) -> &str {
        &self.name
    }

    fn version(&self) -> String {
        library::load(&self.name).map_or_else(|_| "unavailable".into(), |l| format!("onnxruntime {}", l.version))
    }

    fn prepare(&self, model: &Model) -> Result<Box<dyn Session>, RuntimeError> {
        let loaded = library::load(&self.name)?;
        let err = |e: ort::Error| convert::classify(&self.name, &e);
        let mut builder = ort::session::Session::builder(&loaded.environment).map_err(err)?;
        builder = builder
            .with_optimization_level(self.options.opt_level.to_ort())
            .map_err(|e| err(ort::Error::from(e)))?
            .with_intra_threads(self.options.intra_threads)
            .map_err(|e| err(ort::Error::from(e)))?;
        let session = builder.commit_from_memory(&model.to_bytes()).map_err(err)?;
        let outputs = session.outputs().iter().map(|o| o.name().to_string()).collect();
        Ok(Box::new(OrtSession {
            name: self.name.clone(),
            session: Mutex::new(session),
            outputs,
        }))
    }
}

struct OrtSession {
    name: String,
    session: Mutex<ort::session::Session>,
    outputs: Vec<String>,
}

impl Session for OrtSession {
    fn run(&mut self, inputs: &[(String, Tensor)]) -> Result<NamedTensors, RuntimeError> {
        let feeds = inputs
            .iter()
            .map(|(name, t)| {
                Ok((
                    name.clone(),
                    convert::to_ort(t).map_err(|e| convert::classify(&self.name, &e))?,
                ))
            })
            .collect::<Result<Vec<_>, RuntimeError>>()?;
        let session = self.session.get_mut().expect("session mutex poisoned");
        let mut outputs = session.run(feeds).map_err(|e| convert::classify(&self.name, &e))?;
        self.outputs
            .iter()
            .map(|name| {
                let value = outputs
                    .remove(name)
                    .ok_or_else(|| RuntimeError::failed(&self.name, format!("output '{name}' missing")))?;
                Ok((name.clone(), convert::from_ort(&self.name, value)?))
            })
            .collect()
    }
}
