//! MatMul (numpy semantics: 1-D promotion, batch broadcasting) and Gemm (transA, transB, alpha, beta).

use tch::Tensor;

use super::Registry;
use crate::context::{Ctx, same_dtype};
use crate::error::OpError;
use crate::value::Value;

pub fn register(r: &mut Registry) {
    r.add("MatMul", matmul);
    r.add("Gemm", gemm);
}

fn matmul(ctx: &Ctx, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let (a, b) = (ctx.input(inputs, 0)?, ctx.input(inputs, 1)?);
    same_dtype("MatMul", a, b)?;
    Ok(vec![ctx.env.like(a.t.f_matmul(&b.t)?, a)?])
}

/// A 2-D operand, transposed when `transpose`.
fn operand(v: &Value, transpose: bool, name: &str) -> Result<Tensor, OpError> {
    if v.rank() != 2 {
        return Err(OpError::invalid(format!(
            "Gemm {name} must be 2-D, got {:?}",
            v.shape()
        )));
    }
    Ok(if transpose {
        v.t.f_permute([1, 0])?
    } else {
        v.t.shallow_clone()
    })
}

/// Y = alpha * A' B' + beta * C. With alpha = beta = 1 this is LibTorch's `addmm` (what
/// `torch.nn.Linear` runs); otherwise the product, scaled, plus the scaled C.
fn gemm(ctx: &Ctx, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let (a, b) = (ctx.input(inputs, 0)?, ctx.input(inputs, 1)?);
    same_dtype("Gemm", a, b)?;
    let a_t = operand(a, ctx.int("transA", 0) != 0, "A")?;
    let b_t = operand(b, ctx.int("transB", 0) != 0, "B")?;
    let (alpha, beta) = (ctx.float("alpha", 1.0), ctx.float("beta", 1.0));
    if !a.is_float() && (alpha != 1.0 || beta != 1.0) {
        return Err(OpError::unsupported(format!(
            "integer Gemm with alpha {alpha} / beta {beta}: LibTorch would scale in float32"
        )));
    }
    let c = ctx.optional_input(inputs, 2);
    if let Some(c) = c {
        same_dtype("Gemm", a, c)?;
    }
    let t = match c {
        Some(c) if alpha == 1.0 && beta == 1.0 => c.t.f_addmm(&a_t, &b_t)?,
        Some(c) => {
            let product = scaled(a_t.f_mm(&b_t)?, alpha)?;
            product.f_add(&scaled(c.t.shallow_clone(), beta)?)?
        }
        None => scaled(a_t.f_mm(&b_t)?, alpha)?,
    };
    let (m, n) = (a_t.size()[0], b_t.size()[1]);
    if t.size() != [m, n] {
        return Err(OpError::invalid(format!(
            "Gemm C {:?} does not broadcast to [{m}, {n}]",
            c.map(Value::shape)
        )));
    }
    Ok(vec![ctx.env.like(t, a)?])
}

fn scaled(t: Tensor, factor: f64) -> Result<Tensor, OpError> {
    Ok(if factor == 1.0 { t } else { t.f_mul_scalar(factor)? })
}
