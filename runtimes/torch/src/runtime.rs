//! `TorchRuntime`: LibTorch as a sysnoise `Runtime` — ONNX nodes run one by one with eager
//! tch ops, on the CPU or a CUDA device, in the model's dtypes or in f16 / bf16.

use std::collections::HashMap;
use std::sync::{Arc, Once, OnceLock};

use sysnoise_boundary::model::normalise_domain;
use sysnoise_boundary::onnx::NodeProto;
use sysnoise_boundary::{Model, Runtime, RuntimeError, Session};
use tch::Device;

use crate::context::Ctx;
use crate::cuda;
use crate::ops::Registry;
use crate::session::TorchSession;
use crate::value::{Env, Precision, kind_of};

/// The shared kernel registry (built once).
pub fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(Registry::standard)
}

/// Where a graph runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TorchDevice {
    Cpu,
    /// The first CUDA device.
    Cuda,
}

/// A LibTorch configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TorchOptions {
    pub device: TorchDevice,
    pub precision: Precision,
}

/// LibTorch (through tch) as a sysnoise [`Runtime`].
pub struct TorchRuntime {
    name: String,
    env: Env,
}

impl TorchRuntime {
    /// A LibTorch runtime. `TorchDevice::Cuda` is `Unavailable` (with the reason) when
    /// LibTorch's CUDA backend cannot be loaded or sees no device.
    pub fn new(name: &str, options: TorchOptions) -> Result<TorchRuntime, RuntimeError> {
        single_threaded();
        let device = match options.device {
            TorchDevice::Cpu => Device::Cpu,
            TorchDevice::Cuda => {
                let unavailable = |reason: String| RuntimeError::Unavailable {
                    runtime: name.to_string(),
                    reason,
                    install: format!(
                        "on a machine with an NVIDIA GPU and driver, `export $(scripts/setup_gpu.sh)`: it installs the CUDA 13 \
                         libraries LibTorch {} pins (PyPI nvidia-* wheels) and puts them on LD_LIBRARY_PATH beside {}",
                        env!("SYSNOISE_LIBTORCH_VERSION"),
                        cuda::LIBTORCH_LIB
                    ),
                };
                cuda::load_backend().map_err(unavailable)?;
                if !tch::Cuda::is_available() {
                    return Err(unavailable(
                        "LibTorch's CUDA backend loaded but sees no CUDA device".into(),
                    ));
                }
                Device::Cuda(0)
            }
        };
        Ok(TorchRuntime {
            name: name.to_string(),
            env: Env {
                device,
                precision: options.precision,
            },
        })
    }
}

/// One intra-op thread, as the `ort` runtime uses: results do not depend on the machine's
/// core count (LibTorch splits some reductions by thread). Process-wide, set once.
fn single_threaded() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| tch::set_num_threads(1));
}

/// A node's name, or an `op_type -> outputs` label when it has none.
pub fn node_label(node: &NodeProto) -> String {
    if node.name.is_empty() {
        format!("{} -> {}", node.op_type, node.output.join(","))
    } else {
        node.name.clone()
    }
}

impl Runtime for TorchRuntime {
    fn name(&self) -> &str {
        &self.name
    }

    fn version(&self) -> String {
        format!("LibTorch {} (tch 0.24.0)", env!("SYSNOISE_LIBTORCH_VERSION"))
    }

    fn prepare(&self, model: &Model) -> Result<Box<dyn Session>, RuntimeError> {
        let name = self.name.as_str();
        let opset = model.opset("").unwrap_or(1);
        for node in &model.graph().node {
            if !normalise_domain(&node.domain).is_empty() {
                return Err(
                    RuntimeError::unsupported(name, format!("op domain '{}' ({})", node.domain, node.op_type))
                        .at(node_label(node)),
                );
            }
            let op = registry().get(&node.op_type).ok_or_else(|| {
                RuntimeError::unsupported(name, format!("no LibTorch kernel for {}", node.op_type)).at(node_label(node))
            })?;
            let ctx = Ctx {
                node,
                opset,
                env: &self.env,
            };
            (op.check)(&ctx).map_err(|e| e.into_runtime(name, &node.op_type).at(node_label(node)))?;
        }
        for io in model.inputs().iter().chain(model.outputs().iter()) {
            if let Some(dtype) = io.dtype {
                kind_of(dtype).map_err(|e| RuntimeError::unsupported(name, format!("'{}': {e}", io.name)))?;
            }
        }
        let mut constants = HashMap::new();
        for (init, tensor) in model.graph().initializer.iter().zip(
            model
                .initializers()
                .map_err(|e| RuntimeError::unsupported(name, e.to_string()))?,
        ) {
            let value = self
                .env
                .import(&tensor.1)
                .map_err(|e| e.into_runtime(name, "initializer").at(init.name.clone()))?;
            constants.insert(init.name.clone(), value);
        }
        Ok(Box::new(TorchSession {
            name: self.name.clone(),
            model: Arc::new(model.clone()),
            constants,
            opset,
            env: self.env,
        }))
    }
}
