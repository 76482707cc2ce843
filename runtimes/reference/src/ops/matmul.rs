//! Reference kernels: matrix products (MatMul with numpy batching, Gemm, MatMulInteger).

use ndarray::{Array2, ArrayD, ArrayView2, Axis, Ix2, IxDyn};
use sysnoise_boundary::{DType, U8S8Accumulation};

use super::Registry;
use crate::broadcast::{broadcast_shape, zip2};
use crate::context::OpContext;
use crate::error::OpError;
use crate::value::{Data, Value};

pub fn register(r: &mut Registry) {
    r.add("MatMul", matmul);
    r.add("Gemm", gemm);
    r.add("MatMulInteger", matmul_integer);
}

pub(super) fn matmul(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let (a, b) = (ctx.input(inputs, 0)?, ctx.input(inputs, 1)?);
    let out = match (&a.data, &b.data) {
        (Data::F(x), Data::F(y)) => Value::float(a.dtype, batched(x, y, float_product)?),
        (Data::I(x), Data::I(y)) => Value::int(a.dtype, batched(x, y, int_product)?),
        _ => return Err(OpError::invalid(format!("MatMul of {} and {}", a.dtype, b.dtype))),
    };
    Ok(vec![out])
}

/// A 2-D float product.
fn float_product(a: ArrayView2<f64>, b: ArrayView2<f64>) -> Array2<f64> {
    a.dot(&b)
}

/// A 2-D integer product with two's-complement wrap-around (as the runtimes' int kernels).
fn int_product(a: ArrayView2<i64>, b: ArrayView2<i64>) -> Array2<i64> {
    Array2::from_shape_fn((a.nrows(), b.ncols()), |(i, j)| {
        a.row(i)
            .iter()
            .zip(b.column(j))
            .fold(0i64, |acc, (&x, &y)| acc.wrapping_add(x.wrapping_mul(y)))
    })
}

/// numpy `matmul`: a 1-D left operand is a row vector and a 1-D right operand a column vector
/// (their added axis is dropped from the result); leading axes broadcast as batch axes.
fn batched<T: Clone>(
    a: &ArrayD<T>,
    b: &ArrayD<T>,
    product: fn(ArrayView2<T>, ArrayView2<T>) -> Array2<T>,
) -> Result<ArrayD<T>, OpError> {
    if a.ndim() == 0 || b.ndim() == 0 {
        return Err(OpError::invalid("MatMul of a scalar"));
    }
    let a2 = if a.ndim() == 1 {
        a.view().insert_axis(Axis(0))
    } else {
        a.view()
    };
    let b2 = if b.ndim() == 1 {
        b.view().insert_axis(Axis(1))
    } else {
        b.view()
    };
    let (ra, rb) = (a2.ndim(), b2.ndim());
    let (m, k, k2, n) = (
        a2.shape()[ra - 2],
        a2.shape()[ra - 1],
        b2.shape()[rb - 2],
        b2.shape()[rb - 1],
    );
    if k != k2 {
        return Err(OpError::invalid(format!(
            "MatMul shapes {:?} and {:?}",
            a.shape(),
            b.shape()
        )));
    }
    let batch = broadcast_shape(&[&a2.shape()[..ra - 2], &b2.shape()[..rb - 2]])?;
    let count: usize = batch.iter().product();
    let a3 = broadcast_to_3d(&a2, &batch, m, k)?;
    let b3 = broadcast_to_3d(&b2, &batch, k, n)?;
    let mut data = Vec::with_capacity(count * m * n);
    for i in 0..count {
        let ai = a3.index_axis(Axis(0), i).into_dimensionality::<Ix2>().expect("2-D");
        let bi = b3.index_axis(Axis(0), i).into_dimensionality::<Ix2>().expect("2-D");
        data.extend(product(ai, bi));
    }
    let mut shape = batch;
    if a.ndim() > 1 {
        shape.push(m);
    }
    if b.ndim() > 1 {
        shape.push(n);
    }
    Ok(ArrayD::from_shape_vec(IxDyn(&shape), data).expect("batch x m x n"))
}

