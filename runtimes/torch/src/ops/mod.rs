//! The kernel registry: one module per ONNX op family (mirroring the reference's), each
//! registering its kernels, and the prepare-time checks of attributes LibTorch cannot honour.

use std::collections::HashMap;

use crate::context::Ctx;
use crate::error::OpError;
use crate::value::Value;

mod activation;
mod cast;
mod comparison;
mod concat_split;
mod constant;
mod conv;
mod elementwise_binary;
mod elementwise_unary;
mod expand_tile;
mod gather;
mod integer;
mod matmul;
mod normalization;
mod pad;
mod pool;
mod reduce;
mod reshape;
mod resize;
mod rnn;
mod slice;
mod softmax;
mod transpose;
mod variadic;

/// A kernel: runs one node on its inputs (`None` for omitted optional inputs) and returns its
/// outputs in order.
pub type Kernel = fn(&Ctx, &[Option<Value>]) -> Result<Vec<Value>, OpError>;

/// A prepare-time check of a node's attributes (and opset): `Unsupported` when LibTorch has no
/// exact equivalent, so the runtime declines the model before running anything.
pub type Check = fn(&Ctx) -> Result<(), OpError>;

/// One op: its kernel and its prepare-time check.
#[derive(Clone, Copy)]
pub struct Op {
    pub run: Kernel,
    pub check: Check,
}

/// Kernels by op type (default ONNX domain).
#[derive(Default)]
pub struct Registry {
    ops: HashMap<&'static str, Op>,
}

fn no_check(_: &Ctx) -> Result<(), OpError> {
    Ok(())
}

impl Registry {
    /// Every op the adapter runs.
    pub fn standard() -> Registry {
        let mut r = Registry::default();
        for register in [
            activation::register,
            cast::register,
            comparison::register,
            concat_split::register,
            constant::register,
            conv::register,
            elementwise_binary::register,
            elementwise_unary::register,
            expand_tile::register,
            gather::register,
            integer::register,
            matmul::register,
            normalization::register,
            pad::register,
            pool::register,
            reduce::register,
            reshape::register,
            resize::register,
            rnn::register,
            slice::register,
            softmax::register,
            transpose::register,
            variadic::register,
        ] {
            register(&mut r);
        }
        r
    }

    /// Registers a kernel whose attributes are all supported.
    pub fn add(&mut self, op_type: &'static str, run: Kernel) {
        self.add_checked(op_type, run, no_check);
    }

    /// Registers a kernel with a prepare-time check.
    pub fn add_checked(&mut self, op_type: &'static str, run: Kernel, check: Check) {
        let previous = self.ops.insert(op_type, Op { run, check });
        assert!(previous.is_none(), "{op_type} registered twice");
    }

    pub fn get(&self, op_type: &str) -> Option<Op> {
        self.ops.get(op_type).copied()
    }

    /// Registered op types, sorted.
    pub fn op_types(&self) -> Vec<&'static str> {
        let mut ops: Vec<_> = self.ops.keys().copied().collect();
        ops.sort_unstable();
        ops
    }
}
