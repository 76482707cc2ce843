//! Reference kernels: broadcast elementwise ops on two tensors (arithmetic, Pow, Mod, logic, shifts, bitwise ops).

use ndarray::ArrayD;
use sysnoise_boundary::DType;

use super::Registry;
use crate::broadcast::zip2;
use crate::context::OpContext;
use crate::error::OpError;
use crate::value::{Data, Value};

/// An integer kernel: `(dtype, a, b)` → result, or `None` where the result is undefined (division by zero).
/// Values are i64 wrapped to `dtype`; u64 values are held as their bit pattern.
pub(super) type IntOp = fn(DType, i64, i64) -> Option<i64>;

pub fn register(r: &mut Registry) {
    r.add("Add", |c, i| {
        arith(c, i, |a, b| a + b, |_, a, b| Some(a.wrapping_add(b)))
    });
    r.add("Sub", |c, i| {
        arith(c, i, |a, b| a - b, |_, a, b| Some(a.wrapping_sub(b)))
    });
    r.add("Mul", |c, i| {
        arith(c, i, |a, b| a * b, |_, a, b| Some(a.wrapping_mul(b)))
    });
    r.add("Div", |c, i| arith(c, i, |a, b| a / b, int_div));
    r.add("Mod", modulo);
    r.add("Pow", pow);
    r.add("And", |c, i| logic(c, i, |a, b| a && b));
    r.add("Or", |c, i| logic(c, i, |a, b| a || b));
    r.add("Xor", |c, i| logic(c, i, |a, b| a != b));
    r.add("BitShift", bit_shift);
    r.add("BitwiseAnd", |c, i| bitwise(c, i, |_, a, b| Some(a & b)));
    r.add("BitwiseOr", |c, i| bitwise(c, i, |_, a, b| Some(a | b)));
    r.add("BitwiseXor", |c, i| bitwise(c, i, |_, a, b| Some(a ^ b)));
    r.add("BitwiseNot", bitwise_not);
}

/// The two inputs of a binary node.
fn two<'v>(ctx: &OpContext, inputs: &'v [Option<Value>]) -> Result<(&'v Value, &'v Value), OpError> {
    Ok((ctx.input(inputs, 0)?, ctx.input(inputs, 1)?))
}

fn arith(
    ctx: &OpContext,
    inputs: &[Option<Value>],
    float: fn(f64, f64) -> f64,
    int: IntOp,
) -> Result<Vec<Value>, OpError> {
    let (a, b) = two(ctx, inputs)?;
    Ok(vec![binary(a, b, float, int)?])
}

/// Applies `float` or `int` elementwise over two broadcast values of one numeric dtype.
pub(super) fn binary(a: &Value, b: &Value, float: fn(f64, f64) -> f64, int: IntOp) -> Result<Value, OpError> {
    if a.dtype != b.dtype {
        return Err(OpError::invalid(format!("operands of {} and {}", a.dtype, b.dtype)));
    }
    match (&a.data, &b.data) {
        (Data::F(x), Data::F(y)) => Ok(Value::float(a.dtype, zip2(x, y, float)?)),
        (Data::I(x), Data::I(y)) => int_result(a.dtype, zip2(x, y, |p, q| int(a.dtype, p, q))?),
        _ => Err(OpError::invalid(format!("arithmetic on {}", a.dtype))),
    }
}

/// An integer value from per-element results, refusing undefined (`None`) elements.
fn int_result(dtype: DType, r: ArrayD<Option<i64>>) -> Result<Value, OpError> {
    if r.iter().any(Option::is_none) {
        return Err(OpError::unsupported("integer division by zero is undefined"));
    }
    Ok(Value::int(dtype, r.mapv(|v| v.unwrap_or(0))))
}

/// Integer division truncating toward zero, as C does (u64 as unsigned).
pub(super) fn int_div(dtype: DType, a: i64, b: i64) -> Option<i64> {
    match (dtype, b) {
        (_, 0) => None,
        (DType::U64, _) => Some(((a as u64) / (b as u64)) as i64),
        _ => Some(a.wrapping_div(b)),
    }
}

