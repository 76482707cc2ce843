//! ConvInteger and MatMulInteger as x86's `pmaddubsw` kernels compute u8 × s8 products (ONNX
//! Runtime's MLAS on AVX2, and AVX-512BW without VNNI): along K, products 2j and 2j+1 are added
//! and the sum saturated to int16; the int16 sums are then added exactly in int32.
//!
//! K is ordered as MLAS packs it: a convolution's K is (kernel position, input channel) with
//! the channel fastest (its weights reordered OIHW → HWIO, activations in NHWC), per group,
//! padded with a zero to even length; a product's K is its natural order. Activations enter
//! raw (their zero point is subtracted exactly afterwards, as `-x_zp · Σ_k w`), and padding
//! holds the raw zero point. A depthwise convolution (one input and one output channel per
//! group) runs on MLAS's widening depthwise kernel, which is exact. Verified bit for bit against
//! ONNX Runtime 1.32 on an AVX2 CPU (tests/int8_isa.rs).

use ndarray::{Array2, ArrayD, Axis, IxDyn};
use sysnoise_boundary::DType;

use super::conv::ConvLayout;
use crate::context::OpContext;
use crate::error::OpError;
use crate::value::Value;

/// One pair's sum as `pmaddubsw` leaves it.
fn saturated(a0: i32, b0: i32, a1: i32, b1: i32) -> i32 {
    (a0 * b0 + a1 * b1).clamp(i32::from(i16::MIN), i32::from(i16::MAX))
}

/// Σ over K of `a[k]·b[k]` with adjacent pairs saturated (an odd K's last product pairs with 0).
fn pair_dot(a: &[i32], b: &[i32]) -> i64 {
    let pairs = a.chunks_exact(2).zip(b.chunks_exact(2));
    let mut total: i64 = pairs.map(|(x, w)| i64::from(saturated(x[0], w[0], x[1], w[1]))).sum();
    if a.len() % 2 == 1 {
        let last = a.len() - 1;
        total += i64::from(saturated(a[last], b[last], 0, 0));
    }
    total
}

/// The scalar zero point of an activation (MLAS takes one per tensor), 0 when absent.
fn scalar_zero_point(zero_point: Option<&Value>, what: &str) -> Result<i64, OpError> {
    match zero_point {
        None => Ok(0),
        Some(zp) if zp.len() == 1 => Ok(zp.to_i64_vec()[0]),
        Some(zp) => Err(OpError::unsupported(format!(
            "the pmaddubsw emulation takes a scalar {what} zero point, not one of shape {:?}",
            zp.shape()
        ))),
    }
}

/// Weight zero points must all be 0 (MLAS's symmetric int8 weights; asymmetric weights take
/// other kernels that sysnoise does not emulate).
fn check_symmetric_weights(zero_point: Option<&Value>) -> Result<(), OpError> {
    match zero_point {
        Some(zp) if zp.to_i64_vec().iter().any(|&z| z != 0) => Err(OpError::unsupported(
            "the pmaddubsw emulation covers symmetric int8 weights (zero point 0) only",
        )),
        _ => Ok(()),
    }
}

/// Whether these operands take the saturating kernel: unsigned 8-bit activations and signed
/// 8-bit weights (u8 × u8 and s8 × s8 take kernels that are exact on x86).
pub(super) fn applies(activations: &Value, weights: &Value) -> bool {
    activations.dtype == DType::U8 && weights.dtype == DType::I8
}

