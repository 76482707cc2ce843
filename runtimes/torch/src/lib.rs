//! sysnoise adapter for LibTorch through `tch` 0.24.0 (torch 2.11.0): ONNX graphs run node by
//! node with eager tch ops, one file per op family under `ops/` (mirroring the reference's).
//!
//! Everything is behind the `libtorch` feature (off by default) so that the workspace builds and
//! tests without LibTorch; build it with `LIBTORCH=<dir>/torch LIBTORCH_CXX11_ABI=1` (see
//! scripts/setup_libtorch.sh). Where LibTorch has no exact equivalent of an ONNX op, attribute
//! or dtype, the runtime declines (`Unsupported`) rather than approximating.

#[cfg(feature = "libtorch")]
mod context;
#[cfg(feature = "libtorch")]
mod cuda;
#[cfg(feature = "libtorch")]
mod error;
#[cfg(feature = "libtorch")]
mod ops;
#[cfg(feature = "libtorch")]
mod runtime;
#[cfg(feature = "libtorch")]
mod session;
#[cfg(feature = "libtorch")]
mod value;

#[cfg(feature = "libtorch")]
pub use runtime::{TorchDevice, TorchOptions, TorchRuntime};
#[cfg(feature = "libtorch")]
pub use value::Precision;

/// The op types the adapter runs (some only with certain attributes), sorted.
#[cfg(feature = "libtorch")]
pub fn op_types() -> Vec<&'static str> {
    runtime::registry().op_types()
}