/// C remainder: the sign of the dividend.
fn int_rem(dtype: DType, a: i64, b: i64) -> Option<i64> {
    match (dtype, b) {
        (_, 0) => None,
        (DType::U64, _) => Some(((a as u64) % (b as u64)) as i64),
        _ => Some(a.wrapping_rem(b)),
    }
}

/// Floored remainder (Python's `%`): the sign of the divisor.
fn int_floor_rem(dtype: DType, a: i64, b: i64) -> Option<i64> {
    let r = int_rem(dtype, a, b)?;
    let differ = dtype.is_signed_int() && r != 0 && (r < 0) != (b < 0);
    Some(if differ { r + b } else { r })
}

/// Floored float remainder: `a - floor(a / b) * b` with the signed-zero and infinity cases of the spec.
fn float_floor_rem(a: f64, b: f64) -> f64 {
    let r = a % b;
    if r == 0.0 {
        0.0_f64.copysign(b)
    } else if (r < 0.0) != (b < 0.0) {
        r + b
    } else {
        r
    }
}

fn modulo(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let (float, int): (fn(f64, f64) -> f64, IntOp) = match ctx.int("fmod", 0) {
        0 => (float_floor_rem, int_floor_rem),
        1 => (|a, b| a % b, int_rem),
        other => return Err(OpError::invalid(format!("fmod must be 0 or 1, got {other}"))),
    };
    arith(ctx, inputs, float, int)
}

fn pow(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let (base, exp) = two(ctx, inputs)?;
    let out = match (&base.data, &exp.data) {
        (Data::F(x), Data::F(_) | Data::I(_)) => Value::float(base.dtype, zip2(x, &exp.to_f64(), f64::powf)?),
        (Data::I(_), Data::F(e)) => Value::from_f64(base.dtype, zip2(&base.to_f64(), e, f64::powf)?),
        (Data::I(x), Data::I(e)) => {
            let unsigned_exp = exp.dtype == DType::U64;
            int_result(base.dtype, zip2(x, e, |b, e| int_pow(b, e, unsigned_exp))?)?
        }
        _ => return Err(OpError::invalid(format!("Pow of {} by {}", base.dtype, exp.dtype))),
    };
    Ok(vec![out])
}

/// Integer power, wrapping on overflow. A negative exponent gives C's `(T)pow(base, exp)`:
/// the fraction truncates to 0 unless |base| is 1; 0 to a negative power is undefined.
fn int_pow(base: i64, exp: i64, unsigned_exp: bool) -> Option<i64> {
    if exp < 0 && !unsigned_exp {
        return match base {
            0 => None,
            1 => Some(1),
            -1 => Some(if exp % 2 == 0 { 1 } else { -1 }),
            _ => Some(0),
        };
    }
    let (mut result, mut square, mut e) = (1i64, base, exp as u64);
    while e > 0 {
        if e & 1 == 1 {
            result = result.wrapping_mul(square);
        }
        square = square.wrapping_mul(square);
        e >>= 1;
    }
    Some(result)
}

fn logic(ctx: &OpContext, inputs: &[Option<Value>], f: fn(bool, bool) -> bool) -> Result<Vec<Value>, OpError> {
    let (a, b) = two(ctx, inputs)?;
    match (&a.data, &b.data) {
        (Data::B(x), Data::B(y)) => Ok(vec![Value::boolean(zip2(x, y, f)?)]),
        _ => Err(OpError::invalid(format!("logic op on {} and {}", a.dtype, b.dtype))),
    }
}

/// A binary op defined on integers only.
fn bitwise(ctx: &OpContext, inputs: &[Option<Value>], int: IntOp) -> Result<Vec<Value>, OpError> {
    let (a, b) = two(ctx, inputs)?;
    if a.dtype.is_float() {
        return Err(OpError::invalid(format!("bitwise op on {}", a.dtype)));
    }
    Ok(vec![binary(a, b, |_, _| f64::NAN, int)?])
}

