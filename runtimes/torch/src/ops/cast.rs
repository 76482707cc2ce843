//! Cast and CastLike (LibTorch's conversions: round to nearest for floats, truncation toward
//! zero for integers, `!= 0` for bool). Under a reduced precision a cast to a float dtype keeps
//! the compute precision; the graph output is cast to its declared dtype at the edge.

use sysnoise_boundary::DType;

use super::Registry;
use crate::context::Ctx;
use crate::error::OpError;
use crate::value::{Value, kind_of};

pub fn register(r: &mut Registry) {
    r.add_checked("Cast", cast, check_cast);
    r.add("CastLike", cast_like);
}

/// The `to` dtype, which LibTorch must hold.
fn target(ctx: &Ctx) -> Result<DType, OpError> {
    let code = ctx
        .attr("to")
        .map(|a| a.i)
        .ok_or_else(|| OpError::invalid("Cast needs `to`"))?;
    let dtype = DType::from_onnx_code(code as i32).map_err(|e| OpError::unsupported(e.to_string()))?;
    kind_of(dtype)?;
    Ok(dtype)
}

fn check_cast(ctx: &Ctx) -> Result<(), OpError> {
    target(ctx).map(|_| ())
}

fn convert(ctx: &Ctx, x: &Value, to: DType) -> Result<Vec<Value>, OpError> {
    Ok(vec![ctx.env.value(x.t.shallow_clone(), to)?])
}

fn cast(ctx: &Ctx, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    convert(ctx, ctx.input(inputs, 0)?, target(ctx)?)
}

fn cast_like(ctx: &Ctx, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    convert(ctx, ctx.input(inputs, 0)?, ctx.input(inputs, 1)?.dtype)
}
