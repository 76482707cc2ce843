//! Catalog: matrix products — Gemm (transposes, alpha, beta, broadcast C) and MatMul (vectors, batch broadcasting).

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::strategy::BoxedStrategy;
use sysnoise_boundary::DType;
use sysnoise_boundary::onnx::AttributeProto;

use super::{FLOATS_AND_HALVES, InputDesc, OpCase, OpSpec, attr, broadcastable_to};

const MATMUL_TYPES: &[DType] = &[DType::F32, DType::F16, DType::F64, DType::I32, DType::I64];

/// A float attribute left at its default 1 or set.
fn scalar_attr(name: &'static str) -> BoxedStrategy<Option<AttributeProto>> {
    select(vec![None, Some(0.5f32), Some(2.0), Some(-1.0), Some(0.0)])
        .prop_map(move |v| v.map(|v| attr::float(name, v)))
        .boxed()
}

/// `(M, K, N)`.
fn dims() -> BoxedStrategy<(usize, usize, usize)> {
    (1usize..=6, 1usize..=6, 1usize..=6).boxed()
}

/// A Gemm operand `rows x cols`, stored transposed when `trans`.
fn operand(rows: usize, cols: usize, trans: bool) -> Vec<usize> {
    if trans { vec![cols, rows] } else { vec![rows, cols] }
}

/// Gemm: A is data, B data or a weight, C (optional) a weight broadcasting to (M, N).
fn gemm(dtype: DType) -> BoxedStrategy<OpCase> {
    dims()
        .prop_flat_map(|(m, k, n)| {
            let c = prop_oneof![Just(None), broadcastable_to(vec![m, n]).prop_map(Some)];
            (Just((m, k, n)), any::<bool>(), any::<bool>(), c, any::<bool>())
        })
        .prop_flat_map(|draw| (Just(draw), scalar_attr("alpha"), scalar_attr("beta")))
        .prop_map(move |(((m, k, n), trans_a, trans_b, c, b_weight), alpha, beta)| {
            let b_shape = operand(k, n, trans_b);
            let b = if b_weight {
                InputDesc::weight(dtype, b_shape)
            } else {
                InputDesc::data(dtype, b_shape)
            };
            let mut inputs = vec![InputDesc::data(dtype, operand(m, k, trans_a)), b];
            inputs.extend(c.map(|c| InputDesc::weight(dtype, c)));
            let mut attrs: Vec<AttributeProto> = [alpha, beta].into_iter().flatten().collect();
            if trans_a {
                attrs.push(attr::int("transA", 1));
            }
            if trans_b {
                attrs.push(attr::int("transB", 1));
            }
            OpCase::new("Gemm", dtype, inputs, attrs)
        })
        .boxed()
}

/// A MatMul operand: `batch + [rows, cols]`, or the 1-D `[inner]` when `vector` (no batch).
fn matmul_operand(batch: Vec<usize>, matrix: [usize; 2], inner: usize, vector: bool) -> Vec<usize> {
    if vector {
        vec![inner]
    } else {
        batch.into_iter().chain(matrix).collect()
    }
}

/// MatMul of operands of rank 1 to 4 whose batch axes broadcast (each drops leading batch axes
/// or has ones where the other has the full extent).
fn matmul(dtype: DType) -> BoxedStrategy<OpCase> {
    (vec(1usize..=3, 0..=2), dims(), any::<bool>(), any::<bool>())
        .prop_flat_map(|(batch, mkn, a_vector, b_vector)| {
            (
                broadcastable_to(batch.clone()),
                broadcastable_to(batch),
                Just(mkn),
                Just(a_vector),
                Just(b_vector),
            )
        })
        .prop_map(move |(a_batch, b_batch, (m, k, n), a_vector, b_vector)| {
            let a = matmul_operand(a_batch, [m, k], k, a_vector);
            let b = matmul_operand(b_batch, [k, n], k, b_vector);
            OpCase::new(
                "MatMul",
                dtype,
                vec![InputDesc::data(dtype, a), InputDesc::data(dtype, b)],
                vec![],
            )
        })
        .boxed()
}

pub fn specs() -> Vec<OpSpec> {
    vec![
        OpSpec {
            op_type: "Gemm",
            family: "matmul",
            dtypes: FLOATS_AND_HALVES,
            strategy: gemm,
        },
        OpSpec {
            op_type: "MatMul",
            family: "matmul",
            dtypes: MATMUL_TYPES,
            strategy: matmul,
        },
    ]
}