/// ConvInteger with pmaddubsw accumulation.
pub(super) fn conv_integer(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    let w = ctx.input(inputs, 1)?;
    let x_zp = scalar_zero_point(ctx.optional_input(inputs, 2), "input")?;
    check_symmetric_weights(ctx.optional_input(inputs, 3))?;
    let l = ConvLayout::of(ctx, x.shape(), w.shape(), "ConvInteger")?;
    let (cg, mg, ksize, out_size) = (l.cg, l.mg, l.ksize, l.out_size);
    let x3 = x
        .to_i64()
        .into_shape_with_order((l.batch, l.channels, l.in_size))
        .expect("ConvLayout checked the input's shape");
    let w3 = w
        .to_i64()
        .into_shape_with_order((l.maps, cg, ksize))
        .expect("ConvLayout checked the weights' length");
    // Σ_k w per output map, for the exact zero-point term.
    let weight_sums: Vec<i64> = (0..l.maps).map(|m| w3.index_axis(Axis(0), m).sum()).collect();
    let depthwise = l.group > 1 && cg == 1 && mg == 1;
    let mut out = ndarray::Array3::<i64>::zeros((l.batch, l.maps, out_size));
    for n in 0..l.batch {
        for g in 0..l.group {
            // The im2col rows of this group in (kernel position, channel) order, raw values.
            let cols = Array2::from_shape_fn((out_size, ksize * cg), |(p, k)| {
                let (position, c) = (k / cg, k % cg);
                l.map[position * out_size + p].map_or(x_zp, |i| x3[[n, g * cg + c, i]]) as i32
            });
            for m in g * mg..(g + 1) * mg {
                let weights: Vec<i32> = (0..ksize * cg).map(|k| w3[[m, k % cg, k / cg]] as i32).collect();
                for p in 0..out_size {
                    let row = cols.row(p);
                    let row = row.as_slice().expect("standard layout");
                    let raw = if depthwise {
                        row.iter().zip(&weights).map(|(&a, &b)| i64::from(a * b)).sum()
                    } else {
                        pair_dot(row, &weights)
                    };
                    out[[n, m, p]] = raw - x_zp * weight_sums[m];
                }
            }
        }
    }
    let out = out
        .into_shape_with_order(IxDyn(&l.output_shape()))
        .expect("same length");
    Ok(vec![Value::int(DType::I32, out.mapv(wrap_i32))])
}

/// MatMulInteger of a 2-D (or batched) u8 A and a 2-D s8 B with pmaddubsw accumulation.
pub(super) fn matmul_integer(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let a = ctx.input(inputs, 0)?.to_i64();
    let b = ctx.input(inputs, 1)?.to_i64();
    let a_zp = scalar_zero_point(ctx.optional_input(inputs, 2), "A")?;
    check_symmetric_weights(ctx.optional_input(inputs, 3))?;
    if a.ndim() < 2 || b.ndim() != 2 {
        return Err(OpError::unsupported(format!(
            "the pmaddubsw emulation takes A of rank >= 2 and a 2-D B, not {:?} x {:?}",
            a.shape(),
            b.shape()
        )));
    }
    let b = b.into_dimensionality::<ndarray::Ix2>().expect("rank checked");
    let (k, n) = b.dim();
    if a.shape()[a.ndim() - 1] != k {
        return Err(OpError::invalid(format!(
            "MatMulInteger of {:?} x {:?}",
            a.shape(),
            b.shape()
        )));
    }
    let rows = a.len() / k.max(1);
    let a2 = a
        .to_shape((rows, k))
        .map_err(|e| OpError::invalid(e.to_string()))?
        .mapv(|v| v as i32);
    let columns: Vec<Vec<i32>> = (0..n)
        .map(|j| b.column(j).iter().map(|&v| v as i32).collect())
        .collect();
    let sums: Vec<i64> = columns.iter().map(|c| c.iter().map(|&v| i64::from(v)).sum()).collect();
    let out = Array2::from_shape_fn((rows, n), |(i, j)| {
        pair_dot(a2.row(i).as_slice().expect("standard layout"), &columns[j]) - a_zp * sums[j]
    });
    let mut shape = a.shape().to_vec();
    *shape.last_mut().expect("rank >= 2") = n;
    let out: ArrayD<i64> = out.into_shape_with_order(IxDyn(&shape)).expect("same length");
    Ok(vec![Value::int(DType::I32, out.mapv(wrap_i32))])
}

/// int32's wrap-around, as the kernels' 32-bit accumulators.
fn wrap_i32(v: i64) -> i64 {
    i64::from(v as i32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_saturate_to_int16_and_an_odd_tail_pairs_with_zero() {
        // 255·127 + 255·127 = 64 770 → 32 767; the lone third product 200·100 stays.
        assert_eq!(pair_dot(&[255, 255, 200], &[127, 127, 100]), 32_767 + 20_000);
        // Negative pairs saturate at −32 768.
        assert_eq!(pair_dot(&[255, 255], &[-128, -128]), -32_768);
        // Small products are exact.
        assert_eq!(pair_dot(&[1, 2, 3, 4], &[5, -6, 7, -8]), 5 - 12 + 21 - 32);
    }

    #[test]
    fn pairs_follow_k_order_not_the_sum() {
        // The same multiset of products, paired differently: (big, big)(small, small) saturates,
        // (big, small)(big, small) does not.
        let clipped = pair_dot(&[255, 255, 1, 1], &[127, 127, 1, 1]);
        let exact = pair_dot(&[255, 1, 255, 1], &[127, 1, 127, 1]);
        assert_eq!(exact, 2 * 255 * 127 + 2);
        assert_eq!(clipped, 32_767 + 2);
    }
}