/// Broadcasts `[..., rows, cols]` to `batch + [rows, cols]` and flattens the batch axes.
fn broadcast_to_3d<T: Clone>(
    a: &ndarray::ArrayViewD<T>,
    batch: &[usize],
    rows: usize,
    cols: usize,
) -> Result<ArrayD<T>, OpError> {
    let full: Vec<usize> = batch.iter().copied().chain([rows, cols]).collect();
    let view = a
        .broadcast(IxDyn(&full))
        .ok_or_else(|| OpError::invalid(format!("MatMul cannot broadcast {:?} to {full:?}", a.shape())))?;
    let count: usize = batch.iter().product();
    Ok(view
        .to_shape(IxDyn(&[count, rows, cols]))
        .expect("same element count")
        .into_owned())
}

/// Gemm: `alpha * A' * B' + beta * C`, where `'` is the optional transpose and C broadcasts to
/// (M, N). Computed in f64 (integer inputs are truncated back to their dtype).
fn gemm(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let a = ctx.input(inputs, 0)?;
    let matrix = |v: &Value, trans: &str| -> Result<Array2<f64>, OpError> {
        let m = v
            .to_f64()
            .into_dimensionality::<Ix2>()
            .map_err(|_| OpError::invalid(format!("Gemm operand of shape {:?} is not 2-D", v.shape())))?;
        Ok(if ctx.int(trans, 0) != 0 { m.reversed_axes() } else { m })
    };
    let (ma, mb) = (matrix(a, "transA")?, matrix(ctx.input(inputs, 1)?, "transB")?);
    if ma.ncols() != mb.nrows() {
        return Err(OpError::invalid(format!(
            "Gemm shapes {:?} and {:?}",
            ma.shape(),
            mb.shape()
        )));
    }
    let (alpha, beta) = (ctx.float("alpha", 1.0), ctx.float("beta", 1.0));
    let mut y = ma.dot(&mb) * alpha;
    if let Some(c) = ctx.optional_input(inputs, 2) {
        let c = c.to_f64();
        let cb = c
            .broadcast(y.raw_dim())
            .ok_or_else(|| OpError::invalid(format!("Gemm C of shape {:?} does not broadcast", c.shape())))?;
        y.zip_mut_with(&cb, |v, &c| *v += beta * c);
    }
    Ok(vec![Value::from_f64(a.dtype, y.into_dyn())])
}

/// MatMulInteger: `(A - a_zero_point) x (B - b_zero_point)` in int32. A 1-D a_zero_point is
/// per row of A (one per M), a 1-D b_zero_point per column of B (one per N).
pub(super) fn matmul_integer(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    if ctx.u8s8 == U8S8Accumulation::SaturatingPairs
        && super::pmaddubsw::applies(ctx.input(inputs, 0)?, ctx.input(inputs, 1)?)
    {
        return super::pmaddubsw::matmul_integer(ctx, inputs);
    }
    let a = ctx.input(inputs, 0)?.to_i64();
    let b = ctx.input(inputs, 1)?.to_i64();
    let a_zp = ctx.optional_input(inputs, 2).map(Value::to_i64);
    let b_zp = ctx.optional_input(inputs, 3).map(Value::to_i64);
    let a = match a_zp {
        Some(zp) if zp.ndim() == 1 && a.ndim() >= 2 => zip2(&a, &zp.insert_axis(Axis(1)), |x, z| x - z)?,
        Some(zp) => zip2(&a, &zp, |x, z| x - z)?,
        None => a,
    };
    let b = match b_zp {
        Some(zp) => zip2(&b, &zp, |x, z| x - z)?,
        None => b,
    };
    Ok(vec![Value::int(DType::I32, batched(&a, &b, int_product)?)])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arr(shape: &[usize], v: Vec<f64>) -> ArrayD<f64> {
        ArrayD::from_shape_vec(IxDyn(shape), v).unwrap()
    }

    #[test]
    fn vector_operands_drop_their_axis() {
        let v = arr(&[2], vec![1.0, 2.0]);
        let m = arr(&[2, 2, 3], (0..12).map(f64::from).collect());
        let r = batched(&v, &m, float_product).unwrap();
        assert_eq!(r.shape(), &[2, 3]);
        assert_eq!(r[[1, 0]], 6.0 + 2.0 * 9.0);
        let dot = batched(&v, &v, float_product).unwrap();
        assert_eq!(dot.shape(), &[] as &[usize]);
        assert_eq!(dot[[]], 5.0);
    }

    #[test]
    fn batch_axes_broadcast() {
        let a = arr(&[3, 1, 2, 2], vec![1.0; 12]);
        let b = arr(&[4, 2, 1], vec![1.0; 8]);
        assert_eq!(batched(&a, &b, float_product).unwrap().shape(), &[3, 4, 2, 1]);
    }
}
