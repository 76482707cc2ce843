//! Reference kernel: Det, the determinant of square matrices, by LU decomposition with partial pivoting in f64.

use ndarray::{ArrayD, IxDyn};

use super::Registry;
use crate::context::OpContext;
use crate::error::OpError;
use crate::value::Value;

pub fn register(r: &mut Registry) {
    r.add("Det", det);
}

/// The determinant of one `n × n` matrix given row-major.
fn determinant(mut a: Vec<f64>, n: usize) -> f64 {
    let mut det = 1.0;
    for col in 0..n {
        let pivot = (col..n)
            .max_by(|&i, &j| a[i * n + col].abs().total_cmp(&a[j * n + col].abs()))
            .expect("a non-empty column");
        if a[pivot * n + col] == 0.0 {
            return 0.0;
        }
        if pivot != col {
            for k in 0..n {
                a.swap(pivot * n + k, col * n + k);
            }
            det = -det;
        }
        let p = a[col * n + col];
        det *= p;
        for row in col + 1..n {
            let factor = a[row * n + col] / p;
            for k in col..n {
                a[row * n + k] -= factor * a[col * n + k];
            }
        }
    }
    det
}

/// Det: `[..., M, M]` → `[...]`.
fn det(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    let xa = x.as_float()?.as_standard_layout().into_owned();
    let shape = xa.shape();
    let rank = shape.len();
    if rank < 2 || shape[rank - 1] != shape[rank - 2] {
        return Err(OpError::invalid(format!("Det of shape {shape:?} (want [..., M, M])")));
    }
    let n = shape[rank - 1];
    let values = xa.as_slice().expect("standard layout");
    let dets: Vec<f64> = if n == 0 {
        vec![1.0; shape[..rank - 2].iter().product()]
    } else {
        values.chunks(n * n).map(|m| determinant(m.to_vec(), n)).collect()
    };
    let y = ArrayD::from_shape_vec(IxDyn(&shape[..rank - 2]), dets).expect("one per matrix");
    Ok(vec![Value::float(x.dtype, y)])
}
