//! Smoke tests of the reference runtime: a one-node graph, every dtype through Identity, errors.

use ndarray::{ArrayD, IxDyn};
use sysnoise_boundary::{DType, GraphBuilder, Runtime, Tensor};
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
fn every_dtype_round_trips_through_identity() {
    let values = ArrayD::from_shape_vec(IxDyn(&[3]), vec![0.0, 1.0, 5.0]).unwrap();
    for dtype in DType::ALL {
        let mut g = GraphBuilder::new("id", 17);
        g.input("x", dtype, &[3]);
        g.node("Identity", "y", &["x"], vec![]);
        g.output("y", dtype);
        let input = Tensor::from_f64(dtype, &values);
        let out = Reference
            .prepare(&g.build())
            .unwrap()
            .run(&[("x".into(), input.clone())])
            .unwrap();
        assert_eq!(out[0].1, input, "{dtype}");
    }
}

#[test]
fn unknown_ops_are_unsupported_and_name_the_node() {
    let mut g = GraphBuilder::new("bogus", 17);
    g.input("x", DType::F32, &[2]);
    g.node("NoSuchOp", "bad", &["x"], vec![]);
    g.output("bad", DType::F32);
    let err = Reference.prepare(&g.build()).err().expect("must fail");
    assert!(err.is_unsupported());
    assert_eq!(err.node(), Some("bad"));
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
