//! Binary elementwise ops with numpy broadcasting: arithmetic (integer Div truncates toward zero,
//! Mod with `fmod`), Pow, logic and bitwise ops.

use sysnoise_boundary::DType;
use tch::{TchError, Tensor};

use super::Registry;
use crate::context::{Ctx, same_dtype};
use crate::error::OpError;
use crate::value::Value;

type TorchFn2 = fn(&Tensor, &Tensor) -> Result<Tensor, TchError>;

pub fn register(r: &mut Registry) {
    r.add("Add", |c, i| arith(c, i, Tensor::f_add));
    r.add("Sub", |c, i| arith(c, i, Tensor::f_sub));
    r.add("Mul", |c, i| arith(c, i, Tensor::f_mul));
    r.add("Div", div);
    r.add_checked("Mod", modulo, check_mod);
    r.add("Pow", pow);
    r.add("And", |c, i| logic(c, i, Tensor::f_logical_and));
    r.add("Or", |c, i| logic(c, i, Tensor::f_logical_or));
    r.add("Xor", |c, i| logic(c, i, Tensor::f_logical_xor));
    r.add_checked("BitShift", bit_shift, check_bit_shift);
    r.add("BitwiseAnd", |c, i| bitwise(c, i, Tensor::f_bitwise_and_tensor));
    r.add("BitwiseOr", |c, i| bitwise(c, i, Tensor::f_bitwise_or_tensor));
    r.add("BitwiseXor", |c, i| bitwise(c, i, Tensor::f_bitwise_xor_tensor));
    r.add("BitwiseNot", bitwise_not);
}

/// The two operands of a binary node, of one numeric dtype.
fn operands<'v>(ctx: &Ctx, inputs: &'v [Option<Value>]) -> Result<(&'v Value, &'v Value), OpError> {
    let (a, b) = (ctx.input(inputs, 0)?, ctx.input(inputs, 1)?);
    same_dtype(&ctx.node.op_type, a, b)?;
    Ok((a, b))
}

fn arith(ctx: &Ctx, inputs: &[Option<Value>], f: TorchFn2) -> Result<Vec<Value>, OpError> {
    let (a, b) = operands(ctx, inputs)?;
    if a.dtype == DType::Bool {
        return Err(OpError::invalid(format!("{} of bool", ctx.node.op_type)));
    }
    Ok(vec![ctx.env.like(f(&a.t, &b.t)?, a)?])
}

/// Integer division by zero is undefined in ONNX: declined rather than given LibTorch's error.
fn refuse_zero_divisor(b: &Value) -> Result<(), OpError> {
    if b.t.f_eq(0)?.f_any()?.f_int64_value(&[])? != 0 {
        return Err(OpError::unsupported("integer division by zero is undefined"));
    }
    Ok(())
}

/// Float division, or integer division truncating toward zero (as ONNX specifies for integers).
fn div(ctx: &Ctx, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let (a, b) = operands(ctx, inputs)?;
    let t = if a.is_float() {
        a.t.f_div(&b.t)?
    } else if a.dtype == DType::Bool {
        return Err(OpError::invalid("Div of bool"));
    } else {
        refuse_zero_divisor(b)?;
        a.t.f_div_tensor_mode(&b.t, "trunc")?
    };
    Ok(vec![ctx.env.like(t, a)?])
}

fn check_mod(ctx: &Ctx) -> Result<(), OpError> {
    match ctx.int("fmod", 0) {
        0 | 1 => Ok(()),
        other => Err(OpError::invalid(format!("fmod must be 0 or 1, got {other}"))),
    }
}

/// `fmod = 1`: C's remainder (the sign of the dividend, LibTorch's `fmod`); `fmod = 0`: the
/// floored remainder (the sign of the divisor, LibTorch's `remainder`), whose zeros take the
/// divisor's sign as numpy's do.
fn modulo(ctx: &Ctx, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let (a, b) = operands(ctx, inputs)?;
    if a.dtype == DType::Bool {
        return Err(OpError::invalid("Mod of bool"));
    }
    if !a.is_float() {
        refuse_zero_divisor(b)?;
    }
    let t = if ctx.int("fmod", 0) == 1 {
        a.t.f_fmod_tensor(&b.t)?
    } else {
        let r = a.t.f_remainder_tensor(&b.t)?;
        if a.is_float() {
            r.f_copysign(&b.t)?.f_where_self(&r.f_eq(0)?, &r)?
        } else {
            r
        }
    };
    Ok(vec![ctx.env.like(t, a)?])
}

/// Pow: the result has the base's dtype. Float bases are raised in their own precision;
/// integer bases to float exponents go through LibTorch's float pow and truncate back, as a
/// C cast does. LibTorch refuses negative integer powers of integers: declined.
fn pow(ctx: &Ctx, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let (base, exp) = (ctx.input(inputs, 0)?, ctx.input(inputs, 1)?);
    if base.dtype == DType::Bool || exp.dtype == DType::Bool {
        return Err(OpError::invalid("Pow of bool"));
    }
    let t = match (base.is_float(), exp.is_float()) {
        (true, _) => base.t.f_pow(&exp.t.f_to_kind(base.t.f_kind()?)?)?,
        (false, true) => base.t.f_pow(&exp.t)?,
        (false, false) => {
            if exp.t.f_lt(0)?.f_any()?.f_int64_value(&[])? != 0 {
                return Err(OpError::unsupported(
                    "LibTorch refuses integers raised to negative integer powers",
                ));
            }
            base.t.f_pow(&exp.t.f_to_kind(base.t.f_kind()?)?)?
        }
    };
    Ok(vec![ctx.env.like(t, base)?])
}

fn logic(ctx: &Ctx, inputs: &[Option<Value>], f: TorchFn2) -> Result<Vec<Value>, OpError> {
    let (a, b) = operands(ctx, inputs)?;
    if a.dtype != DType::Bool {
        return Err(OpError::invalid(format!("{} of {}", ctx.node.op_type, a.dtype)));
    }
    Ok(vec![ctx.env.native(f(&a.t, &b.t)?)?])
}

/// An op on integers (and bools for the bitwise ones) only.
fn bitwise(ctx: &Ctx, inputs: &[Option<Value>], f: TorchFn2) -> Result<Vec<Value>, OpError> {
    let (a, b) = operands(ctx, inputs)?;
    if a.is_float() {
        return Err(OpError::invalid(format!("{} of {}", ctx.node.op_type, a.dtype)));
    }
    Ok(vec![ctx.env.like(f(&a.t, &b.t)?, a)?])
}

fn bitwise_not(ctx: &Ctx, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    if x.is_float() {
        return Err(OpError::invalid(format!("BitwiseNot of {}", x.dtype)));
    }
    Ok(vec![ctx.env.like(x.t.f_bitwise_not()?, x)?])
}

fn check_bit_shift(ctx: &Ctx) -> Result<(), OpError> {
    match ctx.string("direction", "").as_str() {
        "LEFT" | "RIGHT" => Ok(()),
        other => Err(OpError::invalid(format!("BitShift direction '{other}'"))),
    }
}

/// BitShift on unsigned integers (LibTorch gives 0 for shifts of the bit width or more, as the
/// reference does).
fn bit_shift(ctx: &Ctx, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    if ctx.string("direction", "") == "LEFT" {
        bitwise(ctx, inputs, Tensor::f_bitwise_left_shift)
    } else {
        bitwise(ctx, inputs, Tensor::f_bitwise_right_shift)
    }
}