fn bitwise_not(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    match &x.data {
        Data::I(a) => Ok(vec![Value::int(x.dtype, a.mapv(|v| !v))]),
        _ => Err(OpError::invalid(format!("BitwiseNot of {}", x.dtype))),
    }
}

fn bit_shift(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let int: IntOp = match ctx.string("direction", "").as_str() {
        "LEFT" => shift_left,
        "RIGHT" => shift_right,
        other => return Err(OpError::invalid(format!("BitShift direction '{other}'"))),
    };
    bitwise(ctx, inputs, int)
}

/// The shift amount if it is within `0..bits` of `dtype` (a u64 amount above i64::MAX reads as
/// negative: out of range too).
fn shift_amount(dtype: DType, y: i64) -> Option<u32> {
    let bits = 8 * dtype.size() as i64;
    (0..bits).contains(&y).then_some(y as u32)
}

fn shift_left(dtype: DType, x: i64, y: i64) -> Option<i64> {
    Some(shift_amount(dtype, y).map_or(0, |s| x << s))
}

/// Arithmetic for signed dtypes, logical for unsigned; out-of-range amounts leave only the sign fill.
fn shift_right(dtype: DType, x: i64, y: i64) -> Option<i64> {
    let fill = if dtype.is_signed_int() && x < 0 { -1 } else { 0 };
    Some(match shift_amount(dtype, y) {
        None => fill,
        Some(s) if dtype == DType::U64 => ((x as u64) >> s) as i64,
        Some(s) => x >> s,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_division_truncates_toward_zero() {
        assert_eq!(int_div(DType::I32, -7, 2), Some(-3));
        assert_eq!(int_div(DType::I32, 7, -2), Some(-3));
        assert_eq!(int_div(DType::I32, 7, 0), None);
        assert_eq!(int_div(DType::U64, -2, 2), Some(i64::MAX)); // (2^64 - 2) / 2
    }

    #[test]
    fn integer_mod_signs() {
        assert_eq!(int_floor_rem(DType::I8, 7, -3), Some(-2));
        assert_eq!(int_floor_rem(DType::I8, -7, 3), Some(2));
        assert_eq!(int_floor_rem(DType::I8, -4, 2), Some(0));
        assert_eq!(int_rem(DType::I64, -7, 3), Some(-1));
        assert_eq!(int_rem(DType::I64, 7, -3), Some(1));
        assert_eq!(int_floor_rem(DType::U64, -1, 10), Some(5)); // 18446744073709551615 % 10
    }

    #[test]
    fn float_mod_special_cases() {
        assert_eq!(float_floor_rem(0.0, -2.0).to_bits(), (-0.0f64).to_bits());
        assert_eq!(float_floor_rem(-3.0, f64::INFINITY), f64::INFINITY);
        assert_eq!(float_floor_rem(3.0, f64::INFINITY), 3.0);
        assert!(float_floor_rem(f64::INFINITY, 2.0).is_nan());
        assert!(float_floor_rem(1.0, 0.0).is_nan());
    }

    #[test]
    fn int_pow_wraps_and_truncates() {
        assert_eq!(int_pow(3, 4, false), Some(81));
        assert_eq!(int_pow(2, 64, false), Some(0));
        assert_eq!(int_pow(2, -1, false), Some(0));
        assert_eq!(int_pow(-1, -3, false), Some(-1));
        assert_eq!(int_pow(0, -1, false), None);
    }

    #[test]
    fn shifts_follow_opset_28() {
        assert_eq!(shift_right(DType::I8, -8, 8), Some(-1));
        assert_eq!(shift_right(DType::I8, 4, -1), Some(0));
        assert_eq!(shift_left(DType::I8, -1, 127), Some(0));
        assert_eq!(shift_right(DType::U64, -1, 63), Some(1));
    }
}
