//! `Ctx`: what a kernel sees of its node (attributes with defaults, opset, inputs) and of the
//! session (device and float precision).

use sysnoise_boundary::Tensor;
use sysnoise_boundary::onnx::{AttributeProto, NodeProto};

use crate::error::OpError;
use crate::value::{Env, Value};

/// The node being run (or checked at prepare time) and its environment.
pub struct Ctx<'a> {
    pub node: &'a NodeProto,
    /// Opset version of the default domain in the model.
    pub opset: i64,
    pub env: &'a Env,
}

impl<'a> Ctx<'a> {
    pub fn attr(&self, name: &str) -> Option<&'a AttributeProto> {
        self.node.attribute.iter().find(|a| a.name == name)
    }

    pub fn int(&self, name: &str, default: i64) -> i64 {
        self.attr(name).map_or(default, |a| a.i)
    }

    /// A float attribute widened to f64 (the value the f32 attribute holds exactly).
    pub fn float(&self, name: &str, default: f32) -> f64 {
        f64::from(self.attr(name).map_or(default, |a| a.f))
    }

    pub fn string(&self, name: &str, default: &str) -> String {
        self.attr(name)
            .map_or_else(|| default.to_string(), |a| String::from_utf8_lossy(&a.s).into_owned())
    }

    pub fn ints(&self, name: &str) -> Option<Vec<i64>> {
        self.attr(name).map(|a| a.ints.clone())
    }

    pub fn floats(&self, name: &str) -> Option<Vec<f32>> {
        self.attr(name).map(|a| a.floats.clone())
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

    /// The number of outputs the node asks for (trailing empty names not counted).
    pub fn wanted_outputs(&self) -> usize {
        self.node
            .output
            .iter()
            .rposition(|o| !o.is_empty())
            .map_or(0, |i| i + 1)
    }
}

/// Normalises a possibly negative axis against `rank`.
pub fn axis(axis: i64, rank: usize) -> Result<i64, OpError> {
    let r = rank as i64;
    let a = if axis < 0 { axis + r } else { axis };
    if a < 0 || a >= r.max(1) {
        return Err(OpError::invalid(format!("axis {axis} out of range for rank {rank}")));
    }
    Ok(a)
}

/// Normalises a list of axes (each once) against `rank`.
pub fn axes(values: &[i64], rank: usize) -> Result<Vec<i64>, OpError> {
    let mut out = Vec::with_capacity(values.len());
    for &v in values {
        let a = axis(v, rank)?;
        if out.contains(&a) {
            return Err(OpError::invalid(format!("axis {v} repeated in {values:?}")));
        }
        out.push(a);
    }
    Ok(out)
}

/// Checks that the operands of a binary op share one dtype (ONNX types them both `T`).
pub fn same_dtype(op: &str, a: &Value, b: &Value) -> Result<(), OpError> {
    if a.dtype == b.dtype {
        Ok(())
    } else {
        Err(OpError::invalid(format!(
            "{op} operands of {} and {}",
            a.dtype, b.dtype
        )))
    }
}
