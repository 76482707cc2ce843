//! Cast and CastLike (LibTorch's conversions: round to nearest for floats, truncation toward
//! zero for integers, `!= 0` for bool). Under a reduced precision a cast to a float dtype keeps
//! the compute precision; the graph output is cast to its declared dtype at the edge. To the
//! float8 formats: LibTorch's float8 conversion (nearest, ties to even) after ONNX's `saturate`
//! rules (out-of-range values to the largest finite value, infinities per format).

use sysnoise_boundary::DType;
use tch::{Kind, Tensor};

use super::Registry;
use crate::context::Ctx;
use crate::error::OpError;
use crate::value::{Value, float8_kind, kind_of};

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
    if float8_kind(to).is_some() && x.dtype != to {
        let saturate = ctx.int("saturate", 1) != 0;
        return Ok(vec![ctx.env.value(to_float8_range(x, to, saturate)?, to)?]);
    }
    Ok(vec![ctx.env.value(x.t.shallow_clone(), to)?])
}

/// The largest finite value of a float8 format.
fn float8_max(to: DType) -> f64 {
    match to {
        DType::F8E4M3FN => 448.0,
        DType::F8E4M3FNUZ => 240.0,
        _ => 57344.0,
    }
}

/// `x` as f32, with ONNX's rules for what does not fit `to` applied, so that LibTorch's
/// rounding conversion finishes the cast: with `saturate`, every value beyond the largest
/// finite one (infinities included) becomes that value; without it, infinities become NaN in
/// the formats that have none (all but E5M2), and LibTorch's conversion makes values that round
/// past the largest finite one NaN (E5M2: infinity).
fn to_float8_range(x: &Value, to: DType, saturate: bool) -> Result<Tensor, OpError> {
    if x.dtype == DType::F64 {
        return Err(OpError::unsupported(format!(
            "Cast from double to {to}: LibTorch converts through float, rounding twice"
        )));
    }
    let t = x.t.f_to_kind(Kind::Float)?;
    let infinity_is_nan = !saturate && to != DType::F8E5M2;
    let t = if infinity_is_nan {
        let nan = t.f_full_like(f64::NAN)?;
        nan.f_where_self(&t.f_isinf()?, &t)?
    } else {
        t
    };
    if saturate {
        let max = float8_max(to);
        Ok(t.f_clamp(-max, max)?)
    } else {
        Ok(t)
    }
}

fn cast(ctx: &Ctx, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    convert(ctx, ctx.input(inputs, 0)?, target(ctx)?)
}

fn cast_like(ctx: &Ctx, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    convert(ctx, ctx.input(inputs, 0)?, ctx.input(inputs, 1)?.dtype)
}
