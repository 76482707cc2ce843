//! Smoke tests of the reference runtime: f64 evaluation, the shared adapter checks, op coverage.

use ndarray::{ArrayD, IxDyn};
use sysnoise_boundary::{DType, GraphBuilder, Runtime, Tensor, testkit};
use sysnoise_reference::Reference;

#[test]
fn one_node_graph_runs_in_f64_and_rounds_once_at_the_output() {
    let mut g = GraphBuilder::new("add", 17);
    g.input("a", DType::F32, &[3]);
    g.input("b", DType::F32, &[3]);
    g.node("Add", "sum", &["a", "b"], vec![]);
    g.node("Sub", "back", &["sum", "b"], vec![]);
    g.output("back", DType::F32);
    // 1 + 1e8 is not representable in f32 (f32 arithmetic would give 0 back); the oracle keeps f64.
    let a = Tensor::F32(ArrayD::from_shape_vec(IxDyn(&[3]), vec![1.0, 2.0, 3.0]).unwrap());
    let b = Tensor::F32(ArrayD::from_shape_vec(IxDyn(&[3]), vec![1e8, 1e8, 1e8]).unwrap());
    let out = Reference
        .prepare(&g.build())
        .unwrap()
        .run(&[("a".into(), a), ("b".into(), b)])
        .unwrap();
    assert_eq!(out[0].1.to_f64_vec(), vec![1.0, 2.0, 3.0]);
    assert_eq!(out[0].1.dtype(), DType::F32);
}

#[test]
fn shared_adapter_checks() {
    testkit::check_one_node_graph(&Reference);
    testkit::check_dtype_round_trips(&Reference, &[]);
    testkit::check_intermediates(&Reference);
    testkit::check_unknown_op_is_unsupported(&Reference);
}

#[test]
fn the_registry_covers_the_ops_real_cnns_and_transformers_use() {
    let ops = sysnoise_reference::registry().op_types();
    for op in [
        "Conv",
        "ConvTranspose",
        "Gemm",
        "MatMul",
        "Relu",
        "LeakyRelu",
        "Sigmoid",
        "Tanh",
        "Gelu",
        "HardSigmoid",
        "HardSwish",
        "Clip",
        "Softplus",
        "Elu",
        "Selu",
        "Erf",
        "Exp",
        "Log",
        "Sqrt",
        "Pow",
        "Reciprocal",
        "Abs",
        "Neg",
        "Floor",
        "Ceil",
        "Round",
        "Sign",
        "Softmax",
        "LogSoftmax",
        "LayerNormalization",
        "BatchNormalization",
        "InstanceNormalization",
        "MaxPool",
        "AveragePool",
        "GlobalAveragePool",
        "GlobalMaxPool",
        "Resize",
        "Reshape",
        "Transpose",
        "Concat",
        "Split",
        "Slice",
        "Gather",
        "Pad",
        "Squeeze",
        "Unsqueeze",
        "Flatten",
        "Expand",
        "Tile",
        "Where",
        "Cast",
        "ReduceMean",
        "ReduceSum",
        "ReduceMax",
        "ArgMax",
        "ArgMin",
        "Equal",
        "Less",
        "Greater",
        "Min",
        "Max",
        "Sum",
        "Mean",
        "GRU",
        "LSTM",
        "RNN",
    ] {
        assert!(ops.contains(&op), "{op} missing from the reference registry");
    }
}
