//! `OpContext`: what a kernel sees of its node (attributes with defaults, opset, inputs).

use sysnoise_boundary::onnx::{AttributeProto, NodeProto};
use sysnoise_boundary::{Tensor, U8S8Accumulation};

use crate::error::OpError;
use crate::value::Value;

/// The node being evaluated and the opset of its domain.
pub struct OpContext<'a> {
    pub node: &'a NodeProto,
    /// Opset version of the node's domain in the model.
    pub opset: i64,
    /// How integer convolutions and products accumulate u8 × s8 products (exact, as the spec
    /// says, unless the session emulates a CPU kernel that does otherwise).
    pub u8s8: U8S8Accumulation,
}

impl<'a> OpContext<'a> {
    /// A node at an opset, with the specification's exact integer arithmetic.
    pub fn new(node: &'a NodeProto, opset: i64) -> OpContext<'a> {
        OpContext {
            node,
            opset,
            u8s8: U8S8Accumulation::Exact,
        }
    }

    pub fn attr(&self, name: &str) -> Option<&'a AttributeProto> {
        self.node.attribute.iter().find(|a| a.name == name)
    }

    pub fn int(&self, name: &str, default: i64) -> i64 {
        self.attr(name).map_or(default, |a| a.i)
    }

    pub fn float(&self, name: &str, default: f64) -> f64 {
        self.attr(name).map_or(default, |a| f64::from(a.f))
    }

    pub fn string(&self, name: &str, default: &str) -> String {
        self.attr(name)
            .map_or_else(|| default.to_string(), |a| String::from_utf8_lossy(&a.s).into_owned())
    }

    pub fn ints(&self, name: &str) -> Option<Vec<i64>> {
        self.attr(name).map(|a| a.ints.clone())
    }

    pub fn floats(&self, name: &str) -> Option<Vec<f64>> {
        self.attr(name)
            .map(|a| a.floats.iter().map(|&f| f64::from(f)).collect())
    }

    pub fn strings(&self, name: &str) -> Option<Vec<String>> {
        self.attr(name).map(|a| {
            a.strings
                .iter()
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .collect()
        })
    }

    /// A tensor-valued attribute, decoded.
    pub fn tensor(&self, name: &str) -> Result<Option<Tensor>, OpError> {
        match self.attr(name).and_then(|a| a.t.as_ref()) {
            Some(t) => Tensor::from_proto(t)
                .map(Some)
                .map_err(|e| OpError::unsupported(e.to_string())),
            None => Ok(None),
        }
    }

    /// Input `i`, which must be present.
    pub fn input<'v>(&self, inputs: &'v [Option<Value>], i: usize) -> Result<&'v Value, OpError> {
        inputs
            .get(i)
            .and_then(Option::as_ref)
            .ok_or_else(|| OpError::invalid(format!("{} needs input {i}", self.node.op_type)))
    }

    /// Input `i` if given (absent or empty name → `None`).
    pub fn optional_input<'v>(&self, inputs: &'v [Option<Value>], i: usize) -> Option<&'v Value> {
        inputs.get(i).and_then(Option::as_ref)
    }

    /// Normalises a possibly negative axis against `rank`.
    pub fn axis(&self, axis: i64, rank: usize) -> Result<usize, OpError> {
        let r = rank as i64;
        let a = if axis < 0 { axis + r } else { axis };
        if a < 0 || a >= r.max(1) {
            return Err(OpError::invalid(format!("axis {axis} out of range for rank {rank}")));
        }
        Ok(a as usize)
    }
}
