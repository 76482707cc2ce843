//! sysnoise adapter for ONNX Runtime through the `ort` crate (`load-dynamic`: the shared
//! library comes from the PyPI `onnxruntime` wheel and is found at run time).

mod convert;
mod int8;
mod library;
mod provider;
mod tf32;

use std::collections::HashMap;
use std::sync::Mutex;

use ort::session::builder::GraphOptimizationLevel;
use sysnoise_boundary::builder::GraphBuilder;
use sysnoise_boundary::{DType, Model, NamedTensors, Runtime, RuntimeError, Session, Tensor};

pub use int8::u8s8_accumulation;
pub use library::{INSTALL_HINT, find_library, loaded_path};
pub use provider::{
    CudaOptions, GPU_INSTALL_HINT, Provider, TensorRtOptions, TrtPrecision, is_native_calibration_table,
};
pub use tf32::OVERRIDE as TF32_OVERRIDE;

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
    /// The execution provider (CPU unless a GPU runtime is asked for).
    pub provider: Provider,
}

impl Default for OrtOptions {
    fn default() -> Self {
        OrtOptions {
            opt_level: OptLevel::All,
            intra_threads: 1,
            provider: Provider::Cpu,
        }
    }
}

/// ONNX Runtime (on the CPU, CUDA or TensorRT execution provider) as a sysnoise [`Runtime`].
pub struct OrtRuntime {
    name: String,
    options: OrtOptions,
}

impl OrtRuntime {
    /// A runtime called `name` with the given session options. Fails (with install
    /// instructions) when the ONNX Runtime library cannot be found or loaded, or when a GPU
    /// provider cannot run here: it is tried once on a one-node model, and its error (no
    /// provider in this ORT build, a CUDA library or the driver missing, no device) is the reason.
    pub fn new(name: &str, options: OrtOptions) -> Result<OrtRuntime, RuntimeError> {
        let loaded = library::load(name)?;
        let runtime = OrtRuntime {
            name: name.to_string(),
            options,
        };
        if runtime.options.provider.is_gpu() {
            runtime.options.provider.check_library(name, &loaded.path)?;
            runtime.probe_provider()?;
            let tf32_override = std::env::var(tf32::OVERRIDE).ok();
            tf32::check(name, &runtime.options.provider, tf32_override.as_deref())?;
        }
        Ok(runtime)
    }

    fn builder(&self) -> Result<ort::session::builder::SessionBuilder, RuntimeError> {
        let loaded = library::load(&self.name)?;
        let err = |e: ort::Error| convert::classify(&self.name, &e);
        let builder = ort::session::Session::builder(&loaded.environment)
            .map_err(err)?
            .with_optimization_level(self.options.opt_level.to_ort())
            .map_err(|e| err(ort::Error::from(e)))?
            .with_intra_threads(self.options.intra_threads)
            .map_err(|e| err(ort::Error::from(e)))?;
        self.options
            .provider
            .register(&self.name, builder)
            .map_err(|e| match e {
                RuntimeError::Unavailable {
                    runtime,
                    reason,
                    install,
                } => RuntimeError::Unavailable {
                    runtime,
                    reason: format!(
                        "{reason} (ONNX Runtime {} from {})",
                        loaded.version,
                        loaded.path.display()
                    ),
                    install,
                },
                other => other,
            })
    }

    /// Creates a session of a one-node model on the provider, once per runtime name and process.
    fn probe_provider(&self) -> Result<(), RuntimeError> {
        static PROBED: Mutex<Option<HashMap<String, Result<(), RuntimeError>>>> = Mutex::new(None);
        let mut probed = PROBED.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let probed = probed.get_or_insert_with(HashMap::new);
        if let Some(result) = probed.get(&self.name) {
            return result.clone();
        }
        let mut graph = GraphBuilder::new("sysnoise_provider_probe", 13);
        let x = graph.input("x", DType::F32, &[1, 4]);
        let y = graph.node("Relu", "y", &[&x], vec![]);
        graph.output(&y, DType::F32);
        let result = self.builder().and_then(|mut builder| {
            builder
                .commit_from_memory(&graph.build().to_bytes())
                .map(drop)
                .map_err(|e| provider::unavailable(&self.name, format!("no session can be created on it: {e}")))
        });
        probed.insert(self.name.clone(), result.clone());
        result
    }
}

impl Runtime for OrtRuntime {
    fn name(&self) -> &str {
        &self.name
    }

    fn version(&self) -> String {
        library::load(&self.name).map_or_else(
            |_| "unavailable".into(),
            |l| format!("onnxruntime {}{}", l.version, self.options.provider.label()),
        )
    }

    fn prepare(&self, model: &Model) -> Result<Box<dyn Session>, RuntimeError> {
        let session = self
            .builder()?
            .commit_from_memory(&model.to_bytes())
            .map_err(|e| convert::classify(&self.name, &e))?;
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
