//! The kernel registry: one module per ONNX op family, each registering its kernels by op type.

use std::collections::HashMap;

use crate::context::OpContext;
use crate::error::OpError;
use crate::value::Value;

mod activation;
mod attention;
mod cast;
mod col2im;
mod comparison;
mod compress;
mod concat_split;
mod constant;
mod conv;
mod conv_transpose;
mod cumulative;
mod deform_conv;
mod dft;
mod dropout;
mod einsum;
mod elementwise_binary;
mod elementwise_unary;
mod expand_tile;
mod gather;
mod grid_sample;
mod indices;
mod linalg;
mod losses;
mod matmul;
mod microsoft;
mod nms;
mod normalization;
mod pad;
mod pmaddubsw;
mod pool;
mod qlinear;
mod quantize_linear;
mod reduce;
mod reshape;
mod resize;
mod rnn;
mod roi_align;
mod rotary;
mod slice;
mod softmax;
mod space_depth;
mod topk;
mod transpose;
mod unique;
mod variadic;
mod window;

/// A kernel: evaluates one node on its inputs (`None` for omitted optional inputs) and
/// returns its outputs in order.
pub type Kernel = fn(&OpContext, &[Option<Value>]) -> Result<Vec<Value>, OpError>;

/// Kernels by op type: the default ONNX domain, and the `com.microsoft` contrib ops that ONNX
/// Runtime's converters and optimizer write into models.
#[derive(Default)]
pub struct Registry {
    kernels: HashMap<&'static str, Kernel>,
    microsoft: HashMap<&'static str, Kernel>,
}

/// The contrib-op domain of ONNX Runtime.
pub const MICROSOFT: &str = "com.microsoft";

impl Registry {
    /// Every kernel the reference implements.
    pub fn standard() -> Registry {
        let mut r = Registry::default();
        for register in [
            activation::register,
            attention::register,
            cast::register,
            col2im::register,
            comparison::register,
            concat_split::register,
            compress::register,
            constant::register,
            conv::register,
            conv_transpose::register,
            cumulative::register,
            deform_conv::register,
            dft::register,
            dropout::register,
            einsum::register,
            elementwise_binary::register,
            elementwise_unary::register,
            expand_tile::register,
            gather::register,
            grid_sample::register,
            indices::register,
            linalg::register,
            losses::register,
            matmul::register,
            nms::register,
            normalization::register,
            pad::register,
            pool::register,
            qlinear::register,
            quantize_linear::register,
            reduce::register,
            reshape::register,
            roi_align::register,
            resize::register,
            rnn::register,
            rotary::register,
            slice::register,
            softmax::register,
            space_depth::register,
            topk::register,
            transpose::register,
            unique::register,
            variadic::register,
            window::register,
        ] {
            register(&mut r);
        }
        microsoft::register(&mut r);
        r
    }

    pub fn add_microsoft(&mut self, op_type: &'static str, kernel: Kernel) {
        let previous = self.microsoft.insert(op_type, kernel);
        assert!(previous.is_none(), "com.microsoft {op_type} registered twice");
    }

    /// The kernel of `op_type` in `domain` (already normalised: "" for ai.onnx).
    pub fn get_in(&self, domain: &str, op_type: &str) -> Option<Kernel> {
        match domain {
            "" => self.get(op_type),
            MICROSOFT => self.microsoft.get(op_type).copied(),
            _ => None,
        }
    }

    pub fn add(&mut self, op_type: &'static str, kernel: Kernel) {
        let previous = self.kernels.insert(op_type, kernel);
        assert!(previous.is_none(), "{op_type} registered twice");
    }

    pub fn get(&self, op_type: &str) -> Option<Kernel> {
        self.kernels.get(op_type).copied()
    }

    /// Registered op types, sorted.
    pub fn op_types(&self) -> Vec<&'static str> {
        let mut ops: Vec<_> = self.kernels.keys().copied().collect();
        ops.sort_unstable();
        ops
    }
}
