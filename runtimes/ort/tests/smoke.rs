//! Smoke tests of the ORT adapter against the real ONNX Runtime library (installed by scripts/setup.sh).

use ndarray::{ArrayD, IxDyn};
use sysnoise_boundary::{DType, GraphBuilder, Runtime, Tensor};
use sysnoise_ort::{OptLevel, OrtOptions, OrtRuntime};

fn runtime() -> OrtRuntime {
    OrtRuntime::new("ort", OrtOptions::default()).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn one_node_graph_runs() {
    let mut g = GraphBuilder::new("add", 17);
    g.input("a", DType::F32, &[2, 2]);
    g.input("b", DType::F32, &[2, 2]);
    g.node("Add", "sum", &["a", "b"], vec![]);
    g.output("sum", DType::F32);
    let model = g.build();
    let a = ArrayD::from_shape_vec(IxDyn(&[2, 2]), vec![1f32, 2., 3., 4.]).unwrap();
    let b = ArrayD::from_shape_vec(IxDyn(&[2, 2]), vec![10f32, 20., 30., 40.]).unwrap();
    for opt_level in [OptLevel::Disabled, OptLevel::All] {
        let rt = OrtRuntime::new(
            "ort",
            OrtOptions {
                opt_level,
                intra_threads: 1,
            },
        )
        .unwrap();
        let mut session = rt.prepare(&model).unwrap();
        let out = session
            .run(&[
                ("a".into(), Tensor::F32(a.clone())),
                ("b".into(), Tensor::F32(b.clone())),
            ])
            .unwrap();
        assert_eq!(out[0].0, "sum");
        assert_eq!(out[0].1.to_f64_vec(), vec![11., 22., 33., 44.]);
    }
    assert!(
        runtime().version().starts_with("onnxruntime 1."),
        "{}",
        runtime().version()
    );
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
        let mut session = runtime().prepare(&g.build()).unwrap();
        let out = session.run(&[("x".into(), input.clone())]).unwrap();
        assert_eq!(out[0].1, input, "{dtype}");
    }
}

#[test]
fn intermediates_are_returned_and_unknown_ops_are_unsupported() {
    let mut g = GraphBuilder::new("chain", 17);
    g.input("x", DType::F32, &[2]);
    g.node("Relu", "r", &["x"], vec![]);
    g.node("Neg", "n", &["r"], vec![]);
    g.output("n", DType::F32);
    let model = g.build();
    let mut session = runtime().prepare_with_intermediates(&model).unwrap();
    let x = Tensor::F32(ArrayD::from_shape_vec(IxDyn(&[2]), vec![-1.0, 2.0]).unwrap());
    let out = session.run(&[("x".into(), x)]).unwrap();
    let names: Vec<&str> = out.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["n", "r"]);
    assert_eq!(out[1].1.to_f64_vec(), vec![0.0, 2.0]);

    let mut g = GraphBuilder::new("bogus", 17);
    g.input("x", DType::F32, &[2]);
    g.node("NoSuchOp", "bad", &["x"], vec![]);
    g.output("bad", DType::F32);
    let err = runtime().prepare(&g.build()).err().expect("must fail");
    assert!(err.is_unsupported(), "{err}");
}
